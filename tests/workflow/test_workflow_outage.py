"""The outage users feel: nothing when nothing needs migrating, short draining, and a maintenance page."""

from __future__ import annotations

from emulator import Emulator, FleetDeployment
from emulator.fleet import image_for_revision
from emulator.fleet.load_balancer import LoadBalancer, add_fleet_allowlist, add_other_application
from fleet_migration import outage
from fleet_migration.execution_input import MigrationInput
from fleet_migration.models import Execution, Migration
from workflow_support import DESCRIBE, FAIL_STATE, SUCCEEDED, cause_of, follows, tasks_entered

DELAY = "deregistration_delay.timeout_seconds"
CHANGES = [
    ("ecs", "UpdateService"),
    ("application-autoscaling", "RegisterScalableTarget"),
    ("ecs", "RunTask"),
    ("elbv2", "ModifyTargetGroupAttributes"),
    ("elbv2", "CreateRule"),
    ("elbv2", "DeleteRule"),
    ("elbv2", "ModifyRule"),
    ("elbv2", "ModifyListener"),
    ("elbv2", "AddTags"),
]
ALLOWED = "192.0.2.0/24"  # the allowlist's addresses
BLOCKED = "203.0.113.9"
OSQUERY = "/api/osquery/distributed/read"
OTHER_HOST = "grafana.example.com"


def delay(aws: Emulator, fleet: FleetDeployment) -> int:
    attributes = aws.client("elbv2").describe_target_group_attributes(TargetGroupArn=fleet.target_group_arn)
    return int(next(a["Value"] for a in attributes["Attributes"] if a["Key"] == DELAY))


def set_delay(aws: Emulator, fleet: FleetDeployment, seconds: int) -> None:
    aws.client("elbv2").modify_target_group_attributes(
        TargetGroupArn=fleet.target_group_arn, Attributes=[{"Key": DELAY, "Value": str(seconds)}]
    )


def listener_rules(aws: Emulator, fleet: FleetDeployment) -> list[dict]:
    return [r for r in all_rules(aws, fleet) if not r["IsDefault"]]


def all_rules(aws: Emulator, fleet: FleetDeployment) -> list[dict]:
    elbv2, found, marker = aws.client("elbv2"), [], {}
    while True:
        page = elbv2.describe_rules(ListenerArn=fleet.listener_arn, **marker)
        found += page["Rules"]
        if not page.get("NextMarker"):
            return found
        marker = {"Marker": page["NextMarker"]}


def front_as_configured(aws: Emulator, fleet: FleetDeployment) -> tuple[list[dict], list[dict], dict]:
    """Every rule, the listener's default actions and every tag: what must be exactly as before afterwards."""
    elbv2 = aws.client("elbv2")
    rules = all_rules(aws, fleet)
    listener = elbv2.describe_listeners(ListenerArns=[fleet.listener_arn])["Listeners"][0]
    arns = [fleet.listener_arn, *(r["RuleArn"] for r in rules if not r["IsDefault"])]
    tags = {
        d["ResourceArn"]: d["Tags"]
        for start in range(0, len(arns), 20)
        for d in elbv2.describe_tags(ResourceArns=arns[start : start + 20])["TagDescriptions"]
    }
    return rules, listener["DefaultActions"], tags


def with_allowlist_and_another_application(aws: Emulator, fleet: FleetDeployment) -> None:
    """fleet-terraform's example allowlist in front of Fleet, and another application's host on the same listener."""
    elbv2 = aws.client("elbv2")
    balancer = LoadBalancer(fleet.load_balancer_arn, fleet.target_group_arn, fleet.listener_arn)
    add_fleet_allowlist(elbv2, balancer, [ALLOWED])
    vpc = elbv2.describe_target_groups(TargetGroupArns=[fleet.target_group_arn])["TargetGroups"][0]["VpcId"]
    add_other_application(elbv2, balancer, vpc, OTHER_HOST, priority=10)


def answers(aws: Emulator, fleet: FleetDeployment) -> dict[str, tuple]:
    """What the listener answers each kind of client, by (status, body)."""
    ask = aws.elb.answer
    asked = {
        "osquery": ask(fleet.listener_arn, OSQUERY, source_ip=BLOCKED),
        "version from a blocked address": ask(fleet.listener_arn, "/version", source_ip=BLOCKED),
        "a blocked address": ask(fleet.listener_arn, "/", source_ip=BLOCKED),
        "an allowed address": ask(fleet.listener_arn, "/", source_ip="192.0.2.14"),
        "the other application": ask(fleet.listener_arn, "/", host=OTHER_HOST, source_ip=BLOCKED),
    }
    return {who: (status, body) for who, (status, _, body) in asked.items()}


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
    aws.until(lambda: aws.ecs_sim.running_tasks(one_off=True), "the migration task starting")
    (task,) = aws.ecs_sim.running_tasks(one_off=True)
    return arn, task


# -- nothing to migrate ---------------------------------------------------------------------------------


def test_a_configuration_only_revision_succeeds_at_once_changing_nothing(aws):
    # GIVEN revision 2 changes the configuration only: the same Fleet image as revision 1, which serves
    fleet = aws.seed_fleet(images={2: image_for_revision(1)})
    aws.clock.advance(1)
    before = [aws.faults.calls[call] for call in CHANGES]

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert tasks_entered(run) == [DESCRIBE] and follows(run, DESCRIBE, SUCCEEDED)
    assert run.output["task_arn"] is None and "exit_code" not in run.output
    assert "fleet:1" in run.output["skipped"] and "fleet:2" in run.output["skipped"]
    assert image_for_revision(1) in run.output["skipped"]
    assert [aws.faults.calls[call] for call in CHANGES] == before
    assert aws.elb.answer(fleet.listener_arn)[0] == 200


def test_skip_unchanged_image_false_migrates_a_configuration_only_revision_anyway(aws):
    fleet = aws.seed_fleet(images={2: image_for_revision(1)})

    run = aws.run(fleet.migration_input(poll_interval_seconds=5, skip_unchanged_image=False), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.output["exit_code"] == 0 and run.output["task_arn"].startswith("arn:")


def test_a_first_deploy_with_no_serving_task_is_migrated_even_with_the_same_image(aws):
    fleet = aws.seed_fleet(revisions=1)  # an empty schema: Fleet's tasks exit 1, none serves

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r1")

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


PAGE = "<p>Fleet is being upgraded</p>"


def test_behind_fleets_allowlist_the_page_answers_only_what_would_have_reached_fleet(
    aws, fleet, fast_input, monkeypatch
):
    monkeypatch.setenv("MAINTENANCE_MESSAGE", PAGE)
    with_allowlist_and_another_application(aws, fleet)
    before = answers(aws, fleet)
    assert before["osquery"] == (200, "Fleet") and before["an allowed address"] == (200, "Fleet")

    arn, task = while_the_migration_runs(aws, fast_input(maintenance_page=True), "fleet-fleet-r2")

    assert answers(aws, fleet) == {
        "osquery": (503, PAGE),
        "version from a blocked address": before["version from a blocked address"],  # the allowlist's 404
        "a blocked address": before["a blocked address"],  # the allowlist's 403
        "an allowed address": (503, PAGE),
        "the other application": (200, "other-app"),
    }
    aws.ecs_sim.end_migration(task, 0)
    assert aws.wait(arn).status == "SUCCEEDED"


def test_afterwards_every_rule_and_the_listener_are_exactly_as_before(aws, fleet, fast_input):
    with_allowlist_and_another_application(aws, fleet)
    before = front_as_configured(aws, fleet)

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert front_as_configured(aws, fleet) == before  # same ARNs, priorities, conditions, actions, tags
    assert answers(aws, fleet)["osquery"] == (200, "Fleet")


def test_the_rollback_puts_every_rule_back(aws, fleet, fast_input):
    with_allowlist_and_another_application(aws, fleet)
    before = front_as_configured(aws, fleet)
    aws.next_migration(exit_code=1)

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2")

    assert run.error == "MigrationFailed"
    assert front_as_configured(aws, fleet) == before


def test_fleet_turns_healthy_behind_the_page_because_its_target_group_stays_attached(aws, fleet, fast_input):
    # With every forward swapped for the page, no listener would forward to Fleet's target group and ELB would
    # stop checking its targets (unused): the page would wait forever for a Fleet that can never turn healthy.
    arn, task = while_the_migration_runs(aws, fast_input(maintenance_page=True), "fleet-fleet-r2")
    assert aws.elb.in_use(fleet.target_group_arn)

    aws.ecs_sim.end_migration(task, 0)

    assert aws.wait(arn).status == "SUCCEEDED"


def test_an_aborted_executions_page_is_put_back_by_the_next_execution(aws, fleet, fast_input):
    with_allowlist_and_another_application(aws, fleet)
    before = front_as_configured(aws, fleet)
    arn, task = while_the_migration_runs(aws, fast_input(maintenance_page=True), "fleet-fleet-r2")
    abort_and_stop_its_task(aws, fleet, arn, task)
    assert answers(aws, fleet)["osquery"][0] == 503  # left up

    run = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert front_as_configured(aws, fleet) == before


def test_an_aborted_executions_page_is_put_back_when_the_next_one_puts_up_its_own(aws, fleet, fast_input):
    with_allowlist_and_another_application(aws, fleet)
    before = front_as_configured(aws, fleet)
    arn, task = while_the_migration_runs(aws, fast_input(maintenance_page=True), "fleet-fleet-r2")
    abort_and_stop_its_task(aws, fleet, arn, task)

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2-a2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert front_as_configured(aws, fleet) == before


def test_a_json_maintenance_body_without_an_error_key_is_invalid_input_changing_nothing(
    aws, fleet, fast_input, monkeypatch
):
    monkeypatch.setenv("MAINTENANCE_MESSAGE", '{"message": "Fleet is being upgraded"}')
    before = [aws.faults.calls[call] for call in CHANGES]

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "InvalidInput")
    assert follows(run, DESCRIBE, FAIL_STATE["InvalidInput"])
    assert "maintenance_message" in cause_of(run)["message"] and "buffered logs" in cause_of(run)["message"]
    assert [aws.faults.calls[call] for call in CHANGES] == before


def test_fleet_behind_a_network_load_balancer_with_the_page_is_invalid_input_changing_nothing(aws, fleet, fast_input):
    elbv2 = aws.client("elbv2")
    subnets = elbv2.describe_load_balancers(LoadBalancerArns=[fleet.load_balancer_arn])["LoadBalancers"][0][
        "AvailabilityZones"
    ]
    network = elbv2.create_load_balancer(Name="fleet-nlb", Type="network", Subnets=[z["SubnetId"] for z in subnets])
    elbv2.create_listener(
        LoadBalancerArn=network["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="TCP",
        Port=8080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": fleet.target_group_arn}],
    )
    before = [aws.faults.calls[call] for call in CHANGES]

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "InvalidInput")
    assert "network load balancer" in cause_of(run)["message"]
    assert [aws.faults.calls[call] for call in CHANGES] == before


def test_a_load_balancer_at_its_rule_quota_with_the_page_is_invalid_input_changing_nothing(aws, fleet, fast_input):
    elbv2 = aws.client("elbv2")
    for priority in range(1, 101):
        elbv2.create_rule(
            ListenerArn=fleet.listener_arn,
            Priority=priority,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"/app{priority}/*"]}}],
            Actions=[{"Type": "forward", "TargetGroupArn": fleet.target_group_arn}],
        )
    before = [aws.faults.calls[call] for call in CHANGES]

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "InvalidInput")
    assert "at most 100" in cause_of(run)["message"]
    assert [aws.faults.calls[call] for call in CHANGES] == before


def test_every_listener_and_rule_is_found_however_many_pages_elb_answers_in(aws, fleet, fast_input):
    with_allowlist_and_another_application(aws, fleet)  # 8 rules and a default on the listener
    before = front_as_configured(aws, fleet)
    aws.elb.page_size = 2  # every Describe call answers two at a time

    arn, task = while_the_migration_runs(aws, fast_input(maintenance_page=True), "fleet-fleet-r2")

    assert answers(aws, fleet)["osquery"][0] == 503 and answers(aws, fleet)["an allowed address"][0] == 503
    aws.ecs_sim.end_migration(task, 0)
    assert aws.wait(arn).status == "SUCCEEDED"
    assert front_as_configured(aws, fleet) == before


def test_a_running_executions_page_is_left_alone_by_an_execution_for_another_service(aws, fleet, fast_input):
    # GIVEN Fleet's page is up (its execution runs), and a second Fleet shares the listener (the other host's group)
    with_allowlist_and_another_application(aws, fleet)
    arn, task = while_the_migration_runs(aws, fast_input(maintenance_page=True), "fleet-fleet-r2")
    during = front_as_configured(aws, fleet)
    other_group = aws.client("elbv2").describe_target_groups(Names=["other-app"])["TargetGroups"][0]["TargetGroupArn"]
    execution = Execution(
        id=arn.rsplit(":", 1)[0] + ":fleet-other-r1",
        name="fleet-other-r1",
        state_machine_arn=arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0],
        start_time="2026-01-01T00:00:00+00:00",
    )
    spec = MigrationInput.parse({**fast_input(maintenance_page=True), "ecs_service": "other", "vuln_service": ""})

    # WHEN the second Fleet's execution plans, puts up and takes down its own page
    page, left = outage.plan_maintenance(spec, {"loadBalancers": [{"targetGroupArn": other_group}]}, execution)
    other = Migration.model_construct(
        input=spec, execution=execution, services=[], maintenance=page, page_leftovers=left
    )
    outage.before_scale_down(other)
    assert aws.elb.answer(fleet.listener_arn, host=OTHER_HOST)[0] == 503  # its page
    outage.take_down_maintenance_page(other)

    # THEN the running execution's page is exactly as it was, and still answers
    assert left is None and [swap.rule_arn for swap in page.swaps] == [
        r["RuleArn"] for r in during[0] if r["Priority"] == "10"
    ]
    assert front_as_configured(aws, fleet) == during
    assert answers(aws, fleet)["osquery"][0] == 503
    aws.ecs_sim.end_migration(task, 0)
    assert aws.wait(arn).status == "SUCCEEDED"
