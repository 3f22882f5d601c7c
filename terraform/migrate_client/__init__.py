"""The Terraform module's client: start (or join) the execution for a revision and follow it.

``terraform/migrate.py`` is the entry point Terraform runs; the code lives here, one idea a file:

- ``settings``: flags and the environment the module sets, checked before any AWS call; exit codes.
- ``aws``: the AWS calls the client makes (and the role it assumes, renewed), over a backend chosen once:
  ``aws_boto3`` when boto3 can be imported, else ``aws_cli`` (the AWS CLI on PATH); what an AWS error means.
- ``text``: how times, durations and console links are written.
- ``progress``: execution history events into one line per meaningful step, and the line that says
  the client is still waiting.
- ``logs``: where the migration container's awslogs lines are, and reading them as they arrive.
- ``verdict``: the last lines: succeeded, or the error, its cause and what to do next.
- ``run``: the loop that ties them together, signals, and ``main``.

Python 3.9+ and boto3 or the AWS CLI, nothing else (terraform/README.md). ``executions.py``, beside this package,
is a byte-identical copy of functions/fleet_migration/executions.py: the trigger and this client
name and join executions the same way.
"""
