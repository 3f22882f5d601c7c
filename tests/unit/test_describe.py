"""The describe step ("Validate the input and describe the services"): handler describe_service.py, phase
describe.py.

Each handler is called directly with a fake Lambda context on the emulator, whose clock the tests step; the
fixtures that bring a migration to each step are in conftest.py.
"""

from __future__ import annotations

import json

import pytest

from fleet_migration.errors import InvalidInput, ResourceNotFound


def test_describe_captures_what_rollback_restores_and_changes_nothing(describe, state_of):
    before = state_of()

    state = describe()

    fleet, vuln = state["services"]
    assert (fleet["name"], fleet["desired_count"], fleet["target_desired_count"]) == ("fleet", 2, 2)
    assert fleet["scalable_target"] == {
        "resource_id": "service/fleet/fleet",
        "min_capacity": 2,
        "max_capacity": 10,
        "suspended": {
            "dynamic_scaling_in_suspended": False,
            "dynamic_scaling_out_suspended": False,
            "scheduled_scaling_suspended": True,
        },
    }
    assert (vuln["name"], vuln["desired_count"], vuln.get("scalable_target")) == ("fleet-vuln-processing", 1, None)
    assert state["task_definition_arn"].endswith(":task-definition/fleet:2")
    assert state_of() == before


def test_describe_prepares_the_manual_restore_commands_before_anything_changes(describe):
    cause = json.loads(describe()["manual_restore_cause"])

    assert cause["rolled_back"] is False
    assert "aws ecs update-service --cluster fleet --service fleet --desired-count 2" in cause["commands"]


def test_describe_plans_the_requested_count_and_maximum_for_the_main_service_only(describe):
    fleet, vuln = describe(desired_count=3, max_capacity=5)["services"]

    assert (fleet["target_desired_count"], fleet["target_max_capacity"]) == (3, 5)
    assert (vuln["target_desired_count"], vuln.get("target_max_capacity")) == (1, None)


def test_describe_plans_a_lower_count_when_the_new_maximum_is_below_the_current_one(describe):
    fleet, _ = describe(max_capacity=1)["services"]

    assert fleet["target_desired_count"] == 1


def test_describe_refuses_a_desired_count_autoscaling_would_undo(describe, state_of):
    before = state_of()

    with pytest.raises(InvalidInput) as refused:
        describe(desired_count=12)

    assert refused.value.details["fields"] == ["desired_count"]
    assert "max_capacity" in refused.value.message
    assert state_of() == before


def test_describe_reports_an_aws_refusal_as_not_found_and_changes_nothing(emu, describe, state_of):
    before = state_of()
    emu.faults.inject("ecs", "DescribeTaskDefinition", code="AccessDeniedException", message="not allowed")

    with pytest.raises(ResourceNotFound) as refused:
        describe()

    assert refused.value.details["aws_error"] == "AccessDeniedException"
    assert "DescribeTaskDefinition" in refused.value.message and "Nothing was changed" in refused.value.message
    assert state_of() == before


def test_describe_refuses_an_inactive_task_definition_revision(emu, describe, state_of):
    emu.client("ecs").deregister_task_definition(taskDefinition="fleet:2")
    before = state_of()

    with pytest.raises(ResourceNotFound, match="INACTIVE"):
        describe()

    assert state_of() == before


@pytest.mark.fleet(revisions=1)
def test_a_first_deploy_caught_while_a_crashing_task_is_running_for_a_moment_is_not_skipped(emu, describe):
    # GIVEN a first deploy: an empty schema, so each Fleet task runs for about a second before fleet serve exits 1
    for _ in range(20):
        if emu.ecs_sim.running_tasks(service="fleet"):
            break
        emu.clock.advance(0.25)
    assert emu.ecs_sim.running_tasks(service="fleet"), "no Fleet task caught RUNNING"

    # WHEN the describe step looks at that moment
    state = describe()

    # THEN what "serves" is the new revision itself: its equal image proves nothing, and it is migrated
    assert "result" not in state or not state["result"].get("skipped"), state.get("result")
