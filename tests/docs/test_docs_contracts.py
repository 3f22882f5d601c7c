"""The design documents in docs/ stay true where the code can tell.

- every field of the execution input model is a row of docs/execution-input.md's table, with the model's
  default (or "required");
- every error name the code raises as part of the contract is a row of docs/errors.md's table;
- nothing in the repository sends readers to a design document they do not have;
- the index lists every document, and links between them lead somewhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic_core import PydanticUndefined

from fleet_migration import errors
from fleet_migration.execution_input import MigrationInput

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# A default longer than this is shown below the table, verbatim, rather than in its cell.
LONGEST_DEFAULT_IN_A_CELL = 60


def table_rows(markdown: str) -> dict[str, list[str]]:
    """The rows of the document's tables whose first cell is one backquoted name: name -> the other cells."""
    rows: dict[str, list[str]] = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if cells and (name := re.fullmatch(r"`([A-Za-z_]+)`", cells[0])):
            rows.setdefault(name.group(1), cells[1:])
    return rows


def json_values(cell: str) -> list[object]:
    """Every backquoted span of a cell that is a JSON value."""
    values = []
    for span in re.findall(r"`([^`]+)`", cell):
        try:
            values.append(json.loads(span))
        except json.JSONDecodeError:
            pass
    return values


def same_json(a: object, b: object) -> bool:
    """Equal as JSON values: ``0`` is not ``false`` (Python's ``0 == False`` would say it is)."""
    return type(a) is type(b) and a == b


def test_every_input_field_is_documented_with_its_default() -> None:
    # GIVEN the input document's table and the model that validates the input
    document = (DOCS / "execution-input.md").read_text()
    rows = table_rows(document)

    # THEN each field has a row whose default column says what the model does when it is left out
    problems = []
    for name, field in MigrationInput.model_fields.items():
        if name not in rows:
            problems.append(f"{name}: no row in docs/execution-input.md")
            continue
        default_cell = rows[name][1]
        if field.is_required():
            if default_cell != "required":
                problems.append(f"{name}: required by the model, documented default {default_cell!r}")
            continue
        default = field.get_default(call_default_factory=True)
        assert default is not PydanticUndefined
        if isinstance(default, str) and len(default) > LONGEST_DEFAULT_IN_A_CELL:
            if default not in document:
                problems.append(f"{name}: its default is not shown verbatim in docs/execution-input.md")
        elif not any(same_json(default, value) for value in json_values(default_cell)):
            problems.append(f"{name}: default {json.dumps(default)} in the model, {default_cell!r} in the docs")
    # and the table has no row for a field the model does not know (unknown fields are an error)
    documented_fields = {name for name, cells in rows.items() if len(cells) == 3}
    problems += [
        f"{name}: documented but not a field of MigrationInput"
        for name in sorted(documented_fields - set(MigrationInput.model_fields))
    ]
    assert not problems, "\n".join(problems)


def test_every_contract_error_is_documented() -> None:
    # GIVEN the error names the code raises (read from the code: new ones appear here by themselves)
    rows = table_rows((DOCS / "errors.md").read_text())

    # THEN each is a row of the error table
    missing = [name for name in errors.CONTRACT_ERROR_NAMES if name not in rows]
    assert not missing, f"not in docs/errors.md's table: {missing}"


FORBIDDEN = ("design" + " section", "design" + ".md")  # spelt apart so that this file does not match itself
SEARCHED = (
    "functions",
    "emulator",
    "tests",
    "terraform",
    "docs",
    "README.md",
    "bench",
    "demo",
    "tools",
    "template.yaml",
    "statemachine",
)
TEXT_SUFFIXES = {".py", ".md", ".tf", ".json", ".yaml", ".yml", ".toml", ".txt", ".hcl", ".sh", ""}


def references_to_the_outside_design() -> list[str]:
    places = []
    for top in SEARCHED:
        path = ROOT / top
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if file.suffix not in TEXT_SUFFIXES or "__pycache__" in file.parts or ".terraform" in file.parts:
                continue
            try:
                text = file.read_text()
            except UnicodeDecodeError:
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if any(phrase in line.lower() for phrase in FORBIDDEN):
                    places.append(f"{file.relative_to(ROOT)}:{number}: {line.strip()}")
    return places


def test_the_docs_themselves_cite_no_outside_design() -> None:
    places = [place for place in references_to_the_outside_design() if place.startswith("docs/")]
    assert not places, "\n".join(places)


def test_nothing_cites_a_design_document_users_do_not_have() -> None:
    places = references_to_the_outside_design()
    assert not places, f"{len(places)} places cite it; point them at docs/ instead:\n" + "\n".join(places)


def test_the_index_lists_every_document_and_every_link_leads_somewhere() -> None:
    index = (DOCS / "README.md").read_text()
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    assert [page for page in pages if f"]({page})" not in index] == []
    broken = []
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / target).is_file():
                broken.append(f"{page.name} -> {target}")
    assert not broken, broken
