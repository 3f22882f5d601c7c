"""The migration container's last lines for a failed migration's cause (log_tail): where, how many, how big."""

from __future__ import annotations

import json

from fleet_migration import task_logs
from fleet_migration.models import LogSource

AWSLOGS = {
    "logDriver": "awslogs",
    "options": {"awslogs-group": "fleet", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "fleet"},
}


def definition(**container: object) -> dict:
    return {"containerDefinitions": [{"name": "fleet", **container}]}


def test_an_awslogs_container_is_read_from_its_group_region_and_task_stream():
    where, note = task_logs.source(definition(logConfiguration=AWSLOGS), "fleet", "us-east-1")

    assert note is None
    assert where == LogSource(group="fleet", region="eu-west-1", stream_prefix="fleet", container="fleet")
    assert where.stream("arn:aws:ecs:eu-west-1:123456789012:task/fleet/0a1b2c") == "fleet/fleet/0a1b2c"


def test_awslogs_without_a_region_is_read_in_the_functions_region():
    options = {key: value for key, value in AWSLOGS["options"].items() if key != "awslogs-region"}
    where, _ = task_logs.source(
        definition(logConfiguration={"logDriver": "awslogs", "options": options}), "fleet", "us-east-1"
    )

    assert where is not None and where.region == "us-east-1"


def test_a_container_without_awslogs_gets_a_note_saying_where_its_logs_are_not():
    where, note = task_logs.source(
        definition(logConfiguration={"logDriver": "splunk", "options": {}}), "fleet", "us-east-1"
    )

    assert where is None
    assert "does not log to CloudWatch Logs" in note and "'splunk'" in note


def test_awslogs_without_a_stream_prefix_cannot_name_the_task_stream():
    options = {key: value for key, value in AWSLOGS["options"].items() if key != "awslogs-stream-prefix"}
    where, note = task_logs.source(
        definition(logConfiguration={"logDriver": "awslogs", "options": options}), "fleet", "us-east-1"
    )

    assert where is None
    assert "awslogs-stream-prefix" in note


def test_the_tail_keeps_the_last_twenty_lines_in_order():
    lines = [f"line {n}" for n in range(50)]

    assert task_logs.bounded(lines) == lines[-20:]


def test_the_tail_stays_within_four_kilobytes_of_json_keeping_the_newest_lines():
    lines = [f"{n:03d} " + "x" * 600 for n in range(20)]

    kept = task_logs.bounded(lines)

    assert len(json.dumps(kept).encode()) <= task_logs.MAX_BYTES
    assert kept == lines[-len(kept) :] and kept[-1].startswith("019")


def test_an_overlong_line_is_cut_and_says_so():
    kept = task_logs.bounded(["y" * 5000])

    assert len(kept[0]) == task_logs.MAX_LINE_CHARACTERS and kept[0].endswith("…")


def test_escaping_counts_against_the_bound():
    kept = task_logs.bounded(['"\\\t' * 250 for _ in range(20)])

    assert len(json.dumps(kept).encode()) <= task_logs.MAX_BYTES
