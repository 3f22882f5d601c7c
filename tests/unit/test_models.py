"""The execution input contract (design section 3) and the state document."""

from __future__ import annotations

import pytest

from fleet_migration.errors import InvalidInput
from fleet_migration.models import DEFAULT_COMMAND, FIELD_HINTS, Caught, MigrationInput

VALID = {
    "ecs_cluster": "fleet",
    "ecs_service": "fleet",
    "task_definition": "fleet",
    "task_definition_revision": 7,
}


def rejected(**changes: object) -> InvalidInput:
    document = {**VALID, **changes}
    document = {key: value for key, value in document.items() if value is not ...}
    with pytest.raises(InvalidInput) as caught:
        MigrationInput.parse(document)
    return caught.value


def test_the_optional_fields_take_the_documented_defaults():
    spec = MigrationInput.parse(VALID)

    assert spec.min_capacity == 0
    assert spec.desired_count is None
    assert spec.max_capacity is None
    assert spec.vuln_service == ""
    assert spec.container_name == "fleet"
    assert spec.command == DEFAULT_COMMAND == ["fleet", "prepare", "db", "--no-prompt"]
    # null: the describe step takes them from the service (design section 3)
    assert (spec.subnets, spec.security_groups, spec.assign_public_ip, spec.launch_type) == (None, None, None, None)
    assert (spec.timeout_seconds, spec.drain_timeout_seconds) == (3600, 600)
    assert (spec.stabilize_timeout_seconds, spec.poll_interval_seconds) == (600, 5)


def test_every_field_of_the_contract_has_a_hint_for_error_messages():
    assert set(FIELD_HINTS) == set(MigrationInput.model_fields)


def test_a_missing_required_field_is_named_with_what_to_put_there():
    error = rejected(ecs_service=...)

    assert error.details["fields"] == ["ecs_service"]
    assert "ecs_service: required" in error.message
    assert FIELD_HINTS["ecs_service"] in error.message


def test_the_network_and_the_launch_type_may_be_left_to_the_service():
    spec = MigrationInput.parse({**VALID, "subnets": ["subnet-1"], "security_groups": ["sg-1"],
                                 "assign_public_ip": True, "launch_type": "EC2"})

    assert (spec.subnets, spec.security_groups, spec.assign_public_ip, spec.launch_type) == (
        ["subnet-1"], ["sg-1"], True, "EC2")
    assert MigrationInput.parse({**VALID, "launch_type": None}).launch_type is None


@pytest.mark.parametrize("field", ["subnets", "security_groups"])
def test_an_empty_network_list_is_refused_naming_the_field_and_the_way_to_leave_it_to_the_service(field):
    error = rejected(**{field: []})

    assert error.details["fields"] == [field]
    assert "leave it out to use the service's" in error.message


def test_a_misspelt_field_is_rejected_with_a_suggestion():
    error = rejected(desired_cout=3)

    assert error.details["fields"] == ["desired_cout"]
    assert 'did you mean "desired_count"' in error.message


def test_every_bad_field_is_reported_at_once():
    error = rejected(min_capacity=-1, launch_type="fargate", subnets=[])

    assert set(error.details["fields"]) == {"min_capacity", "launch_type", "subnets"}


@pytest.mark.parametrize("value", [True, "3", 3.0])
def test_a_count_must_be_a_real_integer(value):
    assert rejected(task_definition_revision=value).details["fields"] == ["task_definition_revision"]


def test_a_task_definition_that_carries_a_revision_is_rejected_with_the_family_to_use():
    error = rejected(task_definition="fleet:6")

    assert error.details["fields"] == ["task_definition"]
    assert "'fleet'" in error.message and "task_definition_revision" in error.message


def test_a_task_definition_arn_without_revision_is_accepted():
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet"

    assert MigrationInput.parse({**VALID, "task_definition": arn}).task_definition_ref == f"{arn}:7"


def test_desired_count_below_min_capacity_is_rejected():
    error = rejected(min_capacity=2, desired_count=1)

    assert error.details["fields"] == ["desired_count"]
    assert "below min_capacity" in error.message


def test_max_capacity_below_desired_count_is_rejected():
    assert rejected(desired_count=4, max_capacity=3).details["fields"] == ["max_capacity"]


def test_vuln_service_naming_the_main_service_is_rejected():
    arn = "arn:aws:ecs:us-east-1:123456789012:service/fleet/fleet"

    assert rejected(vuln_service=arn).details["fields"] == ["vuln_service"]


@pytest.mark.parametrize(
    ("field", "bad", "good"),
    [
        ("timeout_seconds", 0, 1),
        ("timeout_seconds", 86401, 86400),
        ("drain_timeout_seconds", 3601, 3600),
        ("stabilize_timeout_seconds", -1, 0),
        ("poll_interval_seconds", 301, 300),
    ],
)
def test_timeouts_are_bounded_and_their_bounds_are_legal(field, bad, good):
    assert rejected(**{field: bad}).details["fields"] == [field]
    assert getattr(MigrationInput.parse({**VALID, field: good}), field) == good


def test_an_input_that_is_not_an_object_is_rejected():
    with pytest.raises(InvalidInput, match="must be a JSON object"):
        MigrationInput.parse(["fleet"])


def test_names_and_arns_reduce_to_short_names():
    spec = MigrationInput.parse({
        **VALID,
        "ecs_cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        "ecs_service": "arn:aws:ecs:us-east-1:123456789012:service/prod/fleet",
        "vuln_service": "fleet-vuln",
    })

    assert spec.cluster_name == "prod"
    assert spec.service_names == ["fleet", "fleet-vuln"]


def test_a_catch_result_reads_with_the_names_step_functions_gives_it():
    caught = Caught.model_validate({"Error": "MigrationFailed", "Cause": "{}"})

    assert (caught.error, caught.cause) == ("MigrationFailed", "{}")
