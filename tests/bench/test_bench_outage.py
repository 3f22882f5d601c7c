"""The outage benchmark's arithmetic (bench/outage.py): seconds with no healthy target, from a health history."""

from __future__ import annotations

import pytest

from bench.outage import outage_seconds, work_seconds

# Two tasks healthy, both deregistered at 100, one new task healthy at 215, a second at 216.
HISTORY = [(0.0, 2), (100.0, 0), (215.0, 1), (216.0, 2)]


def test_the_outage_is_the_time_between_the_last_healthy_target_leaving_and_the_first_coming_back():
    assert outage_seconds(HISTORY, since=50.0, until=300.0) == 115.0


def test_a_group_never_empty_had_no_outage():
    assert outage_seconds([(0.0, 2), (100.0, 1), (150.0, 2)], since=0.0, until=300.0) == 0.0


def test_an_outage_still_under_way_counts_up_to_the_end_of_the_measurement():
    assert outage_seconds(HISTORY[:2], since=50.0, until=160.0) == 60.0


def test_only_the_measured_window_counts():
    # GIVEN an outage from 100 to 215 WHEN the window starts during it and ends before it ends
    assert outage_seconds(HISTORY, since=120.0, until=200.0) == 80.0


def test_before_the_first_change_the_group_had_no_healthy_target():
    assert outage_seconds([(10.0, 1)], since=0.0, until=20.0) == 10.0


def test_two_outages_add_up():
    history = [(0.0, 1), (10.0, 0), (12.0, 1), (20.0, 0), (25.0, 1)]
    assert outage_seconds(history, since=0.0, until=30.0) == pytest.approx(7.0)


def test_the_unavoidable_work_is_drain_task_and_the_new_tasks_start_and_checks():
    # Fleet's drain (300 s delay + 2 s stop), the migration task (40 + 60), the new tasks (40 s + 5 x 15 s)
    assert work_seconds(302.0, 100.0, 115.0) == 517.0


def test_a_run_with_the_maintenance_page_succeeds_and_its_client_sees_the_page_then_fleet():
    from bench.outage import FleetTimeline, measure, ours

    # GIVEN Fleet's timeline on a fast clock WHEN the workflow migrates with the page
    row = measure("page", "page", speed=200, timeline=FleetTimeline(), run=ours(maintenance_page=True))
    # THEN the execution succeeded, and a client got Fleet, then the page, then Fleet again
    assert row.result == "SUCCEEDED"
    kinds = [kind for _, kind in row.timeline["answers"]]
    assert kinds[0] == "fleet" and "page" in kinds and kinds[-1] == "fleet"
