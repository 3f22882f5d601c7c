"""Shared fixtures: an embedded AWS with the application deployed from template.yaml, and a seeded Fleet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import Emulator, FleetDeployment

@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` group again: pytest-xdist 3.8 marks a test's group by setting
    ``item._nodeid``, which pytest 9 no longer reads (a node's id is ``item._id``), so tests marked
    ``xdist_group`` were spread over workers and a module-scoped fixture ran once on each."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers only
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # an older pytest: xdist's own suffix works there
        return
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        suffix = f"@{'_'.join(names)}"
        if names and not item.nodeid.endswith(suffix):  # a test's own id may hold an "@" (terraform@ci)
            item._id = NodeId.parse(item.nodeid + suffix)


def pytest_configure(config: pytest.Config) -> None:
    # Steps that add no metric of their own flush an empty set; Powertools warns on every invocation.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


# Emulated time runs this many times faster than real time in workflow tests: a 1 s poll
# interval sleeps 0.2 s. Behaviour is unchanged; only the waiting is shorter.
SPEED = 10


@pytest.fixture
def aws() -> Iterator[Emulator]:
    with Emulator(speed=SPEED) as emulator:
        yield emulator


@pytest.fixture
def fleet(aws: Emulator) -> FleetDeployment:
    return aws.seed_fleet()


@pytest.fixture
def fast_input(fleet: FleetDeployment):
    """A valid input with the shortest waits, for a given deployment: ``fast_input(**overrides)``."""

    def build(**overrides):
        return fleet.migration_input(poll_interval_seconds=1, **overrides)

    return build
