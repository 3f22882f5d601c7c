"""Draw the state machine: statemachine/migration.asl.json as a Mermaid flowchart for docs/architecture.md.

    python tools/asl_to_mermaid.py            # print the diagram
    python tools/asl_to_mermaid.py --check    # exit 1 when docs/architecture.md's diagram no longer matches the ASL
    python tools/asl_to_mermaid.py --write    # rewrite docs/architecture.md's diagram (between its markers) from the ASL

Solid arrows are ``Next``, ``Choices`` and ``Default``; dashed arrows are ``Catch``. ``Retry`` is
not drawn (every Task retries Lambda service errors and AWS throttling). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import marked_block

ROOT = Path(__file__).resolve().parent.parent
ASL = ROOT / "statemachine" / "migration.asl.json"
DOCUMENT = ROOT / "docs" / "architecture.md"
BEGIN = "<!-- BEGIN asl_to_mermaid: generated from statemachine/migration.asl.json by tools/asl_to_mermaid.py -->"
END = "<!-- END asl_to_mermaid -->"

# Mermaid node shapes per state type, as (open, close).
_SHAPES = {
    "Task": ('["', '"]'),
    "Choice": ('{"', '"}'),
    "Wait": ('[/"', '"/]'),
    "Pass": ('[["', '"]]'),
    "Succeed": ('(["', '"])'),
    "Fail": ('(["', '"])'),
    "Parallel": ('[["', '"]]'),
    "Map": ('[["', '"]]'),
}
_COMPARISONS = {
    "BooleanEquals": "=",
    "StringEquals": "=",
    "NumericEquals": "=",
    "TimestampEquals": "=",
    "StringMatches": "~",
    "NumericLessThan": "<",
    "NumericGreaterThan": ">",
    "NumericLessThanEquals": "<=",
    "NumericGreaterThanEquals": ">=",
}


def _text(value: str) -> str:
    """Mermaid-safe label text (quotes and angle brackets as entities)."""
    return value.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _path(path: str) -> str:
    return path[2:] if path.startswith("$.") else path


def describe_rule(rule: dict[str, Any]) -> str:
    """A Choice rule in words: ``drain.done = true``, ``not (...)``, ``a and b``."""
    if "And" in rule:
        return " and ".join(describe_rule(r) for r in rule["And"])
    if "Or" in rule:
        return " or ".join(describe_rule(r) for r in rule["Or"])
    if "Not" in rule:
        return f"not ({describe_rule(rule['Not'])})"
    variable = _path(rule.get("Variable", ""))
    for key, value in rule.items():
        if key in ("Variable", "Next"):
            continue
        if key.endswith("Path") and key[:-4] in _COMPARISONS:
            return f"{variable} {_COMPARISONS[key[:-4]]} {_path(value)}"
        if key in _COMPARISONS:
            shown = json.dumps(value) if isinstance(value, bool) else str(value)
            return f"{variable} {_COMPARISONS[key]} {shown}"
        if key == "IsPresent":
            return f"{variable} is {'present' if value else 'absent'}"
        if key.startswith("Is"):
            return f"{variable} {key[2:].lower()} is {json.dumps(value)}"
    return variable or "?"


def _errors(errors: list[str]) -> str:
    return "any error" if errors == ["States.ALL"] else ", ".join(errors)


def to_mermaid(definition: dict[str, Any]) -> str:
    states: dict[str, dict[str, Any]] = definition["States"]
    ids = {name: f"s{number}" for number, name in enumerate(states, start=1)}
    lines = ["flowchart TD", '    start(("Start"))']
    for name, state in states.items():
        opening, closing = _SHAPES.get(state["Type"], ('["', '"]'))
        label = _text(name)
        if state["Type"] == "Fail":
            error = state.get("Error") or (f"error from {_path(state['ErrorPath'])}" if "ErrorPath" in state else "")
            label += f"<br/><i>{_text(error)}</i>" if error else ""
        lines.append(f"    {ids[name]}{opening}{label}{closing}")
    lines.append(f"    start --> {ids[definition['StartAt']]}")
    for name, state in states.items():
        source = ids[name]
        for rule in state.get("Choices", []):
            lines.append(f'    {source} -->|"{_text(describe_rule(rule))}"| {ids[rule["Next"]]}')
        if "Default" in state:
            lines.append(f'    {source} -->|"otherwise"| {ids[state["Default"]]}')
        if "Next" in state:
            lines.append(f"    {source} --> {ids[state['Next']]}")
        for catcher in state.get("Catch", []):
            lines.append(f'    {source} -.->|"{_text(_errors(catcher["ErrorEquals"]))}"| {ids[catcher["Next"]]}')
    succeeded = [ids[n] for n, s in states.items() if s["Type"] == "Succeed"]
    failed = [ids[n] for n, s in states.items() if s["Type"] == "Fail"]
    lines.append("    classDef succeeded fill:#d4edda,stroke:#2e7d32")
    lines.append("    classDef failed fill:#f8d7da,stroke:#c62828")
    if succeeded:
        lines.append(f"    class {','.join(succeeded)} succeeded")
    if failed:
        lines.append(f"    class {','.join(failed)} failed")
    return "\n".join(lines) + "\n"


def readme_block(definition: dict[str, Any]) -> str:
    """What sits between (and including) the markers in docs/architecture.md."""
    return f"{BEGIN}\n```mermaid\n{to_mermaid(definition)}```\n{END}"


def current_block(readme: str) -> str | None:
    return marked_block.between(readme, BEGIN, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when docs/architecture.md's diagram is out of date")
    mode.add_argument("--write", action="store_true", help="rewrite docs/architecture.md's diagram from the ASL")
    args = parser.parse_args(argv)

    definition = json.loads(ASL.read_text())
    if not (args.check or args.write):
        sys.stdout.write(to_mermaid(definition))
        return 0
    return marked_block.check_or_write(
        DOCUMENT,
        BEGIN,
        END,
        readme_block(definition),
        what="state machine diagram",
        tool="asl_to_mermaid.py",
        write=args.write,
    )


if __name__ == "__main__":
    raise SystemExit(main())
