"""Watch the Fleet services while a migration runs: one line whenever a count changes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from emulator import Emulator


def counts_line(aws: Emulator, cluster: str, services: list[str]) -> str:
    aws.ecs_sim.tick()
    described = aws.client("ecs").describe_services(cluster=cluster, services=services)["services"]
    parts = []
    for service in described:
        state = aws.service_state(cluster, service["serviceName"])
        scaling = ""
        if "min_capacity" in state:
            held = " suspended" if any(state["suspended"].values()) else ""
            scaling = f" autoscaling {state['min_capacity']}..{state['max_capacity']}{held}"
        alive = len(aws.ecs_sim.running_tasks(service=service["serviceName"]))
        stopping = alive - service["runningCount"] - service["pendingCount"]
        parts.append(
            f"{service['serviceName']}: desired {service['desiredCount']} running {service['runningCount']}"
            f" pending {service['pendingCount']} stopping {stopping}{scaling}"
        )
    return " | ".join(parts)


class ServiceWatcher:
    """Samples the services every 0.2 s on a thread and reports each change through ``emit``."""

    def __init__(self, aws: Emulator, cluster: str, services: list[str], emit: Callable[[str], None]) -> None:
        self._aws, self._cluster, self._services, self._emit = aws, cluster, services, emit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._last = ""

    def __enter__(self) -> ServiceWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            line = counts_line(self._aws, self._cluster, self._services)
            if line != self._last:
                self._last = line
                self._emit(line)
            time.sleep(0.2)
