"""The stepped clock of the tests that call the steps themselves: time moves only when the test moves it, and an
advance returns once everything due by then has happened."""

from __future__ import annotations

import pytest
from moto.ecs.models import ecs_backends

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
