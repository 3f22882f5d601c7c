"""The emulated ECS keeps the task rules AWS documents and moto does not: each test shows it refusing or
behaving as the ECS API Reference says (ListTasks, RunTask, DescribeTasks, StopTask, Task stopCode)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

STARTED_BY = "fleet-migration/0123456789abcdef0123"


@pytest.fixture
def ecs(emu, deployment):
    return emu.client("ecs")


@pytest.fixture
def run(ecs, deployment):
    """``run(**runtask_params)``: the ARN of a one-off task started with RunTask."""

    def start(**params) -> str:
        network = {"awsvpcConfiguration": {"subnets": deployment.subnets, "securityGroups": deployment.security_groups}}
        request = {
            "cluster": "fleet",
            "taskDefinition": "fleet:2",
            "launchType": "FARGATE",
            "networkConfiguration": network,
            "startedBy": STARTED_BY,
            **params,
        }
        return ecs.run_task(**request)["tasks"][0]["taskArn"]

    return start


def described(ecs, arn: str) -> dict:
    return ecs.describe_tasks(cluster="fleet", tasks=[arn])["tasks"][0]


# -- ListTasks ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "other",
    [
        {"desiredStatus": "STOPPED"},
        {"family": "fleet"},
        {"serviceName": "fleet"},
        {"containerInstance": "0123"},
        {"launchType": "FARGATE"},
    ],
)
def test_list_tasks_refuses_started_by_with_any_other_filter(ecs, other):
    with pytest.raises(ClientError) as refused:
        ecs.list_tasks(cluster="fleet", startedBy=STARTED_BY, **other)

    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "startedBy" in refused.value.response["Error"]["Message"]


def test_list_tasks_by_started_by_alone_lists_only_tasks_meant_to_run(emu, ecs, run):
    running, stopping = run(), run()
    ecs.stop_task(cluster="fleet", task=stopping)

    assert ecs.list_tasks(cluster="fleet", startedBy=STARTED_BY)["taskArns"] == [running]
    assert stopping in ecs.list_tasks(cluster="fleet", family="fleet", desiredStatus="STOPPED")["taskArns"]


# -- RunTask -----------------------------------------------------------------------------------
def test_run_task_refuses_a_started_by_over_36_characters(ecs, run):
    with pytest.raises(ClientError) as refused:
        run(startedBy="fleet-migration/" + "0" * 21)

    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_run_task_refuses_a_started_by_with_other_characters(ecs, run):
    with pytest.raises(ClientError, match="InvalidParameterException"):
        run(startedBy="fleet-migration:prod")


# -- eventual consistency after RunTask ------------------------------------------------------------
def test_a_new_task_is_missing_from_describe_tasks_for_a_while(emu, ecs, run):
    emu.ecs_sim.visibility_delay_seconds = 2
    arn = run()

    assert ecs.describe_tasks(cluster="fleet", tasks=[arn]) | {"ResponseMetadata": None} == {
        "tasks": [],
        "failures": [{"arn": arn, "reason": "MISSING"}],
        "ResponseMetadata": None,
    }
    emu.clock.advance(2)
    assert described(ecs, arn)["taskArn"] == arn


def test_a_new_task_is_missing_from_list_tasks_for_a_while(emu, ecs, run):
    emu.ecs_sim.visibility_delay_seconds = 2
    emu.next_migration(run_seconds=60)
    arn = run()

    assert ecs.list_tasks(cluster="fleet", startedBy=STARTED_BY)["taskArns"] == []
    emu.clock.advance(2)
    assert ecs.list_tasks(cluster="fleet", startedBy=STARTED_BY)["taskArns"] == [arn]


# -- StopTask: SIGTERM, then SIGKILL after the stop timeout -------------------------------------------
def test_a_task_that_ignores_sigterm_runs_on_until_the_stop_timeout_then_is_killed(emu, ecs, run):
    emu.next_migration(runs_forever=True, exits_on_sigterm_after=None)
    arn = run()
    emu.clock.advance(1)

    ecs.stop_task(cluster="fleet", task=arn)
    emu.clock.advance(29)
    stopping = described(ecs, arn)
    emu.clock.advance(1)
    stopped = described(ecs, arn)

    assert (stopping["desiredStatus"], stopping["lastStatus"]) == ("STOPPED", "DEACTIVATING")
    assert (stopped["lastStatus"], stopped["stopCode"], stopped["containers"][0]["exitCode"]) == (
        "STOPPED",
        "UserInitiated",
        137,
    )


def test_a_task_that_exits_on_sigterm_stops_sooner_with_its_own_exit_code(emu, ecs, run):
    emu.next_migration(runs_forever=True, exits_on_sigterm_after=2, exit_code_on_sigterm=0)
    arn = run()
    emu.clock.advance(1)

    ecs.stop_task(cluster="fleet", task=arn)
    emu.clock.advance(2)

    assert (described(ecs, arn)["lastStatus"], described(ecs, arn)["containers"][0]["exitCode"]) == ("STOPPED", 0)


def register_stop_timeout(ecs, seconds: int) -> str:
    definition = ecs.describe_task_definition(taskDefinition="fleet:2")["taskDefinition"]
    containers = [{**definition["containerDefinitions"][0], "stopTimeout": seconds}]
    registered = ecs.register_task_definition(
        family="fleet",
        containerDefinitions=containers,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
    )
    return registered["taskDefinition"]["taskDefinitionArn"]


def test_the_stop_timeout_is_the_task_definitions(emu, ecs, run):
    emu.next_migration(runs_forever=True, exits_on_sigterm_after=None)
    arn = run(taskDefinition=register_stop_timeout(ecs, 5))
    emu.clock.advance(1)

    ecs.stop_task(cluster="fleet", task=arn)
    emu.clock.advance(5)

    assert described(ecs, arn)["lastStatus"] == "STOPPED"


def test_a_fargate_task_is_killed_after_120_seconds_whatever_its_stop_timeout(emu, ecs, run):
    emu.next_migration(runs_forever=True, exits_on_sigterm_after=None)
    arn = run(taskDefinition=register_stop_timeout(ecs, 600))
    emu.clock.advance(1)

    ecs.stop_task(cluster="fleet", task=arn)
    emu.clock.advance(119)
    still = described(ecs, arn)["lastStatus"]
    emu.clock.advance(1)

    assert (still, described(ecs, arn)["lastStatus"]) == ("DEACTIVATING", "STOPPED")


# -- how a task ended ----------------------------------------------------------------------------
def test_an_interrupted_task_carries_the_stop_code_of_its_interruption(emu, ecs, run):
    emu.next_migration(interruption="SpotInterruption", run_seconds=1, exit_code_on_sigterm=0)
    arn = run()
    emu.clock.advance(5)

    task = described(ecs, arn)

    assert (task["lastStatus"], task["stopCode"], task["containers"][0]["exitCode"]) == (
        "STOPPED",
        "SpotInterruption",
        0,
    )


def test_a_task_that_exits_by_itself_stopped_because_its_essential_container_exited(emu, ecs, run):
    emu.next_migration(exit_code=0, container_reason="OutOfMemoryError: Container killed due to memory usage")
    arn = run()
    emu.clock.advance(5)

    task = described(ecs, arn)

    assert task["stopCode"] == "EssentialContainerExited"
    assert task["containers"][0]["reason"] == "OutOfMemoryError: Container killed due to memory usage"
