"""Inject AWS errors into the emulated services: "the next 3 UpdateService calls are throttled"."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse


@dataclass
class Fault:
    code: str
    message: str
    remaining: int | None  # None: forever


class Faults:
    def __init__(self) -> None:
        self._faults: dict[tuple[str, str], list[Fault]] = defaultdict(list)
        self._lock = threading.Lock()
        self._original: Any = None
        self.hits: dict[tuple[str, str], int] = defaultdict(int)

    def inject(self, service: str, action: str, *, code: str = "ThrottlingException",
               message: str = "Rate exceeded", times: int | None = 1) -> None:
        """Make the next ``times`` calls (``None``: every call) of ``service``'s ``action`` fail with ``code``."""
        with self._lock:
            self._faults[(service, action)].append(Fault(code, message, times))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take(self, service: str, action: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get((service, action))
            if not queue:
                return None
            fault = queue[0]
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    queue.pop(0)
            self.hits[(service, action)] += 1
            return fault

    def install(self) -> None:
        faults = self
        self._original = original = BaseResponse.call_action

        def call_action(response: BaseResponse) -> Any:
            fault = faults._take(response.service_name or "", response._get_action())
            if fault is not None:
                raise JsonRESTError(fault.code, fault.message)
            return original(response)

        BaseResponse.call_action = call_action  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original is not None:
            BaseResponse.call_action = self._original  # type: ignore[method-assign]
