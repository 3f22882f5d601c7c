"""ECS operations of the steps, on the emulator's ECS."""

from __future__ import annotations

import re

import pytest

from emulator import Emulator
from fleet_migration import ecs, task_definitions
from fleet_migration.aws import ATTEMPTS
from fleet_migration.errors import AwsThrottled, ResourceNotFound, TaskFailedToStart
from fleet_migration.models import TaskLaunch


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
        task_definitions.find("fleet:9", "fleet")

    assert caught.value.details["fields"] == ["task_definition", "task_definition_revision"]


def test_a_missing_container_is_reported_with_the_containers_there_are(emu, deployment):
    with pytest.raises(ResourceNotFound) as caught:
        task_definitions.find("fleet:2", "app")

    assert caught.value.details["fields"] == ["container_name"]
    assert "['fleet']" in caught.value.message


def test_a_services_tasks_are_only_its_own(emu, deployment):
    assert len(ecs.service_tasks("fleet", "fleet")) == 2
    assert len(ecs.service_tasks("fleet", "fleet-vuln-processing")) == 1


# -- starting the migration task ---------------------------------------------------------------
def run(deployment, token: str = "token-1", service: str = "fleet", **launch) -> dict:
    launch = {
        "launch_type": "FARGATE",
        "subnets": deployment.subnets,
        "security_groups": deployment.security_groups,
        **launch,
    }
    return ecs.run_task(
        cluster="fleet",
        task_definition="fleet:2",
        container_name="fleet",
        command=["fleet", "version"],
        launch=TaskLaunch(**launch),
        client_token=token,
        started_by=ecs.migration_started_by("fleet", service),
        group="fleet-migration:test",
    )


def test_runtask_failures_are_task_failed_to_start(emu, deployment):
    emu.ecs_sim.run_task_failures.append(
        {"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x", "reason": "RESOURCE:MEMORY"}
    )

    with pytest.raises(TaskFailedToStart) as caught:
        run(deployment)

    assert "RESOURCE:MEMORY" in caught.value.message
    assert caught.value.details["failures"][0]["reason"] == "RESOURCE:MEMORY"


def test_the_same_client_token_returns_the_same_task(emu, deployment):
    first = run(deployment, "token-1")["taskArn"]

    assert run(deployment, "token-1")["taskArn"] == first
    assert run(deployment, "token-2")["taskArn"] != first
    assert len(emu.ecs_sim.running_tasks(one_off=True)) == 2


def test_a_task_ecs_does_not_show_is_described_as_none(emu, deployment):
    assert ecs.describe_task("fleet", "arn:aws:ecs:us-east-1:123456789012:task/fleet/0123456789abcdef") is None


def test_a_task_just_started_is_none_until_ecs_shows_it(emu, deployment):
    emu.ecs_sim.visibility_delay_seconds = 3
    arn = run(deployment)["taskArn"]

    assert ecs.describe_task("fleet", arn) is None
    emu.clock.advance(3)
    assert ecs.describe_task("fleet", arn)["taskArn"] == arn


# -- what marks a migration task as ours --------------------------------------------------------
def test_the_started_by_of_a_migration_fits_what_runtask_accepts():
    started_by = ecs.migration_started_by("c" * 255, "s" * 255)

    assert len(started_by) == 36 and re.fullmatch(r"[A-Za-z0-9_/-]+", started_by)


def test_the_started_by_of_a_migration_names_its_service_and_cluster():
    one = ecs.migration_started_by("fleet", "fleet")

    assert ecs.migration_started_by("arn:aws:ecs:us-east-1:123456789012:cluster/fleet", "fleet") == one
    assert ecs.migration_started_by("fleet", "fleet-staging") != one
    assert ecs.migration_started_by("staging", "fleet") != one


def test_the_unstopped_migration_tasks_are_only_the_services_own(emu, deployment):
    mine, other = run(deployment, "token-1")["taskArn"], run(deployment, "token-2", service="fleet-b")["taskArn"]

    found = ecs.unstopped_migration_tasks("fleet", ecs.migration_started_by("fleet", "fleet"), "fleet")

    assert [task["taskArn"] for task in found] == [mine]
    assert other in emu.ecs_sim.running_tasks(one_off=True)


def test_a_migration_task_still_stopping_is_unstopped(emu, deployment):
    # GIVEN a migration task told to stop, whose process ignores SIGTERM: it runs until SIGKILL
    emu.next_migration(runs_forever=True, exits_on_sigterm_after=None)
    arn = run(deployment)["taskArn"]
    emu.clock.advance(1)
    emu.client("ecs").stop_task(cluster="fleet", task=arn)
    started_by = ecs.migration_started_by("fleet", "fleet")

    # THEN it is found while it stops (ListTasks would not list it with startedBy alone), and not once STOPPED
    assert [task["taskArn"] for task in ecs.unstopped_migration_tasks("fleet", started_by, "fleet")] == [arn]
    emu.clock.advance(31)
    assert ecs.unstopped_migration_tasks("fleet", started_by, "fleet") == []


def test_each_containers_own_reason_is_read():
    described = {"containers": [{"name": "fleet", "reason": "OutOfMemoryError: Container killed"}, {"name": "log"}]}

    assert ecs.container_reasons(described) == {"fleet": "OutOfMemoryError: Container killed"}


# -- throttling -------------------------------------------------------------------------------
@pytest.fixture
def fast_emu():
    """The SDK's retry backoff sleeps on the emulator's clock: simulated, it costs no real time."""
    with Emulator(simulated=True) as emulator:
        emulator.seed_fleet()
        yield emulator


def test_a_few_throttled_calls_are_absorbed_by_the_sdk_retries(fast_emu):
    fast_emu.faults.inject("ecs", "DescribeServices", times=ATTEMPTS - 1)

    assert ecs.describe_services("fleet", ["fleet"])["fleet"]["desiredCount"] == 2
    assert fast_emu.faults.hits[("ecs", "DescribeServices")] == ATTEMPTS - 1


def test_throttling_that_outlives_the_sdk_retries_is_aws_throttled(fast_emu):
    fast_emu.faults.inject("ecs", "DescribeServices", times=None)

    with pytest.raises(AwsThrottled):
        ecs.describe_services("fleet", ["fleet"])
    assert fast_emu.faults.hits[("ecs", "DescribeServices")] == ATTEMPTS


# -- what RunTask is sent ---------------------------------------------------------------------
def test_runtask_gets_a_strategy_without_a_launch_type():
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]

    sent = ecs.run_task_placement(
        TaskLaunch(
            capacity_provider_strategy=strategy, launch_type="FARGATE", platform_version="1.4.0", subnets=["subnet-a"]
        )
    )

    assert sent["capacityProviderStrategy"] == strategy and "launchType" not in sent
    assert sent["platformVersion"] == "1.4.0"


def test_runtask_gets_no_network_configuration_for_a_revision_without_awsvpc():
    assert ecs.run_task_placement(TaskLaunch(launch_type="EC2")) == {"launchType": "EC2"}


def test_runtask_gets_the_awsvpc_configuration_with_the_public_ip_setting():
    sent = ecs.run_task_placement(
        TaskLaunch(launch_type="FARGATE", subnets=["subnet-a"], security_groups=["sg-a"], assign_public_ip=True)
    )

    assert sent["networkConfiguration"] == {
        "awsvpcConfiguration": {"subnets": ["subnet-a"], "securityGroups": ["sg-a"], "assignPublicIp": "ENABLED"}
    }


# -- stability ----------------------------------------------------------------------------------
def service(running: int = 2, desired: int = 2, *deployments: dict) -> dict:
    return {
        "runningCount": running,
        "desiredCount": desired,
        "deployments": list(deployments) or [{"id": "d1", "status": "PRIMARY", "rolloutState": "COMPLETED"}],
    }


def test_a_completed_rollout_with_the_desired_count_running_is_stable():
    assert ecs.rollout(service()) == (True, [])


def test_one_task_short_is_not_stable():
    assert ecs.rollout(service(1, 2)) == (False, ["1 of 2 running"])


def test_more_tasks_than_desired_is_not_stable_yet():
    # during a rolling update old and new tasks run side by side
    assert ecs.rollout(service(3, 2))[0] is False


def test_a_rollout_in_progress_or_an_older_deployment_left_is_not_stable():
    in_progress = {"id": "d2", "status": "PRIMARY", "rolloutState": "IN_PROGRESS"}
    older = {"id": "d1", "status": "ACTIVE", "rolloutState": "COMPLETED"}

    assert ecs.rollout(service(2, 2, in_progress, older)) == (
        False,
        ["deployment d2 IN_PROGRESS", "1 older deployment(s) still being replaced"],
    )


def test_without_a_rollout_state_the_deployments_and_counts_decide():
    # rolloutState is not returned for services behind a Classic Load Balancer
    assert ecs.rollout(service(2, 2, {"id": "d1", "status": "PRIMARY"})) == (True, [])


def test_a_failed_primary_deployment_is_reported_with_its_reason():
    failed = {"id": "d2", "status": "PRIMARY", "rolloutState": "FAILED", "rolloutStateReason": "circuit breaker"}

    assert ecs.failed_deployment(service(0, 2, failed)) == "deployment d2 FAILED: circuit breaker"
    assert ecs.failed_deployment(service()) is None


def test_the_crash_limit_is_the_circuit_breakers_threshold():
    assert [ecs.crash_limit(n) for n in (1, 2, 6, 7, 10, 400, 1000)] == [3, 3, 3, 4, 5, 200, 200]
