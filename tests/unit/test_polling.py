"""How long each wait sleeps before looking again."""

from __future__ import annotations

import json

from bench import history
from fleet_migration.execution_input import MigrationInput
from fleet_migration.models import Execution, Migration
from fleet_migration.polling import (
    DEFAULT_POLL_SECONDS,
    MAX_POLL_SECONDS,
    SETTLING_POLL_SECONDS,
    YOUNG_SECONDS,
    capped,
    next_poll_seconds,
    settling_wait,
)

HISTORY_LIMIT = 25_000
EVENTS_PER_POLL = 9  # Wait entered/exited, Task entered/scheduled/started/succeeded/exited, Choice entered/exited
REQUIRED = {
    "ecs_cluster": "fleet",
    "ecs_service": "fleet",
    "task_definition": "fleet",
    "task_definition_revision": 2,
    "subnets": ["subnet-1"],
    "security_groups": ["sg-1"],
}


def schedule(interval: int | None, until: float) -> list[int]:
    """The waits between polls of a wait that lasts ``until`` seconds."""
    elapsed, waits = 0.0, []
    while elapsed < until:
        waits.append(next_poll_seconds(elapsed, interval))
        elapsed += waits[-1]
    return waits


def test_a_young_wait_at_the_default_polls_every_second_for_its_first_minute():
    assert schedule(None, 60) == [1] * 60


def test_a_young_wait_at_the_default_then_polls_every_two_seconds_until_three_minutes():
    assert set(schedule(None, YOUNG_SECONDS)[60:]) == {2}
    assert YOUNG_SECONDS == 180 and len(schedule(None, YOUNG_SECONDS)) == 120


def test_an_older_wait_at_the_default_polls_every_five_seconds_then_backs_off():
    assert next_poll_seconds(YOUNG_SECONDS, None) == DEFAULT_POLL_SECONDS == 5
    assert next_poll_seconds(600, None) == 15
    assert next_poll_seconds(3600, None) == 90


def test_an_interval_the_caller_chose_is_used_from_the_first_poll_while_the_wait_is_young():
    assert next_poll_seconds(0, 5) == 5
    assert next_poll_seconds(0, 10) == 10
    assert next_poll_seconds(YOUNG_SECONDS - 1, 1) == 1


def test_an_older_wait_backs_off_even_at_an_interval_the_caller_chose():
    assert next_poll_seconds(YOUNG_SECONDS, 1) == 4
    assert next_poll_seconds(600, 1) == 15
    assert next_poll_seconds(3000, 5) == 75


def test_the_backoff_never_polls_faster_than_the_interval_nor_slower_than_five_minutes():
    assert next_poll_seconds(600, 120) == 120
    assert next_poll_seconds(86400, 5) == MAX_POLL_SECONDS == 300
    assert next_poll_seconds(86400, None) == MAX_POLL_SECONDS


def test_a_wait_never_sleeps_more_than_a_second_past_its_deadline():
    assert capped(30, deadline=1000.0, at=990.0) == 11
    assert capped(5, deadline=1000.0, at=900.0) == 5


def test_a_wait_sleeps_at_least_one_second_even_past_its_deadline():
    assert capped(30, deadline=1000.0, at=1010.0) == 1


def test_a_wait_for_time_alone_looks_when_the_time_is_up():
    assert settling_wait(1, left=3.2, deadline=1000.0, at=0.0) == 4


def test_a_wait_for_time_alone_still_looks_for_a_crash_every_few_seconds():
    assert settling_wait(1, left=28.0, deadline=1000.0, at=0.0) == SETTLING_POLL_SECONDS == 5


def test_a_wait_for_time_alone_looks_no_more_often_than_its_schedule_and_not_past_its_deadline():
    assert settling_wait(20, left=60.0, deadline=1000.0, at=0.0) == 20
    assert settling_wait(1, left=28.0, deadline=1000.0, at=997.0) == 4


def test_a_day_long_migration_stays_far_below_the_execution_history_limit():
    for interval in (None, 1):
        polls = len(schedule(interval, 86400))

        assert polls * EVENTS_PER_POLL < HISTORY_LIMIT / 2, interval


def test_every_wait_in_the_state_machine_has_a_deadline_the_worst_case_counts():
    waits = {name for name, state in history._definition()["States"].items() if state["Type"] == "Wait"}

    assert waits == set(history.loop_states()) == set(history.WAIT_DEADLINES)


def test_a_polling_loop_adds_nine_events_per_look():
    states = history._definition()["States"]

    for wait, loop in history.loop_states().items():
        assert sum(history.EVENTS_PER_STATE[states[name]["Type"]] for name in loop) == EVENTS_PER_POLL, wait


def test_no_execution_at_any_allowed_input_comes_near_the_history_limit():
    # every wait to the largest deadline the input allows, at every poll_interval_seconds (left out, or 1..300)
    worst = max(history.worst_case(interval)["events"] for interval in [None, *range(1, 301)])

    assert worst == history.worst_case(1)["events"]
    assert worst < 0.7 * HISTORY_LIMIT, worst


def test_an_omitted_poll_interval_is_the_default_schedule():
    assert MigrationInput.parse(REQUIRED).poll_interval is None


def test_a_null_poll_interval_is_the_default_schedule_too():
    spec = MigrationInput.parse({**REQUIRED, "poll_interval_seconds": None})

    assert (spec.poll_interval, spec.poll_interval_seconds) == (None, DEFAULT_POLL_SECONDS)


def test_a_chosen_poll_interval_is_kept_even_when_it_equals_the_default():
    assert MigrationInput.parse({**REQUIRED, "poll_interval_seconds": 5}).poll_interval == 5


def test_the_state_document_keeps_whether_the_poll_interval_was_chosen():
    execution = Execution(
        id="arn:execution", name="e", state_machine_arn="arn:sm", start_time="2026-01-01T00:00:00+00:00"
    )

    def handed_on(given: dict) -> int | None:
        migration = Migration(
            input=MigrationInput.parse({**REQUIRED, **given}),
            execution=execution,
            cluster_arn="c",
            task_definition_arn="t",
            services=[],
            manual_restore_cause="",
        )
        return Migration.model_validate(json.loads(json.dumps(migration.dump()))).input.poll_interval

    assert (handed_on({}), handed_on({"poll_interval_seconds": 5})) == (None, 5)
