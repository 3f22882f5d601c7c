"""Shared code of the fleet-migration Lambda steps: models, ECS operations, errors."""

from pathlib import Path

# The release, written in VERSION beside this file and copied to terraform/VERSION (which the module's
# `module_version` output reads, as a module copied alone has no ../functions); the README's `?ref=` and
# CHANGELOG.md name it. tests/unit/test_version.py keeps them all equal.
__version__ = (Path(__file__).parent / "VERSION").read_text().strip()
