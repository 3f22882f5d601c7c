"""Time, and how long to wait before the next poll.

Polls stay at ``poll_interval_seconds`` for the first ten minutes, so a short wait is noticed
within one interval. After that they back off to 5% of the time already waited, capped at five
minutes, so a 24-hour migration stays far below Step Functions' 25,000-event history limit.
"""

from __future__ import annotations

import time

FAST_PHASE_SECONDS = 600
BACKOFF_FRACTION = 0.05
MAX_POLL_SECONDS = 300


def now() -> float:
    return time.time()


def next_poll_seconds(elapsed: float, interval: int) -> int:
    if elapsed < FAST_PHASE_SECONDS:
        return interval
    return int(min(MAX_POLL_SECONDS, max(interval, elapsed * BACKOFF_FRACTION)))


def capped(wait: int, deadline: float, at: float) -> int:
    """Never sleep past the deadline by more than a second: a timeout is reported on time."""
    return max(1, min(wait, int(deadline - at) + 1))
