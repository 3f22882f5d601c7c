"""The execution input contract (docs/execution-input.md) and the state document."""

from __future__ import annotations

import pytest

from fleet_migration.errors import InvalidInput
from fleet_migration.execution_input import DEFAULT_COMMAND, FIELD_HINTS, MigrationInput
from fleet_migration.models import Caught

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

    assert spec.capacity_during_migration == 0
    assert spec.min_capacity is None
    assert spec.desired_count is None
    assert spec.max_capacity is None
    assert spec.vuln_service == ""
    assert spec.container_name == "fleet"
    assert spec.command == DEFAULT_COMMAND == ["fleet", "prepare", "db", "--no-prompt"]
    # null: the describe step takes them from the service (docs/execution-input.md)
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
    spec = MigrationInput.parse(
        {**VALID, "subnets": ["subnet-1"], "security_groups": ["sg-1"], "assign_public_ip": True, "launch_type": "EC2"}
    )

    assert (spec.subnets, spec.security_groups, spec.assign_public_ip, spec.launch_type) == (
        ["subnet-1"],
        ["sg-1"],
        True,
        "EC2",
    )
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


def test_desired_count_below_capacity_during_migration_is_rejected():
    error = rejected(capacity_during_migration=2, desired_count=1)

    assert error.details["fields"] == ["desired_count"]
    assert "below capacity_during_migration" in error.message


def test_desired_count_below_the_autoscaling_minimum_after_the_migration_is_rejected():
    error = rejected(min_capacity=3, desired_count=2)

    assert error.details["fields"] == ["desired_count"]
    assert "below min_capacity" in error.message


def test_max_capacity_below_min_capacity_is_rejected():
    assert rejected(min_capacity=4, max_capacity=3).details["fields"] == ["max_capacity"]


def test_min_capacity_is_the_autoscaling_minimum_after_the_migration_not_the_count_during_it():
    spec = MigrationInput.parse({**VALID, "min_capacity": 2})

    assert (spec.min_capacity, spec.capacity_during_migration) == (2, 0)


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
    spec = MigrationInput.parse(
        {
            **VALID,
            "ecs_cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
            "ecs_service": "arn:aws:ecs:us-east-1:123456789012:service/prod/fleet",
            "vuln_service": "fleet-vuln",
        }
    )

    assert spec.cluster_name == "prod"
    assert spec.service_names == ["fleet", "fleet-vuln"]


def test_a_catch_result_reads_with_the_names_step_functions_gives_it():
    caught = Caught.model_validate({"Error": "MigrationFailed", "Cause": "{}"})

    assert (caught.error, caught.cause) == ("MigrationFailed", "{}")


def test_the_task_size_and_recovery_point_fields_default_to_none():
    spec = MigrationInput.parse(VALID)

    assert (spec.task_cpu, spec.task_memory) == (None, None)
    assert (spec.db_cluster_identifier, spec.db_instance_identifier) == ("", "")
    assert spec.snapshot_timeout_seconds == 3600


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"task_cpu": 1024}, "task_cpu", "valid string"),
        ({"task_cpu": "1 vCPU"}, "task_cpu", "whole number of CPU units"),
        (
            {"launch_type": "FARGATE", "task_cpu": "768"},
            "task_cpu",
            '"256", "512", "1024", "2048", "4096", "8192", "16384"',
        ),
        ({"launch_type": "FARGATE", "task_cpu": "32768"}, "task_cpu", "not a Fargate task CPU"),
        ({"task_memory": "4096"}, "task_memory", "set task_cpu too"),
        ({"task_cpu": "1024", "task_memory": "4 GB"}, "task_memory", "whole number of MiB"),
        ({"launch_type": "FARGATE", "task_cpu": "256", "task_memory": "4096"}, "task_memory", '"512", "1024", "2048"'),
        ({"launch_type": "FARGATE", "task_cpu": "1024", "task_memory": "9216"}, "task_memory", '"2048", "3072"'),
        (
            {"launch_type": "FARGATE", "task_cpu": "8192", "task_memory": "18432"},
            "task_memory",
            '"16384" to "61440" in steps of 4096',
        ),
        (
            {"launch_type": "FARGATE", "task_cpu": "16384", "task_memory": "131072"},
            "task_memory",
            '"32768" to "122880" in steps of 8192',
        ),
        ({"db_cluster_identifier": "1fleet"}, "db_cluster_identifier", "starting with a letter"),
        ({"db_cluster_identifier": "fleet--db"}, "db_cluster_identifier", "no two hyphens in a row"),
        ({"db_cluster_identifier": "fleet-"}, "db_cluster_identifier", "not ending in a hyphen"),
        ({"db_instance_identifier": "fleet_db"}, "db_instance_identifier", "not an RDS identifier"),
        ({"db_instance_identifier": "f" * 64}, "db_instance_identifier", "1 to 63"),
        (
            {"db_cluster_identifier": "fleet", "db_instance_identifier": "fleet"},
            "db_instance_identifier",
            "at most one of db_cluster_identifier",
        ),
        ({"snapshot_timeout_seconds": 59}, "snapshot_timeout_seconds", "from 60 to 14400"),
        ({"snapshot_timeout_seconds": 14401}, "snapshot_timeout_seconds", "from 60 to 14400"),
        ({"snapshot_timeout_seconds": "600"}, "snapshot_timeout_seconds", "valid integer"),
    ],
)
def test_a_bad_task_size_or_database_field_is_named_with_its_fix(changes, field, says):
    error = rejected(**changes)

    assert error.details["fields"] == [field]
    assert says in error.message


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [
        ("256", "512"),
        ("512", "4096"),
        ("1024", "8192"),
        ("2048", "16384"),
        ("4096", "30720"),
        ("8192", "61440"),
        ("16384", "32768"),
        ("16384", "122880"),
        ("4096", None),
    ],
)
def test_every_fargate_size_of_the_developer_guide_table_is_accepted(cpu, memory):
    spec = MigrationInput.parse({**VALID, "task_cpu": cpu, "task_memory": memory})

    assert (spec.task_cpu, spec.task_memory) == (cpu, memory)


def test_without_a_launch_type_fargates_table_waits_for_the_describe_step_to_know_where_the_task_runs():
    # the service may run on an EC2 capacity provider: launch.resolve tells, and workflow.describe checks then
    spec = MigrationInput.parse({**VALID, "task_cpu": "768", "task_memory": "3000"})

    assert (spec.task_cpu, spec.task_memory) == ("768", "3000")


def test_on_ec2_the_task_size_is_not_held_to_the_fargate_table():
    spec = MigrationInput.parse({**VALID, "launch_type": "EC2", "task_cpu": "768", "task_memory": "3000"})

    assert (spec.task_cpu, spec.task_memory) == ("768", "3000")


def test_the_outage_fields_take_their_documented_defaults():
    spec = MigrationInput.parse(VALID)

    assert spec.skip_unchanged_image is True
    assert spec.deregistration_delay_seconds == 5
    assert spec.maintenance_page is False
    assert spec.health_check_interval_seconds == 5
    assert spec.healthy_threshold_count == 2
    assert spec.stable_seconds == 30
    assert spec.on_partial_migration == "serve_previous"


def test_a_null_deregistration_delay_means_leave_the_target_groups_alone():
    assert MigrationInput.parse({**VALID, "deregistration_delay_seconds": None}).deregistration_delay_seconds is None


@pytest.mark.parametrize("value", [-1, 3601, "5", 2.5])
def test_a_deregistration_delay_outside_what_elb_allows_is_refused_by_name(value):
    assert rejected(deregistration_delay_seconds=value).details["fields"] == ["deregistration_delay_seconds"]


def test_the_maintenance_message_is_the_deployments_not_the_callers():
    error = rejected(maintenance_message="<script>steal()</script>")

    assert error.details["fields"] == ["maintenance_message"]
    assert "not a field of the execution input" in error.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("health_check_interval_seconds", 4),
        ("health_check_interval_seconds", 301),
        ("healthy_threshold_count", 1),
        ("healthy_threshold_count", 11),
        ("stable_seconds", -1),
        ("stable_seconds", 601),
        ("on_partial_migration", "keep_going"),
        ("capacity_during_migration", -1),
    ],
)
def test_a_coming_back_setting_outside_its_range_is_refused_by_name(field, value):
    assert rejected(**{field: value}).details["fields"] == [field]


def test_null_health_check_settings_mean_leave_the_target_groups_alone():
    spec = MigrationInput.parse({**VALID, "health_check_interval_seconds": None, "healthy_threshold_count": None})

    assert (spec.health_check_interval_seconds, spec.healthy_threshold_count) == (None, None)


def test_the_skip_and_page_switches_take_booleans_only():
    assert rejected(skip_unchanged_image="no").details["fields"] == ["skip_unchanged_image"]
    assert rejected(maintenance_page=1).details["fields"] == ["maintenance_page"]
