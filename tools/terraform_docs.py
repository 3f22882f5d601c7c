"""The inputs and outputs tables of the Terraform modules' READMEs, generated from variables.tf and outputs.tf.

terraform-docs style: each README holds the tables between two markers, and only this script writes
what is between them, so a variable's description lives in one place, its `variable` block.

    python tools/terraform_docs.py            # rewrite the tables of every module's README
    python tools/terraform_docs.py --check    # exit 1 when a README's tables no longer match the .tf files

The parser reads the subset of HCL these files use: top-level `variable "name" { ... }` and
`output "name" { ... }` blocks whose attributes are `key = expression`, expressions that may span lines
inside brackets, quoted strings with escapes, heredocs, comments, and nested blocks (`validation`), which
it skips. Expressions are shown as written (`type`, `default`), not evaluated.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = [ROOT / "terraform", ROOT / "terraform" / "modules" / "workflow"]
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
NOTE = "<!-- generated from variables.tf and outputs.tf by tools/terraform_docs.py: edit those, then run it -->"


class HclError(ValueError):
    """The file uses HCL this small parser does not read."""


@dataclass
class Block:
    kind: str
    name: str
    attributes: dict[str, str]  # attribute name -> the expression's source text, as written


class Scanner:
    """Walks HCL source text character by character, knowing strings, heredocs and comments."""

    def __init__(self, text: str, path: str) -> None:
        self.text, self.path, self.pos = text, path, 0

    def error(self, message: str) -> HclError:
        line = self.text.count("\n", 0, self.pos) + 1
        return HclError(f"{self.path}:{line}: {message}")

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self, length: int = 1) -> str:
        return self.text[self.pos : self.pos + length]

    def skip_blank(self, newlines: bool = True) -> None:
        """Spaces, comments and (unless told not to) newlines."""
        while not self.at_end():
            char = self.peek()
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif char == "#" or self.peek(2) == "//":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif self.peek(2) == "/*":
                end = self.text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated /* comment")
                self.pos = end + 2
            else:
                return

    def word(self) -> str:
        start = self.pos
        while not self.at_end() and (self.peek().isalnum() or self.peek() in "_-"):
            self.pos += 1
        return self.text[start : self.pos]

    def string(self) -> str:
        """A quoted string starting at the current position; returns its source text, quotes included."""
        start = self.pos
        self.pos += 1
        while not self.at_end():
            char = self.peek()
            if char == "\\":
                self.pos += 2
            elif char == '"':
                self.pos += 1
                return self.text[start : self.pos]
            elif char == "\n":
                break
            else:
                self.pos += 1
        raise self.error("unterminated string")

    def heredoc(self) -> str:
        start = self.pos
        line_end = self.text.find("\n", self.pos)
        marker = self.text[self.pos : line_end].lstrip("<").lstrip("-").strip()
        if line_end < 0 or not marker:
            raise self.error("malformed heredoc")
        self.pos = line_end + 1
        while not self.at_end():
            line_end = self.text.find("\n", self.pos)
            line_end = len(self.text) if line_end < 0 else line_end
            line = self.text[self.pos : line_end]
            self.pos = line_end
            if line.strip() == marker:
                return self.text[start : self.pos]
            self.pos += 1
        raise self.error(f"heredoc {marker} never ends")

    def expression(self) -> str:
        """From the current position to the end of the line, continuing while brackets are open."""
        start, depth = self.pos, 0
        while not self.at_end():
            char = self.peek()
            if char == '"':
                self.string()
            elif self.peek(2) == "<<":
                self.heredoc()
            elif char == "#" or self.peek(2) in ("//", "/*"):
                if depth == 0:
                    break
                self.skip_blank()
            elif char in "([{":
                depth += 1
                self.pos += 1
            elif char in ")]}":
                if depth == 0:
                    break  # the enclosing block's closing brace, on the same line
                depth -= 1
                self.pos += 1
            elif char == "\n" and depth == 0:
                break
            else:
                self.pos += 1
        if depth:
            raise self.error("unbalanced brackets in an expression")
        return self.text[start : self.pos].strip()

    def body(self) -> dict[str, str]:
        """The inside of a `{ ... }` block, the opening brace already read: its attributes (nested blocks skipped)."""
        attributes: dict[str, str] = {}
        while True:
            self.skip_blank()
            if self.at_end():
                raise self.error("block never closed")
            if self.peek() == "}":
                self.pos += 1
                return attributes
            key = self.word()
            if not key:
                raise self.error(f"expected an attribute or a block, found {self.peek()!r}")
            self.skip_blank(newlines=False)
            if self.peek() == "=" and self.peek(2) != "==":
                self.pos += 1
                self.skip_blank(newlines=False)
                attributes[key] = self.expression()
                continue
            while self.peek() == '"':  # a nested block's labels
                self.string()
                self.skip_blank(newlines=False)
            if self.peek() != "{":
                raise self.error(f"expected '=' or '{{' after {key!r}")
            self.pos += 1
            self.body()  # nested block (validation, precondition, ...): not documented


def parse_blocks(text: str, path: str = "<text>") -> list[Block]:
    """Every top-level block of an HCL file, with its labels' first one as its name."""
    scanner, blocks = Scanner(text, path), []
    while True:
        scanner.skip_blank()
        if scanner.at_end():
            return blocks
        kind = scanner.word()
        if not kind:
            raise scanner.error(f"expected a block, found {scanner.peek()!r}")
        labels = []
        scanner.skip_blank(newlines=False)
        while scanner.peek() == '"':
            labels.append(json.loads(scanner.string()))
            scanner.skip_blank(newlines=False)
        if scanner.peek() != "{":
            raise scanner.error(f"expected '{{' after {kind} {labels}")
        scanner.pos += 1
        blocks.append(Block(kind, labels[0] if labels else "", scanner.body()))


def string_value(expression: str) -> str:
    """The text of a quoted string expression (descriptions); a heredoc's lines joined with spaces."""
    if expression.startswith("<<"):
        return " ".join(line.strip() for line in expression.splitlines()[1:-1])
    if not (expression.startswith('"') and expression.endswith('"')):
        raise HclError(f"a description must be a literal string, found {expression}")
    return json.loads(expression.replace("\\$", "$").replace("$${", "${").replace("%%{", "%{"))


def cell(text: str) -> str:
    """Text that stays in its table cell: pipes escaped, HTML-looking text and line breaks neutralised."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", "<br>")


def code(expression: str) -> str:
    """An expression as inline code in a cell (a backtick inside doubles the fence)."""
    flat = " ".join(expression.split())
    fence = "``" if "`" in flat else "`"
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat.replace('|', chr(92) + '|')}{pad}{fence}"


def read_module(module: Path) -> tuple[list[Block], list[Block]]:
    variables = [
        block
        for block in parse_blocks((module / "variables.tf").read_text(), str(module / "variables.tf"))
        if block.kind == "variable"
    ]
    outputs = [
        block
        for block in parse_blocks((module / "outputs.tf").read_text(), str(module / "outputs.tf"))
        if block.kind == "output"
    ]
    return variables, outputs


def tables(module: Path) -> str:
    """The markdown between the markers: an Inputs table (required first, then by name) and an Outputs table."""
    variables, outputs = read_module(module)
    lines = [
        BEGIN,
        NOTE,
        "### Inputs",
        "",
        "| name | description | type | default | required |",
        "|---|---|---|---|:---:|",
    ]
    for variable in sorted(variables, key=lambda block: ("default" in block.attributes, block.name)):
        attributes = variable.attributes
        required = "default" not in attributes
        description = cell(string_value(attributes.get("description", '""')))
        default = "n/a" if required else code(attributes["default"])
        lines.append(
            f"| `{variable.name}` | {description} | {code(attributes.get('type', 'any'))} | {default} "
            f"| {'yes' if required else 'no'} |"
        )
    lines += ["", "### Outputs", "", "| name | description |", "|---|---|"]
    for output in sorted(outputs, key=lambda block: block.name):
        description = cell(string_value(output.attributes.get("description", '""')))
        lines.append(f"| `{output.name}` | {description} |")
    lines.append(END)
    return "\n".join(lines)


def current_tables(readme: str) -> str | None:
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        return None
    return readme[start : end + len(END)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a README's tables are out of date")
    args = parser.parse_args(argv)
    stale = 0
    for module in MODULES:
        readme_path = module / "README.md"
        readme = readme_path.read_text()
        found = current_tables(readme)
        name = readme_path.relative_to(ROOT)
        if found is None:
            print(f"{name} has no {BEGIN} ... {END} markers: add them where the tables go", file=sys.stderr)
            return 1
        wanted = tables(module)
        if found == wanted:
            print(f"{name}: inputs and outputs tables are current")
        elif args.check:
            print(
                f"{name}: inputs and outputs tables are out of date: run python tools/terraform_docs.py",
                file=sys.stderr,
            )
            stale += 1
        else:
            readme_path.write_text(readme.replace(found, wanted))
            print(f"{name}: inputs and outputs tables rewritten")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
