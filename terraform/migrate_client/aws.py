"""The one place that makes boto3 clients (assuming the role first, renewing it before it expires),
and what an AWS error means for the person running the client."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Callable

from .settings import PREFIX, Settings

THROTTLING_CODES = (
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RateExceeded",
)
ACCESS_DENIED_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


class Aws:
    def __init__(self, settings: Settings, say: Callable[[str], None]) -> None:
        import boto3
        from botocore.config import Config

        self._boto3 = boto3
        self._settings = settings
        self._say = say
        self._config = Config(
            retries={"mode": "standard", "max_attempts": 8},
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra="fleet-migration-terraform",
        )
        self._current: Any = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._expires: datetime | None = None

    def stepfunctions(self) -> Any:
        return self.client("stepfunctions")

    def client(self, service: str, region: str = "") -> Any:
        """A client for ``service`` in ``region`` (default: the settings' region), credentials kept fresh."""
        fresh_until = self._expires.timestamp() - 300 if self._expires else None
        if self._current is None or (fresh_until is not None and time.time() > fresh_until):
            self._current = self._session()
            self._clients.clear()
        key = (service, region or self._settings.region)
        if key not in self._clients:
            self._clients[key] = self._current.client(service, region_name=key[1], config=self._config)
        return self._clients[key]

    def _session(self) -> Any:
        settings = self._settings
        base = self._boto3.session.Session(region_name=settings.region)
        if not settings.assume_role_arn:
            return base
        credentials = base.client("sts", config=self._config).assume_role(
            RoleArn=settings.assume_role_arn, RoleSessionName=settings.session_name
        )["Credentials"]
        if self._expires is None:
            self._say(f"{PREFIX} assumed role {settings.assume_role_arn} (session {settings.session_name})")
        self._expires = credentials["Expiration"]
        return self._boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=settings.region,
        )


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""


def explain_aws_error(exc: BaseException, settings: Settings) -> str | None:
    """One line that says what went wrong and what to do, for the errors people actually meet."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError):
        return (
            "no AWS credentials found: give this client the credentials Terraform runs with (AWS_PROFILE, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO or an instance role); credentials configured only in "
            "the provider block are not visible to it, use assume_role_arn for those"
        )
    if isinstance(exc, bx.PartialCredentialsError):
        return f"incomplete AWS credentials ({exc}): set both the access key id and the secret access key"
    if isinstance(exc, bx.ProfileNotFound):
        return f"{exc}: fix AWS_PROFILE or add the profile to your AWS config"
    sso_errors = tuple(
        getattr(bx, name)
        for name in ("SSOTokenLoadError", "UnauthorizedSSOTokenError", "TokenRetrievalError", "SSOError")
        if hasattr(bx, name)
    )
    if sso_errors and isinstance(exc, sso_errors):
        return f"the AWS SSO session has expired or is missing ({exc}): run `aws sso login` and try again"
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError)):
        return f"cannot reach AWS Step Functions in {settings.region} ({exc}): check the network and the region"
    if not isinstance(exc, bx.ClientError):
        return None
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    operation = getattr(exc, "operation_name", "") or "the call"
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
    from botocore import exceptions as bx

    if isinstance(
        exc, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.ReadTimeoutError, bx.ConnectTimeoutError)
    ):
        return True
    if isinstance(exc, bx.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in THROTTLING_CODES or status >= 500
    return False
