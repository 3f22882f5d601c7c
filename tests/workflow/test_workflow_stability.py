"""After the scale-up, "stable" is what ECS means by it; a service that cannot get there is ServiceNotStable."""

from __future__ import annotations

from emulator import SEEDED_SUSPENDED_STATE
from workflow_support import CHECK_STABLE, ROLLBACK, SCALE_UP, cause_of, follows


def assert_not_stable_and_left_at_the_requested_count(aws, run, fleet) -> dict:
    assert (run.status, run.error) == ("FAILED", "ServiceNotStable"), run.cause
    assert follows(run, SCALE_UP, CHECK_STABLE) and ROLLBACK not in run.states_entered  # the migration stays applied
    cause = cause_of(run)
    assert cause["rolled_back"] is False and cause["exit_code"] == 0
    assert aws.service_state(fleet.cluster, fleet.service)["desired_count"] == 2
    return cause


def test_one_task_short_of_the_desired_count_is_not_stable(aws, fleet, fast_input):
    aws.service_behaviour("fleet").capacity = 1  # after the migration, room for one Fleet task only

    run = aws.run(fast_input(stabilize_timeout_seconds=4), name="fleet-fleet-r2")

    cause = assert_not_stable_and_left_at_the_requested_count(aws, run, fleet)
    assert "fleet: 1 of 2 running" in cause["message"]


def test_tasks_that_keep_crashing_are_not_stable_long_before_the_timeout(aws, fleet, fast_input):
    # GIVEN Fleet's new tasks crash as they start (say, the new schema broke the old code's config)
    aws.service_behaviour("fleet").crash_exit_code = 1

    # WHEN the stability wait could last an hour (the test would time out long before)
    run = aws.run(fast_input(stabilize_timeout_seconds=3600), name="fleet-fleet-r2", timeout=60)

    cause = assert_not_stable_and_left_at_the_requested_count(aws, run, fleet)
    assert "the tasks of fleet keep crashing" in cause["message"]
    assert "EssentialContainerExited" in cause["message"]


def test_a_rollout_to_the_new_revision_under_way_is_waited_for_until_it_completes(aws, state_of):
    # GIVEN Fleet's own deploy: revision 3 registered and the service updated to it, then the migration for it
    deployment = aws.seed_fleet(revisions=3, service_revision=1)
    aws.deploy_revision(2, vuln_service=None)  # at once: revision 2's tasks have not even started
    aws.deploy_revision(3)
    ecs = aws.client("ecs")
    assert len(ecs.describe_services(cluster="fleet", services=["fleet"])["services"][0]["deployments"]) == 3

    run = aws.run(deployment.migration_input(poll_interval_seconds=5), name="fleet-fleet-r3")

    assert run.status == "SUCCEEDED", (run.error, run.cause)
    (service,) = ecs.describe_services(cluster="fleet", services=["fleet"])["services"]
    (primary,) = [d for d in service["deployments"] if d["status"] == "PRIMARY"]
    assert (primary["rolloutState"], primary["taskDefinition"].rsplit("/", 1)[-1]) == ("COMPLETED", "fleet:3")
    assert primary["runningCount"] == service["desiredCount"] == 2


def test_a_restore_after_a_failure_keeps_the_targets_suspended_state_exactly(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    assert before["fleet"]["suspended"] == SEEDED_SUSPENDED_STATE  # mixed flags: a reset or a leftover hold shows
    aws.next_migration(exit_code=1)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    assert state_of(fleet)["fleet"]["suspended"] == SEEDED_SUSPENDED_STATE
    assert state_of(fleet) == before
