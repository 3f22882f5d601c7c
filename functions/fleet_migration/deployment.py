"""The deployment's own settings: what the operator chose when deploying the workflow (SAM parameters,
Terraform variables), handed to the functions as environment variables. A caller of StartExecution chooses the
execution input, never these: the input may only narrow them."""

from __future__ import annotations

import os

# Static HTML, no script: an HTML body also fails safely for osquery agents (they retry and keep their logs).
DEFAULT_MAINTENANCE_MESSAGE = (
    "<!DOCTYPE html><html><head><title>Fleet is being upgraded</title></head><body>"
    "<h1>Fleet is being upgraded</h1><p>Fleet will be back in a few minutes. Please try again shortly.</p>"
    "</body></html>"
)


def maintenance_message() -> str:
    """The maintenance page's body (MAINTENANCE_MESSAGE), or the default page."""
    return os.environ.get("MAINTENANCE_MESSAGE") or DEFAULT_MAINTENANCE_MESSAGE
