# The demo's Terraform: Fleet's own example (fleetdm/fleet-terraform, example/main.tf), its
# `module "migrations"` block exactly as Fleet writes it, with `source` changed and
# `state_machine_arn` added. `module "fleet"` stands in for Fleet's root module: like it, it registers the
# task definition revision of the image asked for and moves the service (adopted below with an `import`
# block) to it, so the migration runs while ECS rolls that revision out; it outputs what Fleet's module does.
#
# The demo (python -m demo) applies this against the embedded AWS: the variables come from
# TF_VAR_* and -var, the AWS endpoint reaches the module's client through AWS_ENDPOINT_URL.

terraform {
  # The state goes where `terraform init -backend-config=path=...` says (a scratch folder), so the
  # checkout stays clean; Fleet's example keeps the default local state instead.
  backend "local" {}
}

# As in Fleet's example (region "us-east-2" there; the embedded AWS is us-east-1). module "fleet"'s
# resources use it; the endpoint comes from AWS_ENDPOINT_URL (the embedded AWS in server mode).
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

variable "fleet_image" {
  type        = string
  description = "The Fleet release to deploy (fleet_config.image in Fleet's example)."
}

variable "target_group_arn" {
  type        = string
  description = "The Fleet target group of the load balancer (seeded with the service)."
}

variable "task_role_arn" {
  type        = string
  description = "The Fleet task's IAM role (seeded)."
}

variable "execution_role_arn" {
  type        = string
  description = "The Fleet task's execution role (seeded)."
}

variable "subnets" {
  type        = list(string)
  description = "The Fleet service's subnets."
}

variable "security_groups" {
  type        = list(string)
  description = "The Fleet service's security groups."
}

# The Fleet service exists already (seeded with its load balancer): module "fleet" adopts it. An imported
# service records its cluster as the cluster's ARN; given the name, Terraform would replace the service.
data "aws_ecs_cluster" "fleet" {
  cluster_name = "fleet"
}

import {
  to = module.fleet.aws_ecs_service.fleet
  id = "fleet/fleet"
}

module "fleet" {
  source = "./fleet"

  ecs_cluster = data.aws_ecs_cluster.fleet.arn
  fleet_config = {
    image              = var.fleet_image
    task_role_arn      = var.task_role_arn
    execution_role_arn = var.execution_role_arn
    awslogs            = { name = "fleet", region = "us-east-1", prefix = "fleet" }
    loadbalancer       = { arn = var.target_group_arn }
    networking = {
      subnets         = var.subnets
      security_groups = var.security_groups
    }
    autoscaling = { min_capacity = 2, max_capacity = 10 }
  }
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
