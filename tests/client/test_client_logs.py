"""The client finds the migration container's awslogs stream and reads it as it grows (terraform/migrate_client/logs.py).

Reads go to moto's CloudWatch Logs, whose GetLogEvents hands back the same forward token at the end of
the stream, as AWS documents.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from emulator import Emulator
from migrate_client.logs import LogFollower, LogStream, locate

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/fleet/0f3c2a1b9d8e"
# CloudWatch Logs refuses events older than 14 days: the lines are written "now", on a whole second.
T0 = int(time.time()) * 1000


def definition(container: dict) -> dict:
    return {"family": "fleet", "revision": 4, "containerDefinitions": [{"name": "fleet", **container}]}


def awslogs(**options: str) -> dict:
    return {"logConfiguration": {"logDriver": "awslogs", "options": options}}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(speed=1) as emulator:
        emulator.client("logs").create_log_group(logGroupName="fleet")
        yield emulator


@pytest.fixture(scope="module")
def logs(emu: Emulator) -> Any:
    """CloudWatch Logs without the SDK's own retries, so the client's handling of a throttled read shows."""
    return boto3.session.Session(region_name=emu.region).client(
        "logs", config=Config(retries={"total_max_attempts": 1})
    )


@pytest.fixture
def stream(emu: Emulator) -> Iterator[LogStream]:
    """A stream of its own for each test (the emulator is the module's), and no fault left behind."""
    yield LogStream(group="fleet", stream=f"fleet/fleet/{uuid.uuid4().hex}", region="us-east-1")
    emu.faults.clear()


class Reader:
    """A LogFollower on ``stream`` with a hand-moved clock, collecting what it prints and says."""

    def __init__(self, logs: Any, stream: LogStream) -> None:
        self.now = 0.0
        self.lines: list[tuple[datetime, str]] = []
        self.said: list[str] = []
        self.follower = LogFollower(
            lambda region: logs,
            stream,
            lambda at, line: self.lines.append((at, line)),
            self.said.append,
            monotonic=lambda: self.now,
        )

    def poll(self, after: float = 1.0, final: bool = False) -> list[str]:
        self.now += after
        before = len(self.lines)
        self.follower.poll(final=final)
        return [line for _, line in self.lines[before:]]


def put(emu: Emulator, stream: LogStream, *messages: str, at: int = T0) -> None:
    logs = emu.client("logs")
    try:
        logs.create_log_stream(logGroupName=stream.group, logStreamName=stream.stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_log_events(
        logGroupName=stream.group,
        logStreamName=stream.stream,
        logEvents=[{"timestamp": at + i, "message": m} for i, m in enumerate(messages)],
    )


# -- where the lines are ----------------------------------------------------------------------------


def test_the_stream_is_prefix_container_task_id_in_the_awslogs_group_and_region():
    found = locate(
        definition(
            awslogs(
                **{"awslogs-group": "/ecs/fleet", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "migrations"}
            )
        ),
        "fleet",
        TASK_ARN,
        "us-east-1",
    )

    assert found == LogStream(group="/ecs/fleet", stream="migrations/fleet/0f3c2a1b9d8e", region="eu-west-1")


def test_without_awslogs_region_the_stream_is_in_the_tasks_region():
    found = locate(
        definition(awslogs(**{"awslogs-group": "fleet", "awslogs-stream-prefix": "fleet"})),
        "fleet",
        TASK_ARN,
        "us-east-1",
    )

    assert isinstance(found, LogStream) and found.region == "us-east-1"


@pytest.mark.parametrize(
    ("container", "container_name", "words"),
    [
        ({}, "fleet", "has no logConfiguration"),
        (
            {"logConfiguration": {"logDriver": "splunk", "options": {}}},
            "fleet",
            "logs with the splunk driver, not awslogs",
        ),
        (awslogs(**{"awslogs-group": "fleet"}), "fleet", "without awslogs-stream-prefix"),
        (awslogs(**{"awslogs-stream-prefix": "fleet"}), "fleet", "without awslogs-group"),
        (awslogs(**{"awslogs-group": "fleet", "awslogs-stream-prefix": "fleet"}), "migrate", "is not in fleet:4"),
    ],
)
def test_a_container_without_a_readable_awslogs_stream_gets_one_sentence_saying_why(container, container_name, words):
    found = locate(definition(container), container_name, TASK_ARN, "us-east-1")

    assert isinstance(found, str) and words in found


# -- reading it -------------------------------------------------------------------------------------


def test_each_new_line_is_handed_on_once_as_it_arrives(emu, logs, stream):
    reader = Reader(logs, stream)
    put(emu, stream, "Connecting to MySQL", "Missing migrations: tables=[1 2]")

    assert reader.poll() == ["Connecting to MySQL", "Missing migrations: tables=[1 2]"]
    assert reader.poll() == []
    put(emu, stream, "Applying table migration 1", at=T0 + 10)
    assert reader.poll() == ["Applying table migration 1"]
    assert reader.follower.last_line == "Applying table migration 1"


def test_a_line_carries_the_moment_the_container_wrote_it(emu, logs, stream):
    reader = Reader(logs, stream)
    put(emu, stream, "Migrations completed.", at=T0 + 1500)

    reader.poll()

    written = datetime.fromtimestamp(T0 / 1000, tz=UTC) + timedelta(seconds=1.5)
    assert reader.lines == [(written, "Migrations completed.")]


def test_the_same_token_twice_ends_a_round(emu, logs, stream):
    reader = Reader(logs, stream)
    put(emu, stream, "one", "two")
    reader.poll()  # reads the two lines, then once more to meet the same token
    calls = emu.faults.calls[("logs", "GetLogEvents")]

    reader.poll()

    assert emu.faults.calls[("logs", "GetLogEvents")] == calls + 1


def test_reads_wait_a_second_between_rounds(emu, logs, stream):
    reader = Reader(logs, stream)
    put(emu, stream, "one")
    reader.poll()
    put(emu, stream, "two", at=T0 + 5)

    assert reader.poll(after=0.5) == []
    assert reader.poll(after=0.5) == ["two"]


def test_a_multi_line_event_is_printed_line_by_line(emu, logs, stream):
    reader = Reader(logs, stream)
    put(emu, stream, "panic: migration 20241116233322\ngoroutine 1 [running]:\n")

    assert reader.poll() == ["panic: migration 20241116233322", "goroutine 1 [running]:"]


def test_a_stream_that_does_not_exist_yet_is_waited_for_without_a_word(emu, logs, stream):
    reader = Reader(logs, stream)

    assert reader.poll() == [] and reader.said == [] and not reader.follower.found
    put(emu, stream, "Connecting to MySQL")
    assert reader.poll() == ["Connecting to MySQL"] and reader.follower.found


def test_throttling_slows_the_reads_down_without_losing_a_line(emu, logs, stream):
    reader = Reader(logs, stream)
    put(emu, stream, "one", "two")
    emu.faults.inject("logs", "GetLogEvents", times=2)

    assert reader.poll() == []  # throttled: next read in 1 s
    assert reader.poll(after=1.0) == []  # throttled again: next read in 2 s
    assert reader.poll(after=1.0) == []  # not yet
    assert reader.poll(after=1.0) == ["one", "two"]
    assert len(reader.said) == 1 and "less often" in reader.said[0] and "none is lost" in reader.said[0]


def test_access_denied_is_one_line_and_no_more_reads(emu, logs, stream):
    reader = Reader(logs, stream)
    put(emu, stream, "one")
    emu.faults.inject("logs", "GetLogEvents", code="AccessDeniedException", message="not authorized")

    reader.poll()
    reader.poll(final=True)

    assert len(reader.said) == 1
    assert "access denied on logs:GetLogEvents for log group fleet in us-east-1" in reader.said[0]
    assert reader.follower.stopped and reader.lines == []


def test_the_final_read_takes_everything_left_whatever_the_schedule(emu, logs, stream):
    reader = Reader(logs, stream)
    put(emu, stream, "one")
    reader.poll()
    put(emu, stream, "two", "three", at=T0 + 5)

    assert reader.poll(after=0.0, final=True) == ["two", "three"]
