"""One migration per service at a time, even when two start in the same instant."""

from __future__ import annotations

import threading

from workflow_support import DESCRIBE, FAIL_STATE, cause_of, last_state, tasks_entered


def start_together(aws, document, names: list[str]) -> dict[str, str]:
    """Start one execution per name from as many threads, released at once."""
    barrier, arns, threads = threading.Barrier(len(names)), {}, []

    def start(name: str) -> None:
        barrier.wait()
        arns[name] = aws.start(document, name=name)

    for name in names:
        threads.append(threading.Thread(target=start, args=(name,)))
        threads[-1].start()
    for thread in threads:
        thread.join()
    return arns


def test_of_two_executions_started_at_once_exactly_one_migrates(aws, fleet, fast_input, state_of):
    before = state_of(fleet)

    arns = start_together(aws, fast_input(), ["fleet-fleet-r2", "fleet-fleet-r2-console"])
    runs = {name: aws.wait(arn) for name, arn in arns.items()}

    outcomes = sorted((run.status, run.error) for run in runs.values())
    assert outcomes == [("FAILED", "MigrationInProgress"), ("SUCCEEDED", None)]
    winner = next(run for run in runs.values() if run.status == "SUCCEEDED")
    loser = next(run for run in runs.values() if run.status == "FAILED")
    assert tasks_entered(loser) == [DESCRIBE]
    assert last_state(loser) == FAIL_STATE["MigrationInProgress"]
    cause = cause_of(loser)
    assert cause["running_execution_arn"] == winner.arn
    assert "nothing was changed" in cause["message"]
    assert len({call["clientToken"] for call in aws.ecs_sim.run_task_calls}) == 1
    assert state_of(fleet) == before


def test_an_execution_started_while_another_migrates_fails_fast(aws, fleet, fast_input, state_of):
    before = state_of(fleet)
    aws.next_migration(run_seconds=10)
    first = aws.start(fast_input(), name="fleet-fleet-r2")
    aws.until(lambda: aws.ecs_sim.run_task_calls, "the first migration starting its task")

    second = aws.run(fast_input(), name="fleet-fleet-r2-a2")

    assert (second.status, second.error) == ("FAILED", "MigrationInProgress")
    assert tasks_entered(second) == [DESCRIBE]
    assert aws.wait(first).status == "SUCCEEDED"
    assert state_of(fleet) == before


def test_migrations_of_two_services_in_one_cluster_run_side_by_side(aws, fleet, fast_input, state_of):
    # GIVEN a second Fleet deployment (another service) in the same cluster, serving the same older release
    network = {"awsvpcConfiguration": {"subnets": fleet.subnets, "securityGroups": fleet.security_groups}}
    aws.client("ecs").create_service(
        cluster=fleet.cluster,
        serviceName="fleet-staging",
        taskDefinition="fleet:1",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network,
    )
    before = state_of(fleet)
    aws.next_migration(runs_forever=True)  # production's, until the test ends it

    # WHEN the staging migration runs from start to end while production's migration task runs
    production = aws.start(fast_input(), name="fleet-fleet-r2")
    aws.until(lambda: aws.ecs_sim.running_tasks(one_off=True), "the migration task starting")
    (production_task,) = aws.ecs_sim.running_tasks(one_off=True)
    staging = aws.run(fast_input(ecs_service="fleet-staging", vuln_service=""), name="fleet-fleet-staging-r2")
    aws.ecs_sim.end_migration(production_task, exit_code=0)

    # THEN neither blocks the other
    assert staging.status == "SUCCEEDED", staging.cause
    assert aws.wait(production).status == "SUCCEEDED"
    assert len(aws.ecs_sim.run_task_calls) == 2
    assert state_of(fleet) == before
