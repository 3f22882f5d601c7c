# What Fleet's root module (fleetdm/fleet-terraform, byo-vpc/byo-db/byo-ecs) does to ECS before its
# migration runs, against the embedded AWS: it registers the task definition revision of the image in
# fleet_config and points the service at it. These are real hashicorp/aws resources in the shape of
# byo-ecs's `aws_ecs_task_definition.backend` and `aws_ecs_service.fleet` (rolling deployment at
# minimum 100 % / maximum 200 %, desired_count left to autoscaling and the migration workflow); the
# service, seeded with its load balancer, is adopted by the root module's `import` block. The rest of
# Fleet's module (VPC, database, ALB, IAM, autoscaling, secrets) is seeded by the embedded AWS.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.32"
    }
  }
}

variable "ecs_cluster" {
  type        = string
  description = "The cluster the Fleet service runs in (byo-ecs's ecs_cluster)."
}

variable "fleet_config" {
  description = "The part of Fleet's fleet_config this stand-in reads: change image to deploy a Fleet release."
  type = object({
    image              = string
    family             = optional(string, "fleet")
    service_name       = optional(string, "fleet")
    cpu                = optional(number, 512)
    mem                = optional(number, 1024)
    execution_role_arn = string
    task_role_arn      = string
    awslogs = object({
      name   = string
      region = string
      prefix = string
    })
    loadbalancer = object({ arn = string })
    networking = object({
      subnets         = list(string)
      security_groups = list(string)
    })
    autoscaling = object({
      min_capacity = number
      max_capacity = number
    })
  })
}

resource "aws_ecs_task_definition" "backend" {
  family                   = var.fleet_config.family
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  task_role_arn            = var.fleet_config.task_role_arn
  execution_role_arn       = var.fleet_config.execution_role_arn
  cpu                      = var.fleet_config.cpu
  memory                   = var.fleet_config.mem
  container_definitions = jsonencode([{
    name      = "fleet"
    image     = var.fleet_config.image
    cpu       = var.fleet_config.cpu
    memory    = var.fleet_config.mem
    essential = true
    command   = ["fleet", "serve"]
    portMappings = [{
      containerPort = 8080
      protocol      = "tcp"
    }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.fleet_config.awslogs.name
        awslogs-region        = var.fleet_config.awslogs.region
        awslogs-stream-prefix = var.fleet_config.awslogs.prefix
      }
    }
  }])

  # As in Fleet's module, no skip_destroy: the previous revision is deregistered when the next one is
  # registered. Its tasks keep running, but ECS refuses to point a service back at an INACTIVE revision
  # (DeregisterTaskDefinition, Amazon ECS API Reference), so a rollback registers it again as a new revision.
}

resource "aws_ecs_service" "fleet" {
  name                               = var.fleet_config.service_name
  launch_type                        = "FARGATE"
  cluster                            = var.ecs_cluster
  task_definition                    = aws_ecs_task_definition.backend.arn
  desired_count                      = 1
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 30

  load_balancer {
    target_group_arn = var.fleet_config.loadbalancer.arn
    container_name   = "fleet"
    container_port   = 8080
  }

  lifecycle {
    ignore_changes = [desired_count]
  }

  network_configuration {
    subnets          = var.fleet_config.networking.subnets
    security_groups  = var.fleet_config.networking.security_groups
    assign_public_ip = false
  }
}

output "byo-vpc" {
  description = "What Fleet's module outputs as byo-vpc, reduced to what the migrations block reads."
  value = {
    byo-db = {
      byo-ecs = {
        service         = aws_ecs_service.fleet
        task_definition = aws_ecs_task_definition.backend
        # Seeded by the embedded AWS, not managed here (Fleet's module makes it an aws_appautoscaling_target).
        appautoscaling_target = var.fleet_config.autoscaling
      }
    }
  }
}
