"""Inject AWS errors into the emulated services: "the next 3 UpdateService calls are throttled".

A fault can wait for its moment (``after``: let the first N matching calls through) and pick its
calls (``when``: a predicate on the call), so a test can fail exactly "the scale-up's
UpdateService" or "DescribeTasks on the migration task" without racing the workflow.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

from emulator.patching import Patches

# moto names a few services differently from the AWS SDK; faults use the SDK's names.
_MOTO_SERVICE_NAMES = {"awslambda": "lambda"}


class FaultError(JsonRESTError):
    """An injected AWS error, with the request id header every AWS response carries (SDKs read it)."""

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), ("x-amzn-RequestId", str(uuid.uuid4()))]


@dataclass(frozen=True)
class Call:
    """One AWS API call as a fault sees it: ``params`` is the request body (``FunctionName`` for Lambda Invoke)."""

    service: str
    action: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Fault:
    code: str
    message: str
    remaining: int | None  # None: forever
    after: int = 0  # matching calls still to let through before failing
    when: Callable[[Call], bool] | None = None

    def matches(self, call: Call) -> bool:
        return self.when is None or bool(self.when(call))


class Faults:
    def __init__(self) -> None:
        self._faults: dict[tuple[str, str], list[Fault]] = defaultdict(list)
        self._lock = threading.Lock()
        self.hits: dict[tuple[str, str], int] = defaultdict(int)
        self.calls: dict[tuple[str, str], int] = defaultdict(int)

    def inject(
        self,
        service: str,
        action: str,
        *,
        code: str = "ThrottlingException",
        message: str = "Rate exceeded",
        times: int | None = 1,
        after: int = 0,
        when: Callable[[Call], bool] | None = None,
    ) -> None:
        """Make ``times`` calls (``None``: every call) of ``service``'s ``action`` fail with ``code``.

        ``after`` lets that many matching calls succeed first; ``when`` limits the fault to the calls
        it returns true for. Faults on one action apply in the order they were injected.
        """
        with self._lock:
            self._faults[(service, action)].append(Fault(code, message, times, after, when))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def check(self, call: Call) -> None:
        """Raise the AWS error a fault prescribes for this call, if any."""
        fault = self._take(call)
        if fault is not None:
            raise FaultError(fault.code, fault.message)

    def _take(self, call: Call) -> Fault | None:
        key = (call.service, call.action)
        with self._lock:
            self.calls[key] += 1
            queue = self._faults.get(key)
            if not queue:
                return None
            fault = next((f for f in queue if f.matches(call)), None)
            if fault is None:
                return None
            if fault.after > 0:
                fault.after -= 1
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    queue.remove(fault)
            self.hits[key] += 1
            return fault

    def install(self) -> Patches:
        """Every call moto answers passes ``check`` first; the returned ``Patches`` puts moto's back on exit."""
        patches = Patches()
        patches.wrap(BaseResponse, "call_action", self._call_action)
        return patches

    def _call_action(self, original: Any, response: BaseResponse) -> Any:
        self.check(_call_of(response))
        return original(response)


def _call_of(response: BaseResponse) -> Call:
    service = response.service_name or ""
    service = _MOTO_SERVICE_NAMES.get(service, service)
    action = response._get_action()
    params: dict[str, Any] = {}
    if service == "lambda" and action == "Invoke":
        name = unquote(response.path.rsplit("/", 2)[-2])
        params = {"FunctionName": name.split(":")[6] if name.startswith("arn:") else name}
    else:
        try:
            body = json.loads(response.body) if response.body else {}
        except (TypeError, ValueError):
            body = {}
        params = body if isinstance(body, dict) else {}
    return Call(service, action, params)
