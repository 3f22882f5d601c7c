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

output "module_version" {
  description = "The release of fleet-migration this module is (the `ref` to pin in `source`; CHANGELOG.md says what changed in each)."
  value       = trimspace(file("${path.module}/../functions/fleet_migration/VERSION"))
}
