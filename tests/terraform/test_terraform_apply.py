"""`terraform apply` of the module against the emulator in server mode (real Terraform).

The local-exec runs the real client (terraform/migrate.py) in its own process; what the tests read is
what the operator reads on the terminal. Each test runs one or two whole workflows. Where a test needs
an execution still running at some point, its migration task runs until the test stops it.
"""

from __future__ import annotations

import json
import queue
import threading
import time

from fleet_migration.executions import execution_name
from tfroot import RESOURCE

ROLE = "arn:aws:iam::123456789012:role/fleet-migrations"


def executions_of(aws) -> list[dict]:
    sfn = aws.client("stepfunctions")
    return sfn.list_executions(stateMachineArn=aws.state_machine_arn)["executions"]


def test_apply_runs_the_migration_and_prints_each_step_through_terraform(aws, fleet, fleet_root):
    # GIVEN Fleet's variables as the addon took them (min_capacity = the autoscaling minimum), a role to assume
    before = aws.service_state("fleet", "fleet")
    root = fleet_root(min_capacity=2, desired_count=2, max_capacity=10, assume_role_arn=ROLE)

    # WHEN terraform apply runs
    applied = root.apply()

    # THEN it exits 0 after Terraform showed every step, the task and its exit code, and the verdict
    assert applied.returncode == 0, applied.terminal
    out = "\n".join(applied.provisioner_lines())
    assert f"assumed role {ROLE}" in out
    assert "started execution fleet-fleet-r2 (attempt 1)" in out
    for state in (
        "Validate the input and describe the services",
        "Scale the services down",
        "Check whether the services drained",
        "Run the migration task",
        "Check the migration task",
        "Scale the services up",
        "Check whether the services are stable",
    ):
        assert f"enter  {state}" in out and f"leave  {state}" in out
    assert "done   Migration succeeded" in out
    assert "STOPPED, exit code 0" in out
    assert "SUCCEEDED in" in out and "exited 0" in out
    assert "note" not in out  # min_capacity matches the autoscaling minimum found
    assert f"{RESOURCE}: Creation complete after" in applied.stdout
    assert "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." in applied.stdout
    [execution] = executions_of(aws)
    assert execution["name"] == "fleet-fleet-r2" and execution["status"] == "SUCCEEDED"
    assert aws.service_state("fleet", "fleet") == before


def test_the_outputs_name_the_execution_that_ran_and_the_input_it_received(aws, fleet, fleet_root):
    root = fleet_root()
    applied = root.apply()
    assert applied.returncode == 0, applied.terminal

    outputs = root.outputs()

    [execution] = executions_of(aws)
    described = aws.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert (outputs["execution_name"], outputs["execution_arn"]) == (execution["name"], execution["executionArn"])
    assert json.loads(outputs["execution_input"]) == json.loads(described["input"])
    assert outputs["execution_console_url"].endswith(f"#/v2/executions/details/{execution['executionArn']}")


def test_a_second_apply_of_the_same_revision_changes_nothing_even_when_other_values_changed(aws, fleet, fleet_root):
    root = fleet_root()
    applied = root.apply()
    assert applied.returncode == 0, applied.terminal

    applied = root.apply()

    assert applied.returncode == 0, applied.terminal
    assert "No changes. Your infrastructure matches the configuration." in applied.stdout

    # counts, timeouts and networks apply to the next migration: they never run one by themselves
    applied = fleet_root(desired_count=3, timeout_seconds=1800, subnets=fleet.subnets[:1], vuln_service="").apply()

    assert applied.returncode == 0, applied.terminal
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in applied.stdout
    assert "(local-exec)" not in applied.stdout
    assert len(executions_of(aws)) == 1


def test_a_new_revision_runs_the_migration_again(aws, fleet, fleet_root):
    applied = fleet_root(task_definition_revision=1).apply()
    assert applied.returncode == 0, applied.terminal

    applied = fleet_root(task_definition_revision=2).apply()

    assert applied.returncode == 0, applied.terminal
    assert f"{RESOURCE}: Destroying..." in applied.stdout
    assert "started execution fleet-fleet-r2 (attempt 1)" in applied.stdout
    assert "Apply complete! Resources: 1 added, 0 changed, 1 destroyed." in applied.stdout
    assert {e["name"]: e["status"] for e in executions_of(aws)} == {
        "fleet-fleet-r1": "SUCCEEDED",
        "fleet-fleet-r2": "SUCCEEDED",
    }


def test_a_failing_migration_fails_the_apply_taints_the_resource_and_the_next_apply_starts_attempt_2(
    aws, fleet, fleet_root
):
    aws.next_migration(exit_code=3, start_seconds=0.1, run_seconds=0.3)
    root = fleet_root()

    applied = root.apply()

    # THEN the apply fails with the error name and the cause where the operator looks
    assert applied.returncode == 1, applied.terminal
    out = "\n".join(applied.provisioner_lines())
    assert "error  Check the migration task: MigrationFailed" in out
    assert "enter  Restore the services, or roll forward if the migration was applied" in out
    assert "FAILED after" in out and "MigrationFailed (execution fleet-fleet-r2)" in out
    assert "The migration command exited with code 3" in out  # the cause's message
    assert "exit code 3" in out and "rolled back: yes" in out
    assert (
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/"
        "arn:aws:states:us-east-1:123456789012:execution:fleet-migration:fleet-fleet-r2"
    ) in out
    assert "it starts attempt 2, fleet-fleet-r2-a2" in out
    assert "Error: local-exec provisioner error" in applied.stderr and "exit status 1" in applied.stderr
    # and Terraform marks the resource tainted, so that the next apply replaces it
    assert root.resource()["status"] == "tainted"

    # WHEN the operator applies again after the fix
    applied = root.apply()

    # THEN the next attempt runs under its own name
    assert applied.returncode == 0, applied.terminal
    assert f"{RESOURCE} is tainted, so must be replaced" in applied.stdout
    assert "started execution fleet-fleet-r2-a2 (attempt 2, after 1 failed attempt(s))" in applied.stdout
    assert root.resource().get("status") is None
    assert {e["name"]: e["status"] for e in executions_of(aws)} == {
        "fleet-fleet-r2": "FAILED",
        "fleet-fleet-r2-a2": "SUCCEEDED",
    }


def test_ctrl_c_during_apply_leaves_the_execution_running_and_the_next_apply_joins_it(aws, fleet, fleet_root):
    # a migration task that runs until it is stopped: nothing here depends on how long things take
    aws.next_migration(runs_forever=True)
    root = fleet_root()
    process = root.popen("apply", "-auto-approve", "-input=false", "-no-color")
    lines = _lines_of(process)
    seen = _read_until(lines, "enter  Scale the services down", timeout=60)

    root.interrupt(process)  # Ctrl-C: Terraform and the client both get SIGINT
    rest = _read_until(lines, None, timeout=60)
    process.wait(timeout=30)

    # Terraform stops the provisioner's process as it shuts down (the client's own "keeps running"
    # note appears only when it prints before that): what matters is what stays behind in AWS
    assert process.returncode == 1, seen + rest
    assert "Interrupt received." in rest and "Error: execution halted" in rest
    [execution] = executions_of(aws)
    assert execution["status"] == "RUNNING"
    assert root.resource()["status"] == "tainted"

    # WHEN the operator applies again
    process = root.popen("apply", "-auto-approve", "-input=false", "-no-color")
    lines = _lines_of(process)
    joined = _read_until(lines, "joined execution fleet-fleet-r2", timeout=60)
    # (then someone stops the migration task, so that the joined execution ends)
    ecs = aws.client("ecs")
    for task in _migration_tasks(aws, fleet, timeout=60):
        ecs.stop_task(cluster=fleet.cluster, task=task, reason="stopped by the test")
    rest = _read_until(lines, None, timeout=90)
    process.wait(timeout=30)

    # THEN it followed the one execution to its end, from the start of its history, and started nothing
    out = joined + rest
    assert "note: it runs with its own input" not in out
    assert "enter  Validate the input and describe the services" in out
    assert "MigrationFailed (execution fleet-fleet-r2)" in out and "(stopped by the test)" in out, out
    assert process.returncode == 1, out
    [execution] = executions_of(aws)
    assert execution["status"] == "FAILED"


def _migration_tasks(aws, fleet, timeout: float) -> list[str]:
    """The running migration task(s) once RunTask has started one (the drain comes first)."""
    deadline = time.monotonic() + timeout
    while not (tasks := aws.ecs_sim.running_tasks(one_off=True)):
        assert time.monotonic() < deadline, "no migration task started"
        time.sleep(0.1)
    return tasks


def test_an_execution_started_elsewhere_is_joined_not_duplicated(aws, fleet, fleet_root):
    # GIVEN the EventBridge trigger already started the execution for this revision, with its own input
    # (its migration task runs until stopped: nothing here depends on how long things take)
    aws.next_migration(runs_forever=True)
    aws.start(
        fleet.migration_input(poll_interval_seconds=1, drain_timeout_seconds=20),
        name=execution_name(fleet.cluster, fleet.service, fleet.latest_revision),
    )
    # and this root asks for an autoscaling minimum of 3 afterwards, which that input does not
    root = fleet_root(min_capacity=3)

    process = root.popen("apply", "-auto-approve", "-input=false", "-no-color")
    lines = _lines_of(process)
    out = _read_until(lines, "joined execution fleet-fleet-r2", timeout=60)
    out += _read_until(lines, "these fields differ from yours:", timeout=60)
    for task in _migration_tasks(aws, fleet, timeout=60):
        aws.client("ecs").stop_task(cluster=fleet.cluster, task=task, reason="stopped by the test")
    out += _read_until(lines, None, timeout=90)
    process.wait(timeout=30)

    assert "note: it runs with its own input; these fields differ from yours:" in out
    assert "min_capacity" in out.split("these fields differ from yours:", 1)[1].splitlines()[0]
    assert "MigrationFailed (execution fleet-fleet-r2)" in out  # the joined execution's own end
    assert process.returncode == 1, out
    assert len(executions_of(aws)) == 1


def _lines_of(process) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _read_until(lines: queue.Queue, marker: str | None, timeout: float) -> str:
    """Read lines until one contains ``marker`` (or the end when None); fail after ``timeout`` seconds."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {marker!r} within {timeout}s; output so far:\n{''.join(seen)}") from None
        if line is None:
            if marker is None:
                return "".join(seen)
            raise AssertionError(f"output ended before {marker!r}:\n{''.join(seen)}")
        seen.append(line)
        if marker is not None and marker in line:
            return "".join(seen)
