"""Calling AWS with boto3, when the interpreter has it: the SDK's own credential chain, retries and endpoints."""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore import exceptions as bx
from botocore.config import Config

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

# botocore's errors raised before AWS answers, under the names both backends use (aws.py); subclasses first.
_LOCAL_ERRORS: tuple[tuple[str, str], ...] = (
    ("NoCredentialsError", NO_CREDENTIALS),
    ("PartialCredentialsError", PARTIAL_CREDENTIALS),
    ("ProfileNotFound", PROFILE_NOT_FOUND),
    ("SSOTokenLoadError", SSO_EXPIRED),
    ("UnauthorizedSSOTokenError", SSO_EXPIRED),
    ("TokenRetrievalError", SSO_EXPIRED),
    ("SSOError", SSO_EXPIRED),
    ("ConnectTimeoutError", "ConnectTimeoutError"),
    ("EndpointConnectionError", "EndpointConnectionError"),
    ("ReadTimeoutError", "ReadTimeoutError"),
    ("ConnectionClosedError", "ConnectionClosedError"),
)


def _config() -> Config:
    # The same retries as the CLI is given (aws_cli.py), unless the environment chose others, as the CLI would honour.
    retries: dict[str, Any] = {}
    if not os.environ.get("AWS_RETRY_MODE"):
        retries["mode"] = RETRIES["AWS_RETRY_MODE"]
    if not os.environ.get("AWS_MAX_ATTEMPTS"):
        retries["total_max_attempts"] = int(RETRIES["AWS_MAX_ATTEMPTS"])
    return Config(retries=retries, connect_timeout=10, read_timeout=60, user_agent_extra="fleet-migration-terraform")


class Boto3Backend:
    name = "boto3"

    def __init__(self) -> None:
        self._config = _config()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._sessions: dict[str, Any] = {}

    def call(
        self, service: str, region: str, operation: str, params: dict[str, Any], credentials: Credentials | None
    ) -> dict[str, Any]:
        try:
            return getattr(self._client(service, region, credentials), snake_case(operation))(**params)
        except bx.ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            raise AwsError.of(error.get("Code", ""), error.get("Message", ""), operation, status) from exc
        except bx.BotoCoreError as exc:
            code = next((code for name, code in _LOCAL_ERRORS if isinstance(exc, getattr(bx, name, ()))), "")
            if not code:
                raise
            raise AwsError(code, str(exc), operation) from exc

    def _client(self, service: str, region: str, credentials: Credentials | None) -> Any:
        """One client per service and region, and per credentials: renewed ones replace the lapsed ones."""
        who = credentials.access_key_id if credentials else ""
        key = (service, region, who)
        if key not in self._clients:
            if who not in self._sessions:
                self._sessions = {k: v for k, v in self._sessions.items() if not k}
                self._clients = {k: v for k, v in self._clients.items() if not k[2]}
                self._sessions[who] = (
                    boto3.session.Session(
                        aws_access_key_id=credentials.access_key_id,
                        aws_secret_access_key=credentials.secret_access_key,
                        aws_session_token=credentials.session_token,
                    )
                    if credentials
                    else boto3.session.Session()
                )
            self._clients[key] = self._sessions[who].client(service, region_name=region, config=self._config)
        return self._clients[key]
