"""Fleet on EC2 with bridge networking, behind a target group of type ``instance``: ECS registers each task as its
container instance's EC2 instance id and the host port it bound (a dynamic one with bridge networking), not as an
address. "Stable" still means every task of the service is healthy behind the load balancer."""

from __future__ import annotations

import pytest

from emulator import Emulator, FleetDeployment
from workflow_support import cause_of


@pytest.fixture
def fleet(aws: Emulator) -> FleetDeployment:
    return aws.seed_fleet(network_mode="bridge")


def targets(aws: Emulator, fleet: FleetDeployment) -> dict[tuple[str, int], str]:
    found = aws.client("elbv2").describe_target_health(TargetGroupArn=fleet.target_group_arn)
    return {
        (d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"]["State"] for d in found["TargetHealthDescriptions"]
    }


def service_task_targets(aws: Emulator, fleet: FleetDeployment, revision: str) -> set[tuple[str, int]]:
    """(EC2 instance id, host port) of the service's RUNNING tasks of ``revision``."""
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=fleet.service)["taskArns"]
    tasks = [
        t
        for t in ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"]
        if t["lastStatus"] == "RUNNING" and t["taskDefinitionArn"].endswith(f"/{revision}")
    ]
    instances = (
        {
            i["containerInstanceArn"]: i["ec2InstanceId"]
            for i in ecs.describe_container_instances(
                cluster=fleet.cluster, containerInstances=sorted({t["containerInstanceArn"] for t in tasks})
            )["containerInstances"]
        }
        if tasks
        else {}
    )
    return {
        (instances[t["containerInstanceArn"]], b["hostPort"])
        for t in tasks
        for b in t["containers"][0]["networkBindings"]
    }


def test_in_fleets_terraform_order_success_waits_for_the_new_tasks_instance_targets_to_be_healthy(
    aws, fleet, fast_input
):
    # GIVEN Fleet's Terraform moved the service to revision 2, whose tasks exit 1 until the migration runs
    aws.deploy_revision(2)
    aws.clock.advance(5)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    # THEN it succeeds only once revision 2's tasks serve: no clock advance, their targets are already healthy
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    serving = service_task_targets(aws, fleet, "fleet:2")
    assert len(serving) == 2
    assert {targets(aws, fleet)[target] for target in serving} == {"healthy"}
    assert aws.elb.answer(fleet.listener_arn)[0] == 200


def test_in_the_consoles_order_the_old_revision_serves_on_from_healthy_instance_targets(aws, fleet, fast_input):
    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    serving = service_task_targets(aws, fleet, "fleet:1")
    assert len(serving) == 2
    assert {targets(aws, fleet)[target] for target in serving} == {"healthy"}


def test_instance_targets_not_healthy_in_time_are_not_stable(aws, fleet, fast_input):
    # the tests' target group needs 10 s of passing checks; the stability wait is shorter
    run = aws.run(fast_input(stabilize_timeout_seconds=3), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "ServiceNotStable"), run.cause
    assert "healthy in target group" in cause_of(run)["message"] or "IN_PROGRESS" in cause_of(run)["message"]


def test_a_failed_migration_in_fleets_terraform_order_brings_back_the_old_revision_on_healthy_instance_targets(
    aws, fleet, fast_input
):
    aws.deploy_revision(2)
    aws.clock.advance(5)
    aws.next_migration(exit_code=1)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    aws.clock.advance(30)  # long enough for the (short) health checks of the tests' target group
    serving = service_task_targets(aws, fleet, "fleet:1")
    assert len(serving) == 2
    assert {targets(aws, fleet)[target] for target in serving} == {"healthy"}
    assert aws.elb.answer(fleet.listener_arn)[0] == 200
