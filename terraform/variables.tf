# Inputs of the migration module.
#
# The first group carries the names, types and defaults of fleetdm/fleet's
# terraform/addons/migrations module, so switching `source` is enough; the second group is new.
# Validation conditions refer only to their own variable (Terraform < 1.9 allows nothing else);
# rules across variables are preconditions on null_resource.main (main.tf).
# Conditions never rely on `||` or `&&` skipping their right side: guard nulls with `? :`.

# ---------------------------------------------------------------------------------------------
# Fleet's migrations addon
# ---------------------------------------------------------------------------------------------

variable "ecs_cluster" {
  type        = string
  nullable    = false
  description = "Name or ARN of the ECS cluster that runs Fleet. The migration task runs there and the services are scaled there."

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/)?[A-Za-z0-9_-]{1,255}$", var.ecs_cluster))
    error_message = "The ecs_cluster must be an ECS cluster name (letters, digits, hyphens and underscores, e.g. \"fleet\") or a cluster ARN."
  }
}

variable "ecs_service" {
  type        = string
  nullable    = false
  description = "Name or ARN of the Fleet ECS service. It is scaled down to capacity_during_migration while the migration runs, so no old Fleet writes to the database."

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:service/([A-Za-z0-9_-]{1,255}/)?)?[A-Za-z0-9_-]{1,255}$", var.ecs_service))
    error_message = "The ecs_service must be an ECS service name (letters, digits, hyphens and underscores, e.g. \"fleet\") or a service ARN."
  }
}

variable "min_capacity" {
  type        = number
  nullable    = true
  default     = null
  description = "As in Fleet's addon: the autoscaling minimum of ecs_service set after the migration (Fleet's example passes the scalable target's min_capacity). Null puts back the minimum found before. It is not the count kept during the migration: see capacity_during_migration."

  validation {
    condition     = var.min_capacity == null ? true : (var.min_capacity >= 0 && floor(var.min_capacity) == var.min_capacity)
    error_message = "The min_capacity must be a whole number of at least 0 (e.g. the min_capacity of the service's aws_appautoscaling_target), or null."
  }
}

variable "max_capacity" {
  type        = number
  nullable    = true
  default     = null
  description = "Autoscaling maximum for ecs_service after the migration. Null restores the maximum found before the migration, which is what you usually want."

  validation {
    condition     = var.max_capacity == null ? true : (var.max_capacity >= 1 && floor(var.max_capacity) == var.max_capacity)
    error_message = "The max_capacity must be a whole number of at least 1, or null to restore the maximum found before the migration."
  }
}

variable "desired_count" {
  type        = number
  nullable    = true
  default     = null
  description = "Task count ecs_service is scaled back up to after the migration. Null restores the count found before the migration."

  validation {
    condition     = var.desired_count == null ? true : (var.desired_count >= 1 && floor(var.desired_count) == var.desired_count)
    error_message = "The desired_count must be a whole number of at least 1, or null to restore the count found before the migration."
  }
}

variable "task_definition" {
  type        = string
  nullable    = false
  description = "Family (or ARN) of the Fleet task definition, without a revision. The migration runs the image of task_definition:task_definition_revision."

  validation {
    condition     = !can(regex(":[0-9]+$", var.task_definition))
    error_message = "The task_definition must not carry a revision: pass the family (\"fleet\", not \"fleet:42\") and put the number in task_definition_revision."
  }

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/)?[A-Za-z0-9_-]{1,255}(:[0-9]+)?$", var.task_definition))
    error_message = "The task_definition must be a task definition family (letters, digits, hyphens and underscores, e.g. \"fleet\") or its ARN."
  }
}

variable "task_definition_revision" {
  type        = number
  nullable    = false
  description = "The new task definition revision. A change of this number is what runs a migration (it is the null_resource's only trigger), and its image runs the migration."

  validation {
    condition     = var.task_definition_revision >= 1 && floor(var.task_definition_revision) == var.task_definition_revision
    error_message = "The task_definition_revision must be a whole number of at least 1, e.g. the revision attribute of the aws_ecs_task_definition."
  }
}

variable "subnets" {
  type        = list(string)
  nullable    = false
  description = "Subnet ids for the migration task (awsvpc network mode). Use the Fleet service's subnets so the task reaches the database."

  validation {
    condition     = length(var.subnets) > 0
    error_message = "The subnets list is empty: give at least one subnet id, e.g. [\"subnet-0a1b2c3d\"] (the Fleet service's subnets)."
  }

  validation {
    condition     = alltrue([for subnet in var.subnets : can(regex("^subnet-[0-9a-f]+$", subnet))])
    error_message = "Every entry of subnets must be a subnet id such as \"subnet-0a1b2c3d\"."
  }
}

variable "security_groups" {
  type        = list(string)
  nullable    = false
  description = "Security group ids for the migration task (awsvpc network mode). Use the Fleet service's groups so the task may reach the database."

  validation {
    condition     = length(var.security_groups) > 0
    error_message = "The security_groups list is empty: give at least one security group id, e.g. [\"sg-0a1b2c3d\"] (the Fleet service's groups)."
  }

  validation {
    condition     = alltrue([for group in var.security_groups : can(regex("^sg-[0-9a-f]+$", group))])
    error_message = "Every entry of security_groups must be a security group id such as \"sg-0a1b2c3d\"."
  }
}

variable "vuln_service" {
  type        = string
  nullable    = false
  default     = ""
  description = "Name or ARN of the vulnerability-processing ECS service, which also uses the database; it is stopped and restored like ecs_service. Empty for none."

  validation {
    condition     = var.vuln_service == "" || can(regex("^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:service/([A-Za-z0-9_-]{1,255}/)?)?[A-Za-z0-9_-]{1,255}$", var.vuln_service))
    error_message = "The vuln_service must be an ECS service name or ARN, or \"\" when there is no vulnerability-processing service."
  }
}

variable "vuln_task_definition_family" {
  type        = string
  nullable    = false
  default     = ""
  description = "Family of vuln_service's task definition; \"\": the family of task_definition with -vuln-processing appended, the name fleet-terraform's external-vuln-scans addon gives it. The workflow this module deploys may put the services back on, and register again, revisions of these two families only."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{0,255}$", var.vuln_task_definition_family))
    error_message = "The vuln_task_definition_family must be a task definition family without revision or ARN, e.g. \"fleet-vuln-processing\", or \"\" for the family of task_definition with -vuln-processing appended."
  }
}

variable "assume_role_arn" {
  type        = string
  nullable    = false
  default     = ""
  description = "IAM role the client assumes (sts:AssumeRole) before it calls Step Functions, for when Terraform's own credentials may not start executions. Empty uses the caller's credentials."

  validation {
    condition     = var.assume_role_arn == "" || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$", var.assume_role_arn))
    error_message = "The assume_role_arn must be an IAM role ARN such as \"arn:aws:iam::123456789012:role/fleet-migrations\", or \"\" to use the caller's credentials."
  }
}

variable "assume_role_session_name" {
  type        = string
  nullable    = false
  default     = ""
  description = "Session name used with assume_role_arn; it shows in CloudTrail. Empty uses \"fleet-migration-r<revision>\"."

  validation {
    condition     = var.assume_role_session_name == "" || can(regex("^[A-Za-z0-9+=,.@_-]{2,64}$", var.assume_role_session_name))
    error_message = "The assume_role_session_name must be 2 to 64 letters, digits or +=,.@_- characters, or \"\" for the default."
  }
}

variable "timeout_seconds" {
  type        = number
  nullable    = false
  default     = 3600
  description = "Limit for the migration task, from RunTask to STOPPED (the workflow's default, 3600; Fleet's addon had 600). A task still running then is stopped mid-migration and the services restored: Fleet's migrations on large databases take 11 to 40+ minutes."

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 86400 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "The timeout_seconds must be a whole number of seconds from 1 to 86400."
  }
}

# ---------------------------------------------------------------------------------------------
# New in this module
# ---------------------------------------------------------------------------------------------

variable "state_machine_arn" {
  type        = string
  nullable    = true
  default     = null
  description = "ARN of a fleet-migration state machine deployed elsewhere (the StateMachineArn output of the SAM stack). Null (the default) deploys the workflow here, through modules/workflow, for this cluster, services and family."

  validation {
    condition     = var.state_machine_arn == null ? true : can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[^:/ ]{1,80}$", var.state_machine_arn))
    error_message = "The state_machine_arn must be an unqualified state machine ARN such as \"arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration\" (no version or alias suffix), or null to deploy the workflow with this module."
  }
}

variable "capacity_during_migration" {
  type        = number
  nullable    = false
  default     = 0
  description = "Task count the services are held at while the migration runs (the execution input's field of the same name). Keep 0, as Fleet's addon does, unless old and new Fleet may share the database."

  validation {
    condition     = var.capacity_during_migration >= 0 && floor(var.capacity_during_migration) == var.capacity_during_migration
    error_message = "The capacity_during_migration must be a whole number of at least 0 (0 stops the services during the migration)."
  }
}

variable "container_name" {
  type        = string
  nullable    = false
  default     = "fleet"
  description = "Container of the task definition that runs the migration command. Fleet's task definition calls it \"fleet\"."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.container_name))
    error_message = "The container_name must be the name of a container in the task definition (letters, digits, hyphens and underscores), e.g. \"fleet\"."
  }
}

variable "command" {
  type        = list(string)
  nullable    = false
  default     = ["fleet", "prepare", "db", "--no-prompt"]
  description = "Command override for the migration container. The default is Fleet's own migration command; --no-prompt keeps it from waiting for a terminal."

  validation {
    condition     = length(var.command) > 0
    error_message = "The command must be a non-empty list of strings, e.g. [\"fleet\", \"prepare\", \"db\", \"--no-prompt\"]."
  }
}

variable "assign_public_ip" {
  type        = bool
  default     = null
  description = "Whether the migration task gets a public IP (Fargate only). Null = the service's setting; true is needed only in public subnets without a NAT gateway, to pull the image."
}

variable "launch_type" {
  type        = string
  default     = null
  description = "Launch type of the migration task. Null = run it the way the service runs: its capacity provider strategy (Fargate Spot, an EC2 capacity provider) or its launch type, and its platform version."

  validation {
    condition     = var.launch_type == null ? true : contains(["FARGATE", "EC2"], var.launch_type)
    error_message = "The launch_type must be \"FARGATE\" or \"EC2\", or null to run the task the way the service runs."
  }
}

variable "drain_timeout_seconds" {
  type        = number
  nullable    = false
  default     = 600
  description = "Limit for the services to drain to min_capacity before the migration starts. After it, the services are restored and nothing ran."

  validation {
    condition     = var.drain_timeout_seconds >= 1 && var.drain_timeout_seconds <= 3600 && floor(var.drain_timeout_seconds) == var.drain_timeout_seconds
    error_message = "The drain_timeout_seconds must be a whole number of seconds from 1 to 3600."
  }
}

variable "stabilize_timeout_seconds" {
  type        = number
  nullable    = false
  default     = 600
  description = "Limit for the services to reach their desired count after the migration. 0 does not wait: the apply ends once the counts are set."

  validation {
    condition     = var.stabilize_timeout_seconds >= 0 && var.stabilize_timeout_seconds <= 3600 && floor(var.stabilize_timeout_seconds) == var.stabilize_timeout_seconds
    error_message = "The stabilize_timeout_seconds must be a whole number of seconds from 0 to 3600 (0 = don't wait)."
  }
}

variable "poll_interval_seconds" {
  type        = number
  default     = null
  description = "Seconds the state machine waits between looks at the services and the task while a wait is young. null (the default) starts each wait with 1 s looks, then 10 % of the time waited, up to 5 s; a number is used from the first look (larger costs fewer state transitions)."

  validation {
    condition     = var.poll_interval_seconds == null ? true : var.poll_interval_seconds >= 1 && var.poll_interval_seconds <= 300 && floor(var.poll_interval_seconds) == var.poll_interval_seconds
    error_message = "The poll_interval_seconds must be a whole number of seconds from 1 to 300."
  }
}

variable "python" {
  type        = string
  nullable    = false
  default     = "python3"
  description = "Python 3.9+ interpreter that runs the module's client: it calls AWS through boto3 when that Python can import it, otherwise through the AWS CLI (v1 or v2) on PATH, as Fleet's addon did."

  validation {
    condition     = length(trimspace(var.python)) > 0
    error_message = "The python variable must name a Python 3 interpreter, e.g. \"python3\" or \"/opt/venv/bin/python\"."
  }
}

# ---------------------------------------------------------------------------------------------
# The migration task's size and the recovery point
# ---------------------------------------------------------------------------------------------

variable "task_cpu" {
  type        = string
  nullable    = true
  default     = null
  description = "Task CPU for the migration task only, in CPU units (\"1024\" = 1 vCPU), when fleet prepare db needs more than the service's task size. Null runs it with the revision's size. On Fargate it must be one of Fargate's task CPU values."

  validation {
    condition     = var.task_cpu == null ? true : can(regex("^[1-9][0-9]*$", var.task_cpu))
    error_message = "The task_cpu must be a whole number of CPU units as a string, e.g. \"1024\" (1 vCPU) or \"4096\" (4 vCPU), or null."
  }
}

variable "task_memory" {
  type        = string
  nullable    = true
  default     = null
  description = "Task memory in MiB for the migration task only (e.g. \"8192\"), with task_cpu. Null keeps the revision's memory. On Fargate the pair must be one Fargate runs (the ECS Developer Guide's CPU and memory table)."

  validation {
    condition     = var.task_memory == null ? true : can(regex("^[1-9][0-9]*$", var.task_memory))
    error_message = "The task_memory must be a whole number of MiB as a string, e.g. \"8192\", or null."
  }
}

variable "migration_config" {
  type        = map(number)
  nullable    = true
  default     = null
  description = "The migration_config of Fleet's byo-ecs module ({ cpu = 1024, mem = 2048 }), which Fleet's addon never used: passed here it sizes the migration task. task_cpu and task_memory win when set."

  validation {
    condition     = var.migration_config == null ? true : alltrue([for key in keys(var.migration_config) : contains(["cpu", "mem"], key)])
    error_message = "The migration_config takes only cpu and mem, as in Fleet's byo-ecs module, e.g. { cpu = 1024, mem = 2048 }."
  }
}

variable "db_cluster_identifier" {
  type        = string
  nullable    = false
  default     = ""
  description = "Fleet's Aurora DB cluster: after the services drained and before the migration runs, the workflow snapshots it and waits until the snapshot is available. The snapshot and its restore command are in the output. \"\" takes no snapshot."

  validation {
    condition     = var.db_cluster_identifier == "" || can(regex("^[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9]){0,62}$", var.db_cluster_identifier))
    error_message = "The db_cluster_identifier must be an Aurora DB cluster identifier (letters, digits and single hyphens, starting with a letter, at most 63), or \"\"."
  }
}

variable "db_instance_identifier" {
  type        = string
  nullable    = false
  default     = ""
  description = "Fleet's RDS DB instance, when the database is not Aurora: snapshotted the same way. Set at most one of db_cluster_identifier and db_instance_identifier."

  validation {
    condition     = var.db_instance_identifier == "" || can(regex("^[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9]){0,62}$", var.db_instance_identifier))
    error_message = "The db_instance_identifier must be an RDS DB instance identifier (letters, digits and single hyphens, starting with a letter, at most 63), or \"\"."
  }
}

variable "snapshot_timeout_seconds" {
  type        = number
  nullable    = false
  default     = 3600
  description = "Limit for the snapshot to become available. After it the migration does not start and the services are restored; raise it for a large database."

  validation {
    condition     = var.snapshot_timeout_seconds >= 60 && var.snapshot_timeout_seconds <= 14400 && floor(var.snapshot_timeout_seconds) == var.snapshot_timeout_seconds
    error_message = "The snapshot_timeout_seconds must be a whole number of seconds from 60 to 14400."
  }
}

variable "skip_unchanged_image" {
  type        = bool
  nullable    = false
  default     = true
  description = "Succeed at once, changing nothing, when the workflow can show that the new revision runs the binary that serves: the same image pinned by digest or by a version tag, or the new revision's own tasks already serving (or reporting the serving tasks' image digest). A mutable tag such as latest with no such evidence is migrated."
}

variable "deregistration_delay_seconds" {
  type        = number
  nullable    = true
  default     = 5
  description = "While Fleet goes down, each of its target groups waits at most this long for in-flight requests before ECS stops a task, instead of its own deregistration delay (300 s by default, all of it outage); put back afterwards on every path. Null leaves the target groups alone."

  validation {
    condition     = var.deregistration_delay_seconds == null ? true : (var.deregistration_delay_seconds >= 0 && var.deregistration_delay_seconds <= 3600 && floor(var.deregistration_delay_seconds) == var.deregistration_delay_seconds)
    error_message = "The deregistration_delay_seconds must be a whole number of seconds from 0 to 3600 (the range Elastic Load Balancing allows), or null to leave the target groups' own delay."
  }
}

variable "maintenance_page" {
  type        = bool
  nullable    = false
  default     = false
  description = "While Fleet is down, every request a listener would have forwarded to the Fleet service answers 503 with maintenance_message; every other request (other applications, an allowlist's 403/404) answers as before. The forwards are swapped for the page before the scale-down and put back on every path."
}

variable "maintenance_message" {
  type        = string
  nullable    = false
  default     = "<!DOCTYPE html><html><head><title>Fleet is being upgraded</title></head><body><h1>Fleet is being upgraded</h1><p>Fleet will be back in a few minutes. Please try again shortly.</p></body></html>"
  description = "Body of the maintenance page (text/html when it starts with <, else text/plain): the deployment's, passed to the workflow this module deploys (with state_machine_arn, the page is that workflow's own)."

  validation {
    condition     = length(var.maintenance_message) >= 1 && length(var.maintenance_message) <= 1024
    error_message = "The maintenance_message must be 1 to 1024 characters: the most a load balancer's fixed response can carry."
  }
  # osquery reads any response body as JSON and counts it a success unless it carries an "error" key.
  validation {
    condition     = !can(jsondecode(var.maintenance_message)) || try(jsondecode(var.maintenance_message).error, null) != null
    error_message = "The maintenance_message must not be JSON without an \"error\" key: osquery agents would take it for a valid answer and drop their buffered logs. Use HTML or plain text."
  }
}

variable "on_partial_migration" {
  type        = string
  nullable    = false
  default     = "serve_previous"
  description = "What a migration that fails after applying some of its migrations does: \"serve_previous\" rolls back as for any failure (the older Fleet serves on the partly migrated schema, which Fleet tolerates), \"stay_down\" keeps Fleet down behind the maintenance page for you to restore the recovery point."

  validation {
    condition     = contains(["serve_previous", "stay_down"], var.on_partial_migration)
    error_message = "The on_partial_migration must be \"serve_previous\" (roll back and serve the previous Fleet) or \"stay_down\" (keep Fleet down for a restore)."
  }
}

variable "stable_seconds" {
  type        = number
  nullable    = false
  default     = 30
  description = "After the scale-up, a service is stable only once its new tasks have run this long with none stopping (a crash loop with no load balancer looks RUNNING for a second)."

  validation {
    condition     = var.stable_seconds >= 0 && var.stable_seconds <= 600 && floor(var.stable_seconds) == var.stable_seconds
    error_message = "The stable_seconds must be a whole number of seconds from 0 to 600."
  }
}

variable "health_check_interval_seconds" {
  type        = number
  nullable    = true
  default     = 5
  description = "While Fleet comes back, its target groups check health this often (their timeout kept below it); put back once Fleet serves and on every other path. Null leaves the health checks alone."

  validation {
    condition     = var.health_check_interval_seconds == null ? true : (var.health_check_interval_seconds >= 5 && var.health_check_interval_seconds <= 300 && floor(var.health_check_interval_seconds) == var.health_check_interval_seconds)
    error_message = "The health_check_interval_seconds must be a whole number of seconds from 5 to 300 (what Elastic Load Balancing allows), or null to leave the health checks alone."
  }
}

variable "healthy_threshold_count" {
  type        = number
  nullable    = true
  default     = 2
  description = "While Fleet comes back, this many health checks in a row make a target healthy; put back once Fleet serves and on every other path. Null leaves the health checks alone."

  validation {
    condition     = var.healthy_threshold_count == null ? true : (var.healthy_threshold_count >= 2 && var.healthy_threshold_count <= 10 && floor(var.healthy_threshold_count) == var.healthy_threshold_count)
    error_message = "The healthy_threshold_count must be a whole number from 2 to 10 (what Elastic Load Balancing allows), or null to leave the health checks alone."
  }
}

# ---------------------------------------------------------------------------------------------
# The workflow this module deploys when state_machine_arn is null (modules/workflow)
# ---------------------------------------------------------------------------------------------

variable "workflow_name" {
  type        = string
  nullable    = true
  default     = null
  description = "Name of the state machine deployed when state_machine_arn is null, and the prefix of its functions, roles, log groups and alarm. Null names it fleet-migration-<8 hex of the cluster and service names>, so that two Fleet deployments in one account and region never share one."

  validation {
    condition     = var.workflow_name == null ? true : can(regex("^[A-Za-z0-9_-]{1,40}$", var.workflow_name))
    error_message = "The workflow_name must be 1 to 40 letters, digits, hyphens or underscores, e.g. \"fleet-migration\", or null to name it after the cluster and service."
  }
}

variable "task_execution_role_arn" {
  type        = string
  nullable    = true
  default     = null
  description = "Execution role of the Fleet task definition, the only role (with task_role_arn) the deployed workflow may pass to ECS. Null reads it from task_definition:task_definition_revision."

  validation {
    condition     = var.task_execution_role_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.task_execution_role_arn))
    error_message = "The task_execution_role_arn must be an IAM role ARN such as \"arn:aws:iam::123456789012:role/fleet-execution\", or null to read it from the task definition."
  }
}

variable "task_role_arn" {
  type        = string
  nullable    = true
  default     = null
  description = "Task role of the Fleet task definition (\"\" when it has none). Null reads it from task_definition:task_definition_revision."

  validation {
    condition     = var.task_role_arn == null ? true : can(regex("^(arn:aws[a-z-]*:iam::[0-9]{12}:role/.+)?$", var.task_role_arn))
    error_message = "The task_role_arn must be an IAM role ARN such as \"arn:aws:iam::123456789012:role/fleet-task\", \"\" when the task definition has none, or null to read it from the task definition."
  }
}

variable "task_log_group_name" {
  type        = string
  nullable    = true
  default     = null
  description = "CloudWatch Logs group of the migration container, which the deployed workflow may read to put a failed migration's last lines in its cause (log_tail); \"\" for none. Null reads the awslogs-group of container_name from task_definition:task_definition_revision."

  validation {
    condition     = var.task_log_group_name == null ? true : can(regex("^[A-Za-z0-9_./#-]{0,512}$", var.task_log_group_name))
    error_message = "The task_log_group_name must be a CloudWatch Logs group name (letters, digits and _ . / # -, at most 512) such as \"/ecs/fleet\", \"\" for none, or null to read it from the task definition."
  }
}

variable "enable_trigger" {
  type        = bool
  nullable    = false
  default     = false
  description = "With the workflow deployed here: also start (or join) a migration whenever a new revision of the family is registered outside Terraform (EventBridge), with this module's settings. Needs a CloudTrail trail recording management events."
}

variable "trigger_principal_arns" {
  type        = list(string)
  nullable    = false
  default     = []
  description = "With enable_trigger: the roles whose RegisterTaskDefinition calls start a migration (CloudTrail's sessionIssuer ARN), e.g. the role a deploy pipeline runs as. Empty: the trigger starts nothing."

  validation {
    condition     = alltrue([for arn in var.trigger_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "The trigger_principal_arns must be IAM role ARNs such as \"arn:aws:iam::123456789012:role/fleet-deploy\" (the role, not its assumed-role session)."
  }
}

variable "load_balancer_name" {
  type        = string
  nullable    = false
  default     = "*"
  description = "Name of Fleet's Application Load Balancer (or a pattern with * or ?): the workflow this module deploys may change rules and listeners of this load balancer only (the maintenance page). The default * allows every Application Load Balancer of the account in the region: name yours."

  validation {
    condition     = can(regex("^[A-Za-z0-9*?-]{1,32}$", var.load_balancer_name))
    error_message = "The load_balancer_name must be a load balancer name (1 to 32 letters, digits or hyphens, possibly with * or ?), e.g. \"fleet\"."
  }
}

variable "target_group_name" {
  type        = string
  nullable    = false
  default     = "*"
  description = "Name of Fleet's target group (or a pattern with * or ?): the only target groups whose deregistration delay the workflow this module deploys changes. The default * allows every target group of the account in the region: name yours."

  validation {
    condition     = can(regex("^[A-Za-z0-9*?-]{1,32}$", var.target_group_name))
    error_message = "The target_group_name must be a target group name (1 to 32 letters, digits or hyphens, possibly with * or ?), e.g. \"fleet\"."
  }
}

# ---------------------------------------------------------------------------------------------
# The deployed workflow's alarm, logs and roles, and running a migration again
# ---------------------------------------------------------------------------------------------

variable "alarm_topic_arn" {
  type        = string
  nullable    = false
  default     = ""
  description = "SNS topic the deployed workflow's alarm notifies when a migration fails or times out (and when the trigger fails), so a failure that no apply watched reaches someone. \"\" for none."

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256})?$", var.alarm_topic_arn))
    error_message = "The alarm_topic_arn must be an SNS topic ARN such as \"arn:aws:sns:us-east-1:123456789012:fleet-alerts\", or \"\" for none."
  }
}

variable "log_retention_days" {
  type        = number
  nullable    = false
  default     = 90
  description = "Days CloudWatch Logs keeps the deployed workflow's logs (state machine and functions): how far back a past migration can be read."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be a retention CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "tags" {
  type        = map(string)
  nullable    = false
  default     = {}
  description = "Tags for every resource of the deployed workflow that takes them (functions, roles, log groups, state machine, alarms, trigger), e.g. the cost allocation tags of Fleet's other resources."

  validation {
    condition     = alltrue([for key, value in var.tags : length(key) >= 1 && length(key) <= 128 && length(value) <= 256 && !startswith(lower(key), "aws:")])
    error_message = "The tags must have keys of 1 to 128 characters that do not start with \"aws:\" (reserved for AWS) and values of at most 256 characters."
  }
}

variable "permissions_boundary" {
  type        = string
  nullable    = false
  default     = ""
  description = "ARN of the managed policy set as permissions boundary of every IAM role the deployed workflow creates, where the organisation requires one. \"\" for none."

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+)?$", var.permissions_boundary))
    error_message = "The permissions_boundary must be an IAM managed policy ARN such as \"arn:aws:iam::123456789012:policy/boundary\", or \"\" for none."
  }
}

variable "role_path" {
  type        = string
  nullable    = false
  default     = "/"
  description = "Path of every IAM role the deployed workflow creates (e.g. \"/fleet/\"), where the organisation scopes roles by path."

  validation {
    # IAM API Reference, CreateRole: Path is / or /.../, 1 to 512 characters from ! (\u0021) to ~ (\u007E).
    condition     = can(regex("^/([!-~]{0,510}/)?$", var.role_path))
    error_message = "The role_path must start and end with / (\"/\" or \"/fleet/\"), at most 512 printable ASCII characters without spaces."
  }
}

variable "rerun" {
  type        = number
  nullable    = false
  default     = 0
  description = "Runs the revision's migration again although it succeeded, e.g. after restoring the database by hand for the same revision: raise it by one (1, then 2, ...) and apply, and the next attempt (<name>-aN) starts. A plain apply never reruns a migration that succeeded; 0 adds nothing to the trigger."

  validation {
    condition     = var.rerun >= 0 && var.rerun <= 98 && floor(var.rerun) == var.rerun
    error_message = "The rerun must be a whole number from 0 to 98: raise it by one to run the revision's migration once more, and set it back to 0 with the next revision."
  }
}

variable "kms_key_arn" {
  type        = string
  nullable    = false
  default     = ""
  description = "ARN of a customer managed KMS key for the deployed workflow's state machine, log groups and failed-events queue; its key policy must allow what the workflow module's README lists. \"\" for AWS owned keys."

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+)?$", var.kms_key_arn))
    error_message = "The kms_key_arn must be the ARN of a symmetric KMS key such as \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\" (not an alias), or \"\" for AWS owned keys."
  }
}
