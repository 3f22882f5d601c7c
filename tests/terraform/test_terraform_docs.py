"""The Terraform READMEs' inputs and outputs tables come from variables.tf and outputs.tf only
(tools/terraform_docs.py, terraform-docs style), and stay current. Fast: no Terraform runs."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import terraform_docs  # noqa: E402


@pytest.mark.parametrize("module", terraform_docs.MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_the_readme_tables_are_what_the_script_generates(module: Path) -> None:
    readme = (module / "README.md").read_text()

    found = terraform_docs.current_tables(readme)
    assert found is not None, f"{module.name}/README.md lost its {terraform_docs.BEGIN} markers"
    assert found == terraform_docs.tables(module), (
        f"{module.relative_to(ROOT)}/README.md's inputs or outputs table is out of date: "
        "run .venv/bin/python tools/terraform_docs.py"
    )
    # and no hand-written copy of a table outside the markers
    outside = readme.replace(found, "")
    assert not re.search(r"^\| name \| description \|", outside, re.MULTILINE)


def test_the_check_mode_agrees() -> None:
    assert terraform_docs.main(["--check"]) == 0


@pytest.mark.parametrize("module", terraform_docs.MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_variable_and_output_is_read_with_its_description(module: Path) -> None:
    # GIVEN the names a plain grep finds in the files
    variables, outputs = terraform_docs.read_module(module)
    declared = re.findall(r'^variable "([^"]+)"', (module / "variables.tf").read_text(), re.MULTILINE)
    exported = re.findall(r'^output "([^"]+)"', (module / "outputs.tf").read_text(), re.MULTILINE)

    # THEN the parser found each, with a type, a description, and a default unless the variable is required
    assert [block.name for block in variables] == declared
    assert [block.name for block in outputs] == exported
    for block in variables + outputs:
        assert len(terraform_docs.string_value(block.attributes["description"])) > 20, block.name
    assert all("type" in block.attributes for block in variables)


def test_the_parser_reads_the_hcl_these_files_may_use() -> None:
    # GIVEN a variables file with comments, multi-line expressions, escapes, a heredoc and nested blocks
    text = """
# a comment { with a brace
variable "commands" {
  type = list(list(string)) // trailing comment
  default = [
    ["fleet", "prepare", "db"], # inside the list
    ["a|b", "say \\"hi\\" }"],
  ]
  description = "Commands; a | pipe, a <tag> and a \\"quote\\"."

  validation {
    condition     = length(var.commands) > 0
    error_message = "The commands must not be empty { really }."
  }
}

/* a block comment
variable "ghost" {} */
variable "required_one" {
  type        = object({ cpu = number, mem = number })
  description = <<-EOT
    Spans
    two lines.
  EOT
}
variable "inline" { type = string }
"""
    # WHEN it is parsed
    blocks = terraform_docs.parse_blocks(text)

    # THEN it has each block, its attributes as written, and no attribute of a nested block
    assert [(block.kind, block.name) for block in blocks] == [
        ("variable", "commands"),
        ("variable", "required_one"),
        ("variable", "inline"),
    ]
    commands, required_one, inline = blocks
    assert commands.attributes["type"] == "list(list(string))"
    assert commands.attributes["default"].startswith("[") and commands.attributes["default"].endswith("]")
    assert "condition" not in commands.attributes
    assert terraform_docs.string_value(commands.attributes["description"]) == (
        'Commands; a | pipe, a <tag> and a "quote".'
    )
    assert terraform_docs.string_value(required_one.attributes["description"]) == "Spans two lines."
    assert inline.attributes == {"type": "string"}
    # and table cells keep what would break a markdown table or read as HTML
    assert terraform_docs.cell("a | b <c>") == "a \\| b &lt;c>"
    assert terraform_docs.code('["a|b"]') == '`["a\\|b"]`'


def test_an_unreadable_file_is_an_error_naming_the_line() -> None:
    with pytest.raises(terraform_docs.HclError, match=r"<text>:3: "):
        terraform_docs.parse_blocks('variable "x" {\n  type = string\n  default = "never closed\n}\n')


def test_a_stale_table_is_reported_and_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a module whose README's table misses a variable
    module = tmp_path / "module"
    module.mkdir()
    (module / "variables.tf").write_text(
        'variable "name" {\n  type        = string\n  default     = "x"\n'
        '  description = "The name of everything this module creates."\n}\n'
    )
    (module / "outputs.tf").write_text(
        'output "arn" {\n  description = "The ARN of what it creates."\n  value       = "arn"\n}\n'
    )
    (module / "README.md").write_text(f"# m\n\n{terraform_docs.BEGIN}\n{terraform_docs.END}\n\nafter\n")
    monkeypatch.setattr(terraform_docs, "ROOT", tmp_path)
    monkeypatch.setattr(terraform_docs, "MODULES", [module])

    # WHEN checked, it fails; WHEN run, it writes the tables between the markers and leaves the rest
    assert terraform_docs.main(["--check"]) == 1
    assert terraform_docs.main([]) == 0
    readme = (module / "README.md").read_text()
    assert '| `name` | The name of everything this module creates. | `string` | `"x"` | no |' in readme
    assert "| `arn` | The ARN of what it creates. |" in readme
    assert readme.startswith("# m\n\n") and readme.endswith("\n\nafter\n")
    assert terraform_docs.main(["--check"]) == 0
