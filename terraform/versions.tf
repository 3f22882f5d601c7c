terraform {
  # precondition blocks need 1.2; validation conditions refer only to their own variable, as
  # versions before 1.9 require.
  required_version = ">= 1.2"

  required_providers {
    null = {
      source  = "hashicorp/null"
      version = ">= 2.1"
    }
  }
}
