"""What a later execution reads as the count an interrupted one held its services at."""

from fleet_migration import baseline
from fleet_migration.models import ServiceSnapshot


def snapshot(**fields) -> ServiceSnapshot:
    return ServiceSnapshot(
        name="fleet",
        arn="arn:aws:ecs:us-east-1:123456789012:service/fleet/fleet",
        desired_count=3,
        target_desired_count=3,
        **fields,
    )


def test_the_held_count_is_the_one_recorded_with_the_service_whatever_min_capacity_says():
    # min_capacity is the autoscaling minimum after the migration: it says nothing about the count held
    assert baseline._held(snapshot(held=1), legacy_min_capacity=3) == 1


def test_a_state_document_from_before_the_held_count_was_recorded_held_its_input_min_capacity():
    assert baseline._held(snapshot(), legacy_min_capacity=2) == 2
