"""Shared fixtures: an embedded AWS with the application deployed from template.yaml, and a seeded Fleet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import Emulator, FleetDeployment

def pytest_configure(config: pytest.Config) -> None:
    # Steps that add no metric of their own flush an empty set; Powertools warns on every invocation.
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


# Emulated time runs this many times faster than real time in workflow tests: a 1 s poll
# interval sleeps 0.2 s. Behaviour is unchanged; only the waiting is shorter.
SPEED = 5


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
