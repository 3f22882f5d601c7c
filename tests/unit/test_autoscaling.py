"""Application Auto Scaling: capture a target, hold it during the migration, put it back exactly."""

from __future__ import annotations

import pytest

from fleet_migration import autoscaling
from fleet_migration.models import ScalableTarget, SuspendedState

RESOURCE = "service/fleet/fleet"


@pytest.fixture
def scaling(emu):
    """The emulated account with Fleet's services and no autoscaling target yet."""
    emu.seed_fleet(autoscaling=None)
    return emu.client("application-autoscaling")


def register(scaling, min_capacity: int = 2, max_capacity: int = 10, **suspended: bool) -> None:
    scaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=RESOURCE,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
        SuspendedState=suspended,
    )


def test_a_service_without_a_target_captures_nothing(scaling):
    assert autoscaling.capture("fleet", "fleet") is None


def test_capture_reads_the_bounds_and_the_suspended_state(scaling):
    register(scaling, 2, 10, ScheduledScalingSuspended=True)

    assert autoscaling.capture("fleet", "fleet") == ScalableTarget(
        resource_id=RESOURCE,
        min_capacity=2,
        max_capacity=10,
        suspended=SuspendedState(scheduled_scaling_suspended=True),
    )


def test_holding_pins_both_bounds_and_suspends_all_scaling(scaling):
    register(scaling, 2, 10)

    autoscaling.hold_at(autoscaling.capture("fleet", "fleet"), 0)

    held = autoscaling.capture("fleet", "fleet")
    assert (held.min_capacity, held.max_capacity) == (0, 0)
    assert held.suspended == autoscaling.SUSPEND_ALL


def test_restoring_after_holding_puts_back_exactly_what_was_captured(scaling):
    register(scaling, 2, 10, DynamicScalingOutSuspended=True)
    before = autoscaling.capture("fleet", "fleet")

    autoscaling.hold_at(before, 0)
    autoscaling.restore(before)

    assert autoscaling.capture("fleet", "fleet") == before


def test_restoring_with_a_new_maximum_applies_it(scaling):
    register(scaling, 2, 10)
    before = autoscaling.capture("fleet", "fleet")

    autoscaling.restore(before, max_capacity=6)

    after = autoscaling.capture("fleet", "fleet")
    assert (after.min_capacity, after.max_capacity) == (2, 6)


def test_a_new_maximum_below_the_old_minimum_lowers_the_minimum_too(scaling):
    register(scaling, 4, 10)

    autoscaling.restore(autoscaling.capture("fleet", "fleet"), max_capacity=3)

    after = autoscaling.capture("fleet", "fleet")
    assert (after.min_capacity, after.max_capacity) == (3, 3)


def test_restoring_with_a_new_minimum_applies_it_and_keeps_the_maximum(scaling):
    register(scaling, 0, 10)

    autoscaling.restore(autoscaling.capture("fleet", "fleet"), min_capacity=2)

    after = autoscaling.capture("fleet", "fleet")
    assert (after.min_capacity, after.max_capacity) == (2, 10)
