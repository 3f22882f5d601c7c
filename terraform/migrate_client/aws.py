"""The AWS calls the client makes, whichever way it makes them, and what an AWS error means for the person
running it.

The client runs where Fleet's addon ran, and the addon needed only the AWS CLI. So it calls AWS through one
of two backends, chosen once (``choose_backend``): boto3 when the interpreter can import it
(``aws_boto3.py``), otherwise the AWS CLI v1 or v2 on PATH (``aws_cli.py``). A backend makes one call
(``call(service, region, operation, params, credentials)``) and answers as boto3 does: the response as a
dict with timestamps as datetimes, or an ``AwsError`` carrying the same error code either way. Everything
above this module (start-or-join, the follow loop, the log lines, the verdict, retries of throttled
calls) sees only ``Aws`` and ``AwsError``, so it behaves the same whatever the backend.

``Aws`` assumes the role, when one is given, with the backend's own credential chain, and assumes it
again before the credentials expire: CI credentials often last an hour, and a migration may be followed
for longer.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol

from .settings import EXIT_AWS, PREFIX, Settings, Stop

THROTTLING_CODES = (
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RateExceeded",
)
# 5xx answers: boto3 reports the HTTP status, the AWS CLI only the code, so both are recognised by code too.
SERVER_ERROR_CODES = (
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
)
ACCESS_DENIED_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
# Errors raised before AWS answers, named after botocore's exception classes (both backends use these names).
NO_CREDENTIALS = "NoCredentialsError"
PARTIAL_CREDENTIALS = "PartialCredentialsError"
PROFILE_NOT_FOUND = "ProfileNotFound"
SSO_EXPIRED = "SSOTokenLoadError"
UNREACHABLE = ("EndpointConnectionError", "ConnectTimeoutError")
CONNECTION_CODES = (*UNREACHABLE, "ConnectionClosedError", "ReadTimeoutError")
# Both backends retry throttling and 5xx answers the SDK's way ("Retry behavior", AWS SDKs and Tools Reference
# Guide): standard mode, 9 attempts in all, unless the environment sets its own (both honour these variables).
RETRIES = {"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "9"}
# Assumed-role credentials are renewed this long before they expire, so no call is made with credentials
# about to lapse (AssumeRole's default and CI's usual lifetime is an hour).
RENEW_BEFORE_SECONDS = 300


class AwsError(Exception):
    """An AWS call that failed, shaped as botocore's ClientError (``response``, ``operation_name``) whichever
    backend made it, so what the client does about an error depends on its code alone."""

    def __init__(self, code: str, message: str, operation: str, status: int = 0) -> None:
        super().__init__(f"{code} on {operation}: {message}" if code else message)
        self.operation_name = operation
        self.response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}

    @staticmethod
    def of(code: str, message: str, operation: str, status: int = 0) -> AwsError:
        kind = {cls.__name__: cls for cls in (ExecutionDoesNotExist, ExecutionAlreadyExists)}.get(code, AwsError)
        return kind(code, message, operation, status)


class ExecutionDoesNotExist(AwsError):
    pass


class ExecutionAlreadyExists(AwsError):
    pass


class StepFunctionsErrors:
    """``sfn.exceptions`` as executions.py catches them (the same names as boto3's client exceptions)."""

    ExecutionDoesNotExist = ExecutionDoesNotExist
    ExecutionAlreadyExists = ExecutionAlreadyExists


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


class Backend(Protocol):
    """One way to call AWS. ``params`` and the answer are the API's own (boto3's keyword arguments and
    response); ``credentials`` None means the backend's own credential chain."""

    name: str

    def call(
        self, service: str, region: str, operation: str, params: dict[str, Any], credentials: Credentials | None
    ) -> dict[str, Any]: ...


def choose_backend() -> Backend:
    """boto3 if this interpreter has it, else the AWS CLI on PATH; with neither, the one error that says both fixes."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        pass
    else:
        from .aws_boto3 import Boto3Backend

        return Boto3Backend()
    executable = shutil.which("aws")
    if executable:
        from .aws_cli import CliBackend

        return CliBackend(executable)
    raise Stop(
        EXIT_AWS,
        f"neither boto3 nor the AWS CLI is available: install the AWS CLI (v1 or v2) so that `aws` is on PATH "
        f"(https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), or install boto3 for "
        f"{sys.executable} (`{sys.executable} -m pip install boto3`, or point the module's `python` variable at an "
        "interpreter that has it)",
    )


class Aws:
    """The client's AWS: one object per service it calls, with only the calls it makes; credentials kept fresh."""

    def __init__(
        self, settings: Settings, say: Callable[[str], None], backend: Backend, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings, self._say, self._backend, self._clock = settings, say, backend, clock
        self._assumed: Credentials | None = None

    def stepfunctions(self) -> StepFunctions:
        return StepFunctions(self, self._settings.region)

    def client(self, service: str, region: str = "") -> Any:
        """``ecs`` or ``logs`` in ``region`` (default: the settings' region)."""
        return {"ecs": Ecs, "logs": Logs, "stepfunctions": StepFunctions}[service](
            self, region or self._settings.region
        )

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        return self._backend.call(service, region, operation, params, self._credentials())

    def _credentials(self) -> Credentials | None:
        settings = self._settings
        if not settings.assume_role_arn:
            return None
        if self._assumed is None or self._clock() > self._assumed.expiration.timestamp() - RENEW_BEFORE_SECONDS:
            first = self._assumed is None
            answer = self._backend.call(
                "sts",
                settings.region,
                "AssumeRole",
                {"RoleArn": settings.assume_role_arn, "RoleSessionName": settings.session_name},
                None,
            )["Credentials"]
            self._assumed = Credentials(
                answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"], answer["Expiration"]
            )
            if first:
                self._say(f"{PREFIX} assumed role {settings.assume_role_arn} (session {settings.session_name})")
        return self._assumed


class StepFunctions:
    exceptions = StepFunctionsErrors

    def __init__(self, aws: Aws, region: str) -> None:
        self._aws, self._region = aws, region

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        return self._aws.call(
            "stepfunctions", self._region, "StartExecution", stateMachineArn=stateMachineArn, name=name, input=input
        )

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return self._aws.call("stepfunctions", self._region, "DescribeExecution", executionArn=executionArn)

    def get_execution_history(self, **request: Any) -> dict[str, Any]:
        return self._aws.call("stepfunctions", self._region, "GetExecutionHistory", **request)


class Ecs:
    def __init__(self, aws: Aws, region: str) -> None:
        self._aws, self._region = aws, region

    def describe_task_definition(self, taskDefinition: str) -> dict[str, Any]:
        return self._aws.call("ecs", self._region, "DescribeTaskDefinition", taskDefinition=taskDefinition)


class Logs:
    def __init__(self, aws: Aws, region: str) -> None:
        self._aws, self._region = aws, region

    def get_log_events(self, **request: Any) -> dict[str, Any]:
        return self._aws.call("logs", self._region, "GetLogEvents", **request)


def snake_case(operation: str) -> str:
    """``GetLogEvents`` -> ``get_log_events`` (boto3's method); with ``-``, the AWS CLI's command."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""


def _message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Message", "") if isinstance(response, dict) else str(exc)


def explain_aws_error(exc: BaseException, settings: Settings) -> str | None:
    """One line that says what went wrong and what to do, for the errors people actually meet."""
    if not isinstance(getattr(exc, "response", None), dict):
        return None
    code, message = error_code(exc), _message(exc)
    operation = getattr(exc, "operation_name", "") or "the call"
    if code == NO_CREDENTIALS:
        return (
            "no AWS credentials found: give this client the credentials Terraform runs with (AWS_PROFILE, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO or an instance role); credentials configured only in "
            "the provider block are not visible to it, use assume_role_arn for those"
        )
    if code == PARTIAL_CREDENTIALS:
        return f"incomplete AWS credentials ({message}): set both the access key id and the secret access key"
    if code == PROFILE_NOT_FOUND:
        return f"{message}: fix AWS_PROFILE or add the profile to your AWS config"
    if code == SSO_EXPIRED:
        return f"the AWS SSO session has expired or is missing ({message}): run `aws sso login` and try again"
    if code in UNREACHABLE:
        return f"cannot reach AWS Step Functions in {settings.region} ({message}): check the network and the region"
    if code == "StateMachineDoesNotExist":
        return (
            f"state machine {settings.state_machine_arn} does not exist: deploy the fleet-migration "
            "application first, or fix state_machine_arn (its region and account must match the credentials)"
        )
    if code in ACCESS_DENIED_CODES:
        if operation == "AssumeRole":
            return (
                f"access denied assuming {settings.assume_role_arn}: the caller needs sts:AssumeRole on it and "
                f"the role's trust policy must allow the caller ({message})"
            )
        return (
            f"access denied on {operation} ({message}): the caller needs states:StartExecution, "
            "states:DescribeExecution and states:GetExecutionHistory on the state machine and its executions "
            "(see terraform/README.md)"
        )
    if code in (
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    ):
        return f"AWS rejected the credentials ({code}): they are wrong or for another partition; check AWS_PROFILE"
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        return f"the AWS credentials have expired ({code}): renew them (e.g. `aws sso login`) and try again"
    if code == "InvalidArn":
        return f"AWS rejected an ARN ({message}): check state_machine_arn"
    return f"AWS {operation} failed: {code}: {message}"


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx or a dropped connection: worth trying again a little later."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = error_code(exc)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
    return code in THROTTLING_CODES or code in SERVER_ERROR_CODES or code in CONNECTION_CODES or status >= 500
