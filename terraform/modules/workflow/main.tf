# The fleet-migration workflow deployed by Terraform alone: what template.yaml deploys, resource for
# resource. The permissions are template.yaml's, statement for statement, and
# tests/terraform/test_workflow_module_terraform.py fails when the two differ; the state machine is
# statemachine/migration.asl.json itself, its ${...FunctionArn} filled by templatefile. The code is
# the committed package/functions.zip (functions/) and package/dependencies.zip (a layer of
# functions/requirements.txt for arm64), both built by `make package`: no build step, no provider
# but hashicorp/aws.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

# The partition, region and account every ARN below is built from, read when the workflow is first deployed
# and kept in the state. A module-level depends_on (Fleet's example gives its migrations block
# `depends_on = [module.fleet]`) defers every data source in the module, nested modules included, to apply
# time whenever the modules it names have changes, which is every Fleet upgrade: ARNs built from the data
# sources themselves would be unknown in each such plan, and every role, policy, function and the state
# machine would be replaced or updated while the migration starts. ignore_changes keeps the first value
# (`input`, not `output`: a new resource's input is known at plan time whenever the data sources are); the
# check below warns if the provider ever points elsewhere.
resource "terraform_data" "identity" {
  input = {
    partition = data.aws_partition.current.partition
    # The region's name is the data source's id on hashicorp/aws 5.x and 6.x alike; `name` is deprecated in
    # 6.x (in favour of `region`, which 5.x lacks), and a deprecated attribute warns on every plan.
    region     = data.aws_region.current.id
    account_id = data.aws_caller_identity.current.account_id
  }

  lifecycle {
    ignore_changes = [input]
  }
}

check "identity" {
  assert {
    condition     = terraform_data.identity.input.region == data.aws_region.current.id && terraform_data.identity.input.account_id == data.aws_caller_identity.current.account_id
    error_message = "The workflow was deployed in ${terraform_data.identity.input.account_id}/${terraform_data.identity.input.region}, but the aws provider now points at ${data.aws_caller_identity.current.account_id}/${data.aws_region.current.id}: its permissions name the first. Point the provider back, or replace the workflow there with terraform apply -replace (the terraform_data.identity of this module)."
  }
}

locals {
  partition = terraform_data.identity.input.partition
  region    = terraform_data.identity.input.region
  account   = terraform_data.identity.input.account_id

  # IAM role names are unique per account, not per region (IAM is global): the same workflow name in a
  # second region, or for a second Fleet, would meet EntityAlreadyExists. Each role name ends in 8 hex of
  # the region, the name and the services it serves, and stays within IAM's 64 characters for a role name
  # (IAM User Guide, "IAM and AWS STS quotas"; CreateRole RoleName, IAM API Reference).
  role_suffix = substr(sha256(join("/", [local.region, var.name, var.cluster_name, var.service_name])), 0, 8)

  ecs_prefix   = "arn:${local.partition}:ecs:${local.region}:${local.account}"
  cluster_arn  = "${local.ecs_prefix}:cluster/${var.cluster_name}"
  task_arns    = "${local.ecs_prefix}:task/${var.cluster_name}/*"
  service_arns = [for service in compact([var.service_name, var.vuln_service_name]) : "${local.ecs_prefix}:service/${var.cluster_name}/${service}"]
  # The families whose revisions the services may be put on and the rollback may register again: Fleet's, and with
  # a vulnerability service its own (vuln_task_definition_family; "": <family>-vuln-processing, fleet-terraform's
  # name for it in addons/external-vuln-scans).
  vuln_task_definition_family = var.vuln_task_definition_family != "" ? var.vuln_task_definition_family : "${var.task_definition_family}-vuln-processing"
  task_definition_families = [
    for family in compact([var.task_definition_family, var.vuln_service_name != "" ? local.vuln_task_definition_family : ""]) :
    "${local.ecs_prefix}:task-definition/${family}:*"
  ]
  # Scalable target ARNs end in a random id: this account's targets in this region are as narrow as IAM gets.
  scalable_targets = "arn:${local.partition}:application-autoscaling:${local.region}:${local.account}:scalable-target/*"

  # The recovery point. Resource types per the Service Authorization Reference for Amazon RDS:
  # CreateDBClusterSnapshot needs cluster* and cluster-snapshot* (and rds:AddTagsToResource for its Tags),
  # CreateDBSnapshot db* and snapshot*; the Describe*Snapshots calls take the same two, optionally.
  # Snapshots are named fleet-migration-<execution>-<hash> (functions/fleet_migration/snapshot.py).
  rds_prefix        = "arn:${local.partition}:rds:${local.region}:${local.account}"
  has_db_cluster    = var.db_cluster_identifier != ""
  has_db_instance   = var.db_instance_identifier != ""
  db_cluster_arn    = "${local.rds_prefix}:cluster:${var.db_cluster_identifier}"
  db_instance_arn   = "${local.rds_prefix}:db:${var.db_instance_identifier}"
  cluster_snapshots = "${local.rds_prefix}:cluster-snapshot:fleet-migration-*"
  db_snapshots      = "${local.rds_prefix}:snapshot:fleet-migration-*"
  # The check after Fleet serves, and the causes of a rollback or of ServiceNotStable, read the snapshot's status.
  watch_the_snapshot = {
    Sid      = "WatchTheSnapshot"
    Effect   = "Allow"
    Action   = local.has_db_cluster ? "rds:DescribeDBClusterSnapshots" : "rds:DescribeDBSnapshots"
    Resource = local.has_db_cluster ? [local.db_cluster_arn, local.cluster_snapshots] : concat(local.has_db_instance ? [local.db_instance_arn] : [], [local.db_snapshots])
  }

  # Known before the state machine exists, so the describe step's policy can name it without a cycle
  # (the state machine depends on the functions, not the other way round).
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${var.name}"
  executions_arn    = "arn:${local.partition}:states:${local.region}:${local.account}:execution:${var.name}:*"
  # The trigger's failed-events queue, named so its role's policy is known at plan time too.
  failed_events_queue_name = "${var.name}-trigger-failed-events"
  failed_events_queue_arn  = "arn:${local.partition}:sqs:${local.region}:${local.account}:${local.failed_events_queue_name}"

  list_tasks_of_the_cluster = {
    Effect = "Allow"
    Action = "ecs:ListTasks"
    # ecs:ListTasks has no resource of its own (its only resource type, container-instance, does not exist
    # for Fargate tasks): it is scoped by the ecs:cluster condition key instead.
    Resource  = "*"
    Condition = { ArnEquals = { "ecs:cluster" = local.cluster_arn } }
  }
  # ecs:DescribeServices next to RegisterScalableTarget: Application Auto Scaling checks that its caller
  # may describe and update the ECS service behind the target.
  # ecs:task-definition is a condition key of ecs:UpdateService ("Actions, resources, and condition keys for Amazon
  # Elastic Container Service", Service Authorization Reference): the services go back to revisions of Fleet's
  # families only. IfExists: a request that only sets desiredCount carries no task definition, and
  # ecs:DescribeServices has no such key.
  set_the_desired_counts = {
    Effect    = "Allow"
    Action    = ["ecs:UpdateService", "ecs:DescribeServices"]
    Resource  = local.service_arns
    Condition = { ArnLikeIfExists = { "ecs:task-definition" = local.task_definition_families } }
  }
  # The load balancer in front of Fleet (functions/fleet_migration/load_balancers.py, outage.py): its listeners and
  # rules (load_balancer_name) and target groups (target_group_name) only. Elastic Load Balancing's Describe* actions
  # have no resource-level permissions (Service Authorization Reference): Resource "*".
  elb_prefix     = "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account}"
  fleet_listener = "${local.elb_prefix}:listener/app/${var.load_balancer_name}/*/*"
  fleet_rules    = "${local.elb_prefix}:listener-rule/app/${var.load_balancer_name}/*/*/*"
  set_the_deregistration_delays = {
    Sid      = "SetTheDeregistrationDelays"
    Effect   = "Allow"
    Action   = "elasticloadbalancing:ModifyTargetGroupAttributes"
    Resource = "${local.elb_prefix}:targetgroup/${var.target_group_name}/*"
  }
  # Faster while Fleet comes back, then put back: Fleet's target groups only (target_group_name).
  set_the_health_checks = {
    Sid      = "SetTheHealthChecks"
    Effect   = "Allow"
    Action   = "elasticloadbalancing:ModifyTargetGroup"
    Resource = "${local.elb_prefix}:targetgroup/${var.target_group_name}/*"
  }
  # What the page changed carries the fleet-migration:page tag, its keep-alive rules fleet-migration:execution
  # (the ARN of the execution that created them: only those are deleted).
  maintenance_page_down = [
    { Sid = "FindTheMaintenancePage", Effect = "Allow", Action = ["elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"], Resource = "*" },
    { Sid = "PutBackFleetsForwards", Effect = "Allow", Action = ["elasticloadbalancing:ModifyRule", "elasticloadbalancing:ModifyListener"], Resource = [local.fleet_listener, local.fleet_rules] },
    {
      Sid       = "RemoveThePageTag"
      Effect    = "Allow"
      Action    = "elasticloadbalancing:RemoveTags"
      Resource  = [local.fleet_listener, local.fleet_rules]
      Condition = { "ForAllValues:StringEquals" = { "aws:TagKeys" = "fleet-migration:page" } }
    },
    {
      Sid       = "DeleteTheKeepAliveRules"
      Effect    = "Allow"
      Action    = "elasticloadbalancing:DeleteRule"
      Resource  = local.fleet_rules
      Condition = { StringLike = { "aws:ResourceTag/fleet-migration:execution" = local.executions_arn } }
    },
  ]
  # RunTask and RegisterTaskDefinition pass the task definition's roles to ECS tasks.
  pass_the_task_definition_roles = {
    Sid       = "PassTheTaskDefinitionRoles"
    Effect    = "Allow"
    Action    = "iam:PassRole"
    Resource  = compact([var.task_execution_role_arn, var.task_role_arn])
    Condition = { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
  }
  register_the_autoscaling_targets = {
    Effect   = "Allow"
    Action   = "application-autoscaling:RegisterScalableTarget"
    Resource = local.scalable_targets
  }

  # One entry per step of the state machine: its handler, the ASL placeholder of its ARN, and the
  # statements of template.yaml's Policies for it.
  steps = {
    describe-service = {
      handler      = "describe_service.lambda_handler"
      description  = "Validates the input, checks every resource exists and captures what rollback restores."
      substitution = "DescribeServiceFunctionArn"
      # Reading earlier executions (ListExecutions, GetExecutionHistory), the revisions that serve and every listener
      # and rule in front of Fleet is paged, and nothing to migrate is decided on the tasks' evidence: room for 37
      # calls (Lambda's maximum, 15 minutes).
      timeout = 900
      # Preflight (functions/fleet_migration/preflight.py): what the run-task step may run and pass, refused
      # before any change rather than by RunTask's IAM after the scale-down.
      environment = {
        MAINTENANCE_MESSAGE             = var.maintenance_message
        ALLOWED_MIGRATION_COMMANDS      = jsonencode(var.allowed_commands)
        ALLOWED_TASK_DEFINITION_FAMILY  = var.task_definition_family
        ALLOWED_TASK_EXECUTION_ROLE_ARN = var.task_execution_role_arn
        ALLOWED_TASK_ROLE_ARN           = var.task_role_arn
        ALLOWED_IMAGE_REPOSITORIES      = join(",", var.allowed_image_repositories)
        # Where the task may run and how many tasks may come back (functions/fleet_migration/deployment.py).
        ALLOWED_SUBNETS         = join(",", var.subnets)
        ALLOWED_SECURITY_GROUPS = join(",", var.security_groups)
        CONTAINER_NAME          = var.container_name
        MAX_DESIRED_COUNT       = var.max_desired_count == null ? "" : tostring(var.max_desired_count)
        # The families UpdateService and the rollback's RegisterTaskDefinition may use besides task_definition_family.
        ALLOWED_VULN_TASK_DEFINITION_FAMILY = var.vuln_task_definition_family
        VULN_SERVICE                        = var.vuln_service_name
      }
      statements = concat([
        { Sid = "FindTheCluster", Effect = "Allow", Action = "ecs:DescribeClusters", Resource = local.cluster_arn },
        { Sid = "DescribeTheServices", Effect = "Allow", Action = "ecs:DescribeServices", Resource = local.service_arns },
        # ecs:DescribeTaskDefinition and application-autoscaling:DescribeScalableTargets have no
        # resource-level permissions: Resource must be "*".
        { Sid = "DescribeTheTaskDefinition", Effect = "Allow", Action = "ecs:DescribeTaskDefinition", Resource = "*" },
        { Sid = "CaptureTheAutoscalingTargets", Effect = "Allow", Action = "application-autoscaling:DescribeScalableTargets", Resource = "*" },
        { Sid = "ListRunningMigrations", Effect = "Allow", Action = "states:ListExecutions", Resource = local.state_machine_arn },
        # DescribeExecution: the input of running ones (one migration per service); GetExecutionHistory:
        # what an interrupted earlier one captured, which stays "before" until the services are back.
        { Sid = "ReadEarlierMigrations", Effect = "Allow", Action = ["states:DescribeExecution", "states:GetExecutionHistory"], Resource = local.executions_arn },
        {
          Sid    = "ReadTheLoadBalancer"
          Effect = "Allow"
          Action = [
            "elasticloadbalancing:DescribeTargetGroupAttributes",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeRules",
            "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeLoadBalancers",
          ]
          Resource = "*"
        },
        merge(local.list_tasks_of_the_cluster, { Sid = "FindMigrationTasksLeftRunning" }),
        { Sid = "ReadMigrationTasksLeftRunning", Effect = "Allow", Action = "ecs:DescribeTasks", Resource = local.task_arns },
        # nothing to migrate when the new revision's own tasks already serve, healthy in Fleet's target groups
        { Sid = "SeeWhetherTheNewRevisionServes", Effect = "Allow", Action = "elasticloadbalancing:DescribeTargetHealth", Resource = "*" },
        # A bridge or host task's target is its container instance's EC2 instance id and host port.
        { Sid = "FindTheInstancesOfBridgeAndHostTasks", Effect = "Allow", Action = "ecs:DescribeContainerInstances", Resource = "${local.ecs_prefix}:container-instance/${var.cluster_name}/*" },
        ], local.has_db_cluster ? [
        { Sid = "FindTheDatabaseCluster", Effect = "Allow", Action = "rds:DescribeDBClusters", Resource = local.db_cluster_arn },
        ] : [], local.has_db_instance ? [
        { Sid = "FindTheDatabaseInstance", Effect = "Allow", Action = "rds:DescribeDBInstances", Resource = local.db_instance_arn },
      ] : [])
    }
    scale-down = {
      handler      = "scale_down.lambda_handler"
      description  = "Holds autoscaling and scales the services down to capacity_during_migration."
      substitution = "ScaleDownFunctionArn"
      environment  = { MAINTENANCE_MESSAGE = var.maintenance_message }
      statements = concat([
        local.set_the_deregistration_delays,
        { Sid = "PutUpTheMaintenancePage", Effect = "Allow", Action = "elasticloadbalancing:CreateRule", Resource = local.fleet_listener },
        {
          Sid    = "TagTheKeepAliveRules"
          Effect = "Allow"
          # Tags given to CreateRule need AddTags, only as part of creating it (elasticloadbalancing:CreateAction).
          Action    = "elasticloadbalancing:AddTags"
          Resource  = local.fleet_rules
          Condition = { StringEquals = { "elasticloadbalancing:CreateAction" = "CreateRule" } }
        },
        {
          Sid    = "TagWhatThePageSwaps"
          Effect = "Allow"
          # The fleet-migration:page tag only: never fleet-migration:execution, which DeleteRule trusts.
          Action    = "elasticloadbalancing:AddTags"
          Resource  = [local.fleet_listener, local.fleet_rules]
          Condition = { "ForAllValues:StringEquals" = { "aws:TagKeys" = "fleet-migration:page" } }
        },
        ], local.maintenance_page_down, [
        merge(local.register_the_autoscaling_targets, { Sid = "HoldTheAutoscalingTargets" }),
        merge(local.set_the_desired_counts, { Sid = "SetTheDesiredCounts" }),
      ])
    }
    check-drained = {
      handler      = "check_drained.lambda_handler"
      description  = "Looks once whether the services have drained."
      substitution = "CheckDrainedFunctionArn"
      statements = [
        merge(local.list_tasks_of_the_cluster, { Sid = "ListTheServiceTasks" }),
        { Sid = "DescribeTheServiceTasks", Effect = "Allow", Action = "ecs:DescribeTasks", Resource = local.task_arns },
      ]
    }
    take-snapshot = {
      handler      = "take_snapshot.lambda_handler"
      description  = "Starts the snapshot of Fleet's database once the services have drained."
      substitution = "TakeSnapshotFunctionArn"
      statements = concat([
        { Sid = "TagTheSnapshot", Effect = "Allow", Action = "rds:AddTagsToResource", Resource = local.has_db_cluster ? local.cluster_snapshots : local.db_snapshots },
        ], local.has_db_cluster ? [
        { Sid = "SnapshotTheCluster", Effect = "Allow", Action = "rds:CreateDBClusterSnapshot", Resource = [local.db_cluster_arn, local.cluster_snapshots] },
        ] : [], local.has_db_instance ? [
        { Sid = "SnapshotTheInstance", Effect = "Allow", Action = "rds:CreateDBSnapshot", Resource = [local.db_instance_arn, local.db_snapshots] },
      ] : [])
    }
    check-snapshot = {
      handler      = "check_snapshot.lambda_handler"
      description  = "Looks once whether the database snapshot is available."
      substitution = "CheckSnapshotFunctionArn"
      statements   = [local.watch_the_snapshot]
    }
    run-task = {
      handler      = "run_task.lambda_handler"
      description  = "Starts the one-off migration task from the new task definition revision."
      substitution = "RunTaskFunctionArn"
      environment  = { ALLOWED_MIGRATION_COMMANDS = jsonencode(var.allowed_commands) }
      statements = [
        {
          Sid       = "RunTheMigrationTask"
          Effect    = "Allow"
          Action    = "ecs:RunTask"
          Resource  = "${local.ecs_prefix}:task-definition/${var.task_definition_family}:*"
          Condition = { ArnEquals = { "ecs:cluster" = local.cluster_arn } }
        },
        local.pass_the_task_definition_roles,
      ]
    }
    poll-task = {
      handler      = "check_migration_task.lambda_handler"
      description  = "Looks once at the migration task and reports how it ended."
      substitution = "PollTaskFunctionArn"
      statements = [
        # StopTask only when the task outlives timeout_seconds.
        { Sid = "WatchAndStopTheMigrationTask", Effect = "Allow", Action = ["ecs:DescribeTasks", "ecs:StopTask"], Resource = local.task_arns },
      ]
    }
    scale-up = {
      handler      = "scale_up.lambda_handler"
      description  = "Scales the services back up and restores autoscaling."
      substitution = "ScaleUpFunctionArn"
      # The services, their autoscaling, the target groups' health checks and delays, and the maintenance page's
      # forwards: room for 25 calls at their worst.
      timeout = 600
      statements = concat([local.set_the_health_checks, local.set_the_deregistration_delays], local.maintenance_page_down, [
        merge(local.register_the_autoscaling_targets, { Sid = "RestoreTheAutoscalingTargets" }),
        merge(local.set_the_desired_counts, { Sid = "SetTheDesiredCounts" }),
      ])
    }
    check-stable = {
      handler      = "check_stable.lambda_handler"
      description  = "Looks once whether the services rolled out and Fleet serves behind the load balancer, or keeps crashing."
      substitution = "CheckStableFunctionArn"
      # Per service its tasks, their revision's health checks and the target groups' health, and the maintenance
      # page's rules: room for 25 calls at their worst.
      timeout = 600
      statements = concat([local.set_the_health_checks], local.maintenance_page_down, [
        local.watch_the_snapshot,
        { Sid = "ReadTheDeploymentsAndCounts", Effect = "Allow", Action = "ecs:DescribeServices", Resource = local.service_arns },
        { Sid = "ReadWhyStoppedTasksStopped", Effect = "Allow", Action = "ecs:DescribeTasks", Resource = local.task_arns },
        merge(local.list_tasks_of_the_cluster, { Sid = "FindTheStoppedTasks" }),
        # Describe actions of ECS task definitions and of Elastic Load Balancing have no resource-level permissions.
        { Sid = "ReadWhichContainersHaveAHealthCheck", Effect = "Allow", Action = "ecs:DescribeTaskDefinition", Resource = "*" },
        { Sid = "ReadTheLoadBalancerTargetHealth", Effect = "Allow", Action = "elasticloadbalancing:DescribeTargetHealth", Resource = "*" },
        # In a target group of type instance a task is its container instance's EC2 instance id and a host port.
        { Sid = "FindTheInstancesOfBridgeAndHostTasks", Effect = "Allow", Action = "ecs:DescribeContainerInstances", Resource = "${local.ecs_prefix}:container-instance/${var.cluster_name}/*" },
      ])
    }
    stop-migration-task = {
      handler      = "stop_migration_task.lambda_handler"
      description  = "Before rolling back, stops the execution's migration task and looks once whether it is STOPPED."
      substitution = "StopMigrationTaskFunctionArn"
      statements = [
        { Sid = "StopTheMigrationTask", Effect = "Allow", Action = ["ecs:DescribeTasks", "ecs:StopTask"], Resource = local.task_arns },
        merge(local.list_tasks_of_the_cluster, { Sid = "FindAMigrationTaskStartedUnreported" }),
      ]
    }
    rollback = {
      handler      = "rollback.lambda_handler"
      description  = "Once no migration task runs, restores every captured value."
      substitution = "RollbackFunctionArn"
      # The services, their autoscaling, the target groups and each forward the maintenance page swapped: room for 25
      # calls at their worst.
      timeout = 600
      # How many redacted log lines the cause carries (functions/fleet_migration/task_logs.py); 0: none.
      environment = { LOG_TAIL_LINES = tostring(var.log_tail_lines) }
      statements = concat([
        # The serving revision to restore may be INACTIVE (Fleet's Terraform deregisters the revision it replaces),
        # and UpdateService refuses those: it is registered again, once. No resource-level permissions for these two.
        { Sid = "FindTheRevisionToBringBack", Effect = "Allow", Action = ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"], Resource = "*" },
        {
          # A copy of a revision that served, in Fleet's families only. RegisterTaskDefinition's resource type is
          # task-definition and ecs:privileged one of its condition keys ("Actions, resources, and condition keys for
          # Amazon Elastic Container Service", Service Authorization Reference): no privileged container (preflight
          # refuses a serving revision that has one, before anything changes).
          Sid       = "BringBackADeregisteredRevision"
          Effect    = "Allow"
          Action    = "ecs:RegisterTaskDefinition"
          Resource  = local.task_definition_families
          Condition = { BoolIfExists = { "ecs:privileged" = "false" } }
        },
        # The copy's tags (the original's and the fleet-migration:copy-of mark) need ecs:TagResource on registering.
        {
          Sid       = "MarkTheCopy"
          Effect    = "Allow"
          Action    = "ecs:TagResource"
          Resource  = local.task_definition_families
          Condition = { StringEquals = { "ecs:CreateAction" = "RegisterTaskDefinition" } }
        },
        local.pass_the_task_definition_roles,
        local.set_the_health_checks,
        local.set_the_deregistration_delays,
        local.watch_the_snapshot,
        ], local.maintenance_page_down, [
        merge(local.register_the_autoscaling_targets, { Sid = "RestoreTheAutoscalingTargets" }),
        merge(local.set_the_desired_counts, { Sid = "RestoreTheDesiredCounts" }),
        ], var.task_log_group_name != "" ? [
        {
          Sid    = "ReadTheMigrationTaskLogs"
          Effect = "Allow"
          # log_tail in the cause of a failed migration. GetLogEvents' resource type is log-stream (Service
          # Authorization Reference, CloudWatch Logs); the streams are <prefix>/<container>/<task id>.
          Action   = "logs:GetLogEvents"
          Resource = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${var.task_log_group_name}:log-stream:*"
        },
      ] : [])
    }
  }

  trigger = var.enable_trigger ? {
    trigger = {
      handler     = "trigger.lambda_handler"
      description = "Starts the first migration attempt of a newly registered Fleet task definition revision."
      timeout     = 60
      environment = {
        STATE_MACHINE_ARN      = local.state_machine_arn
        ECS_CLUSTER            = var.cluster_name
        ECS_SERVICE            = var.service_name
        VULN_SERVICE           = var.vuln_service_name
        TASK_DEFINITION_FAMILY = var.task_definition_family
        SUBNETS                = join(",", var.subnets)
        SECURITY_GROUPS        = join(",", var.security_groups)
        INPUT_OVERRIDES        = jsonencode(var.trigger_input_overrides)
        TRIGGER_PRINCIPAL_ARNS = join(",", var.trigger_principal_arns)
      }
      statements = [
        { Sid = "StartTheMigration", Effect = "Allow", Action = "states:StartExecution", Resource = local.state_machine_arn },
        { Sid = "JoinTheMigrationOfThisRevision", Effect = "Allow", Action = "states:DescribeExecution", Resource = local.executions_arn },
        # The on-failure destination is sent with the function's role (SAM grants the same for EventInvokeConfig).
        { Sid = "KeepFailedEvents", Effect = "Allow", Action = "sqs:SendMessage", Resource = local.failed_events_queue_arn },
      ]
    }
  } : {}

  # Every function's role: its statements, plus what SAM attaches to a function with Tracing: Active.
  functions = merge(local.steps, local.trigger)
  managed_policies = {
    logs = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    xray = "arn:${local.partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"
  }
  role_attachments = merge([
    for function in keys(local.functions) : {
      for policy, arn in local.managed_policies : "${function}/${policy}" => { function = function, arn = arn }
    }
  ]...)

  # template.yaml's Globals.Function.Environment.
  environment = {
    POWERTOOLS_SERVICE_NAME      = "fleet-migration"
    POWERTOOLS_METRICS_NAMESPACE = "FleetMigration"
    POWERTOOLS_LOG_LEVEL         = "INFO"
  }
  # The same file SAM deploys with DefinitionUri (the repository root is three levels up).
  definition_file = "${path.module}/../../../statemachine/migration.asl.json"
}

# -------------------------------------------------------------------------------------------------
# The functions: one role each, one shared JSON log group, the code and its dependencies as committed.
# -------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "functions" {
  # One group for every step: Powertools' JSON lines carry function_name and the execution name as
  # correlation_id, so one Logs Insights query follows a whole migration.
  name              = "/aws/lambda/${var.name}-steps"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn == "" ? null : var.kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name                 = "${substr("${var.name}-${each.key}", 0, 55)}-${local.role_suffix}"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary == "" ? null : var.permissions_boundary
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name   = "${var.name}-${each.key}"
  role   = aws_iam_role.function[each.key].id
  policy = jsonencode({ Version = "2012-10-17", Statement = each.value.statements })
}

resource "aws_iam_role_policy_attachment" "function" {
  for_each = local.role_attachments

  role       = aws_iam_role.function[each.value.function].name
  policy_arn = each.value.arn
}

resource "aws_lambda_layer_version" "dependencies" {
  layer_name               = "${var.name}-dependencies"
  description              = "functions/requirements.txt for python3.12 on arm64 (make package)"
  filename                 = "${path.module}/package/dependencies.zip"
  source_code_hash         = filebase64sha256("${path.module}/package/dependencies.zip")
  compatible_runtimes      = ["python3.12"]
  compatible_architectures = ["arm64"]
}

resource "aws_lambda_function" "function" {
  for_each = local.functions

  function_name    = "${var.name}-${each.key}"
  description      = each.value.description
  role             = aws_iam_role.function[each.key].arn
  handler          = each.value.handler
  filename         = "${path.module}/package/functions.zip"
  source_code_hash = filebase64sha256("${path.module}/package/functions.zip")
  layers           = [aws_lambda_layer_version.dependencies.arn]
  # template.yaml's Globals.Function (the trigger answers within 30 s).
  runtime       = "python3.12"
  architectures = ["arm64"]
  memory_size   = 256
  # Longer than any step's worst AWS retry budget (template.yaml's Globals say why); some steps more.
  timeout = lookup(each.value, "timeout", 300)

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.functions.name
    # AWS's defaults for JSON logs, stated so the provider plans no change on every apply.
    application_log_level = "INFO"
    system_log_level      = "INFO"
  }

  environment {
    variables = merge(local.environment, lookup(each.value, "environment", {}))
  }

  tags = var.tags

  # The role must allow writing logs before the first invocation.
  depends_on = [aws_iam_role_policy_attachment.function, aws_iam_role_policy.function]

  lifecycle {
    precondition {
      condition     = each.key != "trigger" || (length(var.subnets) > 0 && length(var.security_groups) > 0)
      error_message = "The enable_trigger = true needs subnets and security_groups for the migration task it starts: set both (the Fleet service's), or enable_trigger = false."
    }
  }
}

# -------------------------------------------------------------------------------------------------
# The state machine.
# -------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "state_machine" {
  # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy from growing per log group.
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn == "" ? null : var.kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "state_machine" {
  name                 = "${substr("${var.name}-state-machine", 0, 55)}-${local.role_suffix}"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary == "" ? null : var.permissions_boundary
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "states.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name = "${var.name}-state-machine"
  role = aws_iam_role.state_machine.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "InvokeTheSteps", Effect = "Allow", Action = "lambda:InvokeFunction", Resource = [for key in keys(local.steps) : aws_lambda_function.function[key].arn] },
      {
        Sid    = "DeliverExecutionLogs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
        ]
        # Step Functions' log delivery actions have no resource-level permissions: Resource must be "*".
        Resource = "*"
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "state_machine" {
  # What SAM attaches to a state machine with Tracing enabled.
  role       = aws_iam_role.state_machine.name
  policy_arn = local.managed_policies.xray
}

resource "aws_sfn_state_machine" "migration" {
  name     = var.name
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine.arn
  # templatefile fails the plan when the ASL names a ${...} that no step fills.
  definition = templatefile(local.definition_file, { for key, step in local.steps : step.substitution => aws_lambda_function.function[key].arn })

  logging_configuration {
    # ERROR without execution data unless the operator asks for more: events carry inputs and causes.
    level                  = var.state_machine_log_level
    include_execution_data = var.state_machine_log_execution_data
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
  }

  tracing_configuration {
    enabled = true
  }

  # The execution history and the definition under the deployment's key, over Step Functions' AWS owned one. SAM's
  # AWS::Serverless::StateMachine cannot set it: the only place the two deployments differ.
  dynamic "encryption_configuration" {
    for_each = var.kms_key_arn == "" ? [] : [var.kms_key_arn]
    content {
      type                              = "CUSTOMER_MANAGED_KMS_KEY"
      kms_key_id                        = encryption_configuration.value
      kms_data_key_reuse_period_seconds = 300
    }
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.state_machine, aws_iam_role_policy_attachment.state_machine]

  lifecycle {
    # template.yaml's Rule OneDatabaseAtMost: one recovery point per migration.
    precondition {
      condition     = var.db_cluster_identifier == "" || var.db_instance_identifier == ""
      error_message = "Set at most one of db_cluster_identifier (an Aurora cluster) and db_instance_identifier (an RDS instance); set the other to \"\"."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "failed_migrations" {
  alarm_name          = "${var.name}-migration-failed"
  alarm_description   = "A Fleet migration failed or timed out. The services were rolled back unless the error is ServiceNotStable or RollbackFailed; the execution's cause says what to do next."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = compact([var.alarm_topic_arn])

  metric_query {
    id          = "failed"
    return_data = false
    metric {
      namespace   = "AWS/States"
      metric_name = "ExecutionsFailed"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.migration.arn }
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id          = "timedout"
    return_data = false
    metric {
      namespace   = "AWS/States"
      metric_name = "ExecutionsTimedOut"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.migration.arn }
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id          = "failures"
    label       = "Failed or timed-out migrations"
    expression  = "FILL(failed, 0) + FILL(timedout, 0)"
    return_data = true
  }

  tags = var.tags
}

# -------------------------------------------------------------------------------------------------
# The EventBridge trigger (enable_trigger): CloudTrail's record of a successful RegisterTaskDefinition
# for the family starts or joins the migration of that revision, under the execution name a Terraform
# run uses. Needs a CloudTrail trail recording management events.
# -------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "new_revision" {
  count = var.enable_trigger ? 1 : 0

  name        = "${var.name}-new-revision"
  description = "A new revision of the ${var.task_definition_family} task definition starts its migration."
  # Only this account and region, and only registrations by the principals listed (none listed: [""], which no
  # role's ARN matches, as template.yaml's empty TriggerPrincipalArns). The workflow's own copies are registered
  # by the rollback's role, not listed; the function checks their fleet-migration:copy-of tag too.
  event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    account       = [local.account]
    region        = [local.region]
    detail = {
      eventSource       = ["ecs.amazonaws.com"]
      eventName         = ["RegisterTaskDefinition"]
      errorCode         = [{ exists = false }]
      userIdentity      = { sessionContext = { sessionIssuer = { arn = length(var.trigger_principal_arns) > 0 ? var.trigger_principal_arns : [""] } } }
      requestParameters = { family = [var.task_definition_family] }
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "new_revision" {
  count = var.enable_trigger ? 1 : 0

  rule = aws_cloudwatch_event_rule.new_revision[0].name
  arn  = aws_lambda_function.function["trigger"].arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }

  # Delivery to Lambda (not the function's own failures): what EventBridge still cannot deliver goes to
  # the same queue ("Event retry policy and using dead-letter queues", Amazon EventBridge User Guide).
  dead_letter_config {
    arn = aws_sqs_queue.failed_events[0].arn
  }
}

# EventBridge invokes the function asynchronously: what still fails after Lambda's retries goes to the
# queue, never silently dropped (template.yaml's EventInvokeConfig says why these numbers).
resource "aws_lambda_function_event_invoke_config" "trigger" {
  count = var.enable_trigger ? 1 : 0

  function_name                = aws_lambda_function.function["trigger"].function_name
  qualifier                    = "$LATEST"
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 900

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failed_events[0].arn
    }
  }
}

resource "aws_sqs_queue" "failed_events" {
  count = var.enable_trigger ? 1 : 0

  name = local.failed_events_queue_name
  # SQS-managed keys, or the deployment's customer managed key: EventBridge cannot send to a queue under the AWS
  # managed KMS key, and SSE-SQS needs no key policy.
  sqs_managed_sse_enabled = var.kms_key_arn == ""
  kms_master_key_id       = var.kms_key_arn == "" ? null : var.kms_key_arn
  # 4 days (SQS's default), not the 14 it allows: each message is a whole CloudTrail record, the registration's
  # request parameters included (a task definition's plain-text environment). Long enough to see the alarm and
  # replay or drop each event over a weekend, and no longer.
  message_retention_seconds = 345600
  tags                      = var.tags
}

resource "aws_sqs_queue_policy" "failed_events" {
  count = var.enable_trigger ? 1 : 0

  queue_url = aws_sqs_queue.failed_events[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      # EventBridge's dead-letter queue needs a resource policy; only the trigger's rule may send.
      Sid       = "UndeliveredTriggerEvents"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.failed_events[0].arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.new_revision[0].arn } }
    }]
  })
}

resource "aws_lambda_permission" "new_revision" {
  count = var.enable_trigger ? 1 : 0

  statement_id  = "${var.name}-new-revision"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function["trigger"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.new_revision[0].arn
}

resource "aws_cloudwatch_metric_alarm" "trigger_errors" {
  count = var.enable_trigger ? 1 : 0

  alarm_name          = "${var.name}-trigger-errors"
  alarm_description   = "The EventBridge trigger failed (usually misconfigured subnets, security_groups or trigger_input_overrides; its log group says why), or an event it could not handle waits in the failed-events queue (output trigger_failed_events_queue_url): fix the cause, then start that revision's migration by hand."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = compact([var.alarm_topic_arn])

  metric_query {
    id          = "errors"
    return_data = false
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.function["trigger"].function_name }
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id          = "waiting"
    return_data = false
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.failed_events[0].name }
      period      = 60
      stat        = "Maximum"
    }
  }

  metric_query {
    id          = "failures"
    label       = "Trigger errors and failed events waiting"
    expression  = "FILL(errors, 0) + FILL(waiting, 0)"
    return_data = true
  }

  tags = var.tags
}
