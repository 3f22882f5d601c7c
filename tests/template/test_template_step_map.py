"""docs/architecture.md's step map is generated from template.yaml, the ASL and the handlers, and must not drift."""

from __future__ import annotations

import importlib
import json
import sys

from template_support import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import step_map  # noqa: E402


def test_the_step_map_in_the_architecture_document_matches_its_sources() -> None:
    found = step_map.current_block(step_map.DOCUMENT.read_text())
    assert found is not None, "docs/architecture.md lost the step map markers of its 'One step, its names' section"
    assert found == step_map.document_block(step_map.steps()), (
        "docs/architecture.md's step map is out of date: run .venv/bin/python tools/step_map.py --write"
    )


def test_the_step_map_has_a_row_for_every_task_state() -> None:
    definition = json.loads((ROOT / "statemachine" / "migration.asl.json").read_text())
    tasks = [name for name, state in definition["States"].items() if state["Type"] == "Task"]

    assert [step.state for step in step_map.steps()] == tasks


def test_every_phase_function_the_map_names_exists() -> None:
    for step in step_map.steps():
        module, function = step.phase.split(".")
        assert callable(getattr(importlib.import_module(f"fleet_migration.{module}"), function)), step
