"""The step map: each Task state of the ASL, the function it invokes, its handler, the phase function the handler
runs, the function's IAM statements and its timeout, as one table in docs/architecture.md.

    python tools/step_map.py            # print the table
    python tools/step_map.py --check    # exit 1 when docs/architecture.md's table no longer matches the sources
    python tools/step_map.py --write    # rewrite docs/architecture.md's table (between its markers)

Read from template.yaml (functions, handlers, policies, timeouts, ``DefinitionSubstitutions``), the ASL (states, in
their order) and each handler's code (the ``fleet_migration`` function its ``lambda_handler`` calls), so the names
of one step can be found from each other and never drift apart.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import marked_block

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from emulator.cloudformation import TEMPLATE, load_template  # noqa: E402

DOCUMENT = ROOT / "docs" / "architecture.md"
BEGIN = "<!-- BEGIN step_map: generated from template.yaml, the ASL and functions/ by tools/step_map.py -->"
END = "<!-- END step_map -->"
# Modules of the shared package a handler calls on the way that are not its phase (the clock, for its metrics).
_NOT_PHASES = frozenset({"polling"})


@dataclass(frozen=True)
class Step:
    state: str
    logical_id: str
    handler_file: str
    phase: str
    statements: tuple[str, ...]
    timeout: int


def _substitution_name(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return None


def phase_function(handler_file: Path, attribute: str = "lambda_handler") -> str:
    """``module.function`` of the shared package that the handler's ``lambda_handler`` hands the event to."""
    tree = ast.parse(handler_file.read_text())
    shared = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "fleet_migration"
        for alias in node.names
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == attribute:
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name)
                    and call.func.value.id in shared - _NOT_PHASES
                ):
                    return f"{call.func.value.id}.{call.func.attr}"
    raise ValueError(f"{handler_file.name}: {attribute} calls no function of fleet_migration")


def statements(properties: dict[str, Any]) -> list[tuple[dict[str, Any] | str, str | None]]:
    """The function's policy statements in template order, each with the condition it depends on (``!If [Cond,
    statement, !Ref AWS::NoValue]``) or None; a SAM policy template or managed policy stands as its name."""
    found: list[tuple[dict[str, Any] | str, str | None]] = []
    for policy in properties.get("Policies", []):
        if isinstance(policy, str):
            found.append((policy, None))
        elif isinstance(policy, dict) and "Statement" in policy:
            for statement in policy["Statement"]:
                if "Fn::If" in statement:
                    condition, when_true, _ = statement["Fn::If"]
                    found.append((when_true, condition))
                else:
                    found.append((statement, None))
        elif isinstance(policy, dict):
            found.extend((name, None) for name in policy)
    return found


def statement_names(properties: dict[str, Any]) -> tuple[str, ...]:
    """Each inline policy statement's Sid (its actions where it has none), SAM policy templates by name."""
    names: list[str] = []
    for statement, condition in statements(properties):
        if isinstance(statement, str):
            name = statement
        elif "Sid" in statement:
            name = statement["Sid"]
        else:
            actions = statement.get("Action", [])
            name = ", ".join([actions] if isinstance(actions, str) else actions)
        names.append(f"{name} (if {condition})" if condition else name)
    return tuple(names)


def steps(template_path: Path = TEMPLATE) -> list[Step]:
    template = load_template(template_path)
    resources = template["Resources"]
    globals_ = template.get("Globals", {}).get("Function", {})
    machine = next(r for r in resources.values() if r["Type"] == "AWS::Serverless::StateMachine")["Properties"]
    substitutions = {
        name: value["Fn::GetAtt"][0]
        for name, value in machine.get("DefinitionSubstitutions", {}).items()
        if isinstance(value, dict) and "Fn::GetAtt" in value
    }
    definition = json.loads((template_path.parent / machine["DefinitionUri"]).read_text())
    found: list[Step] = []
    for state_name, state in definition["States"].items():
        if state.get("Type") != "Task":
            continue
        reference = _substitution_name(state.get("Parameters", {}).get("FunctionName")) or _substitution_name(
            state.get("Resource")
        )
        if reference is None or reference not in substitutions:
            raise ValueError(f"state {state_name!r} invokes no function of template.yaml")
        logical_id = substitutions[reference]
        properties = resources[logical_id]["Properties"]
        handler = properties.get("Handler", globals_.get("Handler"))
        module, attribute = handler.rsplit(".", 1)
        code_dir = template_path.parent / properties.get("CodeUri", globals_.get("CodeUri"))
        handler_file = code_dir / f"{module.replace('.', '/')}.py"
        found.append(
            Step(
                state=state_name,
                logical_id=logical_id,
                handler_file=handler_file.resolve().relative_to(template_path.parent.resolve()).as_posix(),
                phase=phase_function(handler_file, attribute),
                statements=statement_names(properties),
                timeout=int(properties.get("Timeout", globals_.get("Timeout", 3))),
            )
        )
    return found


def table(found: list[Step]) -> str:
    lines = [
        "| state | function (logical id) | handler | phase function | IAM statements (Sid) | timeout |",
        "|---|---|---|---|---|---|",
    ]
    for step in found:
        module, function = step.phase.split(".")
        lines.append(
            f"| {step.state} | `{step.logical_id}` | [`{step.handler_file}`](../{step.handler_file}) | "
            f"[`{module}.py`](../functions/fleet_migration/{module}.py) `{function}` | "
            f"{', '.join(_code(name) for name in step.statements)} | {step.timeout} s |"
        )
    return "\n".join(lines) + "\n"


def _code(name: str) -> str:
    """``Sid`` in code type, its condition after it in words."""
    sid, _, condition = name.partition(" (if ")
    return f"`{sid}`" + (f" (if `{condition[:-1]}`)" if condition else "")


def document_block(found: list[Step]) -> str:
    """What sits between (and including) the markers in docs/architecture.md."""
    return f"{BEGIN}\n{table(found)}{END}"


def current_block(text: str) -> str | None:
    return marked_block.between(text, BEGIN, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when docs/architecture.md's step map is out of date")
    mode.add_argument("--write", action="store_true", help="rewrite docs/architecture.md's step map from the sources")
    args = parser.parse_args(argv)

    found = steps()
    if not (args.check or args.write):
        sys.stdout.write(table(found))
        return 0
    return marked_block.check_or_write(
        DOCUMENT, BEGIN, END, document_block(found), what="step map", tool="step_map.py", write=args.write
    )


if __name__ == "__main__":
    raise SystemExit(main())
