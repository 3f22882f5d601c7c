"""Run our real handlers in-process when the emulated Step Functions invokes a Lambda function.

moto's Lambda backend (without Docker) would echo the payload; we replace its ``invoke`` so a
function created from template.yaml runs its ``Handler`` and answers the way the Python runtime
does, errors included (``x-amz-function-error`` and ``{"errorType", "errorMessage"}``).
"""

from __future__ import annotations

import importlib
import json
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
        self._original_invoke: Any = None

    def install(self) -> None:
        runtime = self
        self._original_invoke = LambdaSimpleBackend.invoke

        def invoke(backend: LambdaSimpleBackend, function_name: str, qualifier: Any, body: Any, headers: Any,
                   response_headers: dict[str, str]) -> bytes:
            function = backend.get_function(function_name, qualifier)  # raises ResourceNotFound like AWS
            return runtime.invoke(function.function_name, function.function_arn, body, response_headers)

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original_invoke is not None:
            LambdaSimpleBackend.invoke = self._original_invoke  # type: ignore[method-assign]

    def handler(self, name: str) -> Callable[[dict, Any], Any]:
        with self._lock:
            if name not in self._handlers:
                spec = self._functions[name]
                if str(spec.code_dir) not in sys.path:
                    sys.path.insert(0, str(spec.code_dir))
                module = importlib.import_module(spec.module)
                self._handlers[name] = getattr(module, spec.attribute)
            return self._handlers[name]

    def invoke(self, name: str, arn: str, body: Any, response_headers: dict[str, str]) -> bytes:
        self.invocations[name] += 1
        event = json.loads(body) if body else {}
        context = LambdaContext(function_name=name, invoked_function_arn=arn, aws_request_id=str(uuid.uuid4()))
        try:
            result = self.handler(name)(event, context)
        except Exception as exc:  # the runtime reports every unhandled exception the same way
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()
        return json.dumps(result).encode()
