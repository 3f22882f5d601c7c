"""Fixtures of the step tests (test_describe.py, test_scale_down.py, test_migration_task.py, test_scale_up.py,
test_rollback.py): each brings a migration to a step by calling the handlers before it.

The emulator's clock is stepped here: the tests move it (``emu.clock.advance``), so
"the tasks have stopped" or "the deadline has passed" costs no waiting.
"""

from __future__ import annotations

import pytest
from step_support import SERVICES

import check_drained
import check_migration_task
import describe_service
import rollback
import run_task
import scale_down
import stop_migration_task
from fleet_migration.executions import execution_name


@pytest.fixture
def state_of(emu):
    return lambda: {name: emu.service_state("fleet", name) for name in SERVICES}


@pytest.fixture
def describe(emu, deployment, execution, lambda_context):
    """``describe(**input_overrides)``: the first step's output for a valid input."""

    def call(**overrides):
        document = deployment.migration_input(poll_interval_seconds=1, **overrides)
        # named as the client and the trigger name it: the describe step refuses a name of another migration
        name = execution_name(document["ecs_cluster"], document["ecs_service"], document["task_definition_revision"])
        event = {"input": document, "execution": execution(name)}
        return describe_service.lambda_handler(event, lambda_context)

    return call


@pytest.fixture
def drained(emu, describe, lambda_context):
    """``drained(**input_overrides)``: the state document once the services have drained."""

    def call(**overrides):
        state = scale_down.lambda_handler(describe(**overrides), lambda_context)
        emu.clock.advance(5 + emu.target_group.deregistration_delay)  # Fleet's tasks drain from the load balancer first
        state = check_drained.lambda_handler(state, lambda_context)
        assert state["drain"]["done"]
        return state

    return call


@pytest.fixture
def started(emu, drained, lambda_context):
    """``started(**input_overrides)``: the state document once the migration task has been started."""
    return lambda **overrides: run_task.lambda_handler(drained(**overrides), lambda_context)


@pytest.fixture
def migrated(emu, started, lambda_context):
    """``migrated(**input_overrides)``: the state document once the migration task exited 0."""

    def call(**overrides):
        state = started(**overrides)
        emu.clock.advance(10)
        state = check_migration_task.lambda_handler(state, lambda_context)
        assert state["task"]["wait"]["done"]
        return state

    return call


@pytest.fixture
def roll_back(emu, lambda_context):
    """``roll_back(state, caught)``: the rollback path as the state machine runs it: stop the migration task,
    wait (on the emulator's clock) until it is STOPPED, then restore. Returns the rollback's ``failure``."""

    def run(state: dict, error: dict) -> dict:
        state = stop_migration_task.lambda_handler({**state, "caught": error}, lambda_context)
        while not state["stopping"]["done"]:
            emu.clock.advance(state["stopping"]["next_poll_seconds"])
            state = stop_migration_task.lambda_handler(state, lambda_context)
        return rollback.lambda_handler(state, lambda_context)["failure"]

    return run
