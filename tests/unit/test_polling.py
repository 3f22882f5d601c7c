"""How long each wait sleeps before looking again."""

from __future__ import annotations

from fleet_migration.polling import FAST_PHASE_SECONDS, MAX_POLL_SECONDS, capped, next_poll_seconds

HISTORY_LIMIT = 25_000
EVENTS_PER_POLL = 8  # Wait entered/exited, Task entered/scheduled/started/succeeded/exited, Choice


def test_a_young_wait_polls_at_the_configured_interval():
    assert next_poll_seconds(0, 5) == 5
    assert next_poll_seconds(FAST_PHASE_SECONDS - 1, 5) == 5


def test_a_long_wait_backs_off_to_a_fraction_of_the_time_already_waited():
    assert next_poll_seconds(FAST_PHASE_SECONDS, 5) == 30
    assert next_poll_seconds(3000, 5) == 150


def test_the_backoff_never_polls_faster_than_the_interval_nor_slower_than_five_minutes():
    assert next_poll_seconds(FAST_PHASE_SECONDS, 120) == 120
    assert next_poll_seconds(86400, 5) == MAX_POLL_SECONDS == 300


def test_a_wait_never_sleeps_more_than_a_second_past_its_deadline():
    assert capped(30, deadline=1000.0, at=990.0) == 11
    assert capped(5, deadline=1000.0, at=900.0) == 5


def test_a_wait_sleeps_at_least_one_second_even_past_its_deadline():
    assert capped(30, deadline=1000.0, at=1010.0) == 1


def test_a_day_long_migration_stays_far_below_the_execution_history_limit():
    elapsed, polls = 0.0, 0
    while elapsed < 86400:
        elapsed += next_poll_seconds(elapsed, 1)
        polls += 1

    assert polls * EVENTS_PER_POLL < HISTORY_LIMIT / 2
