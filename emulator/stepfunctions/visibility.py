"""Step Functions' eventual consistency after StartExecution, which moto does not have.

DescribeExecution "is eventually consistent. The results are best effort and may not reflect very recent
updates and changes" (AWS Step Functions API Reference, DescribeExecution): right after StartExecution
returns, DescribeExecution and GetExecutionHistory of the new execution may still answer
ExecutionDoesNotExist. With ``delay_seconds`` > 0 (emulated time) they do, for that long after each
execution starts; 0 (the default) is moto's read-after-write. The execution itself runs all the while.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.stepfunctions.exceptions import ExecutionDoesNotExist
from moto.stepfunctions.responses import StepFunctionResponse

from emulator.clock import Clock
from emulator.patching import Patches

_READS = ("describe_execution", "get_execution_history")


class ExecutionVisibility:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.delay_seconds = 0.0
        self._started: dict[str, float] = {}  # execution ARN -> clock time of its StartExecution
        self._lock = threading.Lock()
        # (execution ARN, call) of every read answered ExecutionDoesNotExist; read-only (tests)
        self.hidden_reads: list[tuple[str, str]] = []

    def install(self) -> Patches:
        """StartExecution records when; the reads hide the execution that long; the ``Patches`` undoes it on exit."""
        patches = Patches()
        patches.wrap(StepFunctionResponse, "start_execution", self._start_execution)
        for call in _READS:
            patches.wrap(StepFunctionResponse, call, functools.partial(self._read, call))
        return patches

    def _start_execution(self, original: Any, response: StepFunctionResponse) -> Any:
        result = original(response)  # raises when refused: nothing started, nothing to hide
        machine, name = response._get_param("stateMachineArn"), response._get_param("name")
        if machine and name and ":stateMachine:" in machine:
            arn = f"{machine.replace(':stateMachine:', ':execution:', 1)}:{name}"
            with self._lock:
                # an idempotent repeat of a StartExecution does not make the execution new again
                self._started.setdefault(arn, self.clock.now())
        return result

    def _read(self, call: str, original: Any, response: StepFunctionResponse) -> Any:
        arn = response._get_param("executionArn") or ""
        with self._lock:
            started = self._started.get(arn)
            hidden = started is not None and self.clock.now() < started + self.delay_seconds
            if hidden:
                self.hidden_reads.append((arn, call))
        if hidden:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
        return original(response)
