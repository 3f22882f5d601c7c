"""The deployment's own settings: what the operator chose when deploying the workflow (SAM parameters,
Terraform variables), handed to the functions as environment variables. A caller of StartExecution chooses the
execution input, never these: the input may only narrow them."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

# Static HTML, no script: an HTML body also fails safely for osquery agents (they retry and keep their logs).
DEFAULT_MAINTENANCE_MESSAGE = (
    "<!DOCTYPE html><html><head><title>Fleet is being upgraded</title></head><body>"
    "<h1>Fleet is being upgraded</h1><p>Fleet will be back in a few minutes. Please try again shortly.</p>"
    "</body></html>"
)
# The most a load balancer's fixed response carries (FixedResponseActionConfig MessageBody, ELB API Reference).
MESSAGE_LIMIT = 1024


def maintenance_message() -> str:
    """The maintenance page's body (MAINTENANCE_MESSAGE), or the default page."""
    return os.environ.get("MAINTENANCE_MESSAGE") or DEFAULT_MAINTENANCE_MESSAGE


def content_type(message: str) -> str:
    return "text/html" if message.startswith("<") else "text/plain"


def maintenance_message_problem(message: str) -> str | None:
    """Why a maintenance body cannot be served, or None.

    osquery reads any response body as JSON whatever its status, and takes it for a valid answer unless it carries
    an ``error`` key (osquery ``osquery/remote/transports/tls.cpp``, ``remote/utility.h``): agents answered such a
    body during the outage would count their buffered logs as delivered and drop them. HTML or plain text fails
    safely: they retry and keep them.
    """
    if not 1 <= len(message) <= MESSAGE_LIMIT:
        return f"is {len(message)} characters; a load balancer's fixed response carries 1 to {MESSAGE_LIMIT}"
    try:
        parsed = json.loads(message)
    except ValueError:
        return None
    if isinstance(parsed, dict) and parsed.get("error") is not None:
        return None
    return (
        "parses as JSON without an 'error' key: osquery agents would take it for a valid answer and drop their "
        "buffered logs; use HTML or plain text (or a JSON object with an 'error' key)"
    )


# Where the migration task may run, beyond the Fleet service's own network (which it always may): comma-separated
# ids, set from the stack's Subnets / SecurityGroups parameters (the Terraform module's subnets / security_groups).
ALLOWED_SUBNETS_ENV = "ALLOWED_SUBNETS"
ALLOWED_SECURITY_GROUPS_ENV = "ALLOWED_SECURITY_GROUPS"
# The container that receives the command override (parameter ContainerName): the input may only repeat it.
CONTAINER_NAME_ENV = "CONTAINER_NAME"
DEFAULT_CONTAINER_NAME = "fleet"
# The most tasks the input may ask for after the migration (parameter MaxDesiredCount); unset: the service's
# autoscaling maximum found (no cap without autoscaling).
MAX_DESIRED_COUNT_ENV = "MAX_DESIRED_COUNT"


def _ids(name: str, environ: Mapping[str, str]) -> list[str]:
    return [item.strip() for item in environ.get(name, "").split(",") if item.strip()]


def allowed_subnets(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The subnets the deployment lets the migration task use besides the service's own."""
    return _ids(ALLOWED_SUBNETS_ENV, environ)


def allowed_security_groups(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The security groups the deployment lets the migration task use besides the service's own."""
    return _ids(ALLOWED_SECURITY_GROUPS_ENV, environ)


def container_name(environ: Mapping[str, str] = os.environ) -> str:
    """The container that runs the migration command: the deployment's, never the caller's."""
    return environ.get(CONTAINER_NAME_ENV, "").strip() or DEFAULT_CONTAINER_NAME


def max_desired_count(environ: Mapping[str, str] = os.environ) -> int | None:
    """The deployment's cap on desired_count and max_capacity, or None (the autoscaling maximum decides)."""
    text = environ.get(MAX_DESIRED_COUNT_ENV, "").strip()
    if not text:
        return None
    value = int(text)
    if value < 1:
        raise ValueError(f"{MAX_DESIRED_COUNT_ENV} (parameter MaxDesiredCount) must be at least 1; got {text}")
    return value
