"""AWS Step Functions beyond what moto's interpreter does.

- visibility.py: DescribeExecution's eventual consistency after StartExecution.
- redrive.py: RedriveExecution and ``$$.Execution.RedriveCount``.
- state_machines.py: ValidateStateMachineDefinition and ListStateMachineVersions.
- interpreter_cache.py: the definition's parse and the Lambda client, made once per process (speed, no rule).
"""
