# The demo's Terraform: Fleet's own example (fleetdm/fleet-terraform, example/main.tf), its
# `module "migrations"` block exactly as Fleet writes it, with `source` changed and
# `state_machine_arn` added. `module "fleet"` stands in for Fleet's root module: it reports the
# deployment the embedded AWS seeded, in the shape Fleet's module outputs it.
#
# The demo (python -m demo) applies this against the embedded AWS: the variables come from
# TF_VAR_* and -var, the AWS endpoint reaches the module's client through AWS_ENDPOINT_URL.

terraform {
  # The state goes where `terraform init -backend-config=path=...` says (a scratch folder), so the
  # checkout stays clean; Fleet's example keeps the default local state instead.
  backend "local" {}
}

# As in Fleet's example (region "us-east-2" there; the embedded AWS is us-east-1). The migrations module
# names hashicorp/aws for the workflow it deploys without state_machine_arn, so Terraform configures it;
# with state_machine_arn given nothing uses it, and it asks AWS nothing.
provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variable "state_machine_arn" {
  type        = string
  description = "The fleet-migration state machine (the SAM stack's StateMachineArn output)."
}

variable "task_definition_revision" {
  type        = number
  description = "The Fleet task definition revision the new image was registered as."
}

variable "subnets" {
  type        = list(string)
  description = "The Fleet service's subnets."
}

variable "security_groups" {
  type        = list(string)
  description = "The Fleet service's security groups."
}

module "fleet" {
  source = "./fleet"

  task_definition_revision = var.task_definition_revision
  subnets                  = var.subnets
  security_groups          = var.security_groups
}

# Migrations will handle scaling Fleet to 0 running containers before running the DB migration task.
# This module will also handle scaling back up once migrations complete.

module "migrations" {
  source                   = "../../terraform"
  state_machine_arn        = var.state_machine_arn
  ecs_cluster              = module.fleet.byo-vpc.byo-db.byo-ecs.service.cluster
  task_definition          = module.fleet.byo-vpc.byo-db.byo-ecs.task_definition.family
  task_definition_revision = module.fleet.byo-vpc.byo-db.byo-ecs.task_definition.revision
  subnets                  = module.fleet.byo-vpc.byo-db.byo-ecs.service.network_configuration[0].subnets
  security_groups          = module.fleet.byo-vpc.byo-db.byo-ecs.service.network_configuration[0].security_groups
  ecs_service              = module.fleet.byo-vpc.byo-db.byo-ecs.service.name
  desired_count            = module.fleet.byo-vpc.byo-db.byo-ecs.appautoscaling_target.min_capacity
  min_capacity             = module.fleet.byo-vpc.byo-db.byo-ecs.appautoscaling_target.min_capacity
  max_capacity             = module.fleet.byo-vpc.byo-db.byo-ecs.appautoscaling_target.max_capacity

  depends_on = [
    module.fleet,
  ]
}

output "execution_name" {
  description = "The execution that migrated this revision (a later attempt appends -a2, -a3, ...)."
  value       = module.migrations.execution_name
}

output "execution_console_url" {
  description = "Where to see it in the Step Functions console."
  value       = module.migrations.execution_console_url
}
