"""The benchmark's model of Fleet's addon (bench/addon.py): its AWS CLI waits on a given ECS timeline."""

from __future__ import annotations

import pytest

from bench import addon

# the benchmark's timeline: drain 0.5 s, migration task 0.5 s to start and 5 s to run, new tasks 0.5 s to start
TIMELINE = {"drain": 0.5, "task_start": 0.5, "task_run": 5.0, "service_start": 0.5}


def test_on_the_benchmark_timeline_the_addon_keeps_fleet_below_full_strength_for_36_and_a_half_seconds():
    # services-stable returns after 15 s for each service in turn, tasks-stopped after 6 s, then 0.5 s of start
    assert addon.phases(**TIMELINE)["below_count"] == 36.5


def test_of_which_thirty_seconds_are_the_addons_own():
    assert addon.phases(**TIMELINE)["total"] == 30.0


def test_a_waiter_that_finds_its_condition_at_once_returns_at_once():
    assert addon.SERVICES_STABLE.returns_after(0) == 0


def test_a_waiter_sees_its_condition_at_the_next_look_after_it_became_true():
    assert addon.TASKS_STOPPED.returns_after(6.01) == 12


def test_a_waiter_gives_up_after_its_last_check():
    with pytest.raises(TimeoutError, match="40 checks"):
        addon.SERVICES_STABLE.returns_after(40 * 15)
