"""Shared code of the fleet-migration Lambda steps: models, ECS operations, errors."""

from pathlib import Path

# The release, written once in VERSION beside this file: the Terraform module's `module_version` output reads the
# same file, and the README's `?ref=` and CHANGELOG.md name it (tests/unit/test_version.py).
__version__ = (Path(__file__).parent / "VERSION").read_text().strip()
