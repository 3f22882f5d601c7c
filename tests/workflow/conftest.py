"""Fixtures of the workflow tests: whole executions of the real ASL and handlers on the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import Emulator, FleetDeployment


@pytest.fixture
def state_of(aws: Emulator):
    """``state_of(fleet)``: what rollback must put back, for every service of a deployment."""

    def read(deployment: FleetDeployment) -> dict:
        names = [deployment.service] + ([deployment.vuln_service] if deployment.vuln_service else [])
        return {name: aws.service_state(deployment.cluster, name) for name in names}

    return read


@pytest.fixture
def migration_tasks_left(aws: Emulator):
    """``migration_tasks_left()``: one-off tasks still running once a stop has had time to land."""

    def left() -> list[str]:
        aws.clock.advance(5)  # a stopped task takes a moment to reach STOPPED; the execution is over
        return aws.ecs_sim.running_tasks(one_off=True)

    return left


# The calls that change something: a test of an execution that must change nothing counts them.
CHANGES = [("ecs", "UpdateService"), ("application-autoscaling", "RegisterScalableTarget"), ("ecs", "RunTask")]


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Emulator, FleetDeployment]]:
    """One emulator for a module whose executions change nothing (each test checks that itself)."""
    with Emulator(simulated=True) as aws:
        yield aws, aws.seed_fleet()


@pytest.fixture
def everything(shared):
    """``everything()``: the services' state and how many changing calls were made so far."""
    aws, fleet = shared

    def read() -> dict:
        state = {name: aws.service_state(fleet.cluster, name) for name in (fleet.service, fleet.vuln_service)}
        return {"services": state, "changes": [aws.faults.calls[call] for call in CHANGES]}

    yield read
    aws.faults.clear()
