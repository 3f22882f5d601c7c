"""Calling AWS through the AWS CLI (v1 or v2) when the interpreter has no boto3: where Fleet's addon ran.

Each call is one ``aws <service> <operation>`` process, started with an argv list (no shell), its
parameters as the API's own JSON (``--cli-input-json``, so no value is ever read as a flag or a
``file://`` path), one page (``--no-paginate``: the client pages itself, as with boto3), the answer as JSON
(``--output json``). Credentials are the CLI's own chain (environment, profile, SSO, instance role), or the
assumed role's, handed over in the environment. The answer is made to look like boto3's (timestamps as
datetimes) and a failure becomes the ``AwsError`` boto3 would have given, by the code the CLI prints.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from .aws import (
    NO_CREDENTIALS,
    PARTIAL_CREDENTIALS,
    PROFILE_NOT_FOUND,
    RETRIES,
    SSO_EXPIRED,
    AwsError,
    Credentials,
    snake_case,
)

# One call: the CLI's own retries of a throttled call (9 attempts, backoff capped at 20 s) fit well inside.
CALL_TIMEOUT_SECONDS = 600
# "Configuring endpoints" (AWS SDKs and Tools Reference Guide, "Service-specific endpoints"): AWS_ENDPOINT_URL_<ID>
# before AWS_ENDPOINT_URL. Both CLIs of recent years read them; older ones only take --endpoint-url, so it is
# passed as well (the emulator the tests run against is reached this way).
ENDPOINT_VARIABLES = {"stepfunctions": "SFN", "ecs": "ECS", "logs": "CLOUDWATCH_LOGS", "sts": "STS"}
# The fields the client reads that are timestamps, per operation. The CLI prints them as ISO 8601 (v2, and v1
# for query APIs such as STS) or as epoch seconds (v1 for JSON APIs such as Step Functions).
TIMESTAMPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "StartExecution": (("startDate",),),
    "DescribeExecution": (("startDate",), ("stopDate",), ("redriveDate",)),
    "GetExecutionHistory": (("events", "*", "timestamp"),),
    "AssumeRole": (("Credentials", "Expiration"),),
}
# "An error occurred (ThrottlingException) when calling the GetExecutionHistory operation (reached max retries: 8):
# Rate exceeded": an error AWS answered, as both CLIs print it.
SERVICE_ERROR = re.compile(
    r"An error occurred \((?P<code>[^)]*)\) when calling the (?P<operation>\w+) operation"
    r"(?: \(reached max retries: \d+\))?: ?(?P<message>.*)",
    re.DOTALL,
)
# What the CLIs print for errors raised before AWS answers (botocore's messages), under the names both backends use.
LOCAL_ERRORS: tuple[tuple[str, str], ...] = (
    ("Unable to locate credentials", NO_CREDENTIALS),
    ("Partial credentials found", PARTIAL_CREDENTIALS),
    ("The config profile (", PROFILE_NOT_FOUND),
    ("aws sso login", SSO_EXPIRED),
    ("Error loading SSO Token", SSO_EXPIRED),
    ("Error when retrieving token from sso", SSO_EXPIRED),
    ("Connect timeout on endpoint URL", "ConnectTimeoutError"),
    ("Could not connect to the endpoint URL", "EndpointConnectionError"),
    ("Read timeout on endpoint URL", "ReadTimeoutError"),
    ("Connection was closed before we received a valid response", "ConnectionClosedError"),
)
CLI_FAILED = "AwsCliFailed"


class CliBackend:
    name = "aws-cli"

    def __init__(
        self,
        executable: str,
        environ: dict[str, str] | None = None,
        run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    ) -> None:
        self.executable = executable
        self._environ = dict(os.environ if environ is None else environ)
        self._run = run

    def call(
        self, service: str, region: str, operation: str, params: dict[str, Any], credentials: Credentials | None
    ) -> dict[str, Any]:
        argv = [
            self.executable,
            service,
            snake_case(operation).replace("_", "-"),
            "--cli-input-json",
            json.dumps(params),
            "--region",
            region,
            "--output",
            "json",
            "--no-paginate",
            "--cli-connect-timeout",
            "10",
            "--cli-read-timeout",
            "60",
        ]
        endpoint = self._endpoint(service)
        if endpoint:
            argv += ["--endpoint-url", endpoint]
        try:
            completed = self._run(
                argv,
                env=self._environment(credentials),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                timeout=CALL_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise AwsError(
                "ReadTimeoutError", f"the AWS CLI did not answer within {CALL_TIMEOUT_SECONDS} s", operation
            ) from None
        except OSError as exc:
            raise AwsError(CLI_FAILED, f"cannot run the AWS CLI {self.executable}: {exc.strerror}", operation) from exc
        if completed.returncode != 0:
            raise cli_error(operation, completed.stderr, completed.returncode)
        try:
            answer = json.loads(completed.stdout) if completed.stdout.strip() else {}
        except json.JSONDecodeError:
            raise AwsError(
                CLI_FAILED, f"the AWS CLI printed something other than JSON: {completed.stdout[:200]!r}", operation
            ) from None
        for path in TIMESTAMPS.get(operation, ()):
            _convert(answer, path)
        return answer

    def _environment(self, credentials: Credentials | None) -> dict[str, str]:
        env = dict(self._environ)
        env["AWS_PAGER"] = ""  # v2 pages long output through `less` otherwise
        env["AWS_CLI_AUTO_PROMPT"] = "off"  # v2 may be configured to prompt, and there is no one to answer
        for key, value in RETRIES.items():
            env.setdefault(key, value)
        if credentials is not None:
            # Credentials in the environment come first in both CLIs' chains (as boto3's explicit keys do).
            env.update(
                {
                    "AWS_ACCESS_KEY_ID": credentials.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
                    "AWS_SESSION_TOKEN": credentials.session_token,
                }
            )
        return env

    def _endpoint(self, service: str) -> str:
        if self._environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
            return ""
        return self._environ.get(f"AWS_ENDPOINT_URL_{ENDPOINT_VARIABLES[service]}") or self._environ.get(
            "AWS_ENDPOINT_URL", ""
        )


def cli_error(operation: str, stderr: str, returncode: int) -> AwsError:
    """The AwsError boto3 would have raised, from what the CLI printed on stderr."""
    text = stderr.strip()
    found = SERVICE_ERROR.search(text)
    if found:
        return AwsError.of(found["code"], found["message"].strip(), found["operation"] or operation)
    for words, code in LOCAL_ERRORS:
        if words in text:
            return AwsError(code, text.splitlines()[-1] if text else code, operation)
    last = text.splitlines()[-1] if text else f"no message, exit code {returncode}"
    return AwsError(CLI_FAILED, f"the AWS CLI failed (exit code {returncode}): {last}", operation)


def _convert(document: Any, path: tuple[str, ...]) -> None:
    """The timestamp at ``path`` (``*``: every item of a list) as a datetime, in place."""
    if not path or not isinstance(document, (dict, list)):
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for item in document if isinstance(document, list) else []:
            _convert(item, rest)
    elif isinstance(document, dict) and head in document:
        if rest:
            _convert(document[head], rest)
        else:
            document[head] = timestamp(document[head])


ISO = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")


def timestamp(value: Any) -> Any:
    """Epoch seconds or ISO 8601 (any number of fractional digits, ``Z``) as an aware datetime (Python 3.9's
    ``fromisoformat`` takes neither ``Z`` nor nine digits)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if not isinstance(value, str):
        return value
    found = ISO.match(value.strip())
    if not found:
        return value
    day, clock, fraction, zone = found.groups()
    moment = datetime.strptime(f"{day}T{clock}", "%Y-%m-%dT%H:%M:%S")
    if fraction:
        moment += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    offset = timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.replace(tzinfo=timezone(offset))
