terraform {
  # precondition blocks need 1.2; validation conditions refer only to their own variable, as
  # versions before 1.9 require.
  required_version = ">= 1.2"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # logging_config on aws_lambda_function (JSON logs into one shared log group) came in 5.32.
      # Tested: plans and applies with 5.100.0, no deprecation warning. Written for 6.x too: the region is
      # data.aws_region's `id`, which 5.x and 6.x both have (6.x deprecates `name`; 5.x has no `region`).
      version = ">= 5.32"
    }
  }
}
