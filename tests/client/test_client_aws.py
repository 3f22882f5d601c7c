"""The client's one interface to AWS (terraform/migrate_client/aws.py) and its AWS CLI backend (aws_cli.py).

Above the interface nothing knows which backend runs: the same calls, the same answers (timestamps as
datetimes), the same error codes, and assumed-role credentials renewed before they expire whichever
backend assumed them. Whole migrations with each backend: tests/terraform/test_client_backends.py.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from migrate_client.aws import (
    RENEW_BEFORE_SECONDS,
    Aws,
    AwsError,
    Credentials,
    ExecutionDoesNotExist,
    explain_aws_error,
    is_transient,
)
from migrate_client.aws_cli import CliBackend, cli_error, timestamp
from migrate_client.settings import Settings, parse_args

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration"
ROLE = "arn:aws:iam::123456789012:role/deployer"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def settings(**flags: str) -> Settings:
    document = {"ecs_cluster": "fleet", "ecs_service": "fleet", "task_definition_revision": 4}
    argv = ["--state-machine-arn", MACHINE, "--input", json.dumps(document)]
    for flag, value in flags.items():
        argv += [f"--{flag.replace('_', '-')}", value]
    return Settings(parse_args(argv))


class RecordingBackend:
    """A backend that answers AssumeRole with credentials valid for an hour from ``clock`` and records each call."""

    name = "recording"

    def __init__(self, clock: list[float]) -> None:
        self._clock = clock
        self.calls: list[tuple[str, Credentials | None]] = []

    def call(self, service, region, operation, params, credentials):
        self.calls.append((operation, credentials))
        if operation == "AssumeRole":
            issued = len([c for c in self.calls if c[0] == "AssumeRole"])
            expires = datetime.fromtimestamp(self._clock[0], tz=UTC) + timedelta(hours=1)
            return {
                "Credentials": {
                    "AccessKeyId": f"ASIA{issued}",
                    "SecretAccessKey": "secret",
                    "SessionToken": "token",
                    "Expiration": expires,
                }
            }
        return {"status": "RUNNING"}


def test_assumed_role_credentials_are_renewed_before_they_expire():
    clock = [NOW.timestamp()]
    backend = RecordingBackend(clock)
    said: list[str] = []
    aws = Aws(settings(assume_role_arn=ROLE), said.append, backend, clock=lambda: clock[0])

    aws.stepfunctions().describe_execution(executionArn="x")
    clock[0] += 3600 - RENEW_BEFORE_SECONDS - 1
    aws.stepfunctions().describe_execution(executionArn="x")
    clock[0] += 2  # inside the last minutes of the hour
    aws.stepfunctions().describe_execution(executionArn="x")

    assert [(operation, c.access_key_id if c else None) for operation, c in backend.calls] == [
        ("AssumeRole", None),  # with the backend's own credentials
        ("DescribeExecution", "ASIA1"),
        ("DescribeExecution", "ASIA1"),
        ("AssumeRole", None),
        ("DescribeExecution", "ASIA2"),
    ]
    assert said == [f"fleet-migration: assumed role {ROLE} (session fleet-migration-r4)"]


def test_without_a_role_every_call_uses_the_backend_s_own_credentials():
    backend = RecordingBackend([NOW.timestamp()])

    Aws(settings(), print, backend).client("ecs").describe_task_definition(taskDefinition="fleet:4")

    assert backend.calls == [("DescribeTaskDefinition", None)]


# -- the AWS CLI backend ----------------------------------------------------------------------------


class FakeCli:
    """subprocess.run for the CLI: records argv and environment, answers with ``stdout`` or fails with ``stderr``."""

    def __init__(self, stdout: str = "{}", stderr: str = "", returncode: int = 0) -> None:
        self.stdout, self.stderr, self.returncode = stdout, stderr, returncode
        self.argv: list[str] = []
        self.env: dict[str, str] = {}

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        assert "shell" not in kwargs
        self.argv, self.env = argv, kwargs["env"]
        return subprocess.CompletedProcess(argv, self.returncode, self.stdout, self.stderr)


def test_a_cli_call_is_an_argv_with_the_api_s_own_parameters_as_json():
    cli = FakeCli('{"executionArn": "arn:x", "startDate": 1767225600.5}')
    backend = CliBackend("/usr/local/bin/aws", environ={"PATH": "/usr/bin"}, run=cli)
    document = '{"ecs_cluster": "--region eu-west-1; rm -rf /", "note": "file:///etc/passwd"}'

    answer = backend.call(
        "stepfunctions",
        "us-east-1",
        "StartExecution",
        {"stateMachineArn": MACHINE, "name": "n", "input": document},
        None,
    )

    assert cli.argv[:3] == ["/usr/local/bin/aws", "stepfunctions", "start-execution"]
    assert json.loads(cli.argv[cli.argv.index("--cli-input-json") + 1]) == {
        "stateMachineArn": MACHINE,
        "name": "n",
        "input": document,
    }
    assert cli.argv[cli.argv.index("--region") + 1] == "us-east-1"
    assert cli.argv[cli.argv.index("--output") + 1] == "json" and "--no-paginate" in cli.argv
    assert answer == {"executionArn": "arn:x", "startDate": datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)}


def test_the_cli_is_pointed_at_the_endpoint_boto3_would_use():
    cli = FakeCli()
    environ = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": "http://127.0.0.1:6000"}
    backend = CliBackend("aws", environ=environ, run=cli)

    backend.call("stepfunctions", "us-east-1", "DescribeExecution", {"executionArn": "x"}, None)
    assert cli.argv[cli.argv.index("--endpoint-url") + 1] == "http://127.0.0.1:5000"
    backend.call("logs", "us-east-1", "GetLogEvents", {"logGroupName": "g", "logStreamName": "s"}, None)
    assert cli.argv[cli.argv.index("--endpoint-url") + 1] == "http://127.0.0.1:6000"
    CliBackend("aws", environ={}, run=cli).call("ecs", "us-east-1", "DescribeTaskDefinition", {}, None)
    assert "--endpoint-url" not in cli.argv


def test_the_cli_gets_the_assumed_role_s_credentials_and_the_sdk_s_retries_in_its_environment():
    cli = FakeCli()
    environ = {"AWS_ACCESS_KEY_ID": "AKIABASE", "AWS_SECRET_ACCESS_KEY": "base", "AWS_PROFILE": "ci"}
    backend = CliBackend("aws", environ=environ, run=cli)
    assumed = Credentials("ASIAROLE", "role-secret", "role-token", NOW)

    backend.call("stepfunctions", "us-east-1", "DescribeExecution", {"executionArn": "x"}, None)
    assert cli.env["AWS_ACCESS_KEY_ID"] == "AKIABASE" and "AWS_SESSION_TOKEN" not in cli.env
    backend.call("stepfunctions", "us-east-1", "DescribeExecution", {"executionArn": "x"}, assumed)

    assert (cli.env["AWS_ACCESS_KEY_ID"], cli.env["AWS_SECRET_ACCESS_KEY"], cli.env["AWS_SESSION_TOKEN"]) == (
        "ASIAROLE",
        "role-secret",
        "role-token",
    )
    assert (cli.env["AWS_RETRY_MODE"], cli.env["AWS_MAX_ATTEMPTS"], cli.env["AWS_PAGER"]) == ("standard", "9", "")
    assert cli.env["AWS_CLI_AUTO_PROMPT"] == "off"


def test_the_execution_history_s_timestamps_are_datetimes_in_every_format_the_clis_print():
    page = {"events": [{"id": 1, "timestamp": 1767225600.25}, {"id": 2, "timestamp": "2026-01-01T00:00:01.5+00:00"}]}
    backend = CliBackend("aws", environ={}, run=FakeCli(json.dumps(page)))

    answer = backend.call("stepfunctions", "us-east-1", "GetExecutionHistory", {"executionArn": "x"}, None)

    assert [event["timestamp"] for event in answer["events"]] == [
        NOW + timedelta(seconds=0.25),
        NOW + timedelta(seconds=1.5),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", NOW),
        ("2026-01-01T00:00:00.123456789Z", NOW + timedelta(microseconds=123456)),
        ("2026-01-01T01:00:00+01:00", NOW),
        ("2026-01-01T00:00:00.5-0030", NOW + timedelta(minutes=30, milliseconds=500)),
        (1767225600, NOW),
        ("not a time", "not a time"),
    ],
)
def test_timestamps_are_read_in_iso_8601_or_epoch_seconds(text, expected):
    assert timestamp(text) == expected


@pytest.mark.parametrize(
    ("stderr", "code", "transient"),
    [
        (
            "\nAn error occurred (ThrottlingException) when calling the GetExecutionHistory operation "
            "(reached max retries: 8): Rate exceeded\n",
            "ThrottlingException",
            True,
        ),
        (
            "\nAn error occurred (ServiceUnavailable) when calling the DescribeExecution operation: try later\n",
            "ServiceUnavailable",
            True,
        ),
        (
            "\nAn error occurred (AccessDeniedException) when calling the StartExecution operation: "
            "User: arn:aws:iam::1:user/ci is not authorized to perform: states:StartExecution\n",
            "AccessDeniedException",
            False,
        ),
        (
            '\nCould not connect to the endpoint URL: "https://states.us-east-1.amazonaws.com/"\n',
            "EndpointConnectionError",
            True,
        ),
        ('\nRead timeout on endpoint URL: "https://logs.us-east-1.amazonaws.com/"\n', "ReadTimeoutError", True),
        (
            '\nUnable to locate credentials. You can configure credentials by running "aws configure".\n',
            "NoCredentialsError",
            False,
        ),
        ("\nThe config profile (ci) could not be found\n", "ProfileNotFound", False),
        (
            "\nError when retrieving token from sso: Token has expired and refresh failed\n",
            "SSOTokenLoadError",
            False,
        ),
        (
            "\nusage: aws [options] <command> <subcommand>\naws: error: argument operation: Invalid choice\n",
            "AwsCliFailed",
            False,
        ),
    ],
)
def test_the_cli_s_error_output_gives_the_code_boto3_would_have_given(stderr, code, transient):
    error = cli_error("GetExecutionHistory", stderr, 255)

    assert isinstance(error, AwsError)
    assert error.response["Error"]["Code"] == code
    assert is_transient(error) is transient


def test_an_execution_the_cli_cannot_find_is_the_exception_start_or_join_catches():
    stderr = "\nAn error occurred (ExecutionDoesNotExist) when calling the DescribeExecution operation: Execution Does Not Exist: 'arn'\n"
    backend = CliBackend("aws", environ={}, run=FakeCli(stderr=stderr, returncode=254))
    sfn = Aws(settings(), print, backend).stepfunctions()

    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist) as raised:
        sfn.describe_execution(executionArn="arn")

    assert isinstance(raised.value, ExecutionDoesNotExist) and raised.value.operation_name == "DescribeExecution"


def test_a_cli_error_is_explained_as_the_same_error_from_boto3_is():
    denied = cli_error(
        "StartExecution",
        "\nAn error occurred (AccessDeniedException) when calling the StartExecution operation: not authorized\n",
        254,
    )

    line = explain_aws_error(denied, settings())

    assert line.startswith("access denied on StartExecution (not authorized): the caller needs states:StartExecution")
