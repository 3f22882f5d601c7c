"""Two Fleet migrations on the embedded AWS, each run exactly as Terraform's null_resource runs it.

The first migration succeeds; the second one's container exits 1, so the workflow rolls back.
ECS is simulated with realistic timings: tasks take time to stop and to start, and the migration
task runs for a few seconds.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass

from demo.services import ServiceWatcher, counts_line
from emulator import Emulator, FleetDeployment
from emulator.terraform import popen_local_exec, render_local_exec

TASK_START_SECONDS = 1.0
MIGRATION_SECONDS = 3.0
SERVICE_STOP_SECONDS = 1.5
SERVICE_START_SECONDS = 2.0


@dataclass
class Outcome:
    title: str
    exit_code: int
    seconds: float
    verdict: str


class Printer:
    """One line per event, stamped with the time since the run began; safe from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.monotonic()

    def restart(self) -> None:
        self.started = time.monotonic()

    def line(self, source: str, text: str) -> None:
        with self._lock:
            print(f"  {time.monotonic() - self.started:6.1f}s  {source:<9} {text}", flush=True)


def module_variables(aws: Emulator, fleet: FleetDeployment, revision: int) -> dict:
    """What a Fleet user writes in `module "migrations" { ... }`, plus our state_machine_arn."""
    return {
        "state_machine_arn": aws.state_machine_arn,
        "ecs_cluster": fleet.cluster,
        "ecs_service": fleet.service,
        "vuln_service": fleet.vuln_service,
        "task_definition": fleet.task_definition,
        "task_definition_revision": revision,
        "subnets": fleet.subnets,
        "security_groups": fleet.security_groups,
        "desired_count": 2,
        "poll_interval_seconds": 1,
        # the interpreter Terraform would call: this virtualenv's, which has boto3
        "python": sys.executable,
    }


def run_like_terraform(aws: Emulator, fleet: FleetDeployment, revision: int, printer: Printer) -> int:
    local_exec = render_local_exec(module_variables(aws, fleet, revision))
    process = popen_local_exec(local_exec, aws.endpoint_url, region=aws.region, extra_env={"PYTHONUNBUFFERED": "1", "FLEET_MIGRATION_CLIENT_POLL_SECONDS": "0.5"})
    assert process.stdout is not None
    for line in process.stdout:
        printer.line("terraform", line.rstrip())
    return process.wait()


def migrate(aws: Emulator, fleet: FleetDeployment, revision: int, title: str, printer: Printer) -> Outcome:
    print(f"\n── {title} ──", flush=True)
    services = [fleet.service] + ([fleet.vuln_service] if fleet.vuln_service else [])
    before = counts_line(aws, fleet.cluster, services)
    printer.restart()
    with ServiceWatcher(aws, fleet.cluster, services, lambda text: printer.line("ecs", text)):
        exit_code = run_like_terraform(aws, fleet, revision, printer)
        seconds = time.monotonic() - printer.started
        # A rollback restores the counts and returns; give ECS time to start the tasks again.
        deadline = time.monotonic() + 15
        while (after := counts_line(aws, fleet.cluster, services)) != before and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.3)  # let the watcher print the last change
    restored = "services exactly as before" if after == before else f"services now: {after}"
    verdict = "succeeded" if exit_code == 0 else f"failed, client exit code {exit_code} (terraform apply stops here)"
    return Outcome(title, exit_code, seconds, f"{verdict} in {seconds:.1f}s; {restored}")


def main() -> int:
    for noisy in ("moto", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    print("fleet-migration demo: Fleet migrations on an embedded AWS (moto), each started the way the")
    print("Terraform module's null_resource starts it. Columns: time, who speaks, what happened.")
    with Emulator(speed=1, server=True, lambda_log_level="ERROR") as aws:
        for service in ("fleet", "fleet-vuln-processing"):
            behaviour = aws.service_behaviour(service)
            behaviour.stop_seconds, behaviour.start_seconds = SERVICE_STOP_SECONDS, SERVICE_START_SECONDS
        fleet = aws.seed_fleet(revisions=3)
        print(f"\nSeeded: cluster {fleet.cluster!r}, services {fleet.service!r} (autoscaling 2..10) and "
              f"{fleet.vuln_service!r}, task definition {fleet.task_definition}:1..3.")
        print(f"State machine: {aws.state_machine_arn}")
        printer = Printer()

        aws.next_migration(exit_code=0, start_seconds=TASK_START_SECONDS, run_seconds=MIGRATION_SECONDS)
        first = migrate(aws, fleet, 2, "Run 1: migrate to fleet:2 (the migration succeeds)", printer)
        aws.next_migration(exit_code=1, start_seconds=TASK_START_SECONDS, run_seconds=MIGRATION_SECONDS,
                           stopped_reason="Essential container in task exited")
        second = migrate(aws, fleet, 3, "Run 2: migrate to fleet:3 (the migration exits 1: rollback)", printer)

    print("\nVerdicts:")
    for outcome in (first, second):
        print(f"  {outcome.title.split(':')[0]}: {outcome.verdict}")
    expected = first.exit_code == 0 and second.exit_code != 0
    return 0 if expected else 1


if __name__ == "__main__":
    sys.exit(main())
