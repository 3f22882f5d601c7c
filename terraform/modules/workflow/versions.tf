terraform {
  # precondition blocks need 1.2; validation conditions refer only to their own variable, as
  # versions before 1.9 require.
  required_version = ">= 1.2"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # logging_config on aws_lambda_function (JSON logs into one shared log group) came in 5.32;
      # tested with 5.100.0.
      version = ">= 5.32"
    }
  }
}
