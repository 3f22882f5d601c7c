"""Fleet's own schema rules in the emulator (fleetdm/fleet cmd/fleet/serve.go and prepare.go): ``fleet serve`` exits 1
on a database that lacks its migrations and serves on one that has more; ``fleet prepare db`` applies what is
missing, or fails part-way."""

from __future__ import annotations

import re

import pytest

from emulator import Emulator, FleetDeployment
from emulator.fleet.database import MIGRATIONS, level_of


def run_prepare_db(emu: Emulator, fleet: FleetDeployment, revision: int) -> str:
    return emu.client("ecs").run_task(
        cluster=fleet.cluster,
        taskDefinition=f"{fleet.task_definition}:{revision}",
        launchType="FARGATE",
        overrides={"containerOverrides": [{"name": "fleet", "command": ["fleet", "prepare", "db", "--no-prompt"]}]},
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": fleet.subnets, "securityGroups": fleet.security_groups}
        },
    )["tasks"][0]["taskArn"]


def described(emu: Emulator, task_arn: str) -> dict:
    return emu.client("ecs").describe_tasks(cluster="fleet", tasks=[task_arn])["tasks"][0]


def lines_of(emu: Emulator, task_arn: str) -> list[str]:
    stream = f"fleet/fleet/{task_arn.rsplit('/', 1)[-1]}"
    events = emu.client("logs").get_log_events(logGroupName="fleet", logStreamName=stream, startFromHead=True)["events"]
    return [event["message"] for event in events]


def service_tasks(emu: Emulator, status: str = "RUNNING") -> list[dict]:
    ecs = emu.client("ecs")
    arns = ecs.list_tasks(cluster="fleet", serviceName="fleet", desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(cluster="fleet", tasks=arns)["tasks"] if arns else []


def let_time_pass(emu: Emulator, seconds: float, step: float = 1.0) -> None:
    """Advance the clock as a poller would see it: the simulated scheduler acts whenever ECS is asked."""
    for _ in range(int(seconds / step)):
        emu.clock.advance(step)
        emu.ecs_sim.tick()


def test_the_catalogue_orders_fleet_releases_and_knows_no_other_image():
    levels = [level_of(f"fleetdm/fleet:v4.{minor}.0") for minor in (58, 59, 60, 61)]

    assert levels == sorted(levels) and len(set(levels)) == 4
    assert level_of("nginx:1.27") is None and level_of("fleetdm/fleet:v9.9.9") is None and level_of(None) is None


def test_fleet_serve_exits_1_a_second_after_running_when_the_schema_lacks_its_migrations(emu, deployment):
    emu.deploy_revision(2)  # v4.59.0 on a v4.58.0 schema
    emu.clock.advance(2.5)

    crashed = [t for t in service_tasks(emu, "STOPPED") if t["taskDefinitionArn"].endswith(":2")]
    assert crashed, "the new revision's tasks exited"
    task = crashed[0]
    assert (task["stopCode"], task["containers"][0]["exitCode"]) == ("EssentialContainerExited", 1)
    assert (task["stoppedAt"] - task["startedAt"]).total_seconds() == pytest.approx(1.0)


def test_the_crashing_fleet_prints_that_the_database_is_missing_migrations(emu, deployment):
    emu.deploy_revision(2)
    emu.clock.advance(2.5)

    task = next(t for t in service_tasks(emu, "STOPPED") if t["taskDefinitionArn"].endswith(":2"))
    printed = "\n".join(lines_of(emu, task["taskArn"]))
    assert "# WARNING:\n#   Your Fleet database is missing required migrations" in printed
    assert "Missing migrations: tables=[20241110152839 20241116233322 20241121111624]" in printed
    assert "Run `fleet prepare db` to perform migrations." in printed


@pytest.mark.fleet(service_revision=2)
def test_an_older_fleet_serves_on_a_schema_with_migrations_it_does_not_know(emu, deployment):
    emu.deploy_revision(1)  # v4.58.0 on a v4.59.0 schema
    let_time_pass(emu, 30)

    (service,) = emu.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"]
    (primary,) = service["deployments"]
    assert (primary["taskDefinition"].endswith(":1"), primary["rolloutState"], primary["failedTasks"]) == (
        True,
        "COMPLETED",
        0,
    )


def test_prepare_db_raises_the_schema_to_its_images_level_and_prints_migrations_completed(emu, deployment):
    assert emu.fleet_db.level == level_of(deployment.images[1])
    task_arn = run_prepare_db(emu, deployment, 2)
    emu.clock.advance(5)

    assert described(emu, task_arn)["containers"][0]["exitCode"] == 0
    assert emu.fleet_db.level == level_of(deployment.images[2])
    assert lines_of(emu, task_arn)[-1] == "Migrations completed."


@pytest.mark.fleet(service_revision=2)
def test_prepare_db_with_nothing_missing_prints_nothing_to_do(emu, deployment):
    task_arn = run_prepare_db(emu, deployment, 2)
    emu.clock.advance(5)

    assert lines_of(emu, task_arn) == ["Migrations already completed. Nothing to do."]
    assert emu.fleet_db.level == level_of(deployment.images[2])


def test_a_failed_prepare_db_applies_some_but_not_all_of_the_missing_migrations(emu, deployment):
    before, target = level_of(deployment.images[1]), level_of(deployment.images[2])
    emu.next_migration(exit_code=1)
    task_arn = run_prepare_db(emu, deployment, 2)
    emu.clock.advance(5)

    assert described(emu, task_arn)["containers"][0]["exitCode"] == 1
    assert before < emu.fleet_db.level < target
    assert lines_of(emu, task_arn)[-1].endswith(", quitting migration.")


GOOSE_LINE = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\d{4}-\d\d-\d\d\] [A-Z][\w ]+$"


def test_prepare_db_prints_goose_s_line_for_each_migration_as_fleet_does(emu, deployment):
    before, target = level_of(deployment.images[1]), level_of(deployment.images[2])
    task_arn = run_prepare_db(emu, deployment, 2)
    emu.clock.advance(5)

    printed = lines_of(emu, task_arn)
    assert len(printed) == target - before + 1 and printed[-1] == "Migrations completed."
    assert all(re.match(GOOSE_LINE, line) for line in printed[:-1]), printed
    assert printed[0].endswith(" [2024-11-10] Add Team Identifier To Host Software Installed Paths")


def test_prepare_db_failing_at_the_kth_migration_leaves_the_k_minus_1_before_it_applied(emu, deployment):
    before = level_of(deployment.images[1])
    emu.next_migration(fails_at_migration=2)
    task_arn = run_prepare_db(emu, deployment, 2)
    emu.clock.advance(5)

    assert described(emu, task_arn)["containers"][0]["exitCode"] == 1
    assert emu.fleet_db.level == before + 1
    printed = lines_of(emu, task_arn)
    assert len(printed) == 3 and all(re.match(GOOSE_LINE, line) for line in printed[:2])
    assert re.match(
        rf"^\S+ \S+ FAIL {MIGRATIONS[before + 1]}_\w+\.go \(Error \d+ .*\), quitting migration\.$", printed[2]
    )


@pytest.mark.fleet(service_revision=2)
def test_an_older_fleet_on_a_newer_schema_prints_fleet_s_warning_and_serves(emu, deployment):
    emu.deploy_revision(1)
    let_time_pass(emu, 30)

    running = [t for t in service_tasks(emu) if t["taskDefinitionArn"].endswith(":1")]
    assert running
    printed = "\n".join(lines_of(emu, running[0]["taskArn"]))
    assert "#   Your Fleet database has unrecognized migrations. This could happen when" in printed
    assert "#   running an older version of Fleet on a newer migrated database." in printed
    assert "Unknown migrations: tables=[20241110152839 20241116233322 20241121111624], data=[]." in printed


def test_a_migration_stopped_mid_way_leaves_the_schema_mid_way(emu, deployment):
    before = level_of(deployment.images[1])
    # four lines over 60 s, each migration's as it starts; the first is applied 22.5 s in, the second 37.5 s in
    emu.next_migration(start_seconds=1, run_seconds=60)
    task_arn = run_prepare_db(emu, deployment, 2)
    emu.clock.advance(1 + 30)
    emu.client("ecs").stop_task(cluster="fleet", task=task_arn)
    emu.clock.advance(60)

    assert emu.fleet_db.level == before + 1


def test_the_new_revision_starts_once_the_migration_has_run(emu, deployment):
    emu.deploy_revision(2)  # Fleet's Terraform order: the service first, then the migration
    emu.clock.advance(3)
    run_prepare_db(emu, deployment, 2)
    let_time_pass(emu, 40)

    (service,) = emu.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"]
    (primary,) = service["deployments"]
    assert (primary["taskDefinition"].endswith(":2"), primary["rolloutState"], service["runningCount"]) == (
        True,
        "COMPLETED",
        2,
    )


@pytest.mark.fleet(images={2: "nginx:1.27"})
def test_an_image_fleet_does_not_know_changes_no_schema(emu, deployment):
    before = emu.fleet_db.level
    task_arn = run_prepare_db(emu, deployment, 2)
    emu.deploy_revision(2)
    emu.clock.advance(5)

    assert described(emu, task_arn)["containers"][0]["exitCode"] == 0
    assert emu.fleet_db.level == before
    assert all(t["containers"][0].get("exitCode") != 1 for t in service_tasks(emu, "STOPPED"))


def test_a_migration_task_that_fails_to_start_changes_no_schema(emu, deployment):
    before = emu.fleet_db.level
    emu.next_migration(fails_to_start=True)
    task_arn = run_prepare_db(emu, deployment, 2)
    emu.clock.advance(5)

    assert described(emu, task_arn)["stopCode"] == "TaskFailedToStart"
    assert emu.fleet_db.level == before
