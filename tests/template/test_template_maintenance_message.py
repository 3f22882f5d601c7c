"""The SAM parameter MaintenanceMessage: what its constraint can refuse at deploy time (the describe step refuses
the rest exactly, before anything changes)."""

from __future__ import annotations

import re

import pytest

from fleet_migration import deployment
from template_support import load_template

JSON_WITHOUT_ERROR = ['{"message": "Fleet is being upgraded"}', "[]", '"upgrading"', "42", "true"]
SAFE = [deployment.DEFAULT_MAINTENANCE_MESSAGE, "Fleet is being upgraded.", '{"error": "Fleet is being upgraded"}']


@pytest.mark.parametrize("body", JSON_WITHOUT_ERROR)
def test_the_sam_parameter_refuses_what_plainly_is_json_without_an_error_key(body):
    pattern = load_template()["Parameters"]["MaintenanceMessage"]["AllowedPattern"]

    assert not re.fullmatch(pattern, body)


@pytest.mark.parametrize("body", [*SAFE, "2 minutes of maintenance", "null and void"])
def test_the_sam_parameter_accepts_html_text_and_its_default(body):
    parameter = load_template()["Parameters"]["MaintenanceMessage"]

    assert re.fullmatch(parameter["AllowedPattern"], body)
    assert parameter["Default"] == deployment.DEFAULT_MAINTENANCE_MESSAGE
