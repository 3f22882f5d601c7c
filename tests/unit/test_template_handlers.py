"""Every function template.yaml declares points at a handler that exists (samples have shipped ones that did not)."""

from __future__ import annotations

import importlib
import sys

import pytest

from emulator.cloudformation import read_application

FUNCTIONS = read_application().functions


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_the_handler_named_in_the_template_is_importable_and_callable(logical_id):
    spec = FUNCTIONS[logical_id]
    assert spec.code_dir.is_dir(), f"{logical_id}: CodeUri {spec.code_dir} is not a directory"
    sys.path.insert(0, str(spec.code_dir))
    try:
        module = importlib.import_module(spec.module)
    finally:
        sys.path.remove(str(spec.code_dir))

    assert callable(getattr(module, spec.attribute, None)), f"{logical_id}: {spec.handler} is not callable"


def test_every_step_of_the_state_machine_has_a_function():
    steps = {
        "DescribeServiceFunction",
        "ScaleDownFunction",
        "CheckDrainedFunction",
        "RunTaskFunction",
        "PollTaskFunction",
        "ScaleUpFunction",
        "CheckStableFunction",
        "StopMigrationTaskFunction",
        "RollbackFunction",
    }

    assert steps <= set(FUNCTIONS)
