"""The release is functions/fleet_migration/VERSION; the Terraform module's own copy (terraform/VERSION, which every
copy of the module carries), the package, the README and the changelog agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import fleet_migration

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "functions" / "fleet_migration" / "VERSION").read_text().strip()


def test_the_release_is_a_semantic_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)


def test_the_package_reports_the_release():
    assert fleet_migration.__version__ == VERSION


def test_the_terraform_modules_output_reads_the_release_file_inside_the_module():
    outputs = (ROOT / "terraform" / "outputs.tf").read_text()

    assert 'trimspace(file("${path.module}/VERSION"))' in outputs


def test_the_terraform_modules_release_file_is_the_packages():
    assert (ROOT / "terraform" / "VERSION").read_text().strip() == VERSION


def test_the_readme_pins_the_release():
    refs = re.findall(r"fleet-migration\.git//terraform\?ref=v([^\"\s]+)", (ROOT / "README.md").read_text())

    assert refs and set(refs) == {VERSION}


def test_the_changelog_has_the_release_and_an_unreleased_section():
    changelog = (ROOT / "CHANGELOG.md").read_text()

    assert "## [Unreleased]" in changelog
    assert f"## [{VERSION}]" in changelog
