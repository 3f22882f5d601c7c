"""The emulator's ECS refuses what ECS documents as refused about containers' memory (RunTask) and a DAEMON
service's desired count (UpdateService): moto accepts both."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator_support import refused


@pytest.fixture
def run_task(emu, deployment):
    ecs = emu.client("ecs")

    def call(**parameters):
        request = {
            "cluster": deployment.cluster,
            "taskDefinition": "fleet:2",
            "launchType": "FARGATE",
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": deployment.subnets, "securityGroups": deployment.security_groups}
            },
            **parameters,
        }
        return ecs.run_task(**request)

    return call


def test_run_task_refuses_a_task_memory_below_what_its_containers_hold(run_task):
    # fleet:2's container holds 1024 MiB (its hard limit)
    message = refused(run_task, overrides={"cpu": "256", "memory": "512"})

    assert "1024 MiB" in message and "512 MiB" in message


def test_run_task_takes_a_smaller_task_when_the_container_limit_follows(run_task):
    started = run_task(
        overrides={"cpu": "256", "memory": "512", "containerOverrides": [{"name": "fleet", "memory": 512}]}
    )

    assert len(started["tasks"]) == 1


def test_a_container_without_a_hard_limit_holds_its_reservation(emu, deployment, run_task):
    ecs = emu.client("ecs")
    ecs.register_task_definition(
        family="fleet",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        containerDefinitions=[
            {"name": "fleet", "image": "fleetdm/fleet", "memory": 1024},
            {"name": "sidecar", "image": "busybox", "memoryReservation": 128, "essential": False},
        ],
    )

    message = refused(run_task, taskDefinition="fleet:3")

    assert "1152 MiB" in message
    fits = run_task(taskDefinition="fleet:3", overrides={"containerOverrides": [{"name": "fleet", "memory": 896}]})
    assert len(fits["tasks"]) == 1


def create_daemon(emu, deployment, name: str = "osquery-daemon") -> None:
    emu.client("ecs").create_service(
        cluster=deployment.cluster,
        serviceName=name,
        taskDefinition="fleet:2",
        schedulingStrategy="DAEMON",
        launchType="EC2",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": deployment.subnets, "securityGroups": deployment.security_groups}
        },
    )


def test_update_service_refuses_a_desired_count_for_a_daemon_service(emu, deployment):
    create_daemon(emu, deployment)

    message = refused(
        emu.client("ecs").update_service, cluster=deployment.cluster, service="osquery-daemon", desiredCount=0
    )

    assert "DAEMON" in message


def test_update_service_takes_a_desired_count_for_a_replica_service(emu, deployment):
    updated = emu.client("ecs").update_service(cluster=deployment.cluster, service=deployment.service, desiredCount=1)

    assert updated["service"]["desiredCount"] == 1


def test_update_service_refuses_a_deregistered_task_definition(emu, deployment):
    ecs = emu.client("ecs")
    ecs.deregister_task_definition(taskDefinition="fleet:1")

    with pytest.raises(ClientError) as refused:
        ecs.update_service(cluster=deployment.cluster, service=deployment.service, taskDefinition="fleet:1")

    assert refused.value.response["Error"]["Code"] == "ClientException"
    assert "inactive" in refused.value.response["Error"]["Message"]


def test_a_service_on_a_deregistered_task_definition_still_scales(emu, deployment):
    ecs = emu.client("ecs")
    ecs.deregister_task_definition(taskDefinition=f"fleet:{deployment.service_revision}")

    ecs.update_service(cluster=deployment.cluster, service=deployment.service, desiredCount=3)

    (service,) = ecs.describe_services(cluster=deployment.cluster, services=[deployment.service])["services"]
    assert service["desiredCount"] == 3
