"""Time, and how long to wait before the next poll.

Every wait starts young: for its first ``YOUNG_SECONDS`` (3 minutes) it looks often, because ECS often
finishes in seconds or a minute or two (a drain, a migration, a task start, a rollout) and each look that
comes late is outage. Left at its default, a wait looks every second for its first minute and every 2 s
until 3 minutes, so its end is seen within a second or two. A ``poll_interval_seconds`` the caller chose is
used as given while the wait is young, from the first look.

An older wait, either way, backs off to 2.5 % of the time already waited (never more often than the interval,
5 s at the default, and at most five minutes apart): a 24-hour migration's end is seen within 2.5 % of its
length, and every execution, at every allowed input, stays far below Step Functions' 25,000-event history
limit (bench/history.py computes the worst case from this schedule and the state machine).
"""

from __future__ import annotations

import math
import time

DEFAULT_POLL_SECONDS = 5  # the default's interval once a wait is no longer young (the execution input's default)
FIRST_MINUTE_SECONDS = 60  # the default looks every second for this long
YOUNG_POLL_SECONDS = 2  # then every 2 s until the wait is no longer young
YOUNG_SECONDS = 180
BACKOFF_FRACTION = 0.025
MAX_POLL_SECONDS = 300
# While all a wait awaits is time itself (tasks that must run a while longer), it still looks this often for a crash.
SETTLING_POLL_SECONDS = 5


def now() -> float:
    return time.time()


def next_poll_seconds(elapsed: float, interval: int | None) -> int:
    """Seconds to the next poll of a wait ``elapsed`` seconds old; ``interval`` None: the default schedule."""
    if elapsed < YOUNG_SECONDS:
        if interval is not None:
            return interval
        return 1 if elapsed < FIRST_MINUTE_SECONDS else YOUNG_POLL_SECONDS
    steady = DEFAULT_POLL_SECONDS if interval is None else interval
    return int(min(MAX_POLL_SECONDS, max(steady, elapsed * BACKOFF_FRACTION)))


def capped(wait: int, deadline: float, at: float) -> int:
    """Never sleep past the deadline by more than a second: a timeout is reported on time."""
    return max(1, min(wait, int(deadline - at) + 1))


def next_wait(at: float, started: float, deadline: float, interval: int | None) -> int:
    """The schedule's next wait (``interval`` None: the default's fast start), never far past the deadline."""
    return capped(next_poll_seconds(at - started, interval), deadline, at)


def settling_wait(scheduled: int, left: float, deadline: float, at: float) -> int:
    """The next wait when nothing but time is awaited, ``left`` seconds more: look when it is up, and meanwhile
    every ``SETTLING_POLL_SECONDS`` (or the schedule's wait, where longer) for a task that stops. Looking every
    second would see nothing new but a crash, at the cost of a state transition and a dozen AWS calls each."""
    return capped(min(math.ceil(left), max(scheduled, SETTLING_POLL_SECONDS)), deadline, at)
