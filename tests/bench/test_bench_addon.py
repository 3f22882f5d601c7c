"""The benchmark's model of Fleet's addon (bench/addon.py): its AWS CLI waits on a given ECS timeline."""

from __future__ import annotations

import pytest

from bench import addon

# the benchmark's timeline: drain 0.5 s, migration task 0.5 s to start and 5 s to run, new tasks 0.5 s to start
TIMELINE = {"drain": 0.5, "task_start": 0.5, "task_run": 5.0, "service_start": 0.5}


def test_on_the_benchmark_timeline_the_addon_keeps_fleet_below_full_strength_for_42_and_a_half_seconds():
    # for each service in turn services-stable returns at once (no task RUNNING) and tasks-stopped after 6 s;
    # the task is first looked at 30 s after run-task; then 0.5 s of start
    assert addon.phases(**TIMELINE)["below_count"] == 42.5


def test_of_which_thirty_six_seconds_are_the_addons_own():
    assert addon.phases(**TIMELINE)["total"] == 36.0


def test_the_addon_looks_at_the_migration_task_every_thirty_seconds_from_run_task():
    assert [addon.task_wait_returns_after(s) for s in (5.5, 30, 30.5, 100)] == [30, 30, 60, 120]


def test_a_waiter_sleeps_its_delay_between_looks_until_the_condition_holds():
    # GIVEN a condition that holds at the third look
    looks = iter([False, False, True])
    slept: list[float] = []
    # WHEN the waiter waits
    addon.TASKS_STOPPED.wait(slept.append, lambda: next(looks))
    # THEN it slept twice, 6 s each
    assert slept == [6, 6]


def test_a_waiter_that_never_sees_its_condition_gives_up_after_its_last_look_without_sleeping_again():
    slept: list[float] = []
    with pytest.raises(TimeoutError, match="40 checks"):
        addon.SERVICES_STABLE.wait(slept.append, lambda: False)
    assert len(slept) == 39


def test_a_waiter_that_finds_its_condition_at_once_returns_at_once():
    assert addon.SERVICES_STABLE.returns_after(0) == 0


def test_a_waiter_sees_its_condition_at_the_next_look_after_it_became_true():
    assert addon.TASKS_STOPPED.returns_after(6.01) == 12


def test_a_waiter_gives_up_after_its_last_check():
    with pytest.raises(TimeoutError, match="40 checks"):
        addon.SERVICES_STABLE.returns_after(40 * 15)
