"""The emulator's clock: real time, optionally sped up; stepped by the test alone; or simulated.

Step Functions Wait states and Retry intervals, the simulated ECS lifecycle and the handlers'
deadlines all read this one clock, so a test can run a 10-second migration in 2 seconds without
changing any behaviour. ``speed=1`` (the demo, the benchmark) is plain wall-clock time.

``stepped=True`` (tests that call the steps themselves) stops real time from leaking in: the clock moves only
when the test advances it (or something sleeps on it), and an advance returns once everything due by then has
happened (the simulators registered with ``on_advance`` have caught up). What such a test sees then depends on the
moments it chose, never on how fast the machine ran the code between them.

``simulated=True`` (tests that run whole executions) is a discrete-event clock: real time never leaks in either,
and time moves when nothing can go on without it. Who can go on: the test (the driver, busy unless it waits with
``wait_until`` or sleeps on the clock) and every running execution (busy unless it sleeps on the clock:
a Wait state, a Retry interval, an SDK's backoff). Once none is busy, the clock jumps to the earliest moment a
sleeper waits for and wakes every sleeper due by then. A 10-minute migration then costs only the CPU its steps
take, and two executions started by one test meet at the same emulated moments however loaded the machine is.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(eq=False)
class _Sleeper:
    until: float
    woken: bool = False


class Clock:
    def __init__(self, speed: float = 1.0, *, stepped: bool = False, simulated: bool = False) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if stepped and simulated:
            raise ValueError("a clock is stepped or simulated, not both")
        self.speed = speed
        self.stepped = stepped
        self.simulated = simulated
        self._epoch = time.time()
        self._start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()
        self._on_advance: list[Callable[[], None]] = []
        # Simulated time: who can still go on without time moving (the driver counts from the start), and who waits.
        self._moved = threading.Condition(self._lock)
        self._busy = 1
        self._sleepers: list[_Sleeper] = []
        self._watchers: list[_Sleeper] = []  # the driver, waiting for a condition (at most one)
        self._quiet_seen = False  # the watchers looked at the present quiet moment: time may move on
        self._closed = False

    def now(self) -> float:
        """Emulated epoch seconds."""
        if self.stepped or self.simulated:
            return self._epoch + self._offset
        return self._epoch + (time.monotonic() - self._start) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump ahead: tests that call the steps directly make time pass without waiting for it. Returns once
        everything due by the new moment has happened."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
            self._wake_due()
        for catch_up in list(self._on_advance):
            catch_up()

    def on_advance(self, catch_up: Callable[[], None]) -> None:
        """``catch_up()`` runs after every advance: a simulator writes its state at the new moment."""
        self._on_advance.append(catch_up)

    def sleep(self, seconds: float, *, stopped: Callable[[], bool] | None = None) -> None:
        """Wait ``seconds`` of emulated time; ``stopped()`` true ends the wait early (an execution that was stopped)."""
        if seconds <= 0:
            return
        if self.stepped:  # a stepped clock moves by what sleeps on it (an SDK's retry backoff) and no more
            self.advance(seconds)
        elif self.simulated:
            self._sleep_simulated(seconds, stopped)
        elif stopped is None:
            time.sleep(seconds / self.speed)
        else:
            deadline = time.monotonic() + seconds / self.speed
            while not stopped() and time.monotonic() < deadline:
                time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))

    # -- the driver (the test) waiting -----------------------------------------------------------
    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """The driver waits until ``condition()``; False once ``timeout`` real seconds passed without it.

        On a simulated clock the driver looks at every quiet moment (each execution sleeps on the clock or has
        ended): it sees each emulated moment once everything due by then has happened, and time moves on only
        after it looked. Otherwise it looks every 20 ms of real time."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.simulated:
                if not self._next_quiet_moment(deadline):
                    return False
            elif time.monotonic() > deadline:
                return False
            else:
                time.sleep(0.02)
        return True

    # -- simulated time ------------------------------------------------------------------------
    def hold(self) -> None:
        """Something that can go on without time moving has begun (an execution started): time waits for it."""
        with self._lock:
            self._busy += 1
            self._quiet_seen = False

    def release(self) -> None:
        """What ``hold`` announced has ended."""
        with self._lock:
            self._busy -= 1
            self._move_if_idle()

    def close(self) -> None:
        """Wake every sleeper for good: the emulator is gone, and its executions' threads must not wait forever."""
        with self._lock:
            self._closed = True
            self._moved.notify_all()

    def _sleep_simulated(self, seconds: float, stopped: Callable[[], bool] | None) -> None:
        with self._lock:
            sleeper = _Sleeper(self._offset + seconds)
            self._sleepers.append(sleeper)
            self._busy -= 1
            self._move_if_idle()
            while not sleeper.woken:
                if self._closed or (stopped is not None and stopped()):
                    self._sleepers.remove(sleeper)
                    self._busy += 1
                    self._quiet_seen = False
                    return
                # With ``stopped``, look again now and then: Step Functions signals a stop with an event nobody here
                # waits on. Without it, only a move of the clock (or close) ends the wait.
                self._moved.wait(0.02 if stopped is not None else None)

    def _next_quiet_moment(self, deadline: float) -> bool:
        """The driver idles until the next quiet moment, and is busy again from it; False at ``deadline``."""
        with self._lock:
            watcher = _Sleeper(math.inf)
            self._watchers.append(watcher)
            self._busy -= 1
            self._move_if_idle()
            while not watcher.woken:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    self._watchers.remove(watcher)
                    self._busy += 1
                    return False
                self._moved.wait(remaining)
            return True

    def _move_if_idle(self) -> None:
        """(Lock held.) Nobody can go on: the driver, if it waits, looks at this quiet moment first; then the clock
        jumps to the earliest moment a sleeper waits for."""
        if self._busy:
            return
        if self._watchers and not self._quiet_seen:
            self._quiet_seen = True
            self._wake(self._watchers, list(self._watchers))
        elif self._sleepers:
            self._offset = max(self._offset, min(sleeper.until for sleeper in self._sleepers))
            self._wake_due()

    def _wake_due(self) -> None:
        """(Lock held.) Every sleeper due by now is busy again from this moment, before its thread even runs: the
        next jump cannot pass it by."""
        self._quiet_seen = False
        self._wake(self._sleepers, [sleeper for sleeper in self._sleepers if sleeper.until <= self._offset])

    def _wake(self, waiting: list[_Sleeper], due: list[_Sleeper]) -> None:
        for sleeper in due:
            sleeper.woken = True
            self._busy += 1
        waiting[:] = [sleeper for sleeper in waiting if not sleeper.woken]
        if due:
            self._moved.notify_all()
