"""Fleet's Terraform addon, modelled: how long its waits keep Fleet below full strength on our timeline.

fleetdm/fleet-terraform ``addons/migrations/migrate.sh`` runs one command after another:

    scale Fleet to 0            then ``aws ecs wait services-stable`` on it
    scale the vulnerability service to 0, then ``aws ecs wait services-stable`` on it
    ``aws ecs run-task``        then ``aws ecs wait tasks-stopped``
    scale Fleet back up         (then services-stable, then the vulnerability service: Fleet is back by then)

(it skips the services-stable waits for revision 1 only; the benchmark migrates to revision 2). An AWS
CLI waiter looks at once, then every ``delay`` seconds, for at most ``max_attempts`` looks (botocore's
``Waiter.wait``). The numbers are the AWS CLI reference's, "aws ecs wait services-stable"
(docs.aws.amazon.com/cli/latest/reference/ecs/wait/services-stable.html): "It will poll every 15 seconds
until a successful state has been reached. This will exit with a return code of 255 after 40 failed
checks", for ``length(services[?!(length(deployments) == 1 && runningCount == desiredCount)]) == 0``;
"aws ecs wait tasks-stopped": every 6 seconds, 100 checks (botocore data/ecs/2014-11-13/waiters-2.json
says the same). After a scale-down, services-stable succeeds once the service's tasks have stopped. The commands themselves take no time here, which favours the
addon (each ``aws`` command is a process start and an HTTPS call).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Waiter:
    name: str
    delay: float
    max_attempts: int

    def returns_after(self, ready_after: float) -> float:
        """Seconds from the wait's start to its return, for a condition true from ``ready_after`` on."""
        look = max(0, math.ceil(ready_after / self.delay))
        if look >= self.max_attempts:
            raise TimeoutError(f"aws ecs wait {self.name} gives up after {self.max_attempts} checks")
        return look * self.delay


SERVICES_STABLE = Waiter("services-stable", delay=15, max_attempts=40)
TASKS_STOPPED = Waiter("tasks-stopped", delay=6, max_attempts=100)


def phases(drain: float, task_start: float, task_run: float, service_start: float) -> dict[str, float]:
    """The addon's added seconds per phase (downtime.PHASES' keys) and in total, and its time below the count."""
    fleet_stable = SERVICES_STABLE.returns_after(drain)
    vuln_stable = SERVICES_STABLE.returns_after(drain)  # its drain starts only once Fleet's wait returned
    task_stopped = TASKS_STOPPED.returns_after(task_start + task_run)
    below = fleet_stable + vuln_stable + task_stopped + service_start
    added = {
        "drain": fleet_stable,  # the vulnerability service drains only after Fleet's wait
        "drain_detection": vuln_stable - drain,
        "task": 0.0,
        "task_detection": task_stopped - task_start - task_run,
        "scale_up": 0.0,
    }
    added["total"] = below - (drain + task_start + task_run + service_start)
    added["below_count"] = below
    return added
