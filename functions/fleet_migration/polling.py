"""Time, and how long to wait before the next poll.

Left at its default, a wait starts fast: the next poll comes after 10 % of the time waited so far,
at least 1 s, until that reaches ``DEFAULT_POLL_SECONDS`` (5 s, 50 s into the wait). ECS often
finishes in seconds (a drain, a short migration, a task start), and each wait would otherwise add up
to a whole interval of downtime; this way a young wait adds at most a second or 10 % of its length.
A ``poll_interval_seconds`` the caller chose is used as given, from the first poll.

After ten minutes, either way, polls back off to 5 % of the time already waited (never more often
than the interval, at most five minutes), so a 24-hour migration stays far below Step Functions'
25,000-event history limit.
"""

from __future__ import annotations

import time

DEFAULT_POLL_SECONDS = 5  # the default's steady interval (the execution input's documented default)
FAST_START_FRACTION = 0.10
FAST_PHASE_SECONDS = 600
BACKOFF_FRACTION = 0.05
MAX_POLL_SECONDS = 300


def now() -> float:
    return time.time()


def next_poll_seconds(elapsed: float, interval: int | None) -> int:
    """Seconds to the next poll of a wait ``elapsed`` seconds old; ``interval`` None: the default schedule."""
    steady = DEFAULT_POLL_SECONDS if interval is None else interval
    if elapsed >= FAST_PHASE_SECONDS:
        return int(min(MAX_POLL_SECONDS, max(steady, elapsed * BACKOFF_FRACTION)))
    if interval is None:
        return int(min(steady, max(1, elapsed * FAST_START_FRACTION)))
    return interval


def capped(wait: int, deadline: float, at: float) -> int:
    """Never sleep past the deadline by more than a second: a timeout is reported on time."""
    return max(1, min(wait, int(deadline - at) + 1))


def next_wait(at: float, started: float, deadline: float, interval: int | None) -> int:
    """The schedule's next wait (``interval`` None: the default's fast start), never far past the deadline."""
    return capped(next_poll_seconds(at - started, interval), deadline, at)
