"""The module's exact local-exec, rendered from main.tf, run as a process against the emulator (real time).

Each test runs one or two whole workflows of about 3-5 seconds.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from datetime import datetime, timezone

from fleet_migration.executions import execution_name

ROLE = "arn:aws:iam::123456789012:role/fleet-migrations"


def executions_of(aws) -> list[dict]:
    sfn = aws.client("stepfunctions")
    return sfn.list_executions(stateMachineArn=aws.state_machine_arn)["executions"]


def test_apply_runs_the_migration_prints_each_step_and_a_second_apply_reports_it_without_running_again(
        aws, fleet, fleet_variables, apply):
    # GIVEN Fleet's variables as the addon took them (min_capacity = the autoscaling minimum), a role to assume
    before = aws.service_state("fleet", "fleet")
    variables = fleet_variables(min_capacity=2, desired_count=2, max_capacity=10, assume_role_arn=ROLE)

    # WHEN terraform apply runs the local-exec
    completed = apply(variables)
    ended = datetime.now(timezone.utc)

    # THEN it exits 0 after printing every step, the task and its exit code, and a verdict
    out = completed.stdout
    assert completed.returncode == 0, out
    assert f"assumed role {ROLE}" in out
    assert "started execution fleet-fleet-r2 (attempt 1)" in out
    for state in ("Validate the input and describe the services", "Scale the services down",
                  "Check whether the services drained", "Run the migration task", "Check the migration task",
                  "Scale the services up", "Check whether the services are stable"):
        assert f"enter  {state}" in out and f"leave  {state}" in out
    assert "done   Migration succeeded" in out
    assert "STOPPED, exit code 0" in out
    assert "SUCCEEDED in" in out and "exited 0" in out
    assert "note" not in out  # min_capacity matches the autoscaling minimum found
    assert all(line.startswith(("fleet-migration:", "  ", "[")) for line in out.splitlines()), out
    [execution] = executions_of(aws)
    assert execution["name"] == "fleet-fleet-r2" and execution["status"] == "SUCCEEDED"
    assert (ended - execution["stopDate"]).total_seconds() < 2.0  # follows closely: no long last poll
    assert aws.service_state("fleet", "fleet") == before

    # WHEN apply runs again for the same revision (a tainted resource, or the EventBridge trigger ran it)
    completed = apply(variables)

    # THEN it reports the earlier success and starts nothing
    assert completed.returncode == 0, completed.stdout
    assert "execution fleet-fleet-r2 already SUCCEEDED" in completed.stdout
    assert "nothing to run again" in completed.stdout
    assert len(executions_of(aws)) == 1


def test_a_failing_migration_fails_the_apply_with_error_and_cause_and_the_next_apply_starts_attempt_2(
        aws, fleet, fleet_variables, apply):
    aws.next_migration(exit_code=3, start_seconds=0.1, run_seconds=0.3)
    variables = fleet_variables()

    completed = apply(variables, separate_stderr=True)

    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "error  Check the migration task: MigrationFailed" in completed.stdout
    assert "enter  Roll back" in completed.stdout
    err = completed.stderr
    assert "FAILED after" in err and "MigrationFailed (execution fleet-fleet-r2)" in err
    assert "The migration command exited with code 3" in err  # the cause's message
    assert "exit code 3" in err and "rolled back: yes" in err
    assert ("https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/"
            "arn:aws:states:us-east-1:123456789012:execution:fleet-migration:fleet-fleet-r2") in err
    assert "it starts attempt 2, fleet-fleet-r2-a2" in err

    # after the fix, the next apply starts the next attempt under its own name
    completed = apply(variables)

    assert completed.returncode == 0, completed.stdout
    assert "started execution fleet-fleet-r2-a2 (attempt 2, after 1 failed attempt(s))" in completed.stdout
    assert {e["name"]: e["status"] for e in executions_of(aws)} == {
        "fleet-fleet-r2": "FAILED", "fleet-fleet-r2-a2": "SUCCEEDED"}


def test_an_interrupted_apply_leaves_the_execution_running_and_the_next_apply_joins_it(
        aws, fleet, fleet_variables, apply, start_apply):
    # a migration long enough to be still running through the interrupted and the impatient client
    aws.next_migration(run_seconds=8)
    variables = fleet_variables()
    process = start_apply(variables)
    lines = _lines_of(process)
    seen = _read_until(lines, "enter  Scale the services down", timeout=20)

    process.send_signal(signal.SIGINT)  # Ctrl-C
    rest = _read_until(lines, None, timeout=10)
    process.wait(timeout=10)

    assert process.returncode == 130, seen + rest
    assert "keeps running" in rest and "joins it" in rest
    [execution] = executions_of(aws)
    assert execution["status"] == "RUNNING"

    # every wait has a deadline: a client that gives up says so, and leaves the execution alone
    completed = apply(variables, extra_env={"FLEET_MIGRATION_CLIENT_MAX_WAIT_SECONDS": "1"})
    assert completed.returncode == 4, completed.stdout
    assert "gave up waiting after 1.0s; the execution fleet-fleet-r2 still runs" in completed.stdout

    completed = apply(variables)

    assert completed.returncode == 0, completed.stdout
    assert "joined execution fleet-fleet-r2" in completed.stdout
    assert "note: it runs with its own input" not in completed.stdout
    assert "enter  Validate the input and describe the services" in completed.stdout  # history from the start
    [execution] = executions_of(aws)
    assert execution["status"] == "SUCCEEDED"


def test_an_execution_started_elsewhere_is_joined_not_duplicated(aws, fleet, fleet_variables, apply):
    # GIVEN the EventBridge trigger already started the execution for this revision, with its own input
    aws.start(fleet.migration_input(poll_interval_seconds=1, drain_timeout_seconds=20),
              name=execution_name(fleet.cluster, fleet.service, fleet.latest_revision))
    # and Fleet's min_capacity differs from the autoscaling minimum the workflow will restore
    variables = fleet_variables(min_capacity=3)

    completed = apply(variables)

    assert completed.returncode == 0, completed.stdout
    assert "joined execution fleet-fleet-r2" in completed.stdout
    assert "note: it runs with its own input; these fields differ from yours:" in completed.stdout
    assert "min_capacity is 3 but its autoscaling minimum is 2" in completed.stdout
    assert "SUCCEEDED in" in completed.stdout
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
