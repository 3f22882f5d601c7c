"""ECS operations of the steps, on the emulator's ECS."""

from __future__ import annotations

import pytest

from emulator import Emulator
from fleet_migration import ecs
from fleet_migration.aws import ATTEMPTS
from fleet_migration.errors import AwsThrottled, ResourceNotFound, TaskFailedToStart


def task(desired: str, last: str) -> dict:
    return {"desiredStatus": desired, "lastStatus": last}


# -- drain_progress -----------------------------------------------------------------------------
def test_running_and_starting_tasks_count_as_active():
    tasks = [task("RUNNING", "RUNNING"), task("RUNNING", "PENDING"), task("RUNNING", "PROVISIONING")]

    assert ecs.drain_progress(tasks) == (3, 0)


def test_a_task_asked_to_stop_counts_as_stopping_until_it_has_stopped():
    tasks = [task("STOPPED", "RUNNING"), task("STOPPED", "DEACTIVATING"), task("STOPPED", "STOPPED")]

    assert ecs.drain_progress(tasks) == (0, 2)


def test_tasks_that_never_became_healthy_drain_like_any_other():
    # a first deploy: the tasks were PENDING forever, then told to stop
    assert ecs.drain_progress([task("STOPPED", "STOPPED"), task("STOPPED", "STOPPED")]) == (0, 0)


def test_no_tasks_is_drained():
    assert ecs.drain_progress([]) == (0, 0)


# -- container_exit -----------------------------------------------------------------------------
def test_the_exit_code_is_the_migration_containers():
    described = {"containers": [{"name": "sidecar", "exitCode": 0}, {"name": "fleet", "exitCode": 3}]}

    assert ecs.container_exit(described, "fleet") == 3


def test_a_container_that_never_ran_has_no_exit_code():
    assert ecs.container_exit({"containers": [{"name": "fleet"}]}, "fleet") is None


# -- looking things up --------------------------------------------------------------------------
def test_a_cluster_is_found_by_name_or_arn(emu, deployment):
    arn = ecs.find_cluster("fleet")

    assert arn.endswith(":cluster/fleet")
    assert ecs.find_cluster(arn) == arn


def test_an_unknown_cluster_is_reported_by_field(emu, deployment):
    with pytest.raises(ResourceNotFound) as caught:
        ecs.find_cluster("staging")

    assert caught.value.details["fields"] == ["ecs_cluster"]
    assert "'staging'" in caught.value.message


def test_an_unknown_second_service_is_reported_by_its_field(emu, deployment):
    with pytest.raises(ResourceNotFound) as caught:
        ecs.find_services("fleet", {"ecs_service": "fleet", "vuln_service": "fleet-vuln"})

    assert caught.value.details["fields"] == ["vuln_service"]


def test_services_are_found_by_name_or_arn(emu, deployment):
    found = ecs.find_services("fleet", {"ecs_service": "arn:aws:ecs:us-east-1:123456789012:service/fleet/fleet"})

    assert found["ecs_service"]["desiredCount"] == 2


def test_an_unregistered_revision_is_reported(emu, deployment):
    with pytest.raises(ResourceNotFound) as caught:
        ecs.find_task_definition("fleet:9", "fleet")

    assert caught.value.details["fields"] == ["task_definition", "task_definition_revision"]


def test_a_missing_container_is_reported_with_the_containers_there_are(emu, deployment):
    with pytest.raises(ResourceNotFound) as caught:
        ecs.find_task_definition("fleet:2", "app")

    assert caught.value.details["fields"] == ["container_name"]
    assert "['fleet']" in caught.value.message


def test_a_services_tasks_are_only_its_own(emu, deployment):
    assert len(ecs.service_tasks("fleet", "fleet")) == 2
    assert len(ecs.service_tasks("fleet", "fleet-vuln-processing")) == 1


# -- starting the migration task ---------------------------------------------------------------
def run(deployment, token: str = "token-1") -> dict:
    return ecs.run_task(cluster="fleet", task_definition="fleet:2", container_name="fleet", command=["fleet", "version"],
                        subnets=deployment.subnets, security_groups=deployment.security_groups, assign_public_ip=False,
                        launch_type="FARGATE", client_token=token, group="fleet-migration:test")


def test_runtask_failures_are_task_failed_to_start(emu, deployment):
    emu.ecs_sim.run_task_failures.append(
        {"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x", "reason": "RESOURCE:MEMORY"})

    with pytest.raises(TaskFailedToStart) as caught:
        run(deployment)

    assert "RESOURCE:MEMORY" in caught.value.message
    assert caught.value.details["failures"][0]["reason"] == "RESOURCE:MEMORY"


def test_the_same_client_token_returns_the_same_task(emu, deployment):
    first = run(deployment, "token-1")["taskArn"]

    assert run(deployment, "token-1")["taskArn"] == first
    assert run(deployment, "token-2")["taskArn"] != first
    assert len(emu.ecs_sim.running_tasks(one_off=True)) == 2


def test_a_task_ecs_no_longer_knows_is_task_failed_to_start(emu, deployment):
    with pytest.raises(TaskFailedToStart):
        ecs.describe_task("fleet", "arn:aws:ecs:us-east-1:123456789012:task/fleet/0123456789abcdef")


# -- throttling -------------------------------------------------------------------------------
@pytest.fixture
def fast_emu():
    """The SDK's retry backoff really waits: run the clock fast so it costs milliseconds."""
    with Emulator(speed=200) as emulator:
        emulator.seed_fleet()
        yield emulator


def test_a_few_throttled_calls_are_absorbed_by_the_sdk_retries(fast_emu):
    fast_emu.faults.inject("ecs", "DescribeServices", times=ATTEMPTS - 1)

    assert ecs.service_counts("fleet", "fleet")["desired"] == 2
    assert fast_emu.faults.hits[("ecs", "DescribeServices")] == ATTEMPTS - 1


def test_throttling_that_outlives_the_sdk_retries_is_aws_throttled(fast_emu):
    fast_emu.faults.inject("ecs", "DescribeServices", times=None)

    with pytest.raises(AwsThrottled):
        ecs.service_counts("fleet", "fleet")
    assert fast_emu.faults.hits[("ecs", "DescribeServices")] == ATTEMPTS
