"""Run benchmark migrations on the emulator, several at once, each on its own services."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.scenario import Lane, Timeline, lane
from emulator import DROP, Emulator, FleetDeployment
from emulator.core import TERMINAL, ExecutionRun

# describe_execution this often while waiting: the emulator's own waiter polls every 20 ms, which
# with several executions at once would cost the CPU the measured steps need.
WAIT_POLL_SECONDS = 0.25


def label(interval: int | None) -> str:
    """A column's name: "default" when poll_interval_seconds is left out."""
    return "default" if interval is None else f"poll {interval} s"


@dataclass
class Migration:
    interval: int | None  # None: poll_interval_seconds left out of the input
    lane: Lane
    name: str
    run: ExecutionRun


def run_migrations(
    aws: Emulator,
    fleet: FleetDeployment,
    *,
    intervals: list[int | None],
    runs: int,
    timeline: Timeline,
    concurrency: int,
    seed: int,
    prefix: str = "bench",
) -> list[Migration]:
    """``runs`` successful migrations per poll interval; ``concurrency`` of them at a time."""
    rng = random.Random(seed)
    jobs = []
    for index in range(runs):
        for interval in intervals:
            name = f"{prefix}-{'default' if interval is None else f'p{interval}'}-{index}"
            jobs.append((interval, name, lane(aws, fleet, name, timeline, rng)))
    for _, _, job_lane in jobs:
        # RunTask takes these in the order the migrations reach it; what each task really did is read back
        # from the simulator, so which migration gets which outcome does not matter.
        aws.next_migration(**job_lane.task)
    lock = threading.Lock()
    done: list[Migration] = []

    def one(job: tuple[int, str, Lane]) -> None:
        interval, name, job_lane = job
        document = fleet.migration_input(
            ecs_service=job_lane.service,
            vuln_service=job_lane.vuln_service,
            poll_interval_seconds=DROP if interval is None else interval,
        )
        run = wait(aws, aws.start(document, name))
        with lock:
            done.append(Migration(interval, job_lane, name, run))

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for future in [pool.submit(one, job) for job in jobs]:
            future.result()
    return sorted(done, key=lambda m: (m.interval is not None, m.interval or 0, m.name))


def wait(aws: Emulator, arn: str, timeout: float = 1800) -> ExecutionRun:
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while sfn.describe_execution(executionArn=arn)["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{arn} did not finish within {timeout} s")
        time.sleep(WAIT_POLL_SECONDS)
    return aws.wait(arn)
