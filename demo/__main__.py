"""Fleet migrations on the embedded AWS, run by real `terraform apply` of demo/terraform/main.tf.

That root module is Fleet's own example with its `module "migrations"` block as Fleet writes it,
`source` changed and `state_machine_arn` added; its `module "fleet"` does to ECS what Fleet's module
does first: real hashicorp/aws resources register the task definition revision of the Fleet image
asked for and move the service (imported) to it, so the migration runs while ECS rolls out a revision
whose tasks exit 1 (missing migrations) and the old ones keep serving. Terraform (tools/terraform.py,
offline) runs `init` once, then `apply` three times: Fleet v4.59.0 (fleet:2) migrates; v4.60.0
(fleet:3)'s migration exits 1, so the workflow rolls back to what fleet:2 runs (registered again as
fleet:4: Terraform deregistered fleet:2, as Fleet's module does) and the apply fails; after "the
fix", applying v4.60.0 again runs attempt 2, which succeeds. ECS and the load balancer are simulated
with Fleet's own health check (5 checks 15 s apart) on a clock that runs SPEED times wall time; the
tasks of each revision and the healthy targets are printed as they change.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.timeline import one_line, phases
from demo.services import ServiceView, ServiceWatcher, view
from emulator import Emulator, FleetDeployment
from emulator.fleet import image_for_revision, seed_fleet
from emulator.fleet.database import level_of
from emulator.fleet.load_balancer import FLEET_TARGET_GROUP
from tools import terraform

ROOT_MODULE = Path(__file__).resolve().parent / "terraform"
# The emulated clock runs this many times wall time: Fleet's health check takes 75 s to call a new task
# healthy, 15 s of the demo's time. The durations below are emulated seconds.
SPEED = 5
TASK_START_SECONDS = 10.0
MIGRATION_SECONDS = 10.0
SERVICE_STOP_SECONDS = 3.0
# A new Fleet task runs (and, short of migrations, exits 1) this long after it is placed: soon enough that the
# new revision's tasks crash before the workflow scales the service down, as Fleet's do.
SERVICE_START_SECONDS = 3.0
SETTLE_SECONDS = 300.0  # after an apply, how long the demo waits for the Fleet service to settle
# The Fleet release each run deploys (Terraform registers fleet:2 for the first, fleet:3 for the next).
FLEET_V4_59 = image_for_revision(2)
FLEET_V4_60 = image_for_revision(3)


@dataclass
class Outcome:
    title: str
    exit_code: int
    seconds: float
    verdict: str


class Printer:
    """One line per event, stamped with the time since the run began; safe from several threads."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._lock = threading.Lock()
        self._now = now
        self.started = now()

    def restart(self) -> None:
        self.started = self._now()

    @property
    def elapsed(self) -> float:
        return self._now() - self.started

    def line(self, source: str, text: str) -> None:
        with self._lock:
            print(f"  {self.elapsed:6.1f}s  {source:<9} {text}", flush=True)


class Terraform:
    """`terraform` in demo/terraform, its data directory and state in a scratch folder (the checkout
    stays clean), the module's client pointed at the embedded AWS."""

    def __init__(self, aws: Emulator, fleet: FleetDeployment, scratch: Path, printer: Printer) -> None:
        self._printer = printer
        seeded = aws.client("ecs").describe_task_definition(taskDefinition=f"{fleet.task_definition}:1")[
            "taskDefinition"
        ]
        self._state = scratch / "terraform.tfstate"
        self.env = terraform.environment(
            {
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
                "TF_VAR_target_group_arn": fleet.target_group_arn or "",
                "TF_VAR_task_role_arn": seeded["taskRoleArn"],
                "TF_VAR_execution_role_arn": seeded["executionRoleArn"],
            }
        )

    def __call__(self, *args: str) -> int:
        """Run one command, printing each line Terraform prints as it comes."""
        process = subprocess.Popen(
            [*terraform.command(), *args, "-no-color"],
            cwd=ROOT_MODULE,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip():
                self._printer.line("terraform", line.rstrip())
        return process.wait()

    def apply(self, image: str) -> int:
        return self("apply", "-auto-approve", "-input=false", f"-var=fleet_image={image}")

    def init(self) -> int:
        return self("init", "-input=false", f"-backend-config=path={self._state}")


def _hcl_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def migrate(
    aws: Emulator, fleet: FleetDeployment, tf: Terraform, image: str, title: str, printer: Printer
) -> tuple[Outcome, ServiceView]:
    print(f"\n── {title} ──", flush=True)
    print(f"$ terraform apply -var fleet_image={image}", flush=True)
    services = {fleet.service: fleet.target_group_arn, **({fleet.vuln_service: None} if fleet.vuln_service else {})}
    printer.restart()
    with ServiceWatcher(aws, fleet.cluster, services, lambda text: printer.line("ecs", text)):
        exit_code = tf.apply(image)
        seconds = printer.elapsed
        # A rollback restores the service and returns: wait (on the emulated clock) for its tasks to serve again.
        deadline = aws.clock.now() + SETTLE_SECONDS
        while (
            not (after := view(aws, fleet.cluster, fleet.service, fleet.target_group_arn)).settled
            and aws.clock.now() < deadline
        ):
            time.sleep(0.2)
        time.sleep(0.3)  # let the watcher print the last change
    status, _, _ = aws.elb.answer(fleet.listener_arn or "")
    serves = ", ".join(f"fleet serves from {revision}" for revision in sorted(after.serving)) or "no Fleet task serves"
    outage = seconds_without_healthy_target(aws, fleet.target_group_arn or "", printer.started)
    print(f"  timeline: {one_line(phases(aws, fleet, printer.started), outage)}", flush=True)
    verdict = "succeeded" if exit_code == 0 else f"failed, terraform apply exit code {exit_code}"
    return Outcome(
        title,
        exit_code,
        seconds,
        f"{verdict} in {seconds:.0f}s; {serves}, {after.healthy_targets} healthy targets, "
        f"the load balancer answers {status}; no healthy target for {outage:.0f}s of the run",
    ), after


def seconds_without_healthy_target(aws: Emulator, target_group: str, since: float) -> float:
    """How long, from ``since`` until now, the target group had no healthy target: what Fleet's users saw as an outage."""
    history = [(max(at, since), count) for at, count in aws.elb.healthy_history(target_group)]
    before = [count for at, count in history if at <= since]
    spans = [(since, before[-1] if before else 0)] + [(at, count) for at, count in history if at > since]
    ends = [at for at, _ in spans[1:]] + [aws.clock.now()]
    return sum(end - at for (at, count), end in zip(spans, ends, strict=True) if count == 0)


def main() -> int:
    wall = time.monotonic()
    for noisy in ("moto", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    print("fleet-migration demo: Fleet migrations on an embedded AWS (moto), run by real `terraform apply`")
    print(
        f"of {ROOT_MODULE.relative_to(Path.cwd()) if ROOT_MODULE.is_relative_to(Path.cwd()) else ROOT_MODULE}/main.tf"
        ' (Fleet\'s example: module "migrations" with source changed, state_machine_arn added).'
    )
    print(
        f"Columns: time on the emulated clock ({SPEED}x wall time), who speaks (terraform: what Terraform prints; "
        "ecs: each service's tasks by revision and the healthy targets behind the load balancer), what happened."
    )
    with (
        Emulator(speed=SPEED, server=True, lambda_log_level="ERROR", target_group=FLEET_TARGET_GROUP) as aws,
        tempfile.TemporaryDirectory(prefix="fleet-migration-demo-") as scratch,
    ):
        for service in ("fleet", "fleet-vuln-processing"):
            behaviour = aws.service_behaviour(service)
            behaviour.stop_seconds, behaviour.start_seconds = SERVICE_STOP_SECONDS, SERVICE_START_SECONDS
        # Fleet v4.58.0 has been serving (fleet:1, its migrations applied); Terraform registers the next revisions.
        # (The Emulator's own seed_fleet takes a single revision for a first deploy, on an empty database.)
        aws.fleet_db.reset(level_of(image_for_revision(1)) or 0)
        fleet = seed_fleet(aws.region, client=aws.client, revisions=1, target_group=aws.target_group)
        print(
            f"\nSeeded: cluster {fleet.cluster!r}, services {fleet.service!r} (autoscaling 2..10, behind an ALB whose "
            f"target group checks /healthz every {FLEET_TARGET_GROUP.interval}s, healthy after "
            f"{FLEET_TARGET_GROUP.healthy_threshold}) on {fleet.task_definition}:1 and {fleet.vuln_service!r} on "
            f"{fleet.vuln_task_definition}:1, both running {fleet.images[1]}, the database migrated for it."
        )
        print(f"State machine: {aws.state_machine_arn}")
        printer = Printer(aws.clock.now)
        tf = Terraform(aws, fleet, Path(scratch), printer)

        print("\n── terraform init (offline: providers from a local mirror) ──", flush=True)
        if terraform.aws_provider_mirror() is None:
            # The migrations module names hashicorp/aws (for the workflow it can deploy), and no registry
            # serves it offline: only a machine image that carries a filesystem mirror of it can init.
            print(
                "hashicorp/aws is in no filesystem mirror on this machine, so terraform init cannot install it "
                "offline; the demo needs a machine that has one.",
                file=sys.stderr,
            )
            return 1
        printer.restart()
        if tf.init() != 0:
            return 1

        migration = {"start_seconds": TASK_START_SECONDS, "run_seconds": MIGRATION_SECONDS}
        aws.next_migration(exit_code=0, **migration)
        first, one = migrate(
            aws, fleet, tf, FLEET_V4_59, f"Run 1: deploy {FLEET_V4_59} (fleet:2); its migration succeeds", printer
        )
        aws.next_migration(exit_code=1, stopped_reason="Essential container in task exited", **migration)
        second, two = migrate(
            aws,
            fleet,
            tf,
            FLEET_V4_60,
            f"Run 2: deploy {FLEET_V4_60} (fleet:3); its migration exits 1: rollback to fleet:2",
            printer,
        )
        aws.next_migration(exit_code=0, **migration)
        third, three = migrate(
            aws,
            fleet,
            tf,
            FLEET_V4_60,
            f"Run 3: after the fix, apply {FLEET_V4_60} again (attempt 2 succeeds)",
            printer,
        )

    print(f"\nVerdicts (times on the emulated clock; the demo took {time.monotonic() - wall:.0f}s of wall time):")
    for outcome in (first, second, third):
        print(f"  {outcome.title.split(':')[0]}: {outcome.verdict}")
    # Run 2's rollback brings back what served, fleet:2's definition: Terraform deregistered fleet:2 when it
    # registered fleet:3, as Fleet's module does, so the rollback registers it again, as fleet:4.
    expected = (
        first.exit_code == 0
        and serves_only(one, "fleet:2")
        and second.exit_code != 0
        and serves_only(two, "fleet:4")
        and third.exit_code == 0
        and serves_only(three, "fleet:3")
    )
    return 0 if expected else 1


def serves_only(service: ServiceView, revision: str) -> bool:
    """Settled on ``revision``, every desired task healthy behind the load balancer."""
    return service.settled and set(service.serving) == {revision} and service.healthy_targets == service.desired


if __name__ == "__main__":
    sys.exit(main())
