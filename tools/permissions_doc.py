"""docs/permissions.md's table of what each step may do, generated from template.yaml's policy statements.

    python tools/permissions_doc.py            # print the table
    python tools/permissions_doc.py --check    # exit 1 when docs/permissions.md's table no longer matches the template
    python tools/permissions_doc.py --write    # rewrite docs/permissions.md's table (between its markers)

One row per statement of every function (in template order, then the state machine's): its Sid, actions,
resources and condition, with CloudFormation's ``!Sub``/``!Ref``/``!If``/``!GetAtt`` written out in words. The
Terraform workflow module grants the same statements (tests/terraform/test_workflow_module_terraform.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import marked_block

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tools"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from emulator.cloudformation import TEMPLATE, load_template  # noqa: E402
from step_map import statements  # noqa: E402

DOCUMENT = ROOT / "docs" / "permissions.md"
BEGIN = "<!-- BEGIN permissions_doc: generated from template.yaml by tools/permissions_doc.py -->"
END = "<!-- END permissions_doc -->"
_PSEUDO = {"${AWS::Partition}": "<partition>", "${AWS::Region}": "<region>", "${AWS::AccountId}": "<account>"}


def words(node: Any) -> str:
    """A template value as Markdown for the reader: each value in code type, parameters as ``${Name}``, the
    pseudo parameters as ``<region>`` and the like, ``!If`` in words."""
    if isinstance(node, list):
        return ", ".join(words(item) for item in node)
    if isinstance(node, str):
        return f"`{node}`"
    if isinstance(node, dict) and len(node) == 1:
        (function, argument), *_ = node.items()
        if function == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            shown = f"`{re.sub(r'[$][{]AWS::[A-Za-z]+[}]', lambda m: _PSEUDO.get(m.group(0), m.group(0)), text)}`"
            variables = {} if isinstance(argument, str) else argument[1]
            where = "; ".join(f"`{name}`: {words(value)}" for name, value in variables.items())
            return f"{shown} (with {where})" if where else shown
        if function == "Ref":
            return f"`{_PSEUDO.get(f'${{{argument}}}', f'${{{argument}}}')}`"
        if function == "Fn::GetAtt":
            return f"`${{{'.'.join(argument)}}}`"
        if function == "Fn::If":
            condition, when_true, when_false = argument
            if when_false == {"Ref": "AWS::NoValue"}:
                return f"{words(when_true)} (if `{condition}`)"
            return f"{words(when_true)} if `{condition}`, else {words(when_false)}"
    raise ValueError(f"no words for {node!r}")


def _condition(condition: dict[str, Any] | None) -> str:
    if not condition:
        return ""
    return "; ".join(
        f"`{operator}` `{key}` = {words(value)}"
        for operator, tests in condition.items()
        for key, value in tests.items()
    )


def rows() -> list[tuple[str, str, str, str, str]]:
    """(function, Sid, actions, resources, condition) of every statement, in template order."""
    template = load_template(TEMPLATE)
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] not in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            continue
        for statement, only_if in statements(resource.get("Properties", {})):
            if isinstance(statement, str):
                found.append((logical_id, statement, "(a SAM policy)", "", ""))
                continue
            sid = f"`{statement.get('Sid', '')}`" + (f" (if `{only_if}`)" if only_if else "")
            actions, resources = words(statement.get("Action", [])), words(statement.get("Resource", []))
            found.append((logical_id, sid, actions, resources, _condition(statement.get("Condition"))))
    return found


def table() -> str:
    lines = ["| function | statement | actions | resources | condition |", "|---|---|---|---|---|"]
    previous = None
    for function, sid, actions, resources, condition in rows():
        shown = f"`{function}`" if function != previous else ""
        previous = function
        lines.append(f"| {shown} | {sid} | {actions} | {resources.replace('|', '&#124;')} | {condition} |")
    return "\n".join(lines) + "\n"


def document_block() -> str:
    return f"{BEGIN}\n{table()}{END}"


def current_block(text: str) -> str | None:
    return marked_block.between(text, BEGIN, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when docs/permissions.md's table is out of date")
    mode.add_argument("--write", action="store_true", help="rewrite docs/permissions.md's table from template.yaml")
    args = parser.parse_args(argv)

    if not (args.check or args.write):
        sys.stdout.write(table())
        return 0
    return marked_block.check_or_write(
        DOCUMENT, BEGIN, END, document_block(), what="permissions table", tool="permissions_doc.py", write=args.write
    )


if __name__ == "__main__":
    raise SystemExit(main())
