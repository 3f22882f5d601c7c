"""docs/emulator.md's table of the AWS rules the emulator enforces says where each rule lives, and stays true: every
module a row names exists and holds the row's phrase of the AWS documentation, beside the rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_DOC = ROOT / "docs" / "emulator.md"
# In the "lives in" cell: `emulator/<module>.py` "<phrase>", once or more, separated by semicolons.
PLACE = re.compile(r'`(emulator/[\w/]+\.py)` "([^"]+)"')


def rules_table() -> list[list[str]]:
    """The rows of the table under "The AWS rules it enforces", each its cells."""
    section = EMULATOR_DOC.read_text().split("## The AWS rules it enforces", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[2:]]


def words(text: str) -> str:
    """Text as read, whatever the line breaks, comment marks and indentation of the source around it."""
    lines = (re.sub(r"^\s*#\s?", "", line) for line in text.splitlines())
    return re.sub(r"\s+", " ", " ".join(lines)).lower()


ROWS = rules_table()
PLACES = [(row[0], module, phrase) for row in ROWS for module, phrase in PLACE.findall(row[-1])]


def test_every_rule_of_the_table_says_which_module_it_lives_in() -> None:
    assert len(ROWS) >= 20
    assert [row[0] for row in ROWS if not PLACE.search(row[-1])] == []


@pytest.mark.parametrize(("rule", "module", "phrase"), PLACES, ids=[f"{m}: {p[:40]}" for _, m, p in PLACES])
def test_the_module_a_rule_lives_in_holds_the_words_of_its_aws_documentation(rule: str, module: str, phrase: str):
    path = ROOT / module
    assert path.is_file(), f"docs/emulator.md places the rule {rule[:60]!r} in {module}, which does not exist"
    assert words(phrase) in words(path.read_text()), f"{module} does not say {phrase!r} (rule: {rule[:60]!r})"
