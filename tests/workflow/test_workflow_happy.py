"""Whole migrations that succeed: the services end as they were (or as asked), the task ran once."""

from __future__ import annotations

from emulator import DROP, SEEDED_SUSPENDED_STATE
from workflow_support import (
    CHECK_DRAINED,
    CHECK_STABLE,
    DESCRIBE,
    POLL_TASK,
    ROLLBACK,
    RUN_TASK,
    SCALE_DOWN,
    SCALE_UP,
    SUCCEEDED,
    follows,
    last_state,
    tasks_entered,
)

MAIN_PATH = [DESCRIBE, SCALE_DOWN, CHECK_DRAINED, RUN_TASK, POLL_TASK, SCALE_UP, CHECK_STABLE]


def assert_succeeded(run) -> None:
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert tasks_entered(run) == MAIN_PATH
    assert last_state(run) == SUCCEEDED
    assert ROLLBACK not in run.states_entered


def test_a_migration_stops_fleet_and_vuln_processing_runs_the_task_and_restores_both(
    aws, fleet, fast_input, state_of, migration_tasks_left
):
    before = state_of(fleet)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert_succeeded(run)
    assert follows(
        run,
        SCALE_DOWN,
        "Have the services drained?",
        RUN_TASK,
        "Has the migration finished?",
        SCALE_UP,
        "Are the services stable?",
        SUCCEEDED,
    )
    assert run.output["exit_code"] == 0
    assert run.output["task_arn"].startswith("arn:aws:ecs:us-east-1:123456789012:task/fleet/")
    assert run.output["services"] == [
        {"name": "fleet", "desired_count": 2},
        {"name": "fleet-vuln-processing", "desired_count": 1},
    ]
    assert run.output["duration_seconds"] > 0
    assert state_of(fleet) == before
    assert migration_tasks_left() == []


def test_the_task_runs_the_new_revision_with_fleets_migration_command_exactly_once(aws, fleet, fast_input):
    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED"
    tokens = {call["clientToken"] for call in aws.ecs_sim.run_task_calls}
    (call, *_) = aws.ecs_sim.run_task_calls
    assert len(tokens) == 1
    assert call["taskDefinition"].endswith(":task-definition/fleet:2")
    assert call["overrides"] == {
        "containerOverrides": [{"name": "fleet", "command": ["fleet", "prepare", "db", "--no-prompt"]}]
    }


def test_a_deployment_without_a_vuln_service_migrates_the_fleet_service_alone(aws, state_of):
    deployment = aws.seed_fleet(vuln_service=None)
    before = state_of(deployment)
    document = deployment.migration_input(poll_interval_seconds=5)
    assert "vuln_service" not in document

    run = aws.run(document, name="fleet-fleet-r2")

    assert_succeeded(run)
    assert run.output["services"] == [{"name": "fleet", "desired_count": 2}]
    assert state_of(deployment) == before


def test_a_vuln_service_left_out_of_the_input_is_not_touched(aws, fleet, fast_input, state_of):
    before = state_of(fleet)

    run = aws.run(fast_input(vuln_service=DROP), name="fleet-fleet-r2")

    assert_succeeded(run)
    assert run.output["services"] == [{"name": "fleet", "desired_count": 2}]
    assert state_of(fleet) == before
    vuln_tasks = aws.client("ecs").list_tasks(
        cluster="fleet", serviceName="fleet-vuln-processing", desiredStatus="STOPPED"
    )["taskArns"]
    assert vuln_tasks == []


def test_a_service_without_autoscaling_is_restored_without_creating_a_target(aws, state_of):
    deployment = aws.seed_fleet(autoscaling=None)
    before = state_of(deployment)
    assert "min_capacity" not in before["fleet"]

    run = aws.run(deployment.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    assert_succeeded(run)
    assert state_of(deployment) == before


def test_a_first_deploy_whose_old_tasks_never_became_healthy_is_migrated(aws, state_of):
    # GIVEN revision 1 of a new install: its tasks stay PENDING until the database is migrated
    deployment = aws.seed_fleet(healthy=False, revisions=1)
    before = state_of(deployment)
    # ... and the tasks started after the migration are healthy
    aws.service_behaviour("fleet").healthy = True
    aws.service_behaviour("fleet-vuln-processing").healthy = True

    run = aws.run(deployment.migration_input(poll_interval_seconds=5), name="fleet-fleet-r1")

    assert_succeeded(run)
    assert run.output["services"][0] == {"name": "fleet", "desired_count": 2}
    assert state_of(deployment) == before
    assert aws.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"][0]["runningCount"] == 2


def test_a_null_desired_count_restores_the_count_found_before(aws, state_of):
    deployment = aws.seed_fleet(desired_count=3, vuln_desired_count=2)
    before = state_of(deployment)

    run = aws.run(deployment.migration_input(poll_interval_seconds=5, desired_count=None), name="fleet-fleet-r2")

    assert_succeeded(run)
    assert run.output["services"] == [
        {"name": "fleet", "desired_count": 3},
        {"name": "fleet-vuln-processing", "desired_count": 2},
    ]
    assert state_of(deployment) == before


def test_a_given_desired_count_and_max_capacity_are_applied_to_the_fleet_service(aws, fleet, fast_input, state_of):
    before = state_of(fleet)

    run = aws.run(fast_input(desired_count=4, max_capacity=6), name="fleet-fleet-r2")

    assert_succeeded(run)
    assert run.output["services"] == [
        {"name": "fleet", "desired_count": 4},
        {"name": "fleet-vuln-processing", "desired_count": 1},
    ]
    assert state_of(fleet) == {
        "fleet": {**before["fleet"], "desired_count": 4, "max_capacity": 6},
        "fleet-vuln-processing": before["fleet-vuln-processing"],
    }
    assert aws.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"][0]["runningCount"] == 4


def test_a_zero_stabilize_timeout_succeeds_without_waiting_for_the_tasks(aws, fleet, fast_input):
    run = aws.run(fast_input(stabilize_timeout_seconds=0), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED"
    assert CHECK_STABLE not in run.states_entered
    assert run.output["services"][0] == {"name": "fleet", "desired_count": 2}


def test_a_capacity_during_migration_above_zero_keeps_that_many_tasks_during_the_migration(
    aws, fleet, fast_input, state_of
):
    before = state_of(fleet)

    run = aws.run(fast_input(capacity_during_migration=1), name="fleet-fleet-r2")

    assert_succeeded(run)
    ecs = aws.client("ecs")
    # fleet went from 2 tasks to 1 and back: one task stopped; vuln processing runs 1 and kept it
    assert len(ecs.list_tasks(cluster="fleet", serviceName="fleet", desiredStatus="STOPPED")["taskArns"]) == 1
    assert (
        ecs.list_tasks(cluster="fleet", serviceName="fleet-vuln-processing", desiredStatus="STOPPED")["taskArns"] == []
    )
    assert state_of(fleet) == before


def test_a_migration_restores_the_targets_suspended_state_exactly(aws, fleet, fast_input, state_of):
    # the seeded target has scheduled scaling suspended by its owner: the migration suspends everything, then
    # must give back exactly that (neither all off nor all still held)
    assert state_of(fleet)["fleet"]["suspended"] == SEEDED_SUSPENDED_STATE

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert_succeeded(run)
    assert state_of(fleet)["fleet"]["suspended"] == SEEDED_SUSPENDED_STATE
