"""The emulator's clock: real time, optionally sped up.

Step Functions Wait states and Retry intervals, the simulated ECS lifecycle and the handlers'
deadlines all read this one clock, so a test can run a 10-second migration in 2 seconds without
changing any behaviour. ``speed=1`` (the demo, the benchmark) is plain wall-clock time.
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._epoch = time.time()
        self._start = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        """Emulated epoch seconds."""
        return self._epoch + (time.monotonic() - self._start) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump ahead: tests that call the steps directly make time pass without waiting for it."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.speed
