"""The rollback's copy of a deregistered revision: every field RegisterTaskDefinition accepts, the original's tags
and the workflow's mark."""

from __future__ import annotations

import botocore.session

from fleet_migration.task_definitions import COPY_OF_TAG, EXECUTION_TAG, MAX_TAGS, REGISTERED_FIELDS, copy_request

ORIGINAL = "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:1"


def register_task_definition_members() -> set[str]:
    model = botocore.session.get_session().get_service_model("ecs")
    return set(model.operation_model("RegisterTaskDefinition").input_shape.members)


def test_the_copy_takes_every_field_register_task_definition_accepts():
    # RegisterTaskDefinition (Amazon ECS API Reference), as the SDK models it: a field left out is a copy that
    # differs from what served (its platform, its storage, its proxy, ...)
    assert set(REGISTERED_FIELDS) == register_task_definition_members() - {"tags"}


def test_a_described_revision_becomes_a_request_with_all_its_fields_and_none_that_ecs_sets():
    described = {field: f"value of {field}" for field in REGISTERED_FIELDS}
    described.update(
        taskDefinitionArn=ORIGINAL, revision=1, status="INACTIVE", registeredAt="2026-01-15", compatibilities=["EC2"]
    )

    request = copy_request(described, [], "fleet-fleet-r2")

    assert set(request) == set(REGISTERED_FIELDS) | {"tags"}
    assert all(request[field] == f"value of {field}" for field in REGISTERED_FIELDS)


def test_the_copy_keeps_the_originals_tags_and_is_marked_as_the_workflows_own():
    tags = [
        {"key": "team", "value": "fleet"},
        {"key": "aws:cloudformation:stack-name", "value": "fleet"},  # reserved for AWS: ECS refuses it
        {"key": COPY_OF_TAG, "value": "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:0"},
    ]

    request = copy_request({"family": "fleet", "taskDefinitionArn": ORIGINAL}, tags, "fleet-fleet-r2")

    assert request["tags"] == [
        {"key": "team", "value": "fleet"},
        {"key": COPY_OF_TAG, "value": ORIGINAL},
        {"key": EXECUTION_TAG, "value": "fleet-fleet-r2"},
    ]


def test_the_copy_stays_within_the_tag_limit():
    tags = [{"key": f"k{n}", "value": "v"} for n in range(MAX_TAGS)]

    request = copy_request({"family": "fleet", "taskDefinitionArn": ORIGINAL}, tags, "fleet-fleet-r2")

    assert len(request["tags"]) == MAX_TAGS and request["tags"][-2]["key"] == COPY_OF_TAG
