"""The emulator's modules before it was arranged by AWS service still import, as the modules that hold them now."""

import importlib

import pytest

from emulator import MOVED_MODULES


@pytest.mark.parametrize(("old", "new"), sorted(MOVED_MODULES.items()))
def test_a_module_path_from_before_the_arrangement_by_service_imports_the_module_holding_it_now(
    old: str, new: str
) -> None:
    assert importlib.import_module(old) is importlib.import_module(new)


def test_what_tests_imported_from_the_old_paths_is_there() -> None:
    from emulator.ecs_simulator import ServiceBehaviour, TaskOutcome, circuit_breaker_threshold
    from emulator.elb_simulator import SERVED, UNAVAILABLE
    from emulator.fleet_database import MIGRATIONS, level_of
    from emulator.template import DEPLOYED_PARAMETERS, RULE_FUNCTIONS, read_application

    assert all((ServiceBehaviour, TaskOutcome, circuit_breaker_threshold, SERVED, UNAVAILABLE, MIGRATIONS, level_of))
    assert all((DEPLOYED_PARAMETERS, RULE_FUNCTIONS, read_application))
