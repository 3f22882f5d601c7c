"""Run our real handlers in-process when the emulated Step Functions invokes a Lambda function.

moto's Lambda backend (without Docker) would echo the payload; we replace its ``invoke`` so a
function created from template.yaml runs its ``Handler`` and answers the way the Python runtime
does, errors included (``x-amz-function-error`` and ``{"errorType", "errorMessage"}``).

The emulator creates each template function under its logical id; a function created some other way
(``terraform apply`` of terraform/modules/workflow names them ``<name>-<step>``) runs the template
function whose ``Handler`` its own ``Handler`` names: the same code from functions/, as the committed
package carries it.

``time_out`` makes chosen invocations end as a function that ran out of time does: the handler runs,
its answer is lost, and the runtime answers ``{"errorMessage": "... Task timed out after N seconds"}``.
Without an ``errorType``, Step Functions reports such unhandled errors (timeouts, running out of memory)
as ``Lambda.Unknown`` ("Handle Lambda service exceptions", AWS Step Functions Developer Guide); moto's
interpreter would call them ``Exception``, so ``install`` teaches it the AWS name. Lambda also answers a
timeout with the ``errorType`` ``Sandbox.Timedout`` ("Troubleshoot invocation issues in Lambda", AWS Lambda
Developer Guide), which Step Functions reports as the error's name: ``time_out(..., error_type=SANDBOX_TIMEDOUT)``.

``after_return`` runs a test's action right after a chosen invocation's handler returned, before its answer
reaches the state machine: "the operator stopped the execution just as this step finished".
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from emulator.cloudformation import FunctionSpec
from emulator.patching import Patches


class HandlerNotFound(Exception):
    """What the Python runtime reports for a Handler it cannot import."""

    error_type = "Runtime.ImportModuleError"


@dataclass
class LambdaContext:
    """The attributes of the runtime's context object that Powertools reads."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class _TimeOut:
    function: str
    remaining: int | None  # None: every invocation
    after: int
    error_type: str | None


@dataclass
class _AfterReturn:
    function: str
    action: Callable[[], None]
    after: int


UNKNOWN = "Lambda.Unknown"
SANDBOX_TIMEDOUT = "Sandbox.Timedout"


class LambdaRuntime:
    def __init__(self, functions: dict[str, FunctionSpec]) -> None:
        self._functions = functions
        self._handlers: dict[str, Callable[[dict, Any], Any]] = {}
        self._lock = threading.Lock()
        self.invocations: Counter[str] = Counter()
        # Handler and Environment.Variables of each function invoked so far, by function name (moto's
        # record of CreateFunction).
        self.handlers_by_name: dict[str, str] = {}
        self.environment_by_name: dict[str, dict[str, str]] = {}
        self._environment_lock = threading.Lock()
        self.timed_out: Counter[str] = Counter()
        self._time_outs: list[_TimeOut] = []
        self._after_returns: list[_AfterReturn] = []

    def time_out(self, function: str, *, times: int | None = 1, after: int = 0, error_type: str | None = None) -> None:
        """Let ``after`` invocations of ``function`` through, then make ``times`` of them (``None``: all) time out,
        answered with ``error_type`` (``SANDBOX_TIMEDOUT``) or, by default, with none (``Lambda.Unknown``)."""
        with self._lock:
            self._time_outs.append(_TimeOut(function, times, after, error_type))

    def after_return(self, function: str, action: Callable[[], None], *, after: int = 0) -> None:
        """Run ``action`` once, right after the handler of ``function`` returned for the ``after + 1``-th time."""
        with self._lock:
            self._after_returns.append(_AfterReturn(function, action, after))

    def clear(self) -> None:
        """No more time-outs or actions: the invocations from now on answer as the handlers do."""
        with self._lock:
            self._time_outs.clear()
            self._after_returns.clear()

    def _time_out_of(self, name: str) -> _TimeOut | None:
        with self._lock:
            for fault in self._time_outs:
                if fault.function == name:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._time_outs.remove(fault)
                    self.timed_out[name] += 1
                    return fault
            return None

    def _returned(self, name: str) -> None:
        with self._lock:
            due = next((hook for hook in self._after_returns if hook.function == name), None)
            if due is None:
                return
            if due.after > 0:
                due.after -= 1
                return
            self._after_returns.remove(due)
        due.action()

    def install(self) -> Patches:
        """Invoke runs our handlers in-process; the returned ``Patches`` puts moto's own back on exit."""
        patches = Patches()
        patches.wrap(LambdaSimpleBackend, "invoke", self._invoke)
        patches.wrap(StateTaskServiceLambda, "_from_error", _from_error)
        return patches

    def _invoke(
        self,
        original: Any,
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: Any,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> bytes:
        """moto's Invoke echoes the payload without Docker: run the function's handler instead."""
        function = backend.get_function(function_name, qualifier)  # raises ResourceNotFound like AWS
        self.handlers_by_name[function.function_name] = function.handler
        self.environment_by_name[function.function_name] = dict(function.environment_vars or {})
        return self.invoke(function.function_name, function.function_arn, body, response_headers)

    def logical_id(self, name: str) -> str:
        """The template function ``name`` is, or else the one whose Handler is the Handler ``name`` was created with."""
        if name in self._functions:
            return name
        handler = self.handlers_by_name.get(name)
        for logical_id, spec in self._functions.items():
            if spec.handler == handler:
                return logical_id
        raise HandlerNotFound(
            f"Unable to import module for handler '{handler}' of function {name}: "
            "no function in template.yaml has that Handler"
        )

    def handler(self, name: str) -> Callable[[dict, Any], Any]:
        with self._lock:
            if name not in self._handlers:
                spec = self._functions[name]
                if str(spec.code_dir) not in sys.path:
                    sys.path.insert(0, str(spec.code_dir))
                module = importlib.import_module(spec.module)
                self._handlers[name] = getattr(module, spec.attribute)
            return self._handlers[name]

    def _with_environment(
        self, variables: dict[str, str], handler: Callable[[dict, Any], Any], event: dict, context: LambdaContext
    ) -> Any:
        """Run a function created outside the template with its own Environment.Variables (the trigger's
        STATE_MACHINE_ARN, ...): one at a time, as the process has one environment."""
        with self._environment_lock:
            saved = {key: os.environ.get(key) for key in variables}
            os.environ.update(variables)
            try:
                return handler(event, context)
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

    def invoke(self, name: str, arn: str, body: Any, response_headers: dict[str, str]) -> bytes:
        event = json.loads(body) if body else {}
        context = LambdaContext(function_name=name, invoked_function_arn=arn, aws_request_id=str(uuid.uuid4()))
        try:
            logical_id = self.logical_id(name)
            self.invocations[logical_id] += 1
            handler = self.handler(logical_id)
            if name == logical_id:  # a template function: the emulator set its environment at start
                result = handler(event, context)
            else:
                result = self._with_environment(self.environment_by_name.get(name, {}), handler, event, context)
            timed_out = self._time_out_of(logical_id)
            if timed_out is not None:
                response_headers["x-amz-function-error"] = "Unhandled"
                answer = {"errorMessage": f"{context.aws_request_id} Task timed out after 60.00 seconds"}
                if timed_out.error_type:
                    answer = {
                        "errorType": timed_out.error_type,
                        "errorMessage": f"RequestId: {context.aws_request_id} Error: Task timed out after 60.00 seconds",
                    }
                return json.dumps(answer).encode()
            self._returned(logical_id)
        except Exception as exc:  # the runtime reports every unhandled exception the same way
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": getattr(exc, "error_type", type(exc).__name__),
                    "errorMessage": str(exc),
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()
        return json.dumps(result).encode()


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _from_error(original: Any, state: StateTaskServiceLambda, env: Any, ex: Exception) -> FailureEvent:
    """An answer without an ``errorType`` (a timeout, no memory left) is ``Lambda.Unknown`` to Step Functions ("Handle
    Lambda service exceptions"); moto's interpreter would call it ``Exception``."""
    if isinstance(ex, lambda_eval_utils.LambdaFunctionErrorException) and "errorType" not in _json(ex.payload):
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(UNKNOWN),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=UNKNOWN,
                    cause=ex.payload,
                    resource=state._get_sfn_resource(),
                    resourceType=state._get_sfn_resource_type(),
                )
            ),
        )
    return original(state, env, ex)
