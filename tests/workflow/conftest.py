"""Fixtures of the workflow tests: whole executions of the real ASL and handlers on the emulator."""

from __future__ import annotations

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
