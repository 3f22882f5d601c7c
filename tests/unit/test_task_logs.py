"""The migration container's last lines for a failed migration's cause (log_tail): where, how many, how big."""

from __future__ import annotations

import json

import pytest

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


# -- redaction: the cause travels to the execution history, the state machine's logs and CI output -------------
def fleet_definition() -> dict:
    return {
        "containerDefinitions": [
            {
                "name": "fleet",
                "environment": [
                    {"name": "FLEET_MYSQL_ADDRESS", "value": "db.internal:3306"},
                    {"name": "FLEET_SERVER_PRIVATE_KEY", "value": "c2VjcmV0LXNlcnZlci1rZXk="},
                    {"name": "FLEET_LOGGING_JSON", "value": "true"},
                ],
                "secrets": [{"name": "FLEET_MYSQL_PASSWORD", "valueFrom": "arn:aws:secretsmanager:::secret:fleet-db"}],
            }
        ]
    }


def test_the_task_definitions_environment_values_are_redacted():
    redact = task_logs.Redactor.for_definition(fleet_definition())

    line = redact("server key c2VjcmV0LXNlcnZlci1rZXk= loaded, connecting to db.internal:3306, json true")

    assert "c2VjcmV0LXNlcnZlci1rZXk=" not in line and "db.internal:3306" not in line
    assert line.endswith("json true")  # short values are not secrets: the line stays readable


def test_a_secret_named_in_the_task_definition_loses_its_value_when_printed():
    redact = task_logs.Redactor.for_definition(fleet_definition())

    assert redact("FLEET_MYSQL_PASSWORD=hunter2 fleet prepare db") == "FLEET_MYSQL_PASSWORD=[redacted] fleet prepare db"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("dsn fleet:s3cr3t-pw@tcp(db:3306)/fleet?parseTime=true", "s3cr3t-pw"),
        ("connecting to mysql://fleet:s3cr3t-pw@db.internal/fleet", "s3cr3t-pw"),
        ("config password=s3cr3t-pw user=fleet", "s3cr3t-pw"),
        ('{"api_token": "0123456789abcdef0123456789abcdef"}', "0123456789abcdef0123456789abcdef"),
        ("using AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", "eyJhbGciOiJIUzI1NiJ9"),
        ("secret_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ],
    ids=["mysql-dsn", "url", "password", "json-token", "aws-access-key", "bearer", "secret-key"],
)
def test_what_looks_like_a_secret_is_redacted_whatever_the_task_definition_says(line, secret):
    redacted = task_logs.Redactor()(line)

    assert secret not in redacted and task_logs.REDACTED in redacted


def test_fleets_own_migration_lines_pass_unchanged():
    lines = ["Migrations completed.", "2024/01/01 00:00:00 OK    20240101000000_add_hosts_index.go (12.3ms)"]

    assert [task_logs.Redactor.for_definition(fleet_definition())(line) for line in lines] == lines


def test_the_deployment_chooses_how_many_lines_and_zero_turns_the_tail_off():
    assert task_logs.lines_wanted({}) == task_logs.LINES
    assert task_logs.lines_wanted({"LOG_TAIL_LINES": "5"}) == 5
    assert task_logs.lines_wanted({"LOG_TAIL_LINES": "0"}) == 0
