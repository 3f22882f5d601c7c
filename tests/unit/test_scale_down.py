"""The scale-down and the drain ("Scale the services down", "Check whether the services drained"): handlers
scale_down.py and check_drained.py, phase scale_down.py.

Each handler is called directly with a fake Lambda context on the emulator, whose clock the tests step; the
fixtures that bring a migration to each step are in conftest.py.
"""

from __future__ import annotations

import pytest
from step_support import HELD

import check_drained
import scale_down
from fleet_migration.errors import DrainTimeout


def test_scale_down_holds_autoscaling_and_lowers_every_service_to_capacity_during_migration(
    emu, describe, lambda_context, state_of
):
    scale_down.lambda_handler(describe(capacity_during_migration=1), lambda_context)

    assert state_of() == {
        "fleet": {"desired_count": 1, "min_capacity": 1, "max_capacity": 1, "suspended": HELD},
        "fleet-vuln-processing": {"desired_count": 1},
    }


def test_scale_down_holds_autoscaling_before_it_lowers_the_count(emu, describe, lambda_context):
    # GIVEN ECS refuses the count change
    emu.faults.inject("ecs", "UpdateService", code="AccessDeniedException")

    # WHEN scaling down THEN autoscaling was already held, so it could not undo a scale-down
    with pytest.raises(Exception, match="AccessDenied"):
        scale_down.lambda_handler(describe(), lambda_context)
    assert emu.service_state("fleet", "fleet")["suspended"] == HELD


def test_the_services_are_not_drained_while_their_tasks_are_stopping(emu, describe, lambda_context):
    emu.service_behaviour("fleet").stop_seconds = 60
    state = scale_down.lambda_handler(describe(), lambda_context)

    state = check_drained.lambda_handler(state, lambda_context)

    assert state["drain"]["done"] is False
    assert state["drain"]["next_poll_seconds"] == 1
    assert "stopping" in state["drain"]["detail"]


def test_the_services_are_drained_once_their_tasks_have_stopped(emu, describe, lambda_context):
    state = scale_down.lambda_handler(describe(), lambda_context)
    emu.clock.advance(2 + emu.target_group.deregistration_delay)  # drained from the load balancer, then stopped

    assert check_drained.lambda_handler(state, lambda_context)["drain"]["done"] is True


@pytest.mark.fleet(healthy=False, revisions=1)
def test_a_first_deploy_whose_tasks_never_became_healthy_drains(emu, describe, lambda_context):
    assert emu.service_state("fleet", "fleet")["desired_count"] == 2
    assert emu.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"][0]["runningCount"] == 0
    state = scale_down.lambda_handler(describe(task_definition_revision=1), lambda_context)
    emu.clock.advance(2)

    assert check_drained.lambda_handler(state, lambda_context)["drain"]["done"] is True


def test_services_that_do_not_drain_in_time_are_a_drain_timeout(emu, describe, lambda_context):
    emu.service_behaviour("fleet").stop_seconds = 1e9
    state = scale_down.lambda_handler(describe(drain_timeout_seconds=30), lambda_context)
    emu.clock.advance(31)

    with pytest.raises(DrainTimeout, match="drain_timeout_seconds=30") as timed_out:
        check_drained.lambda_handler(state, lambda_context)
    assert "fleet: 0 running or starting, 2 stopping" in timed_out.value.message
