# Inputs of the workflow module: template.yaml's parameters, under Terraform names.
#
# Validation conditions refer only to their own variable (Terraform < 1.9 allows nothing else);
# the rules across variables (the trigger needs subnets and security groups; at most one database) are
# preconditions in main.tf.

variable "name" {
  type        = string
  nullable    = false
  default     = "fleet-migration"
  description = "Name of the state machine, and the prefix of every function, role, log group and alarm. One workflow serves one Fleet deployment: give each deployment in an account and region its own name."

  validation {
    # Lambda function and IAM role names are at most 64 characters; the longest suffix is "-stop-migration-task".
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.name))
    error_message = "The name must be 1 to 40 letters, digits, hyphens or underscores, e.g. \"fleet-migration\"."
  }
}

variable "cluster_name" {
  type        = string
  nullable    = false
  default     = "fleet"
  description = "Name (not ARN) of the ECS cluster that runs Fleet. Every permission of the functions is scoped to it."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.cluster_name))
    error_message = "The cluster_name must be an ECS cluster name (letters, digits, hyphens and underscores, e.g. \"fleet\"), not an ARN."
  }
}

variable "service_name" {
  type        = string
  nullable    = false
  default     = "fleet"
  description = "The Fleet ECS service stopped during the migration (execution input ecs_service)."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.service_name))
    error_message = "The service_name must be an ECS service name (letters, digits, hyphens and underscores, e.g. \"fleet\"), not an ARN."
  }
}

variable "vuln_service_name" {
  type        = string
  nullable    = false
  default     = ""
  description = "Optional second service (vulnerability processing) stopped and restored the same way (vuln_service); empty for none."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{0,255}$", var.vuln_service_name))
    error_message = "The vuln_service_name must be an ECS service name (letters, digits, hyphens and underscores), or \"\" for none."
  }
}

variable "task_definition_family" {
  type        = string
  nullable    = false
  default     = "fleet"
  description = "Family of the Fleet task definition whose new revisions run the migration (task_definition). The run-task step may run revisions of this family only."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.task_definition_family))
    error_message = "The task_definition_family must be a task definition family without revision or ARN, e.g. \"fleet\"."
  }
}

variable "vuln_task_definition_family" {
  type        = string
  nullable    = false
  default     = ""
  description = "Family of the vulnerability service's task definition (with vuln_service_name); \"\": <task_definition_family>-vuln-processing, the name fleet-terraform's external-vuln-scans addon gives it. The steps may put that service back on, and register again, revisions of this family and task_definition_family only."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{0,255}$", var.vuln_task_definition_family))
    error_message = "The vuln_task_definition_family must be a task definition family without revision or ARN, e.g. \"fleet-vuln-processing\", or \"\" for <task_definition_family>-vuln-processing."
  }
}

variable "task_execution_role_arn" {
  type        = string
  nullable    = false
  description = "Execution role of the Fleet task definition. RunTask must pass it to ECS, so the run-task step may iam:PassRole this role (and task_role_arn) and no other."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.task_execution_role_arn))
    error_message = "The task_execution_role_arn must be an IAM role ARN, e.g. \"arn:aws:iam::123456789012:role/fleet-execution\" (the task definition's executionRoleArn)."
  }
}

variable "task_role_arn" {
  type        = string
  nullable    = false
  default     = ""
  description = "Task role of the Fleet task definition, which RunTask passes as well; empty if it has none."

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:iam::[0-9]{12}:role/.+)?$", var.task_role_arn))
    error_message = "The task_role_arn must be an IAM role ARN, e.g. \"arn:aws:iam::123456789012:role/fleet-task\", or \"\" when the task definition has no task role."
  }
}

variable "db_cluster_identifier" {
  type        = string
  nullable    = false
  default     = ""
  description = "Fleet's Aurora DB cluster (execution input db_cluster_identifier): the steps may describe it and take fleet-migration-* snapshots of it, nothing else. Empty: no Aurora snapshot. Set at most one of db_cluster_identifier and db_instance_identifier."

  validation {
    condition     = can(regex("^([A-Za-z][A-Za-z0-9-]{0,62})?$", var.db_cluster_identifier))
    error_message = "The db_cluster_identifier must be an Aurora DB cluster identifier (a letter, then up to 62 letters, digits or hyphens, e.g. \"fleet\"), or \"\" for none."
  }
}

variable "db_instance_identifier" {
  type        = string
  nullable    = false
  default     = ""
  description = "Fleet's RDS DB instance (execution input db_instance_identifier), instead of an Aurora cluster: the steps may describe it and take fleet-migration-* snapshots of it. Empty: no RDS snapshot."

  validation {
    condition     = can(regex("^([A-Za-z][A-Za-z0-9-]{0,62})?$", var.db_instance_identifier))
    error_message = "The db_instance_identifier must be an RDS DB instance identifier (a letter, then up to 62 letters, digits or hyphens, e.g. \"fleet\"), or \"\" for none."
  }
}

variable "task_log_group_name" {
  type        = string
  nullable    = false
  default     = ""
  description = "The awslogs-group of the migration container (its logConfiguration). The rollback step may read its streams to put a failed migration's last lines in the cause (log_tail). Empty: causes carry no log lines."

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{0,512}$", var.task_log_group_name))
    error_message = "The task_log_group_name must be a CloudWatch Logs group name (letters, digits and _ . / # -, at most 512), e.g. \"/ecs/fleet\", or \"\" for none."
  }
}

variable "allowed_commands" {
  type        = list(list(string))
  nullable    = false
  default     = [["fleet", "prepare", "db"], ["fleet", "prepare", "db", "--no-prompt"]]
  description = "The only commands (execution input command) the migration task may run. Anything else is refused before any change: whoever may start an execution must not be able to run any command with Fleet's task role and database secrets."

  validation {
    condition     = length(var.allowed_commands) > 0 && alltrue([for command in var.allowed_commands : length(command) > 0])
    error_message = "The allowed_commands must be a non-empty list of non-empty commands, e.g. [[\"fleet\", \"prepare\", \"db\", \"--no-prompt\"]]."
  }
}

variable "enable_trigger" {
  type        = bool
  nullable    = false
  default     = false
  description = "Start (or join) a migration whenever a new revision of task_definition_family is registered (EventBridge). Needs a CloudTrail trail that records management events in this region."
}

variable "trigger_principal_arns" {
  type        = list(string)
  nullable    = false
  default     = []
  description = "The roles whose RegisterTaskDefinition calls start a migration (CloudTrail's userIdentity.sessionContext.sessionIssuer.arn), e.g. the role Fleet's Terraform runs as. Empty: the trigger starts nothing; registrations by anyone else, and the workflow's own, never do."

  validation {
    condition     = alltrue([for arn in var.trigger_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "The trigger_principal_arns must be IAM role ARNs such as \"arn:aws:iam::123456789012:role/fleet-terraform\" (the role, not its assumed-role session)."
  }
}

variable "allowed_image_repositories" {
  type        = list(string)
  nullable    = false
  default     = []
  description = "Image repositories (the image reference without tag or digest, e.g. \"fleetdm/fleet\") whose images the migration container may run. Empty: the repository of the revision that serves Fleet. Another image is refused before any change."

  validation {
    condition     = alltrue([for repository in var.allowed_image_repositories : length(repository) > 0 && !can(regex("[@]", repository))])
    error_message = "The allowed_image_repositories must be repositories without a digest, e.g. \"fleetdm/fleet\" or \"123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet\"."
  }
}

variable "subnets" {
  type        = list(string)
  nullable    = false
  default     = []
  description = "Subnets the migration task may run in besides the Fleet service's own (an execution input naming any other is refused), and those the trigger's migrations run in. Required with enable_trigger."

  validation {
    condition     = alltrue([for subnet in var.subnets : can(regex("^subnet-[0-9a-f]+$", subnet))])
    error_message = "The subnets must be subnet ids such as \"subnet-0a1b2c3d\" (the Fleet service's)."
  }
}

variable "security_groups" {
  type        = list(string)
  nullable    = false
  default     = []
  description = "Security groups the migration task may have besides the Fleet service's own (execution input security_groups), and those the trigger's migrations use. Required with enable_trigger."

  validation {
    condition     = alltrue([for group in var.security_groups : can(regex("^sg-[0-9a-f]+$", group))])
    error_message = "The security_groups must be security group ids such as \"sg-0a1b2c3d\" (the Fleet service's)."
  }
}

variable "trigger_input_overrides" {
  type        = any
  nullable    = false
  default     = {}
  description = "Further execution input fields for triggered migrations, as an object (capacity_during_migration, desired_count, container_name, command, assign_public_ip, launch_type, timeouts, ...). The trigger checks them against the input contract."

  validation {
    condition     = can(keys(var.trigger_input_overrides))
    error_message = "The trigger_input_overrides must be an object, e.g. { assign_public_ip = true, timeout_seconds = 7200 }."
  }
}

variable "alarm_topic_arn" {
  type        = string
  nullable    = false
  default     = ""
  description = "Optional SNS topic notified when a migration fails (and when the trigger fails); empty for none."

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:.+)?$", var.alarm_topic_arn))
    error_message = "The alarm_topic_arn must be an SNS topic ARN such as \"arn:aws:sns:us-east-1:123456789012:fleet-alerts\", or \"\" for none."
  }
}

variable "log_retention_days" {
  type        = number
  nullable    = false
  default     = 90
  description = "Days to keep the logs of the state machine and of the functions."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be a retention CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "tags" {
  type        = map(string)
  nullable    = false
  default     = {}
  description = "Tags for every resource that takes them (functions, roles, log groups, state machine, alarms, rule)."
}

variable "load_balancer_name" {
  type        = string
  nullable    = false
  default     = "*"
  description = "Name of Fleet's Application Load Balancer (or a pattern with * or ?): the maintenance page changes rules and listeners of this load balancer only. The default * allows every Application Load Balancer of the account in the region: name yours."

  validation {
    condition     = can(regex("^[A-Za-z0-9*?-]{1,32}$", var.load_balancer_name))
    error_message = "The load_balancer_name must be a load balancer name (1 to 32 letters, digits or hyphens, possibly with * or ?), e.g. \"fleet\"."
  }
}

variable "target_group_name" {
  type        = string
  nullable    = false
  default     = "*"
  description = "Name of Fleet's target group (or a pattern with * or ?): the only target groups whose deregistration delay the workflow changes. The default * allows every target group of the account in the region: name yours."

  validation {
    condition     = can(regex("^[A-Za-z0-9*?-]{1,32}$", var.target_group_name))
    error_message = "The target_group_name must be a target group name (1 to 32 letters, digits or hyphens, possibly with * or ?), e.g. \"fleet\"."
  }
}

variable "maintenance_message" {
  type        = string
  nullable    = false
  default     = "<!DOCTYPE html><html><head><title>Fleet is being upgraded</title></head><body><h1>Fleet is being upgraded</h1><p>Fleet will be back in a few minutes. Please try again shortly.</p></body></html>"
  description = "Body of the maintenance page (with maintenance_page in the execution input): text/html when it starts with <, else text/plain. The deployment's, never the caller's: it is served on Fleet's own origin."

  validation {
    condition     = length(var.maintenance_message) >= 1 && length(var.maintenance_message) <= 1024
    error_message = "The maintenance_message must be 1 to 1024 characters: the most a load balancer's fixed response carries."
  }
  # osquery reads any response body as JSON and counts it a success unless it carries an "error" key.
  validation {
    condition     = !can(jsondecode(var.maintenance_message)) || try(jsondecode(var.maintenance_message).error, null) != null
    error_message = "The maintenance_message must not be JSON without an \"error\" key: osquery agents would take it for a valid answer and drop their buffered logs. Use HTML or plain text."
  }
}

variable "container_name" {
  type        = string
  nullable    = false
  default     = "fleet"
  description = "The container of the task definition that runs the migration command (execution input container_name may only repeat it): another container must not receive the command, Fleet's secrets and the task's network."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.container_name))
    error_message = "The container_name must be the name of a container in the task definition (letters, digits, hyphens and underscores), e.g. \"fleet\"."
  }
}

variable "max_desired_count" {
  type        = number
  default     = null
  description = "The most tasks desired_count and max_capacity may ask for after a migration. Null: the Fleet service's autoscaling maximum found before the migration (no cap without autoscaling)."

  validation {
    condition     = var.max_desired_count == null ? true : var.max_desired_count >= 1 && floor(var.max_desired_count) == var.max_desired_count
    error_message = "The max_desired_count must be a whole number of at least 1, or null to cap at the service's autoscaling maximum."
  }
}

variable "log_tail_lines" {
  type        = number
  nullable    = false
  default     = 20
  description = "How many of the migration container's last log lines a failed migration's cause carries (log_tail), redacted of the task definition's environment values and of what looks like a password, DSN, token or key. The cause is kept in the execution history and the state machine's log group: 0 keeps the lines out."

  validation {
    condition     = var.log_tail_lines >= 0 && var.log_tail_lines <= 20 && floor(var.log_tail_lines) == var.log_tail_lines
    error_message = "The log_tail_lines must be a whole number from 0 (no log lines in causes) to 20."
  }
}

variable "state_machine_log_level" {
  type        = string
  nullable    = false
  default     = "ERROR"
  description = "What the state machine writes to its log group. ERROR (the default) logs failed executions and steps; ALL logs every state, which with state_machine_log_execution_data includes each step's input and output."

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "The state_machine_log_level must be \"ALL\", \"ERROR\", \"FATAL\" or \"OFF\"."
  }
}

variable "state_machine_log_execution_data" {
  type        = bool
  nullable    = false
  default     = false
  description = "Write each logged event's input, output and cause (the execution input, the services' settings, the migration's log lines) to the state machine's log group. Off by default."
}

variable "permissions_boundary" {
  type        = string
  nullable    = false
  default     = ""
  description = "ARN of the managed policy set as permissions boundary of every role this module creates (the functions' and the state machine's), where the organisation requires one. Empty for none."

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+)?$", var.permissions_boundary))
    error_message = "The permissions_boundary must be an IAM managed policy ARN such as \"arn:aws:iam::123456789012:policy/boundary\", or \"\" for none."
  }
}

variable "role_path" {
  type        = string
  nullable    = false
  default     = "/"
  description = "Path of every role this module creates (e.g. \"/fleet/\"), where the organisation scopes roles, or the deployer's iam:CreateRole, by path."

  validation {
    # IAM API Reference, CreateRole: Path is / or /.../, 1 to 512 characters from ! (\u0021) to ~ (\u007E).
    condition     = can(regex("^/([!-~]{0,510}/)?$", var.role_path))
    error_message = "The role_path must start and end with / (\"/\" or \"/fleet/\"), at most 512 printable ASCII characters without spaces."
  }
}


variable "kms_key_arn" {
  type        = string
  nullable    = false
  default     = ""
  description = "ARN of a customer managed KMS key for the state machine (its execution history and definition), its and the functions' log groups and the trigger's failed-events queue. Its key policy must allow CloudWatch Logs, EventBridge, the state machine's and the trigger's roles and whoever starts or reads executions (README, \"A customer managed KMS key\"). \"\" for AWS owned keys."

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+)?$", var.kms_key_arn))
    error_message = "The kms_key_arn must be the ARN of a symmetric KMS key such as \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\" (not an alias: CloudWatch Logs takes key ARNs only), or \"\" for AWS owned keys."
  }
}
