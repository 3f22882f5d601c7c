"""The outage users feel: nothing when nothing needs migrating, short draining, and a maintenance page."""

from __future__ import annotations

import time

from emulator import Emulator, FleetDeployment
from emulator.fleet import image_for_revision
from workflow_support import DESCRIBE, FAIL_STATE, SUCCEEDED, cause_of, follows, tasks_entered

DELAY = "deregistration_delay.timeout_seconds"
CHANGES = [
    ("ecs", "UpdateService"),
    ("application-autoscaling", "RegisterScalableTarget"),
    ("ecs", "RunTask"),
    ("elbv2", "ModifyTargetGroupAttributes"),
    ("elbv2", "CreateRule"),
    ("elbv2", "DeleteRule"),
]


def delay(aws: Emulator, fleet: FleetDeployment) -> int:
    attributes = aws.client("elbv2").describe_target_group_attributes(TargetGroupArn=fleet.target_group_arn)
    return int(next(a["Value"] for a in attributes["Attributes"] if a["Key"] == DELAY))


def set_delay(aws: Emulator, fleet: FleetDeployment, seconds: int) -> None:
    aws.client("elbv2").modify_target_group_attributes(
        TargetGroupArn=fleet.target_group_arn, Attributes=[{"Key": DELAY, "Value": str(seconds)}]
    )


def listener_rules(aws: Emulator, fleet: FleetDeployment) -> list[dict]:
    return [
        r for r in aws.client("elbv2").describe_rules(ListenerArn=fleet.listener_arn)["Rules"] if not r["IsDefault"]
    ]


def abort_and_stop_its_task(aws: Emulator, fleet: FleetDeployment, arn: str, task: str) -> None:
    """Stop in the console, then an operator stops the migration task it left running."""
    aws.client("stepfunctions").stop_execution(executionArn=arn)
    assert aws.wait(arn).status == "ABORTED"
    aws.client("ecs").stop_task(cluster=fleet.cluster, task=task, reason="stopped by an operator")
    aws.clock.advance(60)


def while_the_migration_runs(aws: Emulator, document: dict, name: str) -> tuple[str, str]:
    """Start an execution whose migration task runs until ``finish`` is called: (execution ARN, task ARN)."""
    aws.next_migration(runs_forever=True)
    arn = aws.start(document, name=name)
    deadline = time.monotonic() + 30
    while not aws.ecs_sim.running_tasks(one_off=True):
        assert time.monotonic() < deadline, "the migration task never started"
        time.sleep(0.05)
    (task,) = aws.ecs_sim.running_tasks(one_off=True)
    return arn, task


# -- nothing to migrate ---------------------------------------------------------------------------------


def test_a_configuration_only_revision_succeeds_at_once_changing_nothing(aws):
    # GIVEN revision 2 changes the configuration only: the same Fleet image as revision 1, which serves
    fleet = aws.seed_fleet(images={2: image_for_revision(1)})
    aws.clock.advance(1)
    before = [aws.faults.calls[call] for call in CHANGES]

    run = aws.run(fleet.migration_input(poll_interval_seconds=1), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert tasks_entered(run) == [DESCRIBE] and follows(run, DESCRIBE, SUCCEEDED)
    assert run.output["task_arn"] is None and "exit_code" not in run.output
    assert "fleet:1" in run.output["skipped"] and "fleet:2" in run.output["skipped"]
    assert image_for_revision(1) in run.output["skipped"]
    assert [aws.faults.calls[call] for call in CHANGES] == before
    assert aws.elb.answer(fleet.listener_arn)[0] == 200


def test_skip_unchanged_image_false_migrates_a_configuration_only_revision_anyway(aws):
    fleet = aws.seed_fleet(images={2: image_for_revision(1)})

    run = aws.run(fleet.migration_input(poll_interval_seconds=1, skip_unchanged_image=False), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.output["exit_code"] == 0 and run.output["task_arn"].startswith("arn:")


def test_a_first_deploy_with_no_serving_task_is_migrated_even_with_the_same_image(aws):
    fleet = aws.seed_fleet(revisions=1)  # an empty schema: Fleet's tasks exit 1, none serves

    run = aws.run(fleet.migration_input(poll_interval_seconds=1), name="fleet-fleet-r1")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.output["task_arn"] is not None
    assert aws.fleet_db.level == aws.fleet_db.level_of(fleet.images[1])


# -- draining fast --------------------------------------------------------------------------------------


def test_the_deregistration_delay_is_lowered_while_the_services_go_down_and_put_back_after(aws, fleet, fast_input):
    set_delay(aws, fleet, 300)
    arn, task = while_the_migration_runs(aws, fast_input(), "fleet-fleet-r2")

    assert delay(aws, fleet) == 5  # the default

    aws.ecs_sim.end_migration(task, 0)
    assert aws.wait(arn).status == "SUCCEEDED"
    assert delay(aws, fleet) == 300


def test_the_drain_takes_the_lowered_delay_not_the_target_groups_own(aws, fleet, fast_input):
    set_delay(aws, fleet, 300)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    drained = next(
        e for e in run.events if e.get("stateEnteredEventDetails", {}).get("name") == "Is a snapshot wanted?"
    )
    started = next(
        e for e in run.events if e.get("stateEnteredEventDetails", {}).get("name") == "Scale the services down"
    )
    # emulated seconds: well under the group's own 300 s
    assert (drained["timestamp"] - started["timestamp"]).total_seconds() * aws.clock.speed < 60


def test_the_rollback_puts_the_deregistration_delay_back(aws, fleet, fast_input):
    set_delay(aws, fleet, 120)
    aws.next_migration(exit_code=1)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.error == "MigrationFailed"
    assert delay(aws, fleet) == 120
    assert cause_of(run)["target_groups"] == [
        {"target_group": fleet.target_group_arn, "deregistration_delay_seconds": 120}
    ]


def test_a_later_execution_puts_back_the_delay_an_aborted_one_left_lowered(aws, fleet, fast_input):
    set_delay(aws, fleet, 300)
    arn, task = while_the_migration_runs(aws, fast_input(), "fleet-fleet-r2")
    abort_and_stop_its_task(aws, fleet, arn, task)
    assert delay(aws, fleet) == 5  # left lowered

    aws.next_migration(exit_code=0)
    run = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert delay(aws, fleet) == 300


def test_a_null_deregistration_delay_leaves_the_target_groups_alone(aws, fleet, fast_input):
    set_delay(aws, fleet, 30)
    arn, task = while_the_migration_runs(aws, fast_input(deregistration_delay_seconds=None), "fleet-fleet-r2")

    assert delay(aws, fleet) == 30
    aws.ecs_sim.end_migration(task, 0)
    assert aws.wait(arn).status == "SUCCEEDED"
    assert delay(aws, fleet) == 30


def test_a_target_group_already_draining_faster_is_left_alone(aws, fleet, fast_input):
    set_delay(aws, fleet, 2)
    before = aws.faults.calls[("elbv2", "ModifyTargetGroupAttributes")]

    assert aws.run(fast_input(), name="fleet-fleet-r2").status == "SUCCEEDED"
    assert delay(aws, fleet) == 2
    assert aws.faults.calls[("elbv2", "ModifyTargetGroupAttributes")] == before


# -- the maintenance page -------------------------------------------------------------------------------


def test_the_maintenance_page_answers_while_fleet_is_down_and_goes_once_fleet_serves(
    aws, fleet, fast_input, monkeypatch
):
    monkeypatch.setenv("MAINTENANCE_MESSAGE", "Upgrading.")  # the deployment's page, not the caller's
    arn, task = while_the_migration_runs(aws, fast_input(maintenance_page=True), "fleet-fleet-r2")

    assert aws.elb.answer(fleet.listener_arn) == (503, "text/plain", "Upgrading.")

    aws.ecs_sim.end_migration(task, 0)
    assert aws.wait(arn).status == "SUCCEEDED"
    assert listener_rules(aws, fleet) == []
    assert aws.elb.answer(fleet.listener_arn)[0] == 200


def test_the_default_maintenance_page_is_html(aws, fleet, fast_input):
    arn, task = while_the_migration_runs(aws, fast_input(maintenance_page=True), "fleet-fleet-r2")

    status, content_type, body = aws.elb.answer(fleet.listener_arn)
    assert (status, content_type) == (503, "text/html") and "Fleet is being upgraded" in body
    aws.ecs_sim.end_migration(task, 0)
    assert aws.wait(arn).status == "SUCCEEDED"


def test_the_rollback_takes_the_maintenance_page_down(aws, fleet, fast_input):
    aws.next_migration(exit_code=1)

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2")

    assert run.error == "MigrationFailed"
    assert listener_rules(aws, fleet) == []


def test_a_later_execution_takes_down_the_page_an_aborted_one_left(aws, fleet, fast_input):
    arn, task = while_the_migration_runs(aws, fast_input(maintenance_page=True), "fleet-fleet-r2")
    abort_and_stop_its_task(aws, fleet, arn, task)
    assert len(listener_rules(aws, fleet)) == 1  # left behind: users still see the page

    run = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert listener_rules(aws, fleet) == []


def test_a_listener_with_no_priority_free_above_its_rules_is_invalid_input_changing_nothing(aws, fleet, fast_input):
    aws.client("elbv2").create_rule(
        ListenerArn=fleet.listener_arn,
        Priority=1,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": fleet.target_group_arn}],
    )
    before = [aws.faults.calls[call] for call in CHANGES]

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "InvalidInput")
    assert follows(run, DESCRIBE, FAIL_STATE["InvalidInput"])
    assert "maintenance_page" in cause_of(run)["message"]
    assert [aws.faults.calls[call] for call in CHANGES] == before
