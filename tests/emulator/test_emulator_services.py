"""The emulator's services roll out the way ECS documents: deployments, the circuit breaker, crash loops."""

from __future__ import annotations

import pytest

from emulator.ecs.simulator import circuit_breaker_threshold

# ECS's own mechanics: the service on the latest revision, no load balancer (tests/unit/test_emulator_elb*.py add one)
# and a schema every revision's Fleet accepts (tests/unit/test_emulator_fleet*.py show Fleet's own rules).
pytestmark = pytest.mark.fleet(service_revision=2, load_balancer=False)


def described(emu, service: str = "fleet") -> dict:
    return emu.client("ecs").describe_services(cluster="fleet", services=[service])["services"][0]


def deployments(emu) -> list[tuple[str, str, str]]:
    return [
        (d["status"], d["rolloutState"], d["taskDefinition"].rsplit("/", 1)[-1]) for d in described(emu)["deployments"]
    ]


def test_a_seeded_service_has_one_completed_primary_deployment(emu, deployment):
    assert deployments(emu) == [("PRIMARY", "COMPLETED", "fleet:2")]


def test_a_desired_count_change_starts_no_deployment(emu, deployment):
    before = described(emu)["deployments"][0]["id"]

    emu.client("ecs").update_service(cluster="fleet", service="fleet", desiredCount=3)

    (primary,) = described(emu)["deployments"]
    assert (primary["id"], primary["desiredCount"], primary["rolloutState"]) == (before, 3, "COMPLETED")


def test_a_new_task_definition_rolls_out_a_new_deployment_and_retires_the_old(emu, deployment):
    emu.client("ecs").update_service(cluster="fleet", service="fleet", taskDefinition="fleet:1")

    assert deployments(emu) == [("PRIMARY", "IN_PROGRESS", "fleet:1"), ("ACTIVE", "COMPLETED", "fleet:2")]
    assert described(emu)["runningCount"] == 2  # the old tasks keep serving until the new ones run
    emu.clock.advance(1.5 + 40)  # the new tasks run, count 40 s later (no health check); the old ones are told to stop
    emu.ecs_sim.tick()
    emu.clock.advance(1.5)

    assert deployments(emu) == [("PRIMARY", "COMPLETED", "fleet:1")]
    assert described(emu)["runningCount"] == 2


def test_the_circuit_breaker_fails_a_deployment_whose_tasks_never_run_and_it_launches_no_more(emu, deployment):
    behaviour = emu.service_behaviour("fleet")
    behaviour.crash_exit_code, behaviour.circuit_breaker = 1, True
    emu.client("ecs").update_service(cluster="fleet", service="fleet", taskDefinition="fleet:1")
    for _ in range(3):
        emu.clock.advance(1.5)
        emu.ecs_sim.tick()

    primary = described(emu)["deployments"][0]
    assert (primary["rolloutState"], primary["failedTasks"]) == ("FAILED", 4)
    launched = len(emu.ecs_sim.task_moments())
    emu.clock.advance(10)
    emu.ecs_sim.tick()
    assert len(emu.ecs_sim.task_moments()) == launched


def test_without_the_circuit_breaker_a_crash_loop_goes_on_and_counts_failed_tasks(emu, deployment):
    emu.service_behaviour("fleet").crash_exit_code = 1
    emu.client("ecs").update_service(cluster="fleet", service="fleet", taskDefinition="fleet:1")
    for _ in range(5):
        emu.clock.advance(1.5)
        emu.ecs_sim.tick()

    primary = described(emu)["deployments"][0]
    assert primary["rolloutState"] == "IN_PROGRESS" and primary["failedTasks"] >= 6
    stopped = emu.client("ecs").list_tasks(cluster="fleet", serviceName="fleet", desiredStatus="STOPPED")["taskArns"]
    (task, *_) = emu.client("ecs").describe_tasks(cluster="fleet", tasks=stopped)["tasks"]
    assert (task["stopCode"], task["containers"][0]["exitCode"]) == ("EssentialContainerExited", 1)


def test_failed_tasks_reset_once_a_task_of_the_deployment_runs(emu, deployment):
    emu.service_behaviour("fleet").crash_exit_code = 1
    emu.client("ecs").update_service(cluster="fleet", service="fleet", taskDefinition="fleet:1")
    emu.clock.advance(1.5)
    emu.ecs_sim.tick()
    assert described(emu)["deployments"][0]["failedTasks"] == 2
    emu.service_behaviour("fleet").crash_exit_code = None  # the next replacements start fine
    for _ in range(2):  # the replacements already started crash too, then theirs run
        emu.clock.advance(1.5)
        emu.ecs_sim.tick()

    assert described(emu)["deployments"][0]["failedTasks"] == 0


def test_tasks_without_room_to_run_stay_pending(emu, deployment):
    emu.service_behaviour("fleet").capacity = 1
    emu.client("ecs").update_service(cluster="fleet", service="fleet", desiredCount=0)
    emu.clock.advance(2)
    emu.client("ecs").update_service(cluster="fleet", service="fleet", desiredCount=2)
    emu.clock.advance(2)

    service = described(emu)
    assert (service["runningCount"], service["pendingCount"]) == (1, 1)


def test_the_circuit_breaker_threshold_is_half_the_desired_count_within_3_and_200():
    assert [circuit_breaker_threshold(n) for n in (0, 2, 6, 7, 10, 1000)] == [3, 3, 3, 4, 5, 200]
