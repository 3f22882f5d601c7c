"""The emulator's awslogs driver: the migration container's lines reach CloudWatch Logs as ECS's driver puts them.

"Using the awslogs log driver" (Amazon ECS Developer Guide): stream ``<prefix>/<container>/<task id>`` in
``awslogs-group``, created when the container starts; the group must exist unless ``awslogs-create-group``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import Emulator, FleetDeployment
from emulator.logs import MIGRATION_LINES, MISSING_GROUP_REASON

LINES = ("one", "two", "three", "four")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """One emulator for the module, at real speed: each test runs its own task and moves time itself."""
    with Emulator(speed=1) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def deployment(emu: Emulator) -> FleetDeployment:
    return emu.seed_fleet()


def new_revision(emu: Emulator, log_configuration: dict | None) -> int:
    """fleet:2 again, with another logConfiguration (None: none at all)."""
    ecs = emu.client("ecs")
    container = ecs.describe_task_definition(taskDefinition="fleet:2")["taskDefinition"]["containerDefinitions"][0]
    container.pop("logConfiguration", None)
    if log_configuration is not None:
        container["logConfiguration"] = log_configuration
    return ecs.register_task_definition(
        family="fleet",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        containerDefinitions=[container],
    )["taskDefinition"]["revision"]


def run_migration_task(emu: Emulator, fleet: FleetDeployment, revision: int | None = None) -> str:
    task = emu.client("ecs").run_task(
        cluster=fleet.cluster,
        taskDefinition=f"{fleet.task_definition}:{revision or fleet.latest_revision}",
        launchType="FARGATE",
        overrides={"containerOverrides": [{"name": "fleet", "command": ["fleet", "prepare", "db"]}]},
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": fleet.subnets, "securityGroups": fleet.security_groups}
        },
    )["tasks"][0]
    return task["taskArn"]


def stream_of(task_arn: str) -> str:
    return f"fleet/fleet/{task_arn.rsplit('/', 1)[-1]}"


def lines_in(emu: Emulator, group: str, stream: str) -> list[str]:
    events = emu.client("logs").get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    return [event["message"] for event in events["events"]]


def stopped_reason(emu: Emulator, fleet: FleetDeployment, task_arn: str) -> tuple[str, str, str]:
    task = emu.client("ecs").describe_tasks(cluster=fleet.cluster, tasks=[task_arn])["tasks"][0]
    return task["lastStatus"], task.get("stopCode", ""), task.get("stoppedReason", "")


def test_the_seeded_task_definition_logs_with_awslogs_to_an_existing_group(emu, deployment):
    definition = emu.client("ecs").describe_task_definition(taskDefinition="fleet:2")["taskDefinition"]

    configuration = definition["containerDefinitions"][0]["logConfiguration"]
    assert configuration == {
        "logDriver": "awslogs",
        "options": {"awslogs-group": "fleet", "awslogs-region": emu.region, "awslogs-stream-prefix": "fleet"},
    }
    groups = emu.client("logs").describe_log_groups(logGroupNamePrefix="fleet")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["fleet"]


def test_the_lines_arrive_over_the_run_time_in_the_prefix_container_task_id_stream(emu, deployment):
    # four lines over 40 s: printed 5, 15, 25 and 35 s into the run
    emu.next_migration(start_seconds=1, run_seconds=40, log_lines=LINES)
    task_arn = run_migration_task(emu, deployment)
    stream = stream_of(task_arn)

    emu.clock.advance(3)
    assert lines_in(emu, "fleet", stream) == []
    emu.clock.advance(18)
    assert lines_in(emu, "fleet", stream) == ["one", "two"]
    emu.clock.advance(100)
    assert lines_in(emu, "fleet", stream) == list(LINES)


def test_the_stream_appears_only_when_the_container_starts(emu, deployment):
    emu.next_migration(start_seconds=2, run_seconds=1, log_lines=LINES)
    stream = stream_of(run_migration_task(emu, deployment))
    logs = emu.client("logs")

    assert logs.describe_log_streams(logGroupName="fleet", logStreamNamePrefix=stream)["logStreams"] == []
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName="fleet", logStreamName=stream, startFromHead=True)
    emu.clock.advance(2.1)
    assert [
        s["logStreamName"]
        for s in logs.describe_log_streams(logGroupName="fleet", logStreamNamePrefix=stream)["logStreams"]
    ] == [stream]


def test_without_chosen_lines_the_task_prints_what_fleet_prepare_db_prints(emu, deployment):
    emu.fleet_db.reset(emu.fleet_db.level_of(deployment.images[1]))  # as seeded: revision 2's migrations missing
    emu.next_migration(start_seconds=0.1, run_seconds=1)
    stream = stream_of(run_migration_task(emu, deployment))

    emu.clock.advance(5)

    def without_time(lines: list[str]) -> list[str]:
        return [line[len("2024/11/20 10:00:00 ") :] if line[:4].isdigit() else line for line in lines]

    assert without_time(lines_in(emu, "fleet", stream)) == without_time(list(MIGRATION_LINES))
    assert MIGRATION_LINES[-1] == "Migrations completed."


def test_a_task_that_fails_to_start_writes_no_line(emu, deployment):
    emu.next_migration(fails_to_start=True, start_seconds=0.5, log_lines=LINES)
    stream = stream_of(run_migration_task(emu, deployment))

    emu.clock.advance(5)

    assert emu.client("logs").describe_log_streams(logGroupName="fleet", logStreamNamePrefix=stream)["logStreams"] == []


def test_a_task_stopped_early_has_only_the_lines_it_printed_before(emu, deployment):
    emu.next_migration(start_seconds=0, run_seconds=40, runs_forever=True, log_lines=LINES)
    task_arn = run_migration_task(emu, deployment)

    emu.clock.advance(20)  # lines at 5 and 15 s into the run
    emu.client("ecs").stop_task(cluster=deployment.cluster, task=task_arn, reason="timeout")
    emu.clock.advance(100)

    assert lines_in(emu, "fleet", stream_of(task_arn)) == ["one", "two"]


def test_a_container_whose_log_group_is_missing_fails_to_start(emu, deployment):
    # GIVEN a revision whose awslogs group does not exist (and awslogs-create-group is not set)
    revision = new_revision(
        emu,
        {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/ecs/no-such-group",
                "awslogs-region": emu.region,
                "awslogs-stream-prefix": "fleet",
            },
        },
    )
    emu.next_migration(start_seconds=0.5, run_seconds=1, log_lines=LINES)

    # WHEN the migration task is started
    task_arn = run_migration_task(emu, deployment, revision)
    emu.clock.advance(2)

    # THEN ECS stops it before it runs, as the awslogs driver cannot create its stream
    assert stopped_reason(emu, deployment, task_arn) == ("STOPPED", "TaskFailedToStart", MISSING_GROUP_REASON)


def test_awslogs_create_group_lets_the_driver_create_the_missing_group(emu, deployment):
    revision = new_revision(
        emu,
        {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/ecs/fleet-migrations",
                "awslogs-region": emu.region,
                "awslogs-stream-prefix": "fleet",
                "awslogs-create-group": "true",
            },
        },
    )
    emu.next_migration(start_seconds=0.1, run_seconds=1, log_lines=LINES)

    task_arn = run_migration_task(emu, deployment, revision)
    emu.clock.advance(5)

    assert stopped_reason(emu, deployment, task_arn)[1] == "EssentialContainerExited"
    assert lines_in(emu, "/ecs/fleet-migrations", stream_of(task_arn)) == list(LINES)


def test_a_container_without_awslogs_writes_nothing_to_cloudwatch_logs(emu, deployment):
    revision = new_revision(emu, None)
    emu.next_migration(start_seconds=0.1, run_seconds=1, log_lines=LINES)

    task_arn = run_migration_task(emu, deployment, revision)
    emu.clock.advance(5)

    assert stopped_reason(emu, deployment, task_arn)[1] == "EssentialContainerExited"
    streams = emu.client("logs").describe_log_streams(logGroupName="fleet")["logStreams"]
    assert stream_of(task_arn) not in [s["logStreamName"] for s in streams]
