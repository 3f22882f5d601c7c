"""How the migration task is launched (the service's way unless the input says otherwise), and the preflight."""

from __future__ import annotations

import pytest

from fleet_migration import launch, preflight
from fleet_migration.errors import InvalidInput
from fleet_migration.execution_input import MigrationInput

AWSVPC = {"networkMode": "awsvpc", "compatibilities": ["EC2", "FARGATE"], "requiresCompatibilities": ["FARGATE"]}
NETWORK = {
    "awsvpcConfiguration": {
        "subnets": ["subnet-a", "subnet-b"],
        "securityGroups": ["sg-a"],
        "assignPublicIp": "ENABLED",
    }
}
FARGATE_SERVICE = {
    "serviceName": "fleet",
    "launchType": "FARGATE",
    "platformVersion": "1.4.0",
    "networkConfiguration": NETWORK,
}
SPOT_SERVICE = {
    "serviceName": "fleet",
    "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
    "platformVersion": "LATEST",
    "networkConfiguration": NETWORK,
}
EC2_PROVIDER_SERVICE = {
    "serviceName": "fleet",
    "capacityProviderStrategy": [{"capacityProvider": "asg", "base": 1}],
    "networkConfiguration": NETWORK,
}


def spec(**fields) -> MigrationInput:
    return MigrationInput.parse(
        {
            "ecs_cluster": "fleet",
            "ecs_service": "fleet",
            "task_definition": "fleet",
            "task_definition_revision": 3,
            **fields,
        }
    )


def planned(service: dict, definition: dict = AWSVPC, **fields):
    migration = spec(**fields)
    resolved = launch.resolve(migration, service, definition)
    preflight.check_launch(migration, resolved, definition, service["serviceName"])
    return resolved


def refused(service: dict, definition: dict = AWSVPC, **fields) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        planned(service, definition, **fields)
    return caught.value


def test_a_null_launch_type_takes_the_services_strategy_and_never_a_launch_type_beside_it():
    resolved = planned(SPOT_SERVICE)

    assert resolved.capacity_provider_strategy == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert (resolved.launch_type, resolved.platform_version) == (None, "LATEST")


def test_a_null_launch_type_takes_the_services_launch_type_and_platform_version():
    resolved = planned(FARGATE_SERVICE)

    assert (resolved.launch_type, resolved.capacity_provider_strategy, resolved.platform_version) == (
        "FARGATE",
        None,
        "1.4.0",
    )


def test_a_launch_type_in_the_input_replaces_the_services_strategy():
    resolved = planned(SPOT_SERVICE, launch_type="FARGATE")

    assert (resolved.launch_type, resolved.capacity_provider_strategy) == ("FARGATE", None)


def test_an_omitted_network_is_the_services_awsvpc_configuration():
    resolved = planned(FARGATE_SERVICE)

    assert (resolved.subnets, resolved.security_groups, resolved.assign_public_ip) == (
        ["subnet-a", "subnet-b"],
        ["sg-a"],
        True,
    )


def test_the_services_public_ip_does_not_carry_over_to_ec2():
    assert planned(FARGATE_SERVICE, launch_type="EC2").assign_public_ip is False
    assert planned(EC2_PROVIDER_SERVICE).assign_public_ip is False


def test_an_ec2_capacity_provider_gets_no_platform_version():
    assert planned({**EC2_PROVIDER_SERVICE, "platformVersion": "LATEST"}).platform_version is None


@pytest.mark.parametrize(
    ("fields", "field", "fix"),
    [
        ({"subnets": [f"subnet-{i}" for i in range(17)]}, "subnets", "at most 16"),
        ({"security_groups": [f"sg-{i}" for i in range(6)]}, "security_groups", "at most 5"),
        ({"launch_type": "EC2", "assign_public_ip": True}, "assign_public_ip", "set assign_public_ip to false"),
    ],
    ids=["seventeen-subnets", "six-security-groups", "public-ip-on-ec2"],
)
def test_network_settings_ecs_refuses_are_invalid_input_naming_the_field_and_the_fix(fields, field, fix):
    error = refused(FARGATE_SERVICE, **fields)

    assert error.details["fields"] == [field]
    assert error.message.startswith(f"{field}:") and fix in error.message


def test_a_public_ip_on_an_ec2_capacity_provider_is_refused():
    assert refused(EC2_PROVIDER_SERVICE, assign_public_ip=True).details["fields"] == ["assign_public_ip"]


def test_an_awsvpc_revision_with_no_network_anywhere_asks_for_subnets():
    error = refused({"serviceName": "fleet", "launchType": "FARGATE"})

    assert error.details["fields"] == ["subnets"] and "set subnets" in error.message


@pytest.mark.parametrize("service", [FARGATE_SERVICE, SPOT_SERVICE], ids=["launch-type-fargate", "fargate-spot"])
def test_a_revision_without_fargate_compatibility_cannot_run_on_fargate(service):
    ec2_only = {"networkMode": "awsvpc", "compatibilities": ["EC2"], "requiresCompatibilities": ["EC2"]}

    error = refused(service, ec2_only)

    assert error.details["fields"] == ["task_definition_revision", "launch_type"]
    assert "requiresCompatibilities including FARGATE" in error.message and 'launch_type to "EC2"' in error.message


def test_fargate_needs_the_awsvpc_network_mode():
    bridge = {"networkMode": "bridge", "compatibilities": ["EC2", "FARGATE"]}

    assert "needs awsvpc" in refused(FARGATE_SERVICE, bridge, subnets=None).message


def test_a_revision_without_ec2_compatibility_cannot_run_on_an_ec2_capacity_provider():
    fargate_only = {"networkMode": "awsvpc", "compatibilities": ["FARGATE"]}

    assert "including EC2" in refused(EC2_PROVIDER_SERVICE, fargate_only).message


def test_a_network_given_for_a_revision_without_awsvpc_is_refused():
    bridge = {"networkMode": "bridge", "compatibilities": ["EC2"]}

    error = refused(FARGATE_SERVICE, bridge, launch_type="EC2", subnets=["subnet-a"])

    assert error.details["fields"] == ["subnets"] and "leave subnets out" in error.message


def test_a_service_on_a_launch_type_the_task_cannot_use_asks_for_launch_type():
    assert refused({"serviceName": "fleet", "launchType": "EXTERNAL"}).details["fields"] == ["launch_type"]
