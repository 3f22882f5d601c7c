"""Malformed inputs and missing resources fail in the first step, naming the field, with nothing changed."""

from __future__ import annotations

import json

import pytest

from emulator import DROP
from workflow_support import DESCRIBE, FAIL_STATE, cause_of, last_state, tasks_entered

CASES = [
    # (id, input overrides, error, the field the message names)
    ("missing-cluster", {"ecs_cluster": DROP}, "InvalidInput", "ecs_cluster"),
    ("misspelt-field", {"desired_cout": 3}, "InvalidInput", "desired_cout"),
    ("revision-as-string", {"task_definition_revision": "2"}, "InvalidInput", "task_definition_revision"),
    ("revision-zero", {"task_definition_revision": 0}, "InvalidInput", "task_definition_revision"),
    ("no-subnets", {"subnets": []}, "InvalidInput", "subnets"),
    ("security-groups-not-a-list", {"security_groups": "sg-1"}, "InvalidInput", "security_groups"),
    ("negative-min-capacity", {"min_capacity": -1}, "InvalidInput", "min_capacity"),
    ("negative-held-capacity", {"capacity_during_migration": -1}, "InvalidInput", "capacity_during_migration"),
    ("zero-desired-count", {"desired_count": 0}, "InvalidInput", "desired_count"),
    ("desired-count-below-min-capacity", {"min_capacity": 2, "desired_count": 1}, "InvalidInput", "desired_count"),
    (
        "desired-count-below-held-capacity",
        {"capacity_during_migration": 2, "desired_count": 1},
        "InvalidInput",
        "desired_count",
    ),
    ("max-capacity-below-desired-count", {"desired_count": 3, "max_capacity": 2}, "InvalidInput", "max_capacity"),
    ("desired-count-above-autoscaling-max", {"desired_count": 12}, "InvalidInput", "desired_count"),
    ("timeout-zero", {"timeout_seconds": 0}, "InvalidInput", "timeout_seconds"),
    ("timeout-over-a-day", {"timeout_seconds": 86401}, "InvalidInput", "timeout_seconds"),
    ("drain-timeout-over-an-hour", {"drain_timeout_seconds": 3601}, "InvalidInput", "drain_timeout_seconds"),
    ("negative-stabilize-timeout", {"stabilize_timeout_seconds": -1}, "InvalidInput", "stabilize_timeout_seconds"),
    ("poll-interval-zero", {"poll_interval_seconds": 0}, "InvalidInput", "poll_interval_seconds"),
    ("lowercase-launch-type", {"launch_type": "fargate"}, "InvalidInput", "launch_type"),
    ("public-ip-as-string", {"assign_public_ip": "yes"}, "InvalidInput", "assign_public_ip"),
    ("empty-command", {"command": []}, "InvalidInput", "command"),
    ("command-as-one-string", {"command": "fleet prepare db"}, "InvalidInput", "command"),
    ("revision-in-task-definition", {"task_definition": "fleet:2"}, "InvalidInput", "task_definition"),
    ("vuln-service-is-the-fleet-service", {"vuln_service": "fleet"}, "InvalidInput", "vuln_service"),
    # preflight: what RunTask would refuse once the services are down (AwsVpcConfiguration limits, public IP)
    ("seventeen-subnets", {"subnets": [f"subnet-{i:02}" for i in range(17)]}, "InvalidInput", "subnets"),
    ("six-security-groups", {"security_groups": [f"sg-{i}" for i in range(6)]}, "InvalidInput", "security_groups"),
    ("public-ip-on-ec2", {"launch_type": "EC2", "assign_public_ip": True}, "InvalidInput", "assign_public_ip"),
    # the task runs where the service runs: the input may narrow the network and the counts, never widen them
    ("subnet-the-service-does-not-use", {"subnets": ["subnet-0attacker"]}, "InvalidInput", "subnets"),
    ("security-group-the-service-lacks", {"security_groups": ["sg-0open"]}, "InvalidInput", "security_groups"),
    ("public-ip-the-service-lacks", {"assign_public_ip": True}, "InvalidInput", "assign_public_ip"),
    ("max-capacity-above-autoscaling-max", {"max_capacity": 50}, "InvalidInput", "max_capacity"),
    ("unknown-cluster", {"ecs_cluster": "staging"}, "ResourceNotFound", "ecs_cluster"),
    ("unknown-service", {"ecs_service": "fleet-web"}, "ResourceNotFound", "ecs_service"),
    ("unknown-vuln-service", {"vuln_service": "fleet-vuln"}, "ResourceNotFound", "vuln_service"),
    ("unknown-revision", {"task_definition_revision": 9}, "ResourceNotFound", "task_definition_revision"),
    ("unknown-task-definition-family", {"task_definition": "fleet-web"}, "ResourceNotFound", "task_definition"),
    ("unknown-container", {"container_name": "app"}, "ResourceNotFound", "container_name"),
]


def assert_refused_in_the_first_step(run, error: str) -> dict:
    assert (run.status, run.error) == ("FAILED", error), run.cause
    assert tasks_entered(run) == [DESCRIBE]
    assert last_state(run) == FAIL_STATE[error]
    return cause_of(run)


@pytest.mark.parametrize(("overrides", "error", "field"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_bad_input_fails_naming_the_field_and_changes_nothing(shared, everything, request, overrides, error, field):
    aws, fleet = shared
    before = everything()

    run = aws.run(fleet.migration_input(**{"poll_interval_seconds": 1, **overrides}), name=request.node.callspec.id)

    cause = assert_refused_in_the_first_step(run, error)
    assert field in cause["fields"]
    assert f"{field}:" in cause["message"] or f"{field} " in cause["message"]
    assert everything() == before


@pytest.mark.parametrize(
    "document", [["fleet", "fleet", 2], "fleet", 2, None], ids=["list", "string", "number", "null"]
)
def test_an_input_that_is_not_an_object_is_invalid(shared, everything, document, request):
    aws, _ = shared
    before = everything()

    run = aws.run(json.dumps(document), name=f"not-an-object-{request.node.callspec.id}")

    assert "JSON object" in assert_refused_in_the_first_step(run, "InvalidInput")["message"]
    assert everything() == before
