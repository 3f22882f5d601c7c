"""The migration task runs the way the service runs (launch_type null), or with the launch type asked for."""

from __future__ import annotations

import pytest

from emulator import DROP, EC2_CAPACITY_PROVIDER
from workflow_support import DESCRIBE, FAIL_STATE, ROLLBACK, SUCCEEDED, last_state, tasks_entered

SPOT = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]


def only_run_task_call(aws) -> dict:
    (call,) = {call["clientToken"]: call for call in aws.ecs_sim.run_task_calls}.values()
    return call


@pytest.mark.parametrize(
    "strategy",
    [SPOT, [{"capacityProvider": EC2_CAPACITY_PROVIDER, "weight": 1, "base": 1}]],
    ids=["fargate-spot", "ec2-capacity-provider"],
)
def test_a_service_on_a_capacity_provider_strategy_has_its_migration_task_run_on_the_same_strategy(
    aws, state_of, strategy
):
    deployment = aws.seed_fleet(capacity_provider_strategy=strategy)
    before = state_of(deployment)

    run = aws.run(
        deployment.migration_input(poll_interval_seconds=5, subnets=DROP, security_groups=DROP), name="fleet-fleet-r2"
    )

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    call = only_run_task_call(aws)
    assert call["capacityProviderStrategy"] == strategy
    assert call["launchType"] is None  # ECS refuses a launch type beside a strategy
    task = aws.client("ecs").describe_tasks(cluster=deployment.cluster, tasks=[run.output["task_arn"]])["tasks"][0]
    assert task["capacityProviderName"] == strategy[0]["capacityProvider"]
    assert state_of(deployment) == before


def test_a_service_with_a_platform_version_has_its_migration_task_run_on_that_version(aws):
    deployment = aws.seed_fleet(platform_version="1.4.0")

    run = aws.run(deployment.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    call = only_run_task_call(aws)
    assert (call["launchType"], call["platformVersion"]) == ("FARGATE", "1.4.0")


def test_an_input_without_a_network_runs_the_task_in_the_services_subnets_and_security_groups(aws, fleet):
    run = aws.run(
        fleet.migration_input(poll_interval_seconds=5, subnets=DROP, security_groups=DROP), name="fleet-fleet-r2"
    )

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert only_run_task_call(aws)["networkConfiguration"] == {
        "awsvpcConfiguration": {
            "subnets": fleet.subnets,
            "securityGroups": fleet.security_groups,
            "assignPublicIp": "DISABLED",
        }
    }


def test_the_input_may_narrow_the_services_network(aws, fleet):
    run = aws.run(
        fleet.migration_input(poll_interval_seconds=5, subnets=fleet.subnets[:1], assign_public_ip=False),
        name="fleet-fleet-r2",
    )

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert only_run_task_call(aws)["networkConfiguration"] == {
        "awsvpcConfiguration": {
            "subnets": fleet.subnets[:1],
            "securityGroups": fleet.security_groups,
            "assignPublicIp": "DISABLED",
        }
    }


def register_revision(aws, fleet, **shape) -> int:
    """A new revision of the Fleet family with another network mode or compatibility."""
    ecs = aws.client("ecs")
    current = ecs.describe_task_definition(taskDefinition=f"{fleet.task_definition}:{fleet.latest_revision}")[
        "taskDefinition"
    ]
    registered = ecs.register_task_definition(
        family=fleet.task_definition,
        containerDefinitions=current["containerDefinitions"],
        cpu="512",
        memory="1024",
        **shape,
    )["taskDefinition"]
    return registered["revision"]


@pytest.mark.parametrize(
    ("shape", "launch_type"),
    [
        ({"networkMode": "bridge", "requiresCompatibilities": ["EC2"]}, DROP),
        ({"networkMode": "bridge", "requiresCompatibilities": ["EC2"]}, "FARGATE"),
    ],
    ids=["ec2-only-revision-for-a-fargate-service", "ec2-only-revision-with-launch-type-fargate"],
)
def test_a_revision_that_cannot_run_where_the_task_would_run_fails_first_with_nothing_changed(
    aws, fleet, state_of, shape, launch_type
):
    revision = register_revision(aws, fleet, **shape)
    before = state_of(fleet)

    run = aws.run(
        fleet.migration_input(
            poll_interval_seconds=5,
            task_definition_revision=revision,
            subnets=DROP,
            security_groups=DROP,
            launch_type=launch_type,
        ),
        name="fleet-fleet-r3",
    )

    assert (run.status, run.error) == ("FAILED", "InvalidInput"), run.cause
    assert tasks_entered(run) == [DESCRIBE] and last_state(run) == FAIL_STATE["InvalidInput"]
    assert "task_definition_revision" in run.cause["fields"] and "FARGATE" in run.cause["message"]
    assert aws.ecs_sim.run_task_calls == [] and state_of(fleet) == before


def test_a_bridge_mode_revision_runs_on_ec2_without_a_network_configuration(aws, fleet):
    revision = register_revision(aws, fleet, networkMode="bridge", requiresCompatibilities=["EC2"])

    run = aws.run(
        fleet.migration_input(
            poll_interval_seconds=5,
            task_definition_revision=revision,
            subnets=DROP,
            security_groups=DROP,
            launch_type="EC2",
        ),
        name="fleet-fleet-r3",
    )

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert only_run_task_call(aws)["networkConfiguration"] is None


@pytest.mark.parametrize("launch_type", ["EC2", "FARGATE"])
def test_a_migration_runs_its_task_with_the_launch_type_asked_for_and_restores_the_services(
    aws, fleet, fast_input, state_of, migration_tasks_left, launch_type
):
    before = state_of(fleet)

    run = aws.run(fast_input(launch_type=launch_type), name=f"fleet-fleet-r2-{launch_type.lower()}")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert last_state(run) == SUCCEEDED and ROLLBACK not in run.states_entered
    assert run.output["exit_code"] == 0
    assert [call["launchType"] for call in aws.ecs_sim.run_task_calls] == [launch_type]
    task = aws.client("ecs").describe_tasks(cluster=fleet.cluster, tasks=[run.output["task_arn"]])["tasks"][0]
    assert task["launchType"] == launch_type
    assert (task["lastStatus"], task["containers"][0]["exitCode"]) == ("STOPPED", 0)
    assert state_of(fleet) == before
    assert migration_tasks_left() == []


def test_the_seeded_cluster_has_an_ec2_container_instance_to_place_tasks_on(aws, fleet):
    ecs = aws.client("ecs")

    arns = ecs.list_container_instances(cluster=fleet.cluster)["containerInstanceArns"]
    (instance,) = ecs.describe_container_instances(cluster=fleet.cluster, containerInstances=arns)["containerInstances"]

    assert instance["status"] == "ACTIVE"
    assert instance["ec2InstanceId"] == fleet.extra["container_instance"]["ec2_instance_id"]
    assert instance["containerInstanceArn"] == fleet.extra["container_instance"]["arn"]


def capacity(aws, fleet) -> tuple[int, dict[str, int]]:
    """The container instance's running task count and remaining CPU and memory (what EC2 tasks hold)."""
    aws.ecs_sim.tick()
    (instance,) = aws.client("ecs").describe_container_instances(
        cluster=fleet.cluster, containerInstances=[fleet.extra["container_instance"]["arn"]]
    )["containerInstances"]
    return instance["runningTasksCount"], {
        r["name"]: r["integerValue"] for r in instance["remainingResources"] if r["name"] in ("CPU", "MEMORY")
    }


def test_an_ec2_migration_task_follows_the_simulated_lifecycle_and_gives_back_its_capacity(
    aws, fleet, fast_input, state_of
):
    before, idle = state_of(fleet), capacity(aws, fleet)
    aws.next_migration(exit_code=3)

    run = aws.run(fast_input(launch_type="EC2"), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    assert run.cause["exit_code"] == 3 and run.cause["rolled_back"] is True
    assert state_of(fleet) == before
    assert capacity(aws, fleet) == idle


def test_a_timed_out_ec2_migration_task_is_stopped_and_gives_back_its_capacity_once(
    aws, fleet, fast_input, state_of, migration_tasks_left
):
    before, idle = state_of(fleet), capacity(aws, fleet)
    aws.next_migration(runs_forever=True)

    run = aws.run(fast_input(launch_type="EC2", timeout_seconds=2), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationTimeout"), run.cause
    assert migration_tasks_left() == []
    assert capacity(aws, fleet) == idle
    aws.client("ecs").stop_task(cluster=fleet.cluster, task=run.cause["task_arn"])  # stopping it again frees nothing
    assert capacity(aws, fleet) == idle
    assert state_of(fleet) == before


def test_ec2_tasks_one_after_another_do_not_run_out_of_capacity(aws, fleet):
    # The seeded instance has room for 7 tasks of the Fleet task definition at once (1024 MiB each); tasks that
    # ended give their room back, so a long demo or benchmark can run EC2 migrations one after another.
    ecs, idle = aws.client("ecs"), capacity(aws, fleet)
    network = {"awsvpcConfiguration": {"subnets": fleet.subnets, "securityGroups": fleet.security_groups}}

    for _ in range(9):
        started = ecs.run_task(
            cluster=fleet.cluster,
            taskDefinition=f"{fleet.task_definition}:{fleet.latest_revision}",
            launchType="EC2",
            networkConfiguration=network,
        )
        assert [task["launchType"] for task in started["tasks"]] == ["EC2"], started["failures"]
        aws.clock.advance(5)  # the task runs and exits

    assert aws.ecs_sim.running_tasks(one_off=True) == []
    assert capacity(aws, fleet) == idle
