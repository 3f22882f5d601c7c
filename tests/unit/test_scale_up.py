"""The scale-up and the wait until Fleet serves ("Scale the services up", "Check whether the services are
stable"): handlers scale_up.py and check_stable.py, phase scale_up.py.

Each handler is called directly with a fake Lambda context on the emulator, whose clock the tests step; the
fixtures that bring a migration to each step are in conftest.py.
"""

from __future__ import annotations

import json

import pytest
from step_support import FREE, caught

import check_stable
import scale_up
from emulator.fleet.load_balancer import FLEET_TARGET_GROUP
from fleet_migration.errors import ServiceNotStable


def test_scale_up_puts_back_the_counts_and_autoscaling_found_before(emu, migrated, lambda_context, state_of):
    before = state_of()

    scale_up.lambda_handler(migrated(), lambda_context)

    assert state_of() == before


def test_scale_up_applies_the_requested_count_and_maximum(emu, migrated, lambda_context, state_of):
    scale_up.lambda_handler(migrated(desired_count=3, max_capacity=5), lambda_context)

    assert state_of() == {
        "fleet": {"desired_count": 3, "min_capacity": 2, "max_capacity": 5, "suspended": FREE},
        "fleet-vuln-processing": {"desired_count": 1},
    }


def test_the_services_are_stable_once_the_desired_count_runs_healthy_behind_the_load_balancer(
    emu, migrated, lambda_context
):
    emu.service_behaviour("fleet").start_seconds = 60
    state = scale_up.lambda_handler(migrated(stable_seconds=0), lambda_context)
    assert check_stable.lambda_handler(state, lambda_context)["stabilize"]["done"] is False
    emu.clock.advance(61)
    state = check_stable.lambda_handler(state, lambda_context)
    assert state["stabilize"]["done"] is False  # running, but the target group's checks have not passed yet
    assert "0 of 2 healthy in target group" in state["stabilize"]["detail"]
    emu.clock.advance(10)  # the tests' target group: healthy after 2 checks 5 s apart

    state = check_stable.lambda_handler(state, lambda_context)

    assert state["stabilize"]["done"] is True
    assert state["result"]["exit_code"] == 0
    assert state["result"]["task_arn"] == state["task"]["arn"]
    assert state["result"]["services"] == [
        {"name": "fleet", "desired_count": 2},
        {"name": "fleet-vuln-processing", "desired_count": 1},
    ]
    assert state["result"]["duration_seconds"] >= 0


def test_one_task_short_of_the_desired_count_is_not_stable(emu, migrated, lambda_context):
    emu.service_behaviour("fleet").capacity = 1  # room for one task only: the other stays PENDING
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=30, stable_seconds=0), lambda_context)
    emu.clock.advance(5)

    state = check_stable.lambda_handler(state, lambda_context)
    assert state["stabilize"]["done"] is False
    assert state["stabilize"]["detail"] == "fleet: 1 of 2 running"
    emu.clock.advance(30)
    with pytest.raises(ServiceNotStable, match="fleet: 1 of 2 running"):
        check_stable.lambda_handler(state, lambda_context)


# The service on the latest revision and ECS's rollout alone (the load balancer's part: test_emulator_elb_targets.py)
@pytest.mark.fleet(service_revision=2, load_balancer=False)
def test_a_service_ecs_moves_back_to_an_older_revision_during_the_scale_up_is_not_stable(emu, migrated, lambda_context):
    # GIVEN the scale-up of the revision migrated
    state = scale_up.lambda_handler(migrated(stable_seconds=0), lambda_context)
    emu.clock.advance(5)
    # WHEN a new PRIMARY deployment on an older revision appears, as ECS's circuit breaker rolls back
    emu.client("ecs").update_service(cluster="fleet", service="fleet", taskDefinition="fleet:1")

    # THEN the older binary serving is not success: the cause names the revision ECS went back to
    with pytest.raises(ServiceNotStable) as unstable:
        check_stable.lambda_handler(state, lambda_context)
    assert unstable.value.details["rolled_back_to"] == "fleet:1"
    assert "ECS rolled fleet back to fleet:1" in unstable.value.message


@pytest.mark.fleet(service_revision=2, load_balancer=False)
def test_a_deployment_ecs_marks_failed_is_not_stable_as_soon_as_it_is_seen(emu, migrated, lambda_context):
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=3600), lambda_context)
    emu.clock.advance(5)
    behaviour = emu.service_behaviour("fleet")
    behaviour.crash_exit_code, behaviour.circuit_breaker = 1, True
    emu.client("ecs").update_service(cluster="fleet", service="fleet", taskDefinition="fleet:1")
    for _ in range(4):  # each failed task is replaced until the circuit breaker trips (3 failures)
        emu.clock.advance(1.5)
        emu.ecs_sim.tick()

    with pytest.raises(ServiceNotStable) as unstable:
        check_stable.lambda_handler(state, lambda_context)

    assert "FAILED: ECS deployment circuit breaker" in unstable.value.message
    assert unstable.value.details["rolled_back"] is False


def test_tasks_that_keep_crashing_after_the_scale_up_are_not_stable_before_the_timeout(emu, migrated, lambda_context):
    emu.service_behaviour("fleet").crash_exit_code = 2
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=3600), lambda_context)

    checks = 0
    with pytest.raises(ServiceNotStable) as unstable:
        for checks in range(1, 11):  # noqa: B007 - read after the loop: which check raised
            emu.clock.advance(1.5)
            state = check_stable.lambda_handler(state, lambda_context)

    # the scale-up's two tasks crash (1 s), their replacements too (2.5 s): at the second check, 4 failed tasks
    # pass the limit of 3 (ECS's circuit breaker threshold); the scale-up's own tasks count
    assert checks == 2
    assert "the tasks of fleet keep crashing: 4 of its tasks failed since the scale-up" in unstable.value.message
    assert "EssentialContainerExited" in unstable.value.message


def test_a_zero_stabilize_timeout_does_not_wait(migrated, lambda_context):
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=0), lambda_context)

    assert state["stabilize"]["done"] is True
    assert state["result"]["exit_code"] == 0


def test_services_short_of_their_count_after_the_timeout_are_not_stable_but_not_rolled_back(
    emu, migrated, lambda_context
):
    emu.service_behaviour("fleet").healthy = False
    state = scale_up.lambda_handler(migrated(stabilize_timeout_seconds=30), lambda_context)
    emu.clock.advance(31)

    with pytest.raises(ServiceNotStable) as unstable:
        check_stable.lambda_handler(state, lambda_context)

    assert unstable.value.details["rolled_back"] is False
    assert unstable.value.details["exit_code"] == 0
    assert unstable.value.details["services"][0] == {"name": "fleet", "desired_count": 2}
    assert "fleet: 0 of 2 running" in unstable.value.message
    assert "stabilize_timeout_seconds=30" in unstable.value.message


# -- the way back up: fast health checks, the page down when Fleet serves, tasks that must last ----------------


def health_check_of(emu, deployment) -> tuple[int, int, int]:
    group = emu.client("elbv2").describe_target_groups(TargetGroupArns=[deployment.target_group_arn])["TargetGroups"][0]
    return group["HealthCheckIntervalSeconds"], group["HealthCheckTimeoutSeconds"], group["HealthyThresholdCount"]


def until_stable(emu, state, lambda_context, seconds: int = 120) -> dict:
    for _ in range(seconds):
        if state["stabilize"]["done"]:
            return state
        emu.clock.advance(1)
        state = check_stable.lambda_handler(state, lambda_context)
    raise AssertionError(f"not stable after {seconds} s: {state['stabilize']['detail']}")


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_the_scale_up_makes_the_health_checks_fast_and_puts_them_back_once_fleet_serves(
    emu, deployment, migrated, lambda_context
):
    # GIVEN Fleet's own target group: 5 checks 15 s apart, 10 s timeout (75 s to call a new task healthy)
    assert health_check_of(emu, deployment) == (15, 10, 5)

    state = scale_up.lambda_handler(migrated(), lambda_context)

    # THEN while Fleet comes back: 2 checks 5 s apart, the timeout below the interval
    assert health_check_of(emu, deployment) == (5, 4, 2)
    state = until_stable(emu, check_stable.lambda_handler(state, lambda_context), lambda_context)
    assert health_check_of(emu, deployment) == (15, 10, 5)


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_fleet_serves_within_the_fast_health_checks_not_its_own(emu, deployment, migrated, lambda_context):
    state = scale_up.lambda_handler(migrated(stable_seconds=0), lambda_context)

    emu.clock.advance(15)  # tasks RUNNING after about a second, then 2 checks 5 s apart

    assert check_stable.lambda_handler(state, lambda_context)["fleet_serving_at"] is not None


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_null_health_check_settings_leave_the_target_groups_alone(emu, deployment, migrated, lambda_context):
    scale_up.lambda_handler(migrated(health_check_interval_seconds=None, healthy_threshold_count=None), lambda_context)

    assert health_check_of(emu, deployment) == (15, 10, 5)


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_the_rollback_puts_the_health_checks_back(emu, deployment, migrated, roll_back, lambda_context):
    state = scale_up.lambda_handler(migrated(), lambda_context)
    assert health_check_of(emu, deployment) == (5, 4, 2)

    failure = roll_back(state, caught("ServiceNotStable", "could not scale up"))

    assert health_check_of(emu, deployment) == (15, 10, 5)
    restored = json.loads(failure["cause"])["target_groups"]
    assert {
        "target_group": deployment.target_group_arn,
        "health_check": {"interval_seconds": 15, "timeout_seconds": 10, "healthy_threshold_count": 5},
    } in restored


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_the_maintenance_page_comes_down_as_soon_as_fleet_serves_not_when_the_vuln_service_is_stable(
    emu, deployment, migrated, lambda_context
):
    state = scale_up.lambda_handler(migrated(maintenance_page=True, stable_seconds=60), lambda_context)
    assert emu.elb.answer(deployment.listener_arn)[0] == 503

    emu.clock.advance(15)
    state = check_stable.lambda_handler(state, lambda_context)

    assert state["stabilize"]["done"] is False  # the tasks have not run 60 s yet
    assert emu.elb.answer(deployment.listener_arn)[0] == 200


@pytest.mark.fleet(load_balancer=False)
def test_a_service_with_no_load_balancer_is_stable_only_once_its_tasks_have_run_stable_seconds(
    emu, migrated, lambda_context
):
    state = scale_up.lambda_handler(migrated(stable_seconds=30), lambda_context)
    emu.clock.advance(10)
    state = check_stable.lambda_handler(state, lambda_context)
    assert state["stabilize"]["done"] is False
    assert "running for less than 30 s" in state["stabilize"]["detail"]

    emu.clock.advance(25)

    assert check_stable.lambda_handler(state, lambda_context)["stabilize"]["done"] is True


@pytest.mark.fleet(load_balancer=False)
def test_tasks_that_must_only_run_longer_are_looked_at_again_when_they_have_or_every_few_seconds_before(
    emu, migrated, lambda_context
):
    state = scale_up.lambda_handler(migrated(stable_seconds=30), lambda_context)  # polls every second
    emu.clock.advance(10)
    state = check_stable.lambda_handler(state, lambda_context)
    assert state["stabilize"]["next_poll_seconds"] == 5  # not every second: only a crash could change the answer

    emu.clock.advance(18)
    state = check_stable.lambda_handler(state, lambda_context)
    assert 1 <= state["stabilize"]["next_poll_seconds"] <= 3  # when the youngest task has run 30 s
    emu.clock.advance(state["stabilize"]["next_poll_seconds"])

    assert check_stable.lambda_handler(state, lambda_context)["stabilize"]["done"] is True


@pytest.mark.fleet(load_balancer=False)
def test_a_crash_loop_with_no_load_balancer_is_never_stable(emu, migrated, lambda_context):
    # GIVEN a schema its binary finds missing migrations in (restored from a backup meanwhile, say): fleet serve
    # reaches RUNNING, then exits 1 about a second later, on every task
    state = migrated(stabilize_timeout_seconds=600)
    emu.fleet_db.reset(0)
    state = scale_up.lambda_handler(state, lambda_context)

    # WHEN the check looks, again and again
    with pytest.raises(ServiceNotStable) as unstable:
        for _ in range(120):
            emu.clock.advance(1)
            state = check_stable.lambda_handler(state, lambda_context)
            assert state["stabilize"]["done"] is False, "called stable between two crashes"

    # THEN it is never called stable: its tasks keep crashing
    assert "keep crashing" in unstable.value.message
