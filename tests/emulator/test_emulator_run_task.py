"""The emulator's ECS refuses the RunTask and CreateService requests ECS documents as refused."""

from __future__ import annotations

import pytest

from emulator import EC2_CAPACITY_PROVIDER
from emulator_support import refused
from fleet_migration.migration_task import task_group


@pytest.fixture
def run_task(emu, deployment):
    ecs = emu.client("ecs")

    def call(network: dict | None = None, **parameters):
        awsvpc = {"subnets": deployment.subnets, "securityGroups": deployment.security_groups, **(network or {})}
        request = {
            "cluster": deployment.cluster,
            "taskDefinition": "fleet:2",
            "networkConfiguration": {"awsvpcConfiguration": awsvpc},
            **parameters,
        }
        return ecs.run_task(**{k: v for k, v in request.items() if v is not None})

    return call


def test_run_task_refuses_a_launch_type_beside_a_capacity_provider_strategy(run_task):
    message = refused(run_task, launchType="FARGATE", capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT"}])

    assert "not both" in message


def test_run_task_refuses_a_task_group_over_255_characters(run_task):
    message = refused(run_task, group="g" * 256)

    assert "255" in message


def test_run_task_takes_a_task_group_of_255_characters_and_the_workflows_own(run_task):
    for group in ("g" * 255, task_group("arn:aws:states:us-east-1:123456789012:execution:fleet-migration:" + "x" * 80)):
        assert run_task(group=group)["tasks"][0]["group"] == group


def test_run_task_refuses_a_capacity_provider_the_cluster_does_not_have(run_task):
    assert "not associated with the cluster" in refused(
        run_task, capacityProviderStrategy=[{"capacityProvider": "spot-x"}]
    )


def test_run_task_takes_a_capacity_provider_strategy_alone(run_task):
    started = run_task(capacityProviderStrategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}])

    assert [task["capacityProviderName"] for task in started["tasks"]] == ["FARGATE_SPOT"]


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        ({"subnets": [f"subnet-{i}" for i in range(17)]}, "at most 16"),
        ({"securityGroups": [f"sg-{i}" for i in range(6)]}, "at most 5"),
        ({"subnets": []}, "can not be empty"),
    ],
    ids=["seventeen-subnets", "six-security-groups", "no-subnets"],
)
def test_run_task_refuses_an_awsvpc_configuration_over_the_limits(run_task, network, expected):
    assert expected in refused(run_task, launchType="FARGATE", network=network)


def test_run_task_refuses_a_public_ip_on_ec2(run_task):
    assert "Assign public IP" in refused(run_task, launchType="EC2", network={"assignPublicIp": "ENABLED"})


def test_run_task_refuses_an_awsvpc_revision_without_a_network_configuration(run_task):
    assert "must be provided" in refused(run_task, launchType="FARGATE", networkConfiguration=None)


def test_run_task_refuses_fargate_for_a_revision_that_is_not_fargate_compatible(emu, deployment, run_task):
    emu.client("ecs").register_task_definition(
        family="bridge",
        networkMode="bridge",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "fleet", "image": "x", "memory": 512}],
    )

    message = refused(run_task, taskDefinition="bridge:1", launchType="FARGATE", networkConfiguration=None)

    assert "does not support launch_type FARGATE" in message


def test_run_task_refuses_a_network_configuration_for_a_bridge_revision(emu, deployment, run_task):
    emu.client("ecs").register_task_definition(
        family="bridge",
        networkMode="bridge",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[{"name": "fleet", "image": "x", "memory": 512}],
    )

    assert "not valid for the given networkMode" in refused(run_task, taskDefinition="bridge:1", launchType="EC2")


def test_create_service_refuses_a_launch_type_beside_a_capacity_provider_strategy(emu, deployment):
    message = refused(
        emu.client("ecs").create_service,
        cluster="fleet",
        serviceName="web",
        taskDefinition="fleet:2",
        desiredCount=0,
        launchType="FARGATE",
        capacityProviderStrategy=[{"capacityProvider": "FARGATE"}],
    )

    assert "not both" in message


@pytest.mark.fleet(capacity_provider_strategy=[{"capacityProvider": EC2_CAPACITY_PROVIDER, "weight": 1, "base": 0}])
def test_a_service_on_a_capacity_provider_strategy_is_described_with_it_and_no_launch_type(emu, deployment):
    # moto alone drops the strategy and reports launchType EC2
    (service,) = emu.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"]

    assert service["capacityProviderStrategy"] == [{"capacityProvider": EC2_CAPACITY_PROVIDER, "weight": 1, "base": 0}]
    assert "launchType" not in service
    assert "launchType" not in service["deployments"][0]


def test_a_fargate_service_left_to_the_default_platform_version_is_described_with_latest(emu, deployment):
    (service,) = emu.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"]

    assert (service["launchType"], service["platformVersion"]) == ("FARGATE", "LATEST")
