# Fleet's migrations, run by the fleet-migration state machine.
#
# Deploy the SAM application once (sam deploy --stack-name fleet-migration), then apply this
# whenever the Fleet task definition gets a new revision. With Fleet's own Terraform modules,
# pass their outputs instead of the data sources and variables below:
#
#   ecs_cluster              = module.fleet.byo-vpc.byo-db.byo-ecs.service.cluster
#   ecs_service              = module.fleet.byo-vpc.byo-db.byo-ecs.service.name
#   task_definition          = module.fleet.byo-vpc.byo-db.byo-ecs.task_definition.family
#   task_definition_revision = module.fleet.byo-vpc.byo-db.byo-ecs.task_definition.revision
#   subnets                  = module.fleet.byo-vpc.byo-db.byo-ecs.service.network_configuration[0].subnets
#   security_groups          = module.fleet.byo-vpc.byo-db.byo-ecs.service.network_configuration[0].security_groups
#   desired_count            = module.fleet.byo-vpc.byo-db.byo-ecs.appautoscaling_target.min_capacity
#   min_capacity             = module.fleet.byo-vpc.byo-db.byo-ecs.appautoscaling_target.min_capacity
#   max_capacity             = module.fleet.byo-vpc.byo-db.byo-ecs.appautoscaling_target.max_capacity

terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 4.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "Region of the Fleet deployment and of the fleet-migration stack."
}

variable "subnets" {
  type        = list(string)
  description = "The Fleet service's subnets, where the migration task runs."
}

variable "security_groups" {
  type        = list(string)
  description = "The Fleet service's security groups, which let the migration task reach the database."
}

# The state machine deployed by the SAM application (template.yaml, output StateMachineArn).
data "aws_cloudformation_stack" "fleet_migration" {
  name = "fleet-migration"
}

# The newest revision of Fleet's task definition family: a new revision runs a migration.
data "aws_ecs_task_definition" "fleet" {
  task_definition = "fleet"
}

module "migrations" {
  source = "../.."

  state_machine_arn = data.aws_cloudformation_stack.fleet_migration.outputs["StateMachineArn"]

  ecs_cluster              = "fleet"
  ecs_service              = "fleet"
  vuln_service             = "fleet-vuln-processing"
  task_definition          = data.aws_ecs_task_definition.fleet.family
  task_definition_revision = data.aws_ecs_task_definition.fleet.revision
  subnets                  = var.subnets
  security_groups          = var.security_groups
  timeout_seconds          = 1800
}

output "execution_name" {
  description = "The execution that migrates this revision."
  value       = module.migrations.execution_name
}

output "execution_console_url" {
  description = "Where to watch it."
  value       = module.migrations.execution_console_url
}
