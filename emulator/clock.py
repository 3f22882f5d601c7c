"""The emulator's clock: real time, optionally sped up, or stepped by the test alone.

Step Functions Wait states and Retry intervals, the simulated ECS lifecycle and the handlers'
deadlines all read this one clock, so a test can run a 10-second migration in 2 seconds without
changing any behaviour. ``speed=1`` (the demo, the benchmark) is plain wall-clock time.

``stepped=True`` (tests that call the steps themselves) stops real time from leaking in: the clock moves only
when the test advances it (or something sleeps on it), and an advance returns once everything due by then has
happened (the simulators registered with ``on_advance`` have caught up). What such a test sees then depends on the
moments it chose, never on how fast the machine ran the code between them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Clock:
    def __init__(self, speed: float = 1.0, *, stepped: bool = False) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.stepped = stepped
        self._epoch = time.time()
        self._start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()
        self._on_advance: list[Callable[[], None]] = []

    def now(self) -> float:
        """Emulated epoch seconds."""
        if self.stepped:
            return self._epoch + self._offset
        return self._epoch + (time.monotonic() - self._start) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump ahead: tests that call the steps directly make time pass without waiting for it. Returns once
        everything due by the new moment has happened."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        for catch_up in list(self._on_advance):
            catch_up()

    def on_advance(self, catch_up: Callable[[], None]) -> None:
        """``catch_up()`` runs after every advance: a simulator writes its state at the new moment."""
        self._on_advance.append(catch_up)

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.stepped:  # a stepped clock moves by what sleeps on it (an SDK's retry backoff) and no more
            self.advance(seconds)
        else:
            time.sleep(seconds / self.speed)

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.speed
