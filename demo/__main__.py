"""Fleet migrations on the embedded AWS, run by real `terraform apply` of demo/terraform/main.tf.

That root module is Fleet's own example with its `module "migrations"` block as Fleet writes it,
`source` changed and `state_machine_arn` added. Terraform (tools/terraform.py, offline) runs
`init` once, then `apply` three times: revision 2 migrates; revision 3's migration exits 1, so the
workflow rolls back and the apply fails; after "the fix", applying revision 3 again runs attempt 2,
which succeeds. ECS is simulated with realistic timings, and its counts are printed as they change.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from demo.services import ServiceWatcher, counts_line
from emulator import Emulator, FleetDeployment
from tools import terraform

ROOT_MODULE = Path(__file__).resolve().parent / "terraform"
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


class Terraform:
    """`terraform` in demo/terraform, its data directory and state in a scratch folder (the checkout
    stays clean), the module's client pointed at the embedded AWS."""

    def __init__(self, aws: Emulator, fleet: FleetDeployment, scratch: Path, printer: Printer) -> None:
        self._printer = printer
        self._state = scratch / "terraform.tfstate"
        self.env = terraform.environment({
            **os.environ,
            "TF_DATA_DIR": str(scratch / ".terraform"),
            # the module runs python3 from PATH: this virtualenv's, which has boto3
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AWS_ENDPOINT_URL": aws.endpoint_url,
            "AWS_DEFAULT_REGION": aws.region,
            "PYTHONUNBUFFERED": "1",
            "FLEET_MIGRATION_CLIENT_POLL_SECONDS": "0.5",
            "TF_VAR_state_machine_arn": aws.state_machine_arn,
            "TF_VAR_subnets": _hcl_list(fleet.subnets),
            "TF_VAR_security_groups": _hcl_list(fleet.security_groups),
        })

    def __call__(self, *args: str) -> int:
        """Run one command, printing each line Terraform prints as it comes."""
        process = subprocess.Popen([*terraform.command(), *args, "-no-color"], cwd=ROOT_MODULE, env=self.env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, bufsize=1)
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip():
                self._printer.line("terraform", line.rstrip())
        return process.wait()

    def apply(self, revision: int) -> int:
        return self("apply", "-auto-approve", "-input=false", f"-var=task_definition_revision={revision}")

    def init(self) -> int:
        return self("init", "-input=false", f"-backend-config=path={self._state}")


def _hcl_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def migrate(aws: Emulator, fleet: FleetDeployment, tf: Terraform, revision: int, title: str,
            printer: Printer) -> Outcome:
    print(f"\n── {title} ──", flush=True)
    print(f"$ terraform apply -var task_definition_revision={revision}", flush=True)
    services = [fleet.service] + ([fleet.vuln_service] if fleet.vuln_service else [])
    before = counts_line(aws, fleet.cluster, services)
    printer.restart()
    with ServiceWatcher(aws, fleet.cluster, services, lambda text: printer.line("ecs", text)):
        exit_code = tf.apply(revision)
        seconds = time.monotonic() - printer.started
        # A rollback restores the counts and returns; give ECS time to start the tasks again.
        deadline = time.monotonic() + 15
        while (after := counts_line(aws, fleet.cluster, services)) != before and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.3)  # let the watcher print the last change
    restored = "services exactly as before" if after == before else f"services now: {after}"
    verdict = "succeeded" if exit_code == 0 else f"failed, terraform apply exit code {exit_code}"
    return Outcome(title, exit_code, seconds, f"{verdict} in {seconds:.1f}s; {restored}")


def main() -> int:
    for noisy in ("moto", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    print("fleet-migration demo: Fleet migrations on an embedded AWS (moto), run by real `terraform apply`")
    print(f"of {ROOT_MODULE.relative_to(Path.cwd()) if ROOT_MODULE.is_relative_to(Path.cwd()) else ROOT_MODULE}/main.tf"
          " (Fleet's example: module \"migrations\" with source changed, state_machine_arn added).")
    print("Columns: time, who speaks (terraform: what Terraform prints; ecs: the live service counts), what happened.")
    with Emulator(speed=1, server=True, lambda_log_level="ERROR") as aws, \
            tempfile.TemporaryDirectory(prefix="fleet-migration-demo-") as scratch:
        for service in ("fleet", "fleet-vuln-processing"):
            behaviour = aws.service_behaviour(service)
            behaviour.stop_seconds, behaviour.start_seconds = SERVICE_STOP_SECONDS, SERVICE_START_SECONDS
        fleet = aws.seed_fleet(revisions=3)
        print(f"\nSeeded: cluster {fleet.cluster!r}, services {fleet.service!r} (autoscaling 2..10) and "
              f"{fleet.vuln_service!r}, task definition {fleet.task_definition}:1..3.")
        print(f"State machine: {aws.state_machine_arn}")
        printer = Printer()
        tf = Terraform(aws, fleet, Path(scratch), printer)

        print("\n── terraform init (offline: providers from a local mirror) ──", flush=True)
        if terraform.aws_provider_mirror() is None:
            # The migrations module names hashicorp/aws (for the workflow it can deploy), and no registry
            # serves it offline: only a machine image that carries a filesystem mirror of it can init.
            print("hashicorp/aws is in no filesystem mirror on this machine (design section 8), so terraform init "
                  "cannot install it offline; the demo needs a machine that has one.", file=sys.stderr)
            return 1
        printer.restart()
        if tf.init() != 0:
            return 1

        aws.next_migration(exit_code=0, start_seconds=TASK_START_SECONDS, run_seconds=MIGRATION_SECONDS)
        first = migrate(aws, fleet, tf, 2, "Run 1: migrate to fleet:2 (the migration succeeds)", printer)
        aws.next_migration(exit_code=1, start_seconds=TASK_START_SECONDS, run_seconds=MIGRATION_SECONDS,
                           stopped_reason="Essential container in task exited")
        second = migrate(aws, fleet, tf, 3, "Run 2: migrate to fleet:3 (the migration exits 1: rollback)", printer)
        aws.next_migration(exit_code=0, start_seconds=TASK_START_SECONDS, run_seconds=MIGRATION_SECONDS)
        third = migrate(aws, fleet, tf, 3, "Run 3: after the fix, apply fleet:3 again (attempt 2 succeeds)",
                        printer)

    print("\nVerdicts:")
    for outcome in (first, second, third):
        print(f"  {outcome.title.split(':')[0]}: {outcome.verdict}")
    expected = first.exit_code == 0 and second.exit_code != 0 and third.exit_code == 0
    return 0 if expected else 1


if __name__ == "__main__":
    sys.exit(main())
