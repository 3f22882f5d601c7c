"""The migration task holds Fleet's secrets: it runs where the service runs, in the container the deployment names,
and the services come back with no more tasks than the deployment runs. The input may narrow these, never widen
them; the describe step refuses anything else (InvalidInput naming the field) before anything changes."""

from __future__ import annotations

import pytest

import describe_service
from fleet_migration.errors import InvalidInput, ResourceNotFound


def refused(describe, state_of, **overrides) -> InvalidInput:
    before = state_of()
    with pytest.raises(InvalidInput) as caught:
        describe(**overrides)
    assert state_of() == before
    return caught.value


def test_a_subnet_outside_the_services_and_the_deployments_is_refused(describe, state_of):
    error = refused(describe, state_of, subnets=["subnet-0attacker"])

    assert error.details["fields"] == ["subnets"]
    assert "subnet-0attacker" in error.message and "leave subnets out" in error.message


def test_a_security_group_outside_the_services_and_the_deployments_is_refused(describe, state_of):
    error = refused(describe, state_of, security_groups=["sg-0open"])

    assert error.details["fields"] == ["security_groups"]
    assert "SecurityGroups" in error.message


def test_the_input_may_narrow_the_network_to_some_of_the_services_subnets(describe, deployment):
    state = describe(subnets=deployment.subnets[:1])

    assert state["launch"]["subnets"] == deployment.subnets[:1]


def test_a_subnet_the_deployment_lists_is_allowed(describe, monkeypatch):
    monkeypatch.setenv("ALLOWED_SUBNETS", "subnet-0migrations, subnet-0other")
    monkeypatch.setenv("ALLOWED_SECURITY_GROUPS", "sg-0migrations")

    state = describe(subnets=["subnet-0migrations"], security_groups=["sg-0migrations"])

    assert (state["launch"]["subnets"], state["launch"]["security_groups"]) == (
        ["subnet-0migrations"],
        ["sg-0migrations"],
    )


def test_a_public_ip_where_the_service_has_none_is_refused(describe, state_of):
    error = refused(describe, state_of, assign_public_ip=True)

    assert error.details["fields"] == ["assign_public_ip"]
    assert "set it to false" in error.message


def test_a_container_other_than_the_deployments_is_refused(emu, execution, lambda_context, state_of):
    # GIVEN a revision whose only container is "app", and a deployment that runs the migration in "fleet"
    deployment = emu.seed_fleet(container_name="app")
    before = state_of()
    event = {"input": deployment.migration_input(container_name="app"), "execution": execution()}

    with pytest.raises(InvalidInput) as refused_:
        describe_service.lambda_handler(event, lambda_context)

    assert refused_.value.details["fields"] == ["container_name"]
    assert "'fleet'" in refused_.value.message and "ContainerName" in refused_.value.message
    assert state_of() == before


def test_an_input_without_container_name_runs_in_the_deployments_container(emu, execution, lambda_context, monkeypatch):
    monkeypatch.setenv("CONTAINER_NAME", "app")
    deployment = emu.seed_fleet(container_name="app")
    document = {k: v for k, v in deployment.migration_input().items() if k != "container_name"}

    state = describe_service.lambda_handler({"input": document, "execution": execution()}, lambda_context)

    assert state["input"]["container_name"] == "app"


def test_a_container_the_revision_lacks_is_still_not_found(describe, monkeypatch):
    monkeypatch.setenv("CONTAINER_NAME", "migrator")

    with pytest.raises(ResourceNotFound):
        describe(container_name="migrator")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"max_capacity": 50}, "max_capacity"), ({"desired_count": 11, "max_capacity": 11}, "desired_count")],
    ids=["max-capacity", "desired-count-with-max-capacity"],
)
def test_counts_above_the_services_autoscaling_maximum_are_refused(describe, state_of, overrides, field):
    # The seeded service's autoscaling maximum is 10.
    error = refused(describe, state_of, **overrides)

    assert error.details["fields"] == [field]
    assert "at most 10" in error.message and "autoscaling maximum" in error.message


def test_the_deployments_cap_replaces_the_autoscaling_maximum(describe, state_of, monkeypatch):
    monkeypatch.setenv("MAX_DESIRED_COUNT", "20")

    fleet, _ = describe(desired_count=12, max_capacity=20)["services"]

    assert (fleet["target_desired_count"], fleet["target_max_capacity"]) == (12, 20)
    assert "MaxDesiredCount" in refused(describe, state_of, max_capacity=21).message


def test_without_autoscaling_a_deployment_cap_still_caps(emu, execution, lambda_context, state_of, monkeypatch):
    monkeypatch.setenv("MAX_DESIRED_COUNT", "2")
    deployment = emu.seed_fleet(autoscaling=None, desired_count=2)
    before = state_of()
    event = {"input": deployment.migration_input(desired_count=3), "execution": execution()}

    with pytest.raises(InvalidInput) as refused_:
        describe_service.lambda_handler(event, lambda_context)

    assert refused_.value.details["fields"] == ["desired_count"]
    assert "at most 2" in refused_.value.message and "MaxDesiredCount" in refused_.value.message
    assert state_of() == before


def test_without_autoscaling_or_a_deployment_cap_the_count_is_the_callers_as_in_the_addon(
    emu, execution, lambda_context
):
    deployment = emu.seed_fleet(autoscaling=None, desired_count=2)
    event = {"input": deployment.migration_input(desired_count=3), "execution": execution()}

    state = describe_service.lambda_handler(event, lambda_context)

    assert state["services"][0]["target_desired_count"] == 3
