"""The emulator's clocks. Stepped, for the tests that call the steps themselves: time moves only when the test moves
it, and an advance returns once everything due by then has happened. Simulated, for whole executions: time moves
only when every execution and the test wait on it, to the next moment one of them waits for."""

from __future__ import annotations

import threading

import pytest
from moto.ecs.models import ecs_backends

from emulator import Emulator
from emulator.clock import Clock

pytestmark = pytest.mark.fleet(service_revision=2, load_balancer=False)


def test_a_stepped_clock_stands_still_while_code_runs():
    clock = Clock(stepped=True)
    before = clock.now()

    sum(range(200_000))  # work that takes real time

    assert clock.now() == before


def test_a_stepped_clock_moves_by_what_sleeps_on_it():
    clock = Clock(stepped=True)
    before = clock.now()

    clock.sleep(2.5)  # an SDK's retry backoff, say

    assert clock.now() == before + 2.5


def test_an_advance_returns_once_the_tasks_due_to_stop_have_stopped(emu, deployment):
    emu.client("ecs").update_service(cluster="fleet", service="fleet", desiredCount=0)

    emu.clock.advance(5)

    # moto's own objects, read without an API call that would bring them up to date first
    backend = ecs_backends["123456789012"]["us-east-1"]
    service_tasks = [task for task in backend.tasks["fleet"].values() if task.group == "service:fleet"]
    assert service_tasks and {task.status for task in service_tasks} == {"STOPPED"}
    assert backend.services["fleet:fleet"].running_count == 0


# -- the simulated clock of whole executions -----------------------------------------------------------------


def _execution(clock: Clock, naps: list[float], woke_at: list[float]) -> threading.Thread:
    """An execution's thread: held from its start, it sleeps ``naps`` on the clock and notes when it woke."""
    clock.hold()

    def run() -> None:
        try:
            for nap in naps:
                clock.sleep(nap)
                woke_at.append(clock.now() - start)
        finally:
            clock.release()

    start = clock.now()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_simulated_clock_stands_still_while_the_test_works():
    clock = Clock(simulated=True)
    before = clock.now()

    sum(range(200_000))

    assert clock.now() == before


def test_a_simulated_clock_stands_still_while_an_execution_works_even_when_the_test_waits():
    clock = Clock(simulated=True)
    before = clock.now()
    working = threading.Event()
    clock.hold()
    threading.Thread(target=working.wait, daemon=True).start()

    assert not clock.wait_until(lambda: clock.now() > before, timeout=0.3)
    working.set()
    clock.release()


def test_time_moves_to_each_wake_up_once_everyone_sleeps_and_no_further():
    clock = Clock(simulated=True)
    woke_at: list[float] = []
    thread = _execution(clock, [30, 0.5, 600], woke_at)

    assert clock.wait_until(lambda: not thread.is_alive(), timeout=5)

    assert woke_at == [30, 30.5, 630.5]


def test_two_executions_wake_at_their_own_moments_whatever_the_machine_does():
    clock = Clock(simulated=True)
    first: list[float] = []
    second: list[float] = []
    threads = [_execution(clock, [10, 10, 10], first), _execution(clock, [15, 15], second)]

    assert clock.wait_until(lambda: not any(thread.is_alive() for thread in threads), timeout=5)

    assert (first, second) == ([10, 20, 30], [15, 30])


def test_the_test_sees_every_moment_at_which_everything_sleeps_before_time_moves_on():
    clock = Clock(simulated=True)
    start = clock.now()
    woke_at: list[float] = []
    seen: list[float] = []
    _execution(clock, [5, 5, 5], woke_at)

    def look() -> bool:
        seen.append(clock.now() - start)
        return len(woke_at) == 3

    assert clock.wait_until(look, timeout=5)
    assert [moment for moment in seen if moment > 0] == [5, 10, 15]


def test_time_does_not_move_while_the_test_does_not_wait():
    clock = Clock(simulated=True)
    woke_at: list[float] = []
    thread = _execution(clock, [5], woke_at)

    thread.join(0.3)

    assert thread.is_alive() and woke_at == []
    clock.close()


def test_a_wait_that_is_stopped_ends_without_time_moving():
    clock = Clock(simulated=True)
    before = clock.now()
    stop = threading.Event()
    clock.hold()  # an execution still works: time cannot move
    threading.Timer(0.1, stop.set).start()

    clock.sleep(3600, stopped=stop.is_set)  # a Wait state whose execution is stopped meanwhile

    assert clock.now() == before


def test_a_condition_that_nothing_can_bring_about_fails_at_the_timeout():
    clock = Clock(simulated=True)

    assert not clock.wait_until(lambda: False, timeout=0.2)


def test_a_simulated_clock_cannot_serve_a_client_in_another_process():
    with pytest.raises(ValueError, match="another process"):
        Emulator(simulated=True, server=True)
