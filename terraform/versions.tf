terraform {
  # precondition blocks need 1.2; validation conditions refer only to their own variable, as
  # versions before 1.9 require.
  required_version = ">= 1.2"

  required_providers {
    # For modules/workflow, which deploys the workflow when state_machine_arn is null. Terraform installs
    # every provider a module tree names, even for a module call with count = 0.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.32"
    }
    null = {
      source  = "hashicorp/null"
      version = ">= 2.1"
    }
  }
}
