"""What the READMEs tell people to type: a pinned module source, Fleet's addon where it really lives, the
console's "New execution" (never Redrive), what a timeout does, and (docs/operations.md) how to restore."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READMES = [
    ROOT / "README.md",
    ROOT / "terraform" / "README.md",
    ROOT / "terraform" / "modules" / "workflow" / "README.md",
]
OUR_SOURCE = re.compile(r'source\s*=\s*"(git::https://github\.com/[^"]*fleet-migration\.git//[^"]*)"')


@pytest.mark.parametrize("readme", READMES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_module_source_shown_is_a_git_source_pinned_to_a_tag(readme):
    sources = OUR_SOURCE.findall(readme.read_text())

    assert sources, f"{readme.name} shows no module source"
    for source in sources:
        # Terraform's git sources: //subdirectory, then ?ref=<tag>
        assert re.fullmatch(
            r"git::https://github\.com/<org>/fleet-migration\.git//terraform(/modules/workflow)?"
            r"\?ref=v\d+\.\d+\.\d+",
            source,
        ), source


@pytest.mark.parametrize("readme", READMES[:2], ids=lambda path: str(path.relative_to(ROOT)))
def test_fleets_addon_is_located_where_it_lives(readme):
    text = readme.read_text()

    assert "fleetdm/fleet-terraform" in text and "addons/migrations" in text
    assert "tf-mod-addon-migrations-v2.3.0" in text
    assert "fleetdm/fleet//terraform" not in text and "`fleetdm/fleet` `terraform/addons" not in text
    assert not re.search(r"tf-mod-(root-v1\.(1\d|2\d)\.|addon-migrations-v2\.[0-2]\.)", text), "an old Fleet tag"


def test_the_console_way_is_a_new_execution_never_a_redrive():
    text = (ROOT / "README.md").read_text()

    assert '"New execution" with the same input' in text
    for line in text.splitlines():
        words = line.replace("RedriveNotSupported", "").replace("RedriveCount", "")
        if "Redrive" in words:
            assert "Never" in words or "refuses" in words, line


def test_the_terraform_readme_says_what_a_timeout_does_and_when_to_raise_it():
    text = " ".join((ROOT / "terraform" / "README.md").read_text().split())

    assert "## Timeouts" in (ROOT / "terraform" / "README.md").read_text()
    for words in (
        "Its default is 3600",
        "fleetdm/fleet#47538",
        "#35927",
        "restores the services",
        "5 healthy checks 15 s apart",
        "75 s",
        "+ 300 s",
    ):
        assert words in text, words


def test_the_restore_guidance_names_fleets_own_tool_with_a_dry_run_first():
    text = (ROOT / "docs" / "operations.md").read_text()

    assert "tools/rds-db-restore/db-restore.sh" in text
    assert text.index("--restore-snapshot fleet-migration-fleet-fleet-r42-1a2b3c4d --dry-run") < text.index(
        "--restore-snapshot fleet-migration-fleet-fleet-r42-1a2b3c4d --confirm"
    )
