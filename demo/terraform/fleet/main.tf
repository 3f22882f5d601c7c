# Stands in for Fleet's root module (fleetdm/fleet-terraform): the one output the migrations block
# reads, byo-vpc, shaped as Fleet's module shapes it, for the deployment the embedded AWS seeded
# (cluster, service and family "fleet", autoscaling 2..10).

variable "task_definition_revision" {
  type        = number
  description = "The revision of the fleet task definition, as aws_ecs_task_definition.revision reports it."
}

variable "subnets" {
  type        = list(string)
  description = "The service's subnets."
}

variable "security_groups" {
  type        = list(string)
  description = "The service's security groups."
}

output "byo-vpc" {
  description = "What Fleet's module outputs as byo-vpc, reduced to what the migrations block reads."
  value = {
    byo-db = {
      byo-ecs = {
        service = {
          cluster = "fleet"
          name    = "fleet"
          network_configuration = [{
            subnets         = var.subnets
            security_groups = var.security_groups
          }]
        }
        task_definition = {
          family   = "fleet"
          revision = var.task_definition_revision
        }
        appautoscaling_target = {
          min_capacity = 2
          max_capacity = 10
        }
      }
    }
  }
}
