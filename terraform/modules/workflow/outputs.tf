locals {
  console = lookup({ "aws-cn" = "https://console.amazonaws.cn", "aws-us-gov" = "https://console.amazonaws-us-gov.com" }, local.partition, "https://${local.region}.console.aws.amazon.com")
}

output "state_machine_arn" {
  description = "ARN of the migration state machine: the drop-in module's state_machine_arn, or `aws stepfunctions start-execution`. Known at plan time; whatever uses it waits for the workflow to be created."
  value       = local.state_machine_arn
  # Everything an execution needs exists before a caller of this output starts one.
  depends_on = [aws_sfn_state_machine.migration, aws_iam_role_policy.function, aws_iam_role_policy_attachment.function]
}

output "state_machine_name" {
  description = "Name of the migration state machine (the name variable)."
  value       = aws_sfn_state_machine.migration.name
}

output "state_machine_console_url" {
  description = "The state machine in the Step Functions console: every migration, and \"Start execution\" to run one with the JSON input."
  value       = "${local.console}/states/home?region=${local.region}#/statemachines/view/${local.state_machine_arn}"
}

output "execution_console_url_prefix" {
  description = "Append an execution ARN to open that migration in the Step Functions console."
  value       = "${local.console}/states/home?region=${local.region}#/v2/executions/details/"
}

output "state_machine_log_group_name" {
  description = "CloudWatch Logs group of the state machine's execution history."
  value       = aws_cloudwatch_log_group.state_machine.name
}

output "functions_log_group_name" {
  description = "CloudWatch Logs group of every step's JSON logs (correlation_id = execution name)."
  value       = aws_cloudwatch_log_group.functions.name
}

output "failed_migrations_alarm_name" {
  description = "CloudWatch alarm raised when a migration fails or times out."
  value       = aws_cloudwatch_metric_alarm.failed_migrations.alarm_name
}

output "function_names" {
  description = "Lambda function name of each step (and of the trigger when enabled), by step."
  value       = { for key, function in aws_lambda_function.function : key => function.function_name }
}

output "trigger_function_name" {
  description = "The Lambda function EventBridge invokes for each new task definition revision; null without enable_trigger."
  value       = var.enable_trigger ? aws_lambda_function.function["trigger"].function_name : null
}

output "trigger_failed_events_queue_url" {
  description = "SQS queue of the trigger events that could not be delivered or handled (kept 4 days); null without enable_trigger."
  value       = var.enable_trigger ? aws_sqs_queue.failed_events[0].id : null
}
