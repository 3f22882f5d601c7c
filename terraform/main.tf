# Runs Fleet's database migration through the fleet-migration state machine when the task
# definition revision changes: the null_resource starts (or joins) the execution for the revision
# and follows it until it ends, failing the apply when the migration fails.

locals {
  # The execution input (docs/execution-input.md): one flat JSON object, the same for Terraform,
  # the EventBridge trigger and a rerun from the Step Functions console. min_capacity has the addon's
  # meaning there too (the autoscaling minimum after the migration); capacity_during_migration is the
  # count held during it.
  execution_input = {
    ecs_cluster                   = var.ecs_cluster
    ecs_service                   = var.ecs_service
    task_definition               = var.task_definition
    task_definition_revision      = var.task_definition_revision
    subnets                       = var.subnets
    security_groups               = var.security_groups
    capacity_during_migration     = var.capacity_during_migration
    min_capacity                  = var.min_capacity
    desired_count                 = var.desired_count
    max_capacity                  = var.max_capacity
    vuln_service                  = var.vuln_service
    container_name                = var.container_name
    command                       = var.command
    assign_public_ip              = var.assign_public_ip
    launch_type                   = var.launch_type
    timeout_seconds               = var.timeout_seconds
    drain_timeout_seconds         = var.drain_timeout_seconds
    stabilize_timeout_seconds     = var.stabilize_timeout_seconds
    poll_interval_seconds         = var.poll_interval_seconds
    task_cpu                      = var.task_cpu != null ? var.task_cpu : tostring(lookup(local.migration_config, "cpu", null))
    task_memory                   = var.task_memory != null ? var.task_memory : tostring(lookup(local.migration_config, "mem", null))
    db_cluster_identifier         = var.db_cluster_identifier
    db_instance_identifier        = var.db_instance_identifier
    snapshot_timeout_seconds      = var.snapshot_timeout_seconds
    skip_unchanged_image          = var.skip_unchanged_image
    deregistration_delay_seconds  = var.deregistration_delay_seconds
    maintenance_page              = var.maintenance_page
    on_partial_migration          = var.on_partial_migration
    stable_seconds                = var.stable_seconds
    health_check_interval_seconds = var.health_check_interval_seconds
    healthy_threshold_count       = var.healthy_threshold_count
  }
  # The awslogs-group of container_name in the revision (the awslogs driver writes there), "" when that
  # container logs elsewhere or not at all. Only read when the workflow is deployed here.
  container_log_group = try(coalesce(one([
    for container in jsondecode(one(data.aws_ecs_task_definition.migration[*].container_definitions)) :
    try(container.logConfiguration.options["awslogs-group"], "")
    if container.name == var.container_name && try(container.logConfiguration.logDriver, "") == "awslogs"
  ])), "")

  # Fleet's byo-ecs migration_config (cpu, mem), when passed: the task size unless task_cpu/task_memory say otherwise.
  migration_config = var.migration_config == null ? {} : var.migration_config

  # The first attempt's execution name (docs/execution-names.md), as terraform/executions.py builds it:
  # <cluster>-<service>-r<revision> from the short names, unsafe characters replaced by "-",
  # names over 80 characters cut to 71 plus "-" and 8 hex digits of the SHA-256 of the whole name.
  # A later attempt after a failed one is named "<this>-a2", "-a3", ... (the client reports it).
  execution_name_full = replace("${regex("[^/]*$", var.ecs_cluster)}-${regex("[^/]*$", var.ecs_service)}-r${var.task_definition_revision}", "/[^A-Za-z0-9_-]/", "-")
  execution_name      = length(local.execution_name_full) > 80 ? "${substr(local.execution_name_full, 0, 71)}-${substr(sha256(local.execution_name_full), 0, 8)}" : local.execution_name_full

  # The state machine given, or the one modules/workflow deploys (its ARN is known at plan time, and
  # whatever reads it waits until the workflow exists).
  state_machine_arn = var.state_machine_arn != null ? var.state_machine_arn : module.workflow[0].state_machine_arn

  # arn:<partition>:states:<region>:<account>:stateMachine:<name>
  partition     = split(":", local.state_machine_arn)[1]
  region        = split(":", local.state_machine_arn)[3]
  console       = lookup({ "aws-cn" = "https://console.amazonaws.cn", "aws-us-gov" = "https://console.amazonaws-us-gov.com" }, local.partition, "https://${local.region}.console.aws.amazon.com")
  execution_arn = "${replace(local.state_machine_arn, ":stateMachine:", ":execution:")}:${local.execution_name}"
}

resource "null_resource" "main" {
  # The revision alone, as in Fleet's addon: other changes (counts, timeouts) apply to the next
  # migration and never run one by themselves.
  triggers = merge(
    { task_definition_revision = var.task_definition_revision },
    # Raising rerun replaces this resource, and the client then starts the revision's next attempt although
    # one succeeded. At 0 the map is the one above alone, so a module upgrade replaces nothing.
    var.rerun == 0 ? {} : { rerun = var.rerun },
  )

  lifecycle {
    precondition {
      condition     = var.desired_count == null ? true : var.desired_count >= var.capacity_during_migration
      error_message = "The desired_count is below capacity_during_migration: raise desired_count, lower capacity_during_migration, or set desired_count = null to restore the count found before."
    }

    precondition {
      condition     = var.desired_count == null || var.min_capacity == null ? true : var.desired_count >= var.min_capacity
      error_message = "The desired_count is below min_capacity (the autoscaling minimum after the migration): raise desired_count, lower min_capacity, or set desired_count = null."
    }

    precondition {
      condition     = var.max_capacity == null || var.min_capacity == null ? true : var.max_capacity >= var.min_capacity
      error_message = "The max_capacity is below min_capacity: raise max_capacity, lower min_capacity, or set either to null to restore what was found before."
    }

    precondition {
      condition     = var.max_capacity == null || var.desired_count == null ? true : var.max_capacity >= var.desired_count
      error_message = "The max_capacity is below desired_count: raise max_capacity, lower desired_count, or set max_capacity = null to restore the maximum found before."
    }

    precondition {
      condition     = var.db_cluster_identifier == "" || var.db_instance_identifier == ""
      error_message = "Set at most one of db_cluster_identifier (an Aurora cluster) and db_instance_identifier (an RDS instance); set the other to \"\"."
    }

    precondition {
      condition     = var.task_memory == null ? true : var.task_cpu != null
      error_message = "The task_memory needs task_cpu too: Fargate runs a task memory only with a matching task CPU (e.g. task_cpu = \"1024\" with 2048 to 8192 MiB)."
    }

    precondition {
      condition     = var.vuln_service == "" ? true : regex("[^/]*$", var.vuln_service) != regex("[^/]*$", var.ecs_service)
      error_message = "The vuln_service names the same service as ecs_service: set it to the vulnerability-processing service, or to \"\" when there is none."
    }
  }

  # The client starts or joins the execution for this revision and follows it; its exit code fails
  # the apply when the migration fails. Values reach it through the environment only, never
  # through a shell line.
  provisioner "local-exec" {
    interpreter = [var.python]
    command     = "${path.module}/migrate.py"
    environment = {
      FLEET_MIGRATION_STATE_MACHINE_ARN        = local.state_machine_arn
      FLEET_MIGRATION_INPUT                    = jsonencode(local.execution_input)
      FLEET_MIGRATION_ASSUME_ROLE_ARN          = var.assume_role_arn
      FLEET_MIGRATION_ASSUME_ROLE_SESSION_NAME = var.assume_role_session_name
      FLEET_MIGRATION_RERUN                    = var.rerun
    }
  }
}

# Without state_machine_arn, the workflow itself (modules/workflow, what template.yaml deploys) for
# the cluster, services and family above: its functions may touch those and nothing else.
module "workflow" {
  source = "./modules/workflow"
  count  = var.state_machine_arn == null ? 1 : 0

  name                    = local.workflow_name
  cluster_name            = regex("[^/]*$", var.ecs_cluster)
  service_name            = regex("[^/]*$", var.ecs_service)
  vuln_service_name       = var.vuln_service == "" ? "" : regex("[^/]*$", var.vuln_service)
  task_definition_family  = regex("[^/]*$", var.task_definition)
  task_execution_role_arn = var.task_execution_role_arn != null ? var.task_execution_role_arn : local.recorded.execution_role_arn
  task_role_arn           = var.task_role_arn != null ? var.task_role_arn : local.recorded.task_role_arn

  # The vulnerability service's own family ("": <family>-vuln-processing): its revisions may be brought back too.
  vuln_task_definition_family = var.vuln_task_definition_family

  # The recovery point this module's input names, and the migration container's logs (log_tail).
  db_cluster_identifier  = var.db_cluster_identifier
  db_instance_identifier = var.db_instance_identifier
  task_log_group_name    = var.task_log_group_name != null ? var.task_log_group_name : local.recorded.log_group_name

  # The maintenance page's body, and the load balancer and target group whose rules and delays it may change.
  maintenance_message = var.maintenance_message
  load_balancer_name  = var.load_balancer_name
  target_group_name   = var.target_group_name

  # The command this module runs may run, besides Fleet's own (the preflight refuses any other).
  allowed_commands = distinct([["fleet", "prepare", "db"], ["fleet", "prepare", "db", "--no-prompt"], var.command])

  # The container and counts this module's input names are the deployment's (the describe step refuses others).
  container_name    = var.container_name
  max_desired_count = try(max(compact([var.desired_count, var.max_capacity])...), null)

  # A triggered migration runs as this module's would: the same network and settings. The subnets and
  # security groups given here are also the ones the migration task may use besides the service's own.
  enable_trigger         = var.enable_trigger
  trigger_principal_arns = var.trigger_principal_arns
  subnets                = var.subnets
  security_groups        = var.security_groups
  trigger_input_overrides = {
    for field, value in local.execution_input : field => value
    if value != null && !contains(["ecs_cluster", "ecs_service", "vuln_service", "task_definition", "task_definition_revision", "subnets", "security_groups"], field)
  }

  # What Fleet's addon never had: where failures alarm, how long logs stay, and what IAM requires of roles.
  alarm_topic_arn      = var.alarm_topic_arn
  log_retention_days   = var.log_retention_days
  tags                 = var.tags
  permissions_boundary = var.permissions_boundary
  role_path            = var.role_path
  kms_key_arn          = var.kms_key_arn
}

# The roles RunTask passes and the migration container's log group are the revision's own: read them
# unless given.
data "aws_ecs_task_definition" "migration" {
  count = var.state_machine_arn == null && (var.task_execution_role_arn == null || var.task_role_arn == null || var.task_log_group_name == null) ? 1 : 0

  task_definition = "${var.task_definition}:${var.task_definition_revision}"
}

# ... as read from the revision first applied, and kept. The data source above is read anew for every revision,
# and at apply time whenever it cannot be read at plan time: when the revision is not known yet (Fleet's example
# passes aws_ecs_task_definition.revision, unknown until the new revision is registered), and whenever a
# module-level depends_on names a module with changes (Fleet's example: every upgrade). The workflow's
# permissions and functions built from it would then change in every upgrade's plan. Fleet's roles and log
# group rarely change: ignore_changes keeps the first values (`input`, known at plan time when the data source
# is), and the check below says when the revision being migrated has others.
resource "terraform_data" "task_definition" {
  count = length(data.aws_ecs_task_definition.migration)

  input = local.read
  lifecycle {
    ignore_changes = [input]
  }
}

check "task_definition" {
  assert {
    condition = local.read == null ? true : alltrue([
      for key, given in { execution_role_arn = var.task_execution_role_arn, task_role_arn = var.task_role_arn, log_group_name = var.task_log_group_name } :
      given != null || lookup(local.recorded, key, null) == local.read[key]
    ])
    error_message = "Revision ${var.task_definition_revision} of ${var.task_definition} has execution role \"${try(local.read.execution_role_arn, "")}\", task role \"${try(local.read.task_role_arn, "")}\" and log group \"${try(local.read.log_group_name, "")}\", but the workflow was deployed for \"${try(local.recorded.execution_role_arn, "")}\", \"${try(local.recorded.task_role_arn, "")}\" and \"${try(local.recorded.log_group_name, "")}\" (read from the first revision applied), and its migration refuses roles it may not pass. Deploy the workflow for the new ones with terraform apply -replace=ADDRESS, where ADDRESS is this module's terraform_data.task_definition[0] (module.migrations.terraform_data.task_definition[0] in Fleet's example), or set task_execution_role_arn, task_role_arn and task_log_group_name."
  }
}

locals {
  # The revision's roles and migration container log group, read now (null without the data source).
  read = length(data.aws_ecs_task_definition.migration) == 0 ? null : {
    execution_role_arn = one(data.aws_ecs_task_definition.migration[*].execution_role_arn)
    task_role_arn      = try(coalesce(one(data.aws_ecs_task_definition.migration[*].task_role_arn)), "")
    log_group_name     = local.container_log_group
  }
  # ... and as recorded. A later version of this module that adds a key here must read it with lookup():
  # a recorded input keeps the keys of the version that recorded it.
  recorded = one(terraform_data.task_definition[*].input)

  # One workflow per Fleet deployment: two in one account and region (names of state machines, functions and
  # log groups are unique per region) differ in their cluster or service.
  workflow_name = var.workflow_name != null ? var.workflow_name : "fleet-migration-${substr(sha256("${regex("[^/]*$", var.ecs_cluster)}/${regex("[^/]*$", var.ecs_service)}"), 0, 8)}"
}

# Fleet's addon only stopped waiting at its timeout_seconds (default 600) and left the task running; here the
# migration task is stopped and everything rolled back, so a value kept from the addon would now cut a long
# migration short. Not refused: a small database may well migrate in ten minutes.
check "timeout_seconds" {
  assert {
    condition     = var.timeout_seconds >= 3600
    error_message = "timeout_seconds = ${var.timeout_seconds} now stops the migration: Fleet's addon only stopped waiting at its timeout and let the task finish, this module stops the task (mid-schema-change) and rolls Fleet back. Fleet's migrations can take tens of minutes on a large database: remove timeout_seconds (the default is 3600) unless you mean to stop a migration after ${var.timeout_seconds} seconds."
  }
}
