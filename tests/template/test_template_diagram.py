"""docs/architecture.md's state machine diagram is generated from the ASL and must not drift from it."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest

from template_support import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import asl_to_mermaid  # noqa: E402


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(asl_to_mermaid.ASL.read_text())


def transitions(definition: dict[str, Any]) -> list[tuple[str, str]]:
    edges = []
    for name, state in definition["States"].items():
        targets = [rule["Next"] for rule in state.get("Choices", [])]
        targets += [state[key] for key in ("Default", "Next") if key in state]
        targets += [catcher["Next"] for catcher in state.get("Catch", [])]
        edges += [(name, target) for target in targets]
    return edges


def test_the_architecture_diagram_matches_the_asl(definition: dict[str, Any]) -> None:
    found = asl_to_mermaid.current_block(asl_to_mermaid.DOCUMENT.read_text())
    assert found is not None, "docs/architecture.md lost the diagram markers of its 'Every state' section"
    assert found == asl_to_mermaid.readme_block(definition), (
        "docs/architecture.md's state machine diagram is out of date: run .venv/bin/python tools/asl_to_mermaid.py --write"
    )


def test_the_check_mode_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    assert asl_to_mermaid.main(["--check"]) == 0


def test_the_diagram_draws_every_state_and_every_transition(definition: dict[str, Any]) -> None:
    diagram = asl_to_mermaid.to_mermaid(definition)
    nodes = dict(re.findall(r'^    (s\d+)[\[{(/]+"([^"<]+)', diagram, re.MULTILINE))
    assert sorted(nodes.values()) == sorted(definition["States"])
    ids = {name: node for node, name in nodes.items()}
    edges = re.findall(r"^    (s\d+) -\.?->(?:\|[^|]*\|)? (s\d+)$", diagram, re.MULTILINE)
    assert sorted(edges) == sorted((ids[a], ids[b]) for a, b in transitions(definition))
    assert f"start --> {ids[definition['StartAt']]}" in diagram


def test_choice_rules_read_as_conditions() -> None:
    assert asl_to_mermaid.describe_rule({"Variable": "$.drain.done", "BooleanEquals": True}) == "drain.done = true"
    assert asl_to_mermaid.describe_rule({"Not": {"Variable": "$.a", "StringEquals": "x"}}) == "not (a = x)"
    assert (
        asl_to_mermaid.describe_rule(
            {"And": [{"Variable": "$.n", "NumericGreaterThanPath": "$.m"}, {"Variable": "$.k", "IsPresent": True}]}
        )
        == "n > m and k is present"
    )
