output "execution_name" {
  description = "Name of the first execution for this revision (<cluster>-<service>-r<revision>). After a failed attempt, the next apply starts <name>-a2, then -a3, and prints the name it uses."
  value       = local.execution_name
}

output "execution_arn" {
  description = "ARN of the first execution for this revision: `aws stepfunctions describe-execution --execution-arn` it to see how the migration went."
  value       = local.execution_arn
}

output "execution_console_url" {
  description = "Step Functions console page of the first execution for this revision, with its graph, history and error."
  value       = "${local.console}/states/home?region=${local.region}#/v2/executions/details/${local.execution_arn}"
}

output "state_machine_console_url" {
  description = "Step Functions console page of the state machine: every migration, and \"Start execution\" to rerun one with execution_input."
  value       = "${local.console}/states/home?region=${local.region}#/statemachines/view/${local.state_machine_arn}"
}

output "execution_input" {
  description = "The execution input this module sends, as JSON: paste it into the console's \"Start execution\" (with the execution name) to run the same migration by hand."
  value       = jsonencode(local.execution_input)
}

# The release file sits inside the module so that every copy of it has it: Terraform copies only this directory
# for a local absolute path or a vendored copy. tests/unit/test_version.py keeps it equal to the package's.
output "module_version" {
  description = "The release of fleet-migration this module is (the `ref` to pin in `source`; CHANGELOG.md says what changed in each)."
  value       = trimspace(file("${path.module}/VERSION"))
}

# The deployed workflow's own outputs (null when state_machine_arn is given: that workflow is deployed elsewhere).

output "state_machine_arn" {
  description = "ARN of the state machine that runs the migrations: the one given, or the one deployed here. `aws stepfunctions list-executions --state-machine-arn` it to see every migration."
  value       = local.state_machine_arn
}

output "state_machine_log_group_name" {
  description = "CloudWatch Logs group of the deployed state machine's execution history; null when state_machine_arn is given."
  value       = one(module.workflow[*].state_machine_log_group_name)
}

output "functions_log_group_name" {
  description = "CloudWatch Logs group of every step's JSON logs (correlation_id = the execution name); null when state_machine_arn is given."
  value       = one(module.workflow[*].functions_log_group_name)
}

output "failed_migrations_alarm_name" {
  description = "CloudWatch alarm raised when a migration fails or times out, which notifies alarm_topic_arn; null when state_machine_arn is given."
  value       = one(module.workflow[*].failed_migrations_alarm_name)
}

output "workflow_name" {
  description = "Name of the deployed state machine, the prefix of its functions, roles, log groups and alarm (workflow_name, or the one derived from the cluster and service); null when state_machine_arn is given."
  value       = var.state_machine_arn == null ? local.workflow_name : null
}
