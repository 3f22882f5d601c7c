"""What RunTask or UpdateService would refuse after the scale-down, refused before anything changes: the migration
task's size (task_memory reaches the migration container's own limit; Fargate's table applies only where the task
really runs on Fargate), and a DAEMON service, which takes no desired count."""

from __future__ import annotations

import pytest

from emulator import DROP, EC2_CAPACITY_PROVIDER
from workflow_support import DESCRIBE, FAIL_STATE, cause_of, follows

SIDECAR = {"name": "otel-collector", "image": "otel/opentelemetry-collector:0.100.0", "essential": False}


def container_override(aws, name: str = "fleet") -> dict:
    (override,) = [o for o in aws.ecs_sim.run_task_calls[-1]["overrides"]["containerOverrides"] if o["name"] == name]
    return override


def register_with_sidecar(aws, fleet, **sidecar) -> int:
    """A new revision of Fleet's task definition, revision 2's with a sidecar beside the fleet container (its memory:
    1024)."""
    ecs = aws.client("ecs")
    current = ecs.describe_task_definition(taskDefinition=f"{fleet.task_definition}:2")["taskDefinition"]
    keep = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "taskRoleArn")
    registered = ecs.register_task_definition(
        **{key: current[key] for key in keep},
        containerDefinitions=[*current["containerDefinitions"], {**SIDECAR, **sidecar}],
    )["taskDefinition"]
    return registered["revision"]


def test_task_memory_becomes_the_migration_containers_own_limit(aws, fleet, fast_input):
    # GIVEN Fleet's container with a hard limit of 1024 MiB, and a smaller task asked for
    run = aws.run(fast_input(task_cpu="256", task_memory="512"), name="fleet-fleet-r2")

    # THEN the container's limit follows the task's (ECS refuses containers holding more than the task has)
    assert run.status == "SUCCEEDED", run.cause
    assert aws.ecs_sim.run_task_calls[-1]["overrides"]["memory"] == "512"
    assert container_override(aws)["memory"] == 512


def serve_with_sidecar(aws, fleet, **sidecar) -> None:
    """Fleet's serving revision (1) with the sidecar, deployed and serving: a migration adds no container."""
    ecs = aws.client("ecs")
    current = ecs.describe_task_definition(taskDefinition=f"{fleet.task_definition}:1")["taskDefinition"]
    keep = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "taskRoleArn")
    revision = ecs.register_task_definition(
        **{key: current[key] for key in keep},
        containerDefinitions=[*current["containerDefinitions"], {**SIDECAR, **sidecar}],
    )["taskDefinition"]["revision"]
    aws.deploy_revision(revision)
    for _ in range(60):  # the rollout replaces revision 1's tasks
        aws.clock.advance(10)
        tasks = ecs.describe_tasks(
            cluster=fleet.cluster, tasks=ecs.list_tasks(cluster=fleet.cluster, serviceName=fleet.service)["taskArns"]
        )["tasks"]
        if {t["taskDefinitionArn"].rsplit(":", 1)[-1] for t in tasks if t["lastStatus"] == "RUNNING"} == {
            str(revision)
        }:
            return
    raise AssertionError("the sidecar revision did not replace revision 1")


def test_the_migration_container_gets_what_the_other_containers_leave_of_task_memory(aws, fleet, fast_input):
    serve_with_sidecar(aws, fleet, memoryReservation=256)
    revision = register_with_sidecar(aws, fleet, memoryReservation=256)

    run = aws.run(
        fast_input(task_definition_revision=revision, task_cpu="1024", task_memory="4096"),
        name=f"fleet-fleet-r{revision}",
    )

    assert run.status == "SUCCEEDED", run.cause
    assert container_override(aws)["memory"] == 4096 - 256


def test_task_memory_the_other_containers_take_whole_is_refused_before_anything_changes(
    aws, fleet, fast_input, state_of
):
    revision = register_with_sidecar(aws, fleet, memory=2048)
    before = state_of(fleet)

    run = aws.run(
        fast_input(task_definition_revision=revision, task_cpu="512", task_memory="2048"), name="fleet-fleet-r3"
    )

    assert (run.status, run.error) == ("FAILED", "InvalidInput")
    cause = cause_of(run)
    assert cause["fields"] == ["task_memory"] and "'otel-collector' 2048 MiB" in cause["message"]
    assert follows(run, DESCRIBE, FAIL_STATE["InvalidInput"])
    assert state_of(fleet) == before and aws.ecs_sim.run_task_calls == []


def test_on_an_ec2_capacity_provider_the_task_size_is_not_held_to_fargates_table(aws, state_of):
    deployment = aws.seed_fleet(capacity_provider_strategy=[{"capacityProvider": EC2_CAPACITY_PROVIDER, "weight": 1}])

    run = aws.run(
        deployment.migration_input(
            poll_interval_seconds=5, subnets=DROP, security_groups=DROP, task_cpu="768", task_memory="3000"
        ),
        name="fleet-fleet-r2",
    )

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    overrides = aws.ecs_sim.run_task_calls[-1]["overrides"]
    assert (overrides["cpu"], overrides["memory"]) == ("768", "3000")


@pytest.mark.parametrize("provider", ["FARGATE", "FARGATE_SPOT"])
def test_on_fargate_capacity_providers_a_size_outside_fargates_table_is_refused_before_anything_changes(
    aws, state_of, provider
):
    deployment = aws.seed_fleet(capacity_provider_strategy=[{"capacityProvider": provider, "weight": 1}])
    before = state_of(deployment)

    run = aws.run(
        deployment.migration_input(poll_interval_seconds=5, task_cpu="256", task_memory="4096"), name="fleet-fleet-r2"
    )

    assert (run.status, run.error) == ("FAILED", "InvalidInput")
    assert cause_of(run)["fields"] == ["task_memory"] and '"512", "1024", "2048"' in cause_of(run)["message"]
    assert state_of(deployment) == before and aws.ecs_sim.run_task_calls == []


def test_a_daemon_service_is_refused_before_anything_changes(aws, fleet, fast_input, state_of):
    # GIVEN a "vulnerability processing" service that runs as a DAEMON (one task per container instance)
    aws.client("ecs").create_service(
        cluster=fleet.cluster,
        serviceName="vuln-daemon",
        taskDefinition=f"{fleet.task_definition}:2",
        schedulingStrategy="DAEMON",
        launchType="EC2",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": fleet.subnets, "securityGroups": fleet.security_groups}
        },
    )
    before = state_of(fleet)

    run = aws.run(fast_input(vuln_service="vuln-daemon"), name="fleet-fleet-r2")

    # THEN preflight refuses it, naming the field and the service, before the scale-down of ecs_service
    assert (run.status, run.error) == ("FAILED", "InvalidInput")
    cause = cause_of(run)
    assert cause["fields"] == ["vuln_service"] and "'vuln-daemon'" in cause["message"] and "DAEMON" in cause["message"]
    assert follows(run, DESCRIBE, FAIL_STATE["InvalidInput"])
    assert state_of(fleet) == before and aws.ecs_sim.run_task_calls == []
