"""The client's follow loop is never silent: a quiet wait gets a line at least every heartbeat_seconds.

Time is the loop's own (injected): the execution below stays quiet for minutes and the test takes
milliseconds. The execution is a script of history events by the second, shaped as Step Functions
returns them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

import executions
from migrate_client.run import Follower
from migrate_client.settings import Settings, Stop, parse_args

STARTED = datetime(2026, 1, 1, tzinfo=UTC)
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/fleet/0f3c2a1b"
DECISION = executions.Decision(
    "started", "arn:aws:states:us-east-1:123456789012:execution:fm:fleet-fleet-r4", "fleet-fleet-r4", 1
)


class ScriptedExecution:
    """describe_execution and get_execution_history of an execution whose events happen at given seconds."""

    def __init__(self, clock: list[float], events: list[tuple[float, dict]], ends_at: float) -> None:
        self._clock, self._ends_at = clock, ends_at
        self._events = [
            {**event, "id": index + 1, "timestamp": STARTED + timedelta(seconds=at)}
            for index, (at, event) in enumerate(events)
        ]

    def describe_execution(self, executionArn: str) -> dict:
        done = self._clock[0] >= self._ends_at
        return {"status": "SUCCEEDED" if done else "RUNNING", "name": "fleet-fleet-r4", "startDate": STARTED}

    def get_execution_history(self, executionArn: str, reverseOrder: bool, maxResults: int, **_: object) -> dict:
        seen = [e for e in self._events if e["timestamp"] <= STARTED + timedelta(seconds=self._clock[0])]
        return {"events": list(reversed(seen))}


class DeniedEcs:
    """An ECS that refuses DescribeTaskDefinition, as AWS does to a caller without ecs:DescribeTaskDefinition."""

    def describe_task_definition(self, taskDefinition: str) -> dict:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "DescribeTaskDefinition"
        )


class Account:
    def __init__(self, sfn: ScriptedExecution) -> None:
        self._sfn = sfn

    def stepfunctions(self) -> ScriptedExecution:
        return self._sfn

    def client(self, service: str, region: str = "") -> DeniedEcs:
        assert service == "ecs"
        return DeniedEcs()


def entered(name: str, kind: str = "Task") -> dict:
    return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}


def exited(name: str, output: dict) -> dict:
    return {"type": "TaskStateExited", "stateExitedEventDetails": {"name": name, "output": json.dumps(output)}}


def follow(
    events: list[tuple[float, dict]],
    ends_at: float,
    heartbeat: str = "",
    theirs: dict | None = None,
    **document: object,
) -> list[str]:
    """Follow the scripted execution with ``document`` as the client's own input; ``theirs``: the input of the
    execution followed, when it is not the client's (an execution joined)."""
    clock = [0.0]
    args = parse_args(
        [
            "--state-machine-arn",
            "arn:aws:states:us-east-1:123456789012:stateMachine:fm",
            "--input",
            json.dumps({"ecs_cluster": "fleet", "ecs_service": "fleet", "task_definition_revision": 4, **document}),
            "--heartbeat-seconds",
            heartbeat,
        ]
    )
    printed: list[str] = []

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    follower = Follower(
        Account(ScriptedExecution(clock, events, ends_at)),
        Settings(args),
        DECISION,
        STARTED,
        theirs or {},
        printed.append,
        printed.append,
        monotonic=lambda: clock[0],
        sleep=sleep,
        now=lambda: STARTED + timedelta(seconds=clock[0]),
    )
    assert follower.run()["status"] == "SUCCEEDED"
    return printed


DRAIN = "Check whether the services drained"
QUIET_DRAIN = [
    (0.5, entered(DRAIN)),
    (0.6, exited(DRAIN, {"input": {}, "drain": {"done": False, "detail": "fleet: 0 running or starting, 2 stopping"}})),
    (100.0, entered("Migration succeeded", "Succeed")),
]


def seconds_of(line: str) -> float:
    stamp = line[1 : line.index("]")].strip()
    if "m" in stamp:
        minutes, rest = stamp.split("m")
        return int(minutes) * 60 + float(rest.rstrip("s"))
    return float(stamp.rstrip("s"))


def test_a_quiet_wait_prints_a_line_every_30_seconds():
    printed = follow(QUIET_DRAIN, ends_at=100.5)

    waits = [line for line in printed if " wait " in line]
    assert [round(seconds_of(line)) for line in waits] == [31, 61, 91]


def test_the_wait_line_says_the_phase_and_what_it_waits_for():
    printed = follow(QUIET_DRAIN, ends_at=100.5)

    wait = next(line for line in printed if " wait " in line)
    assert wait.endswith(f"wait   {DRAIN}, 30.5s so far: waiting for fleet: 0 running or starting, 2 stopping")


def test_the_interval_is_a_setting():
    printed = follow(QUIET_DRAIN, ends_at=100.5, heartbeat="45")

    assert [round(seconds_of(line)) for line in printed if " wait " in line] == [46, 91]


def test_a_wait_that_keeps_saying_something_needs_no_extra_line():
    busy = [
        (second + 0.5, exited(DRAIN, {"input": {}, "drain": {"done": False, "detail": f"{second} stopping"}}))
        for second in range(0, 100, 20)
    ]

    printed = follow([(0.1, entered(DRAIN)), *busy, (100.0, entered("Migration succeeded", "Succeed"))], ends_at=100.5)

    assert not [line for line in printed if " wait " in line]


def test_without_permission_to_find_the_log_lines_one_line_says_so_and_the_steps_go_on():
    check = "Check the migration task"
    task = {
        "input": {"container_name": "fleet"},
        "task_definition_arn": "arn:aws:ecs:us-east-1:1:task-definition/fleet:4",
        "task": {"arn": TASK_ARN, "last_status": "RUNNING"},
    }
    stopped = {**task, "task": {**task["task"], "last_status": "STOPPED", "exit_code": 0}}

    printed = follow(
        [
            (1.0, entered(check)),
            (1.1, exited(check, task)),
            (5.0, exited(check, stopped)),
            (6.0, entered("Migration succeeded", "Succeed")),
        ],
        ends_at=6.5,
    )

    notes = [line for line in printed if "] logs   " in line]
    assert len(notes) == 1
    assert "access denied on ecs:DescribeTaskDefinition for arn:aws:ecs:us-east-1:1:task-definition/fleet:4" in notes[0]
    assert printed[-1].endswith("done   Migration succeeded")


SNAPSHOT = "Check the snapshot"
SHORT_TIMEOUTS = {"drain_timeout_seconds": 60, "timeout_seconds": 60, "stabilize_timeout_seconds": 60}


def slow_snapshot(seconds: float) -> list[tuple[float, dict]]:
    """Drained at once, then a snapshot "creating" for ``seconds`` (well inside snapshot_timeout_seconds)."""
    return [
        (1.0, entered("Take a snapshot of the database")),
        (2.0, entered(SNAPSHOT)),
        (2.1, exited(SNAPSHOT, {"input": {}, "snapshot": {"done": False, "status": "creating"}})),
        (seconds, entered("Run the migration task")),
        (seconds + 30, entered("Migration succeeded", "Succeed")),
    ]


def test_a_slow_snapshot_does_not_make_the_client_give_up_while_the_execution_runs():
    # GIVEN short task timeouts (the old wait: 60 + 60 + 60 + 900 s) and an hour's snapshot_timeout_seconds
    events = slow_snapshot(2400)

    # WHEN the snapshot takes 40 minutes
    printed = follow(
        events,
        ends_at=2431,
        heartbeat="600",
        db_cluster_identifier="fleet",
        snapshot_timeout_seconds=3600,
        **SHORT_TIMEOUTS,
    )

    # THEN the client follows the execution to its end
    assert not [line for line in printed if "gave up" in line]


def test_the_client_still_gives_up_once_every_phase_is_past_its_limit():
    with pytest.raises(Stop) as stopped:
        follow(
            slow_snapshot(9000),
            ends_at=9031,
            heartbeat="600",
            db_cluster_identifier="fleet",
            snapshot_timeout_seconds=3600,
            **SHORT_TIMEOUTS,
        )

    assert stopped.value.code == 4 and "still runs" in stopped.value.message


def test_a_joined_execution_is_followed_as_long_as_its_own_input_lets_it_run():
    # GIVEN the client's input with short timeouts (a wait of 60 + 60 + 60 + 300 + 900 s) joining an execution
    # the trigger started with the defaults (600 + 3600 + 600 + 300 + 900 s)
    theirs = {"ecs_cluster": "fleet", "ecs_service": "fleet", "task_definition_revision": 4}

    # WHEN its migration takes 50 minutes
    printed = follow(
        [(1.0, entered("Run the migration task")), (3000.0, entered("Migration succeeded", "Succeed"))],
        ends_at=3001,
        heartbeat="600",
        theirs=theirs,
        **SHORT_TIMEOUTS,
    )

    # THEN the client follows it to its end
    assert printed[-1].endswith("done   Migration succeeded")
    assert not [line for line in printed if "gave up" in line]


def test_a_wait_given_on_the_command_line_holds_for_a_joined_execution_too():
    theirs = {"ecs_cluster": "fleet", "ecs_service": "fleet", "task_definition_revision": 4}
    clock = [0.0]
    args = parse_args(
        [
            "--state-machine-arn",
            "arn:aws:states:us-east-1:123456789012:stateMachine:fm",
            "--input",
            json.dumps(theirs),
            "--max-wait-seconds",
            "120",
        ]
    )
    follower = Follower(
        Account(ScriptedExecution(clock, [(1.0, entered("Run the migration task"))], 3000)),
        Settings(args),
        DECISION,
        STARTED,
        theirs,
        print,
        print,
        monotonic=lambda: clock[0],
        sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds),
        now=lambda: STARTED + timedelta(seconds=clock[0]),
    )

    with pytest.raises(Stop) as stopped:
        follower.run()

    assert stopped.value.code == 4 and "gave up waiting after 2m00s" in stopped.value.message
