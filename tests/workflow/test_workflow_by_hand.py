"""The by-hand commands of ``RollbackFailed`` and ``ServiceNotStable``, run in order as an operator would, bring
Fleet back (docs/behaviour.md, "By-hand commands"): on a revision UpdateService accepts (Fleet's Terraform
deregisters the revision it replaces, and UpdateService refuses an INACTIVE one), without the maintenance page,
with every count, autoscaling setting and deregistration delay as it was."""

from __future__ import annotations

from emulator import Emulator, FleetDeployment
from workflow_support import cause_of, restore_by_hand


def running_revisions(aws: Emulator, fleet: FleetDeployment) -> set[str]:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=fleet.service)["taskArns"]
    tasks = ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"] if arns else []
    return {t["taskDefinitionArn"].rsplit("/", 1)[-1] for t in tasks if t["lastStatus"] == "RUNNING"}


def crashed_since(aws: Emulator, fleet: FleetDeployment, since: float) -> int:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=fleet.service, desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"] if arns else []
    return sum(
        1
        for t in tasks
        if t["createdAt"].timestamp() >= since and any(c.get("exitCode") not in (0, None, 137) for c in t["containers"])
    )


def delay(aws: Emulator, target_group: str) -> str:
    attributes = aws.client("elbv2").describe_target_group_attributes(TargetGroupArn=target_group)["Attributes"]
    return next(a["Value"] for a in attributes if a["Key"] == "deregistration_delay.timeout_seconds")


def everything(aws: Emulator, fleet: FleetDeployment) -> dict:
    """What the workflow may change and must put back: counts, autoscaling, the deregistration delay."""
    return {
        "services": {name: aws.service_state(fleet.cluster, name) for name in (fleet.service, fleet.vuln_service)},
        "deregistration_delay": delay(aws, fleet.target_group_arn),
    }


def assert_fleet_serves_on(aws: Emulator, fleet: FleetDeployment, revision: str) -> None:
    """One revision, every task healthy behind the load balancer, which answers (no page), and no crash loop."""
    since = aws.clock.now()
    for _ in range(60):
        aws.clock.advance(10)
        if running_revisions(aws, fleet) == {revision} and aws.elb.healthy_count(fleet.target_group_arn) == 2:
            break
    assert running_revisions(aws, fleet) == {revision}
    assert aws.elb.healthy_count(fleet.target_group_arn) == 2
    assert aws.elb.answer(fleet.listener_arn)[0] == 200
    aws.clock.advance(60)
    assert crashed_since(aws, fleet, since) == 0


def in_fleets_terraform_order(aws: Emulator) -> None:
    """Fleet's module replaced revision 1 by 2: it deregistered 1 and moved the service to 2, whose tasks exit 1
    while revision 1's serve."""
    aws.client("ecs").deregister_task_definition(taskDefinition="fleet:1")
    aws.deploy_revision(2)
    aws.clock.advance(10)


def test_rollback_failed_before_the_copy_is_registered_gives_commands_that_register_it_and_bring_fleet_back(
    aws, fleet, fast_input
):
    # GIVEN Fleet's Terraform order, the maintenance page, and a rollback that may not register the copy
    in_fleets_terraform_order(aws)
    before = everything(aws, fleet)
    aws.faults.inject("ecs", "RegisterTaskDefinition", code="AccessDeniedException", message="denied", times=None)
    aws.next_migration(exit_code=1)

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "RollbackFailed"), run.cause
    commands = cause_of(run)["commands"]
    register = next(i for i, c in enumerate(commands) if c.startswith("aws ecs register-task-definition"))
    assert commands[register + 1].startswith("aws ecs update-service --cluster fleet --service fleet")
    assert "--task-definition fleet " in commands[register + 1]  # the family: its latest ACTIVE, the copy
    assert any(c.startswith("aws elbv2 delete-rule") for c in commands)
    assert aws.elb.answer(fleet.listener_arn)[0] == 503  # the page is still up

    # WHEN an operator runs them in order
    aws.faults.clear()
    restore_by_hand(aws, commands)

    # THEN Fleet serves from the copy of revision 1, with nothing left changed
    assert everything(aws, fleet) == before
    assert_fleet_serves_on(aws, fleet, "fleet:3")


def test_rollback_failed_after_the_copy_is_registered_gives_commands_that_name_it(aws, fleet, fast_input):
    # GIVEN the rollback registered the copy (fleet:3), then UpdateService refused it every time (Fleet's service
    # only: the vulnerability service, in its own family, goes back to its serving revision with no copy)
    in_fleets_terraform_order(aws)
    before = everything(aws, fleet)
    aws.faults.inject(
        "ecs", "UpdateService", code="AccessDeniedException", message="denied", times=None,
        when=lambda call: "taskDefinition" in call.params and call.params["service"] == fleet.service,
    )  # fmt: skip
    aws.next_migration(exit_code=1)

    run = aws.run(fast_input(maintenance_page=True), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "RollbackFailed"), run.cause
    commands = cause_of(run)["commands"]
    assert (
        "aws ecs update-service --cluster fleet --service fleet --task-definition fleet:3 --desired-count 2" in commands
    )
    assert not any("register-task-definition" in c for c in commands)

    aws.faults.clear()
    restore_by_hand(aws, commands)

    assert everything(aws, fleet) == before
    assert_fleet_serves_on(aws, fleet, "fleet:3")
    active = aws.client("ecs").list_task_definitions(familyPrefix="fleet")["taskDefinitionArns"]
    assert [arn.rsplit("/", 1)[-1] for arn in active] == ["fleet:2", "fleet:3"]  # one copy, however often retried


def test_service_not_stable_gives_commands_that_bring_back_a_deregistered_serving_revision(aws):
    # GIVEN Fleet's Terraform moved the service from revision 1 (deregistered) to 3, whose image needs more
    # migrations than revision 2's task applies: the scale-up crashes
    fleet = aws.seed_fleet(revisions=3, service_revision=1)
    aws.client("ecs").deregister_task_definition(taskDefinition="fleet:1")
    aws.deploy_revision(3)
    aws.clock.advance(10)

    run = aws.run(fleet.migration_input(task_definition_revision=2, poll_interval_seconds=5), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "ServiceNotStable"), run.cause
    commands = cause_of(run)["commands"]
    assert commands[0].startswith("aws ecs register-task-definition --cli-input-json")
    assert (
        commands[1]
        == "aws ecs update-service --cluster fleet --service fleet --task-definition fleet --desired-count 2"
    )

    restore_by_hand(aws, commands)

    # THEN revision 1's binary serves again (as fleet:4) on the newer schema
    assert_fleet_serves_on(aws, fleet, "fleet:4")
    (copy,) = [
        t
        for t in aws.client("ecs").describe_task_definition(taskDefinition="fleet:4", include=["TAGS"])["tags"]
        if t["key"] == "fleet-migration:copy-of"
    ]
    assert copy["value"].endswith("task-definition/fleet:1")  # the trigger never migrates it
