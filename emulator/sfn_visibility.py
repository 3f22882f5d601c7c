"""Step Functions' eventual consistency after StartExecution, which moto does not have.

DescribeExecution "is eventually consistent. The results are best effort and may not reflect very recent
updates and changes" (AWS Step Functions API Reference, DescribeExecution): right after StartExecution
returns, DescribeExecution and GetExecutionHistory of the new execution may still answer
ExecutionDoesNotExist. With ``delay_seconds`` > 0 (emulated time) they do, for that long after each
execution starts; 0 (the default) is moto's read-after-write. The execution itself runs all the while.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.stepfunctions.exceptions import ExecutionDoesNotExist
from moto.stepfunctions.responses import StepFunctionResponse

from emulator.clock import Clock

_READS = ("describe_execution", "get_execution_history")


class ExecutionVisibility:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.delay_seconds = 0.0
        self._started: dict[str, float] = {}  # execution ARN -> clock time of its StartExecution
        self._lock = threading.Lock()
        self._originals: dict[str, Any] = {}
        # (execution ARN, call) of every read answered ExecutionDoesNotExist; read-only (tests)
        self.hidden_reads: list[tuple[str, str]] = []

    def install(self) -> None:
        visibility = self
        self._originals["start_execution"] = start = StepFunctionResponse.start_execution

        def start_execution(response: StepFunctionResponse) -> Any:
            result = start(response)  # raises when refused: nothing started, nothing to hide
            machine, name = response._get_param("stateMachineArn"), response._get_param("name")
            if machine and name and ":stateMachine:" in machine:
                arn = f"{machine.replace(':stateMachine:', ':execution:', 1)}:{name}"
                with visibility._lock:
                    # an idempotent repeat of a StartExecution does not make the execution new again
                    visibility._started.setdefault(arn, visibility.clock.now())
            return result

        StepFunctionResponse.start_execution = start_execution  # type: ignore[method-assign]
        for call in _READS:
            self._originals[call] = original = getattr(StepFunctionResponse, call)
            setattr(StepFunctionResponse, call, self._hiding(call, original))

    def _hiding(self, call: str, original: Any) -> Any:
        visibility = self

        def read(response: StepFunctionResponse) -> Any:
            arn = response._get_param("executionArn") or ""
            with visibility._lock:
                started = visibility._started.get(arn)
                hidden = started is not None and visibility.clock.now() < started + visibility.delay_seconds
                if hidden:
                    visibility.hidden_reads.append((arn, call))
            if hidden:
                raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
            return original(response)

        return read

    def uninstall(self) -> None:
        for call, original in self._originals.items():
            setattr(StepFunctionResponse, call, original)
        self._originals.clear()
