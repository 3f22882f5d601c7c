"""Shared fixtures: an embedded AWS with the application deployed from template.yaml and a seeded Fleet (``aws``
on a simulated clock, for whole executions; ``emu`` on a stepped clock, moved by the test), plain moto, a Lambda
context."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from moto import mock_aws

from emulator import Emulator, FleetDeployment
from emulator.lambda_runtime import LambdaContext
from fleet_migration import aws as fleet_aws
from fleet_migration.observability import metrics

# The suite allocates heavily (botocore parses every request and response, moto builds and serializes objects) and
# keeps little: Python's default collector, which scans the young objects every 700 allocations, took a sixth of the
# CPU time of a whole execution on the emulator. Scanning every 100,000, and never again what collection loaded (the
# modules of the tests, moto's and botocore's), changes no test's outcome, only how often garbage is looked for.
gc.set_threshold(100_000, 50, 1000)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """How `make test` spreads the suite over its workers (``--dist loadgroup``): each unit of work goes to one
    worker, whole.

    - A module whose tests share a module-scoped fixture (a recorded workflow, an applied Terraform root) is one
      unit, so that fixture runs once and not once per worker that happens to get one of its tests.
    - The longest units, the modules whose tests share an applied Terraform root (minutes each, mostly waiting:
      the AWS provider waits 5 s after each Lambda function it creates, one function at a time), start first,
      then the other Terraform tests (they wait too: the client follows executions in real time). The rest, whole
      executions on the simulated clock and plain tests, is CPU only and fills the cores around them and at the
      end (``--no-loadscope-reorder`` keeps this order, which xdist would otherwise sort by the number of tests
      in each unit). Measured: 3 min 29 s to 3 min 37 s, against 3 min 46 s to 3 min 55 s with only the applied
      roots first.
    - pytest-xdist 3.8 marks a test's group by setting ``item._nodeid``, which pytest 9 no longer reads (a
      node's id is ``item._id``): the group is added to the id here.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers only
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # an older pytest: xdist's own suffix works there
        return
    for item in items:
        shared = _module_fixture_instance(item)
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared))
        names = sorted(
            {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        )
        suffix = f"@{'_'.join(names)}"
        if names and not item.nodeid.endswith(suffix):  # a test's own id may hold an "@" (terraform@ci)
            item._id = NodeId.parse(item.nodeid + suffix)
    first = {  # the modules whose tests share an applied Terraform root: the longest units of work
        item.nodeid.split("::", 1)[0]
        for item in items
        if item.get_closest_marker("terraform") and _module_fixture_instance(item)
    }
    items.sort(key=lambda item: (item.nodeid.split("::", 1)[0] not in first, not item.get_closest_marker("terraform")))


def _module_fixture_instance(item: pytest.Item) -> str | None:
    """The module-scoped fixture instance ``item`` shares with the other tests of its module, named after the module
    and the fixture's parameter, if any (each parameter is a fixture of its own: a unit of its own); None if none."""
    info = getattr(item, "_fixtureinfo", None)
    names = [
        name
        for name, fixturedefs in (info.name2fixturedefs.items() if info else ())
        if any(fixturedef.scope == "module" for fixturedef in fixturedefs)
    ]
    if not names:
        return None
    params = getattr(item, "callspec", None)
    parts = [item.nodeid.split("::", 1)[0].removesuffix(".py")]
    parts += [str(params.params[name]) for name in names if params is not None and name in params.params]
    return re.sub(r"[^\w.-]", "-", ".".join(parts))


def pytest_configure(config: pytest.Config) -> None:
    # Steps that add no metric of their own flush an empty set; Powertools warns on every invocation.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")
    config.addinivalue_line("markers", "fleet(**options): options of the seeded Fleet deployment (Emulator.seed_fleet)")


# The lanes (CONTRIBUTING.md, "The tests"): `make test-fast` deselects these markers, `make test` runs everything.
# They are given here by folder and by fixture, so a new test lands in the right lane without marking it.
EMULATOR_FOLDERS = ("workflow", "bench")  # under tests/: whole executions, and the benchmarks' own runs
EMULATOR_FILES = ("test_smoke_workflow.py",)
# Fixtures that run whole executions: the workflow tests' emulator (tests/conftest.py, tests/workflow/conftest.py)
# and the module-scoped ones that record executions or serve the emulator to a client process.
EMULATOR_FIXTURES = frozenset({"aws", "shared", "recording", "served"})
# Fixtures that run real Terraform (tests/terraform/conftest.py's, and the roots and plans of its modules); a test
# that runs Terraform without one carries the marker itself.
TERRAFORM_FIXTURES = frozenset({"terraform_data_dir", "root", "runs", "planned"})


def pytest_itemcollected(item: pytest.Item) -> None:
    """Each test's lane, as it is collected (before ``-m`` selects: this file's pytest_collection_modifyitems
    runs last, for pytest-xdist)."""
    path = Path(str(item.path)).relative_to(Path(__file__).parent)
    fixtures = set(getattr(item, "fixturenames", ()))
    if path.parts[0] in EMULATOR_FOLDERS or path.name in EMULATOR_FILES or fixtures & EMULATOR_FIXTURES:
        item.add_marker(pytest.mark.emulator)
    if fixtures & TERRAFORM_FIXTURES:
        item.add_marker(pytest.mark.terraform)


@pytest.fixture
def aws() -> Iterator[Emulator]:
    with Emulator(simulated=True) as emulator:
        yield emulator


@pytest.fixture
def fleet(aws: Emulator) -> FleetDeployment:
    return aws.seed_fleet()


@pytest.fixture
def fast_input(fleet: FleetDeployment):
    """A valid input for a given deployment, ``fast_input(**overrides)``, that looks every 5 s from the start: on the
    simulated clock a wait costs no real time and each look costs CPU, so the fewest looks make the fastest test."""

    def build(**overrides):
        return fleet.migration_input(poll_interval_seconds=5, **overrides)

    return build


# -- for tests that call the steps and the emulator directly ----------------------------------------------


@pytest.fixture(autouse=True)
def _reset_metrics() -> Iterator[None]:
    """Metrics added by one test must not be flushed by the next one's handler."""
    yield
    metrics.clear_metrics()


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext(
        function_name="test-function",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:test-function",
        aws_request_id="52fdfc07-2182-154f-163f-5f0f9a621d72",
    )


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plain moto (Step Functions executions stay RUNNING and never run), with the steps' clients reset."""
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    fleet_aws.client.cache_clear()
    with mock_aws():
        yield
    fleet_aws.client.cache_clear()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """The emulator on a stepped clock: tests move time with ``emu.clock.advance`` instead of waiting, and no
    real time passes in between (what a test sees does not depend on how fast the machine runs it)."""
    with Emulator(stepped=True) as emulator:
        yield emulator


@pytest.fixture
def deployment(emu: Emulator, request: pytest.FixtureRequest) -> FleetDeployment:
    marker = request.node.get_closest_marker("fleet")
    return emu.seed_fleet(**(marker.kwargs if marker else {}))


@pytest.fixture
def execution(emu: Emulator):
    """``execution(name)``: what the state machine passes as ``execution`` (from ``$$``), for an execution
    that is not running (so the one-migration-per-service guard sees nobody else)."""

    def build(name: str = "fleet-fleet-r2") -> dict[str, str]:
        return {
            "id": emu.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}",
            "name": name,
            "state_machine_arn": emu.state_machine_arn,
            "start_time": datetime.now(UTC).isoformat(),
        }

    return build
