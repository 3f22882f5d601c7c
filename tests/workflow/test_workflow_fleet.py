"""Fleet as it really runs: whether Fleet serves afterwards, in Fleet's own Terraform order and in the console's.

Fleet's Terraform moves the service to the new revision before its migration runs: that revision's tasks exit 1
(``fleet serve`` refuses a schema missing its migrations) while the old revision's tasks keep serving. Through
EventBridge or the console the service may still be on the old revision, which runs on the newer schema.
"""

from __future__ import annotations

from emulator import Emulator, FleetDeployment
from workflow_support import CHECK_STABLE, ROLLBACK, cause_of, follows, restore_by_hand


def running_revisions(aws: Emulator, fleet: FleetDeployment, service: str | None = None) -> set[str]:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=service or fleet.service)["taskArns"]
    tasks = ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"] if arns else []
    return {t["taskDefinitionArn"].rsplit("/", 1)[-1] for t in tasks if t["lastStatus"] == "RUNNING"}


def service_revision(aws: Emulator, fleet: FleetDeployment) -> str:
    (service,) = aws.client("ecs").describe_services(cluster=fleet.cluster, services=[fleet.service])["services"]
    return service["taskDefinition"].rsplit("/", 1)[-1]


def failed_tasks(aws: Emulator, fleet: FleetDeployment) -> int:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=fleet.service, desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"] if arns else []
    return sum(1 for t in tasks if any(c.get("exitCode") not in (0, None, 137) for c in t["containers"]))


def assert_fleet_serves(aws: Emulator, fleet: FleetDeployment, revision: str) -> None:
    """The load balancer has a healthy target for every task, all of them on ``revision``, and answers."""
    aws.clock.advance(30)  # long enough for the (short) health checks of the tests' target group
    assert running_revisions(aws, fleet) == {revision}
    assert aws.elb.healthy_count(fleet.target_group_arn) == 2
    assert aws.elb.answer(fleet.listener_arn)[0] == 200


def test_a_failed_migration_in_fleets_terraform_order_brings_back_the_revision_that_served(aws, fleet, fast_input):
    # GIVEN Fleet's Terraform moved the service to revision 2, whose tasks exit 1 while revision 1's keep serving
    aws.deploy_revision(2)
    aws.clock.advance(10)
    assert failed_tasks(aws, fleet) > 0 and aws.elb.healthy_count(fleet.target_group_arn) == 2

    # WHEN the migration fails
    aws.next_migration(exit_code=1)
    run = aws.run(fast_input(), name="fleet-fleet-r2")

    # THEN the rollback put the service back on the revision that served, and says so
    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    cause = cause_of(run)
    (restored,) = [s for s in cause["services"] if s["name"] == fleet.service]
    assert (restored["task_definition"], restored["replaced_task_definition"]) == ("fleet:1", "fleet:2")
    assert "terraform apply" in cause["message"] and "fleet:1" in cause["message"]
    assert service_revision(aws, fleet) == "fleet:1"
    # AND Fleet serves again from revision 1, with no crash loop going on
    assert_fleet_serves(aws, fleet, "fleet:1")
    crashes = failed_tasks(aws, fleet)
    aws.clock.advance(30)
    assert failed_tasks(aws, fleet) == crashes


def test_a_migration_in_fleets_terraform_order_leaves_the_new_revision_serving(aws, fleet, fast_input):
    aws.deploy_revision(2)
    aws.clock.advance(5)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert aws.fleet_db.level == aws.fleet_db.level_of(fleet.images[2])
    assert service_revision(aws, fleet) == "fleet:2"
    assert_fleet_serves(aws, fleet, "fleet:2")


def test_in_the_consoles_order_the_old_revision_serves_on_after_the_migration(aws, fleet, fast_input):
    # GIVEN the service still runs revision 1 (an EventBridge trigger or a console run for revision 2)
    assert service_revision(aws, fleet) == "fleet:1"

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    # THEN the schema is revision 2's, and Fleet's older binary serves on it: Fleet tolerates newer migrations
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert aws.fleet_db.level == aws.fleet_db.level_of(fleet.images[2])
    assert service_revision(aws, fleet) == "fleet:1"
    assert_fleet_serves(aws, fleet, "fleet:1")


def test_tasks_that_crash_after_a_successful_migration_are_not_stable_with_the_way_back_in_the_cause(aws):
    # GIVEN the service moved to revision 3, whose image needs more migrations than revision 2's task applies
    fleet = aws.seed_fleet(revisions=3, service_revision=1)
    aws.deploy_revision(3)

    run = aws.run(fleet.migration_input(task_definition_revision=2, poll_interval_seconds=5), name="fleet-fleet-r2")

    # THEN the migration stays applied, the services stay at their count, and the cause says how to serve again
    assert (run.status, run.error) == ("FAILED", "ServiceNotStable"), run.cause
    assert follows(run, CHECK_STABLE) and ROLLBACK not in run.states_entered
    cause = cause_of(run)
    assert "keep crashing" in cause["message"]
    back = "aws ecs update-service --cluster fleet --service fleet --task-definition fleet:1 --desired-count 2"
    assert back in cause["commands"]
    # AND the command does what it says: Fleet's revision 1 serves on revision 2's schema
    restore_by_hand(aws, cause["commands"])
    assert_fleet_serves(aws, fleet, "fleet:1")


def test_targets_that_are_not_healthy_in_time_are_not_stable(aws, fleet, fast_input):
    # the tests' target group needs 10 s of passing checks; the stability wait is shorter
    run = aws.run(fast_input(stabilize_timeout_seconds=3), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "ServiceNotStable"), run.cause
    assert "healthy in target group" in cause_of(run)["message"] or "IN_PROGRESS" in cause_of(run)["message"]


def test_success_means_the_load_balancer_has_healthy_fleet_targets(aws, fleet, fast_input):
    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    # no clock advance: when the execution says it succeeded, Fleet already answers
    assert aws.elb.healthy_count(fleet.target_group_arn) == 2
    assert aws.elb.answer(fleet.listener_arn)[0] == 200


def test_a_serving_revision_fleets_terraform_deregistered_comes_back_as_a_copy(aws, fleet, fast_input):
    # GIVEN Fleet's Terraform replaced revision 1 by revision 2: it deregisters the old revision (no skip_destroy),
    # and UpdateService refuses an INACTIVE revision, though revision 1's tasks still serve
    ecs = aws.client("ecs")
    ecs.deregister_task_definition(taskDefinition="fleet:1")
    aws.deploy_revision(2)
    aws.clock.advance(10)

    aws.next_migration(exit_code=1)
    run = aws.run(fast_input(), name="fleet-fleet-r2")

    # THEN the rollback registered revision 1 again, as revision 3, and put the service on it
    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    (restored,) = [s for s in cause_of(run)["services"] if s["name"] == fleet.service]
    assert restored["task_definition"] == "fleet:3" and restored["copy_of"] == "fleet:1"
    copy = ecs.describe_task_definition(taskDefinition="fleet:3")["taskDefinition"]
    assert copy["containerDefinitions"][0]["image"] == fleet.images[1]
    assert service_revision(aws, fleet) == "fleet:3"
    assert_fleet_serves(aws, fleet, "fleet:3")


def test_a_retried_restore_registers_one_copy_with_the_originals_tags_and_the_workflows_mark(aws, fleet, fast_input):
    # GIVEN Fleet's Terraform deregistered the serving revision 1 (tagged by its owner) and moved the service to 2
    ecs = aws.client("ecs")
    original = ecs.describe_task_definition(taskDefinition="fleet:1")["taskDefinition"]["taskDefinitionArn"]
    ecs.tag_resource(resourceArn=original, tags=[{"key": "team", "value": "fleet"}])
    ecs.deregister_task_definition(taskDefinition="fleet:1")
    aws.deploy_revision(2)
    aws.clock.advance(10)
    # AND the restore fails once after registering the copy (UpdateService refused), so the step runs again
    aws.faults.inject(
        "ecs",
        "UpdateService",
        code="AccessDeniedException",
        message="try again",
        when=lambda c: "taskDefinition" in c.params,
    )

    aws.next_migration(exit_code=1)
    run = aws.run(fast_input(), name="fleet-fleet-r2")

    # THEN the rollback ended with one copy of revision 1, and the service on it
    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    assert aws.faults.hits[("ecs", "UpdateService")] == 1  # the restore ran twice
    active = ecs.list_task_definitions(familyPrefix="fleet")["taskDefinitionArns"]
    assert [arn.rsplit("/", 1)[-1] for arn in active] == ["fleet:2", "fleet:3"]
    assert service_revision(aws, fleet) == "fleet:3"
    # AND the copy carries the original's tags, and the mark the trigger and a retried restore know it by
    tags = {
        t["key"]: t["value"] for t in ecs.describe_task_definition(taskDefinition="fleet:3", include=["TAGS"])["tags"]
    }
    assert tags == {"team": "fleet", "fleet-migration:copy-of": original, "fleet-migration:execution": "fleet-fleet-r2"}
    assert_fleet_serves(aws, fleet, "fleet:3")


def serving_a_variant_of_revision_1_then_moved_to_2(aws: Emulator, fleet: FleetDeployment, **changes) -> int:
    """Fleet serves a revision registered from fleet:1 with ``changes`` (RegisterTaskDefinition fields), and was
    just moved to revision 2 (Fleet's Terraform order): a rollback would put the serving one back, registering it
    again once it is deregistered. Returns the serving revision."""
    ecs = aws.client("ecs")
    one = ecs.describe_task_definition(taskDefinition="fleet:1")["taskDefinition"]
    keep = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "taskRoleArn")
    fields = {key: one[key] for key in keep if key in one} | {"containerDefinitions": one["containerDefinitions"]}
    serving = ecs.register_task_definition(**(fields | changes))["taskDefinition"]["revision"]
    aws.deploy_revision(serving)
    for _ in range(60):
        aws.clock.advance(10)
        if running_revisions(aws, fleet) == {f"fleet:{serving}"}:
            break
    aws.deploy_revision(2)
    aws.clock.advance(10)
    return serving


def test_a_serving_revision_whose_roles_the_rollback_may_not_pass_is_refused(aws, fleet, fast_input, state_of):
    # GIVEN Fleet serves a revision with another task role, and was just moved to a new revision
    admin = "arn:aws:iam::123456789012:role/fleet-admin"
    serving = serving_a_variant_of_revision_1_then_moved_to_2(aws, fleet, taskRoleArn=admin)
    before = state_of(fleet)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "InvalidInput"), run.cause
    cause = cause_of(run)
    assert cause["fields"] == ["ecs_service"] and cause["message"].startswith("ecs_service: ")
    assert f"fleet:{serving}" in cause["message"] and f"TaskRoleArn={admin}" in cause["message"]
    assert state_of(fleet) == before


def test_a_serving_revision_with_a_privileged_container_is_refused(aws, fleet, fast_input, state_of):
    # GIVEN Fleet serves a revision with a privileged container and was just moved to a new revision: a rollback
    # might have to register the serving one again, which the rollback's IAM allows only without privileged
    # containers (ecs:privileged)
    one = aws.client("ecs").describe_task_definition(taskDefinition="fleet:1")["taskDefinition"]
    containers = [{**c, "privileged": True} for c in one["containerDefinitions"]]
    serving = serving_a_variant_of_revision_1_then_moved_to_2(aws, fleet, containerDefinitions=containers)
    before = state_of(fleet)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "InvalidInput"), run.cause
    cause = cause_of(run)
    assert cause["fields"] == ["ecs_service"] and cause["message"].startswith("ecs_service: ")
    assert f"fleet:{serving}" in cause["message"] and "privileged" in cause["message"]
    assert state_of(fleet) == before
