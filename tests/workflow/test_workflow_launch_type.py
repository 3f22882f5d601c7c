"""The migration task runs with the launch type the input asks for: FARGATE (the default) or EC2."""

from __future__ import annotations

import pytest
from workflow_support import ROLLBACK, SUCCEEDED, last_state


@pytest.mark.parametrize("launch_type", ["EC2", "FARGATE"])
def test_a_migration_runs_its_task_with_the_launch_type_asked_for_and_restores_the_services(
        aws, fleet, fast_input, state_of, migration_tasks_left, launch_type):
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
        cluster=fleet.cluster, containerInstances=[fleet.extra["container_instance"]["arn"]])["containerInstances"]
    return instance["runningTasksCount"], {r["name"]: r["integerValue"] for r in instance["remainingResources"]
                                           if r["name"] in ("CPU", "MEMORY")}


def test_an_ec2_migration_task_follows_the_simulated_lifecycle_and_gives_back_its_capacity(aws, fleet, fast_input,
                                                                                           state_of):
    before, idle = state_of(fleet), capacity(aws, fleet)
    aws.next_migration(exit_code=3)

    run = aws.run(fast_input(launch_type="EC2"), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    assert run.cause["exit_code"] == 3 and run.cause["rolled_back"] is True
    assert state_of(fleet) == before
    assert capacity(aws, fleet) == idle


def test_a_timed_out_ec2_migration_task_is_stopped_and_gives_back_its_capacity_once(aws, fleet, fast_input, state_of,
                                                                                    migration_tasks_left):
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
        started = ecs.run_task(cluster=fleet.cluster, taskDefinition=f"{fleet.task_definition}:{fleet.latest_revision}",
                               launchType="EC2", networkConfiguration=network)
        assert [task["launchType"] for task in started["tasks"]] == ["EC2"], started["failures"]
        aws.clock.advance(5)  # the task runs and exits

    assert aws.ecs_sim.running_tasks(one_off=True) == []
    assert capacity(aws, fleet) == idle
