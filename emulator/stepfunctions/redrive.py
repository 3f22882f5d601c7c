"""Step Functions' Redrive, which moto's interpreter lacks: ``$$.Execution.RedriveCount`` and ``Emulator.redrive``.

The context object's ``Execution`` carries ``RedriveCount`` (0 until the execution is redriven) and, once
redriven, ``RedriveTime`` ("Accessing execution data from the Context object", Step Functions Developer
Guide). RedriveExecution "continues the failed execution from the unsuccessful step and uses the same
input", keeps the execution ARN and the history of what ran before, and counts the redrive
(RedriveExecution and ExecutionRedrivenEventDetails, Step Functions API Reference). Only FAILED, ABORTED
and TIMED_OUT executions can be redriven. Here the unsuccessful step is the last state the execution
entered, run again with the input it had then; the history goes on after an ``ExecutionRedriven`` event.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from moto.stepfunctions.parser.api import ExecutionRedrivenEventDetails, ExecutionStatus, HistoryEventType
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from emulator.patching import Patches

REDRIVABLE = {"FAILED", "ABORTED", "TIMED_OUT"}


@dataclass
class Redrive:
    count: int
    time: str
    start_at: str
    state_input: Any
    history: list[dict[str, Any]]


class ExecutionNotRedrivable(Exception):
    """RedriveExecution's error for an execution that is running or succeeded."""


def _environment(original: Any, worker: ExecutionWorker) -> Any:
    env = original(worker)
    redriven: Redrive | None = getattr(worker, "redriven", None)
    execution = env.states.context_object.context_object_data["Execution"]
    execution["RedriveCount"] = redriven.count if redriven else 0
    if redriven:
        execution["RedriveTime"] = redriven.time
        env.states.reset(redriven.state_input)  # $ at the state run again; $$.Execution.Input stays the original
        manager = env.event_manager
        manager._history_event_list.extend(redriven.history)
        manager._event_id_gen._next_id = len(redriven.history) + 1
    return env


class _RedrivenWorker(ExecutionWorker):
    """Runs the definition from the unsuccessful state, announcing the redrive instead of a start."""

    redriven: Redrive

    def _get_evaluation_entrypoint(self) -> Any:
        definition = json.loads(self._evaluation_details.state_machine_details.definition)
        definition["StartAt"] = self.redriven.start_at
        return AmazonStateLanguageParser.parse(json.dumps(definition))[0]

    def _execution_logic(self) -> None:
        program = self._get_evaluation_entrypoint()
        self.env = self._get_evaluation_environment()
        self.env.event_manager.add_event(
            context=self.env.event_history_context,
            event_type=HistoryEventType.ExecutionRedriven,
            event_details=EventDetails(
                executionRedrivenEventDetails=ExecutionRedrivenEventDetails(redriveCount=self.redriven.count)
            ),
            update_source_event_id=False,
        )
        program.eval(self.env)
        self._execution_communication.terminated()


def redrive(execution: Execution) -> None:
    """Redrive an execution of moto's backend: RUNNING again from where it ended, RedriveCount one more."""
    if execution.status not in REDRIVABLE:
        raise ExecutionNotRedrivable(f"Execution {execution.exec_arn} is {execution.status}; it cannot be redriven")
    previous = execution.exec_worker
    history = previous.env.event_manager.get_event_history()
    entered = [event for event in history if "stateEnteredEventDetails" in event][-1]["stateEnteredEventDetails"]
    before: Redrive | None = getattr(previous, "redriven", None)
    fresh = execution._get_start_execution_worker()
    worker = _RedrivenWorker(
        evaluation_details=fresh._evaluation_details,
        exec_comm=fresh._execution_communication,
        cloud_watch_logging_session=fresh._cloud_watch_logging_session,
        activity_store=fresh._activity_store,
    )
    worker.redriven = Redrive(
        count=(before.count if before else 0) + 1,
        time=datetime.datetime.now(tz=datetime.UTC).isoformat(),
        start_at=entered["name"],
        state_input=json.loads(entered.get("input") or "null"),
        history=list(history),
    )
    execution.exec_worker = worker
    execution.exec_status = ExecutionStatus.RUNNING
    execution.stop_date = None
    execution.error = None
    execution.cause = None
    worker.start()


def install() -> Patches:
    """Every execution's context object carries RedriveCount; the returned ``Patches`` puts moto's own back on exit."""
    patches = Patches()
    patches.wrap(ExecutionWorker, "_get_evaluation_environment", _environment)
    return patches
