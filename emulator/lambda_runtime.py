"""Run our real handlers in-process when the emulated Step Functions invokes a Lambda function.

moto's Lambda backend (without Docker) would echo the payload; we replace its ``invoke`` so a
function created from template.yaml runs its ``Handler`` and answers the way the Python runtime
does, errors included (``x-amz-function-error`` and ``{"errorType", "errorMessage"}``).

The emulator creates each template function under its logical id; a function created some other way
(``terraform apply`` of terraform/modules/workflow names them ``<name>-<step>``) runs the template
function whose ``Handler`` its own ``Handler`` names: the same code from functions/, as the committed
package carries it.
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

from emulator.template import FunctionSpec


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
        self._original_invoke: Any = None

    def install(self) -> None:
        runtime = self
        self._original_invoke = LambdaSimpleBackend.invoke

        def invoke(backend: LambdaSimpleBackend, function_name: str, qualifier: Any, body: Any, headers: Any,
                   response_headers: dict[str, str]) -> bytes:
            function = backend.get_function(function_name, qualifier)  # raises ResourceNotFound like AWS
            runtime.handlers_by_name[function.function_name] = function.handler
            runtime.environment_by_name[function.function_name] = dict(function.environment_vars or {})
            return runtime.invoke(function.function_name, function.function_arn, body, response_headers)

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original_invoke is not None:
            LambdaSimpleBackend.invoke = self._original_invoke  # type: ignore[method-assign]

    def logical_id(self, name: str) -> str:
        """The template function ``name`` is, or else the one whose Handler is the Handler ``name`` was created with."""
        if name in self._functions:
            return name
        handler = self.handlers_by_name.get(name)
        for logical_id, spec in self._functions.items():
            if spec.handler == handler:
                return logical_id
        raise HandlerNotFound(f"Unable to import module for handler '{handler}' of function {name}: "
                              "no function in template.yaml has that Handler")

    def handler(self, name: str) -> Callable[[dict, Any], Any]:
        with self._lock:
            if name not in self._handlers:
                spec = self._functions[name]
                if str(spec.code_dir) not in sys.path:
                    sys.path.insert(0, str(spec.code_dir))
                module = importlib.import_module(spec.module)
                self._handlers[name] = getattr(module, spec.attribute)
            return self._handlers[name]

    def _with_environment(self, variables: dict[str, str], handler: Callable[[dict, Any], Any], event: dict,
                          context: LambdaContext) -> Any:
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
