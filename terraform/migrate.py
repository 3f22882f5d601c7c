#!/usr/bin/env python3
"""Start (or join) the fleet-migration execution for a task definition revision and follow it.

The Terraform module's null_resource runs this file with its values in the environment; people can
run it by hand with the same values as flags (``--help``). It needs Python 3.9+ and boto3, nothing
else: ``executions.py`` next to it is a byte-identical copy of functions/fleet_migration/executions.py,
so Terraform, the EventBridge trigger and a person all land on the same execution for a revision.

While the execution runs it prints one line per step as the execution enters and leaves states, then
a verdict. It never stops the execution: interrupted, it says how to follow it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional, TextIO

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import executions  # noqa: E402  (the copy next to this file, whatever the working directory)

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1  # the execution FAILED, TIMED_OUT or was ABORTED
EXIT_USAGE = 2  # missing or malformed settings (argparse uses 2 as well)
EXIT_AWS = 3  # credentials, permissions, unknown state machine, AWS unreachable, boto3 missing
EXIT_STILL_RUNNING = 4  # gave up waiting; the execution still runs

ENV = {
    "state_machine_arn": "FLEET_MIGRATION_STATE_MACHINE_ARN",
    "input": "FLEET_MIGRATION_INPUT",
    "assume_role_arn": "FLEET_MIGRATION_ASSUME_ROLE_ARN",
    "assume_role_session_name": "FLEET_MIGRATION_ASSUME_ROLE_SESSION_NAME",
    "region": "FLEET_MIGRATION_REGION",
    "poll_seconds": "FLEET_MIGRATION_CLIENT_POLL_SECONDS",
    "max_wait_seconds": "FLEET_MIGRATION_CLIENT_MAX_WAIT_SECONDS",
    "expected_min_capacity": "FLEET_MIGRATION_EXPECTED_MIN_CAPACITY",
}
# One GetExecutionHistory a second: the end of a migration reaches `terraform apply` within a second,
# well inside the API's throttling budget.
DEFAULT_POLL_SECONDS = 1.0
# When the input leaves a timeout out, the state machine uses these (design section 3).
DEFAULT_TIMEOUTS = {"drain_timeout_seconds": 600, "timeout_seconds": 3600, "stabilize_timeout_seconds": 600}
WAIT_MARGIN_SECONDS = 900
STATE_MACHINE_ARN = re.compile(r"^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([^:/\s]{1,80})$")
ACTIVE = ("RUNNING", "PENDING_REDRIVE")
PREFIX = "fleet-migration:"


class Stop(Exception):
    """The client must end now with ``code``; ``message`` is the one line that says why."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# --------------------------------------------------------------------------------------------------
# Settings: flags, or the environment the Terraform module sets
# --------------------------------------------------------------------------------------------------

def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="migrate.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Start or join the fleet-migration Step Functions execution for a task definition "
        "revision and follow it to the end. Each flag defaults to the environment variable named in its help.",
        epilog="exit codes: 0 succeeded (or had already succeeded), 1 the execution failed, 2 bad settings, "
        "3 AWS credentials/permissions/state machine problem, 4 still running after --max-wait-seconds, "
        "130/143 interrupted (the execution keeps running).\n\n"
        "example:\n  python3 migrate.py --state-machine-arn arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration \\\n"
        "    --input '{\"ecs_cluster\": \"fleet\", \"ecs_service\": \"fleet\", \"task_definition\": \"fleet\", "
        "\"task_definition_revision\": 42, \"subnets\": [\"subnet-0a1b\"], \"security_groups\": [\"sg-0a1b\"]}'",
    )
    parser.add_argument("--state-machine-arn", default=env.get(ENV["state_machine_arn"], ""),
                        help=f"the fleet-migration state machine (${ENV['state_machine_arn']})")
    parser.add_argument("--input", default=env.get(ENV["input"], ""), metavar="JSON|@FILE",
                        help=f"the execution input, a JSON object, or @path of a file holding it (${ENV['input']})")
    parser.add_argument("--assume-role-arn", default=env.get(ENV["assume_role_arn"], ""),
                        help=f"IAM role to assume before calling Step Functions (${ENV['assume_role_arn']})")
    parser.add_argument("--assume-role-session-name", default=env.get(ENV["assume_role_session_name"], ""),
                        help=f"session name for --assume-role-arn; default fleet-migration-r<revision> "
                        f"(${ENV['assume_role_session_name']})")
    parser.add_argument("--region", default=env.get(ENV["region"], ""),
                        help=f"AWS region; default: the state machine's, from its ARN (${ENV['region']})")
    parser.add_argument("--poll-seconds", default=env.get(ENV["poll_seconds"], ""), metavar="SECONDS",
                        help=f"how often to read the execution history; default {DEFAULT_POLL_SECONDS:g} "
                        f"(${ENV['poll_seconds']})")
    parser.add_argument("--max-wait-seconds", default=env.get(ENV["max_wait_seconds"], ""), metavar="SECONDS",
                        help="stop following (exit 4, the execution keeps running) after this long; default: the "
                        f"input's drain + task + stabilize timeouts plus {WAIT_MARGIN_SECONDS} s "
                        f"(${ENV['max_wait_seconds']})")
    parser.add_argument("--expected-min-capacity", default=env.get(ENV["expected_min_capacity"], ""), metavar="N",
                        help="the autoscaling minimum the caller expects after the migration (Fleet's addon's "
                        "min_capacity); the workflow restores the minimum it finds, and a difference is reported "
                        f"(${ENV['expected_min_capacity']})")
    return parser.parse_args(argv)


class Settings:
    """Checked settings: everything needed before the first AWS call."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.state_machine_arn = args.state_machine_arn.strip()
        if not self.state_machine_arn:
            raise Stop(EXIT_USAGE, f"no state machine: pass --state-machine-arn or set {ENV['state_machine_arn']}")
        match = STATE_MACHINE_ARN.match(self.state_machine_arn)
        if not match:
            raise Stop(EXIT_USAGE, f"{self.state_machine_arn!r} is not a state machine ARN; expected "
                       "arn:aws:states:<region>:<account>:stateMachine:<name> (without a version or alias)")
        self.partition, arn_region = match.group(1), match.group(2)
        self.region = args.region.strip() or arn_region
        self.input_text, self.document = _read_input(args.input)
        self.cluster = self.document["ecs_cluster"]
        self.service = self.document["ecs_service"]
        self.revision = self.document["task_definition_revision"]
        self.assume_role_arn = args.assume_role_arn.strip()
        self.session_name = args.assume_role_session_name.strip() or f"fleet-migration-r{self.revision}"
        self.poll_seconds = _seconds(args.poll_seconds, DEFAULT_POLL_SECONDS, "poll seconds", minimum=0.05)
        timeouts = {key: self.document.get(key, default) for key, default in DEFAULT_TIMEOUTS.items()}
        default_wait = sum(v for v in timeouts.values() if isinstance(v, (int, float))) + WAIT_MARGIN_SECONDS
        self.max_wait_seconds = _seconds(args.max_wait_seconds, default_wait, "max wait seconds", minimum=1)
        expected = str(args.expected_min_capacity).strip()
        self.expected_min_capacity = int(_seconds(expected, 0, "expected min capacity", minimum=0)) if expected else None


def _read_input(raw: str) -> tuple[str, dict[str, Any]]:
    raw = raw.strip()
    if not raw:
        raise Stop(EXIT_USAGE, f"no execution input: pass --input or set {ENV['input']} (a JSON object)")
    if raw.startswith("@"):
        try:
            with open(raw[1:], encoding="utf-8") as handle:
                raw = handle.read()
        except OSError as exc:
            raise Stop(EXIT_USAGE, f"cannot read the execution input from {raw[1:]!r}: {exc.strerror}") from None
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Stop(EXIT_USAGE, f"the execution input is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(document, dict):
        raise Stop(EXIT_USAGE, "the execution input must be a JSON object, see terraform/README.md")
    # The rest is the state machine's to check (it fails with InvalidInput, changing nothing);
    # these three make the execution name.
    for key in ("ecs_cluster", "ecs_service"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise Stop(EXIT_USAGE, f"the execution input needs {key}, a non-empty string")
    revision = document.get("task_definition_revision")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        raise Stop(EXIT_USAGE, f"the execution input needs task_definition_revision, an integer of at least 1 "
                   f"(got {revision!r})")
    return raw, document


def _seconds(raw: str, default: float, what: str, minimum: float) -> float:
    if not str(raw).strip():
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise Stop(EXIT_USAGE, f"{what} must be a number, got {raw!r}") from None
    if value < minimum:
        raise Stop(EXIT_USAGE, f"{what} must be at least {minimum:g}, got {raw!r}")
    return value


# --------------------------------------------------------------------------------------------------
# AWS: the one place that makes clients (and assumes the role, renewing it before it expires)
# --------------------------------------------------------------------------------------------------

class Aws:
    def __init__(self, settings: Settings, say: Callable[[str], None]) -> None:
        import boto3
        from botocore.config import Config

        self._boto3 = boto3
        self._settings = settings
        self._say = say
        self._config = Config(retries={"mode": "standard", "max_attempts": 8}, connect_timeout=10, read_timeout=60,
                              user_agent_extra="fleet-migration-terraform")
        self._sfn: Any = None
        self._expires: Optional[datetime] = None

    def stepfunctions(self) -> Any:
        fresh_until = self._expires.timestamp() - 300 if self._expires else None
        if self._sfn is None or (fresh_until is not None and time.time() > fresh_until):
            self._sfn = self._session().client("stepfunctions", config=self._config)
        return self._sfn

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


def explain_aws_error(exc: BaseException, settings: Settings) -> Optional[str]:
    """One line that says what went wrong and what to do, for the errors people actually meet."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError):
        return ("no AWS credentials found: give this client the credentials Terraform runs with (AWS_PROFILE, "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO or an instance role); credentials configured only in "
                "the provider block are not visible to it, use assume_role_arn for those")
    if isinstance(exc, bx.PartialCredentialsError):
        return f"incomplete AWS credentials ({exc}): set both the access key id and the secret access key"
    if isinstance(exc, bx.ProfileNotFound):
        return f"{exc}: fix AWS_PROFILE or add the profile to your AWS config"
    sso_errors = tuple(getattr(bx, name) for name in ("SSOTokenLoadError", "UnauthorizedSSOTokenError",
                                                      "TokenRetrievalError", "SSOError") if hasattr(bx, name))
    if sso_errors and isinstance(exc, sso_errors):
        return f"the AWS SSO session has expired or is missing ({exc}): run `aws sso login` and try again"
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError)):
        return f"cannot reach AWS Step Functions in {settings.region} ({exc}): check the network and the region"
    if not isinstance(exc, bx.ClientError):
        return None
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "")
    operation = getattr(exc, "operation_name", "") or "the call"
    if code == "StateMachineDoesNotExist":
        return (f"state machine {settings.state_machine_arn} does not exist: deploy the fleet-migration "
                "application first, or fix state_machine_arn (its region and account must match the credentials)")
    if code in ("AccessDenied", "AccessDeniedException"):
        if operation == "AssumeRole":
            return (f"access denied assuming {settings.assume_role_arn}: the caller needs sts:AssumeRole on it and "
                    f"the role's trust policy must allow the caller ({message})")
        return (f"access denied on {operation} ({message}): the caller needs states:StartExecution, "
                "states:DescribeExecution and states:GetExecutionHistory on the state machine and its executions "
                "(see terraform/README.md)")
    if code in ("UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
                "SignatureDoesNotMatch"):
        return f"AWS rejected the credentials ({code}): they are wrong or for another partition; check AWS_PROFILE"
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        return f"the AWS credentials have expired ({code}): renew them (e.g. `aws sso login`) and try again"
    if code == "InvalidArn":
        return f"AWS rejected an ARN ({message}): check state_machine_arn"
    return f"AWS {operation} failed: {code}: {message}"


def _is_transient(exc: BaseException) -> bool:
    from botocore import exceptions as bx

    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.ReadTimeoutError,
                        bx.ConnectTimeoutError)):
        return True
    if isinstance(exc, bx.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in ("ThrottlingException", "Throttling", "TooManyRequestsException") or status >= 500
    return False


# --------------------------------------------------------------------------------------------------
# Output: progress lines from the execution history, and the verdict
# --------------------------------------------------------------------------------------------------

def console_url(settings: Settings, execution_arn: str) -> str:
    if settings.partition == "aws-cn":
        host = "https://console.amazonaws.cn"
    elif settings.partition == "aws-us-gov":
        host = "https://console.amazonaws-us-gov.com"
    else:
        host = f"https://{settings.region}.console.aws.amazon.com"
    return f"{host}/states/home?region={settings.region}#/v2/executions/details/{execution_arn}"


def elapsed(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s"


def _loads(text: Optional[str]) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return text


def describe_task(task: dict[str, Any]) -> str:
    text = f"task {task.get('arn') or task.get('task_arn')} {task.get('last_status', '')}".rstrip()
    if task.get("exit_code") is not None:
        text += f", exit code {task['exit_code']}"
    return text


def summarize(document: Any) -> str:
    """What a step's output says about progress, in a few words (empty when it says nothing new)."""
    if not isinstance(document, dict):
        return ""
    failure = document.get("failure") if isinstance(document.get("failure"), dict) else document
    if "error" in failure and "input" not in failure:
        cause = _loads(failure.get("cause"))
        restored = isinstance(cause, dict) and cause.get("rolled_back") is True
        return f"after {failure['error']}" + (": services restored" if restored else "")
    spec = document.get("input") if isinstance(document.get("input"), dict) else {}
    services = [s for s in document.get("services") or [] if isinstance(s, dict)]
    stabilize, task, drain = document.get("stabilize"), document.get("task"), document.get("drain")
    if isinstance(stabilize, dict):
        if stabilize.get("done"):
            return "services stable" if stabilize.get("polls") else "desired counts set (not waiting for them)"
        if stabilize.get("detail"):
            return f"waiting for {stabilize['detail']}"
        return "scaling up: " + ", ".join(f"{s.get('name')} to {s.get('target_desired_count')}" for s in services)
    if isinstance(task, dict):
        return describe_task(task)
    if isinstance(drain, dict):
        if drain.get("done"):
            return "drained"
        if drain.get("detail"):
            return f"waiting for {drain['detail']}"
        return f"scaling down to {spec.get('min_capacity', 0)} task(s)"
    if services:
        parts: list[str] = []
        for service in services:
            part = f"{service.get('name')} at {service.get('desired_count')} task(s)"
            target = service.get("scalable_target")
            if isinstance(target, dict):
                part += f", autoscaling {target.get('min_capacity')}..{target.get('max_capacity')}"
            parts.append(part)
        return "; ".join(parts)
    return ""


class Progress:
    """Turns history events into one line per meaningful event, with the time since the execution started.

    Loops (wait, look, decide) would print the same states over and over: a state is announced
    the first time it is entered, and a repeated look prints only when what it saw has changed.
    """

    FAILED_EVENTS = ("TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed", "LambdaFunctionFailed",
                     "LambdaFunctionTimedOut", "LambdaFunctionStartFailed", "LambdaFunctionScheduleFailed")

    def __init__(self, out: Callable[[str], None], started: datetime, expected_min_capacity: Optional[int] = None) -> None:
        self._out = out
        self._expected_min_capacity = expected_min_capacity
        self._started = started
        self._entered_at: dict[str, datetime] = {}
        self._announced: set[str] = set()
        self._said: dict[str, str] = {}
        self._current = ""
        self.last_event_id = 0

    def _line(self, at: datetime, verb: str, text: str) -> None:
        self._out(f"[{elapsed((at - self._started).total_seconds()):>9}] {verb:<6} {text}")

    def event(self, event: dict[str, Any]) -> None:
        self.last_event_id = max(self.last_event_id, int(event.get("id", 0)))
        kind, at = event.get("type", ""), event["timestamp"]
        if kind.endswith("StateEntered"):
            name = event.get("stateEnteredEventDetails", {}).get("name", "?")
            self._entered_at[name] = at
            self._current = name
            if kind == "TaskStateEntered" and name not in self._announced:
                self._announced.add(name)
                self._line(at, "enter", name)
            elif kind == "FailStateEntered":
                self._line(at, "fail", name)
            elif kind == "SucceedStateEntered":
                self._line(at, "done", name)
        elif kind == "TaskStateExited":
            details = event.get("stateExitedEventDetails", {})
            name = details.get("name", "?")
            output = _loads(details.get("output"))
            summary = summarize(output)
            if name not in self._said:
                took = (at - self._entered_at.get(name, at)).total_seconds()
                self._line(at, "leave", f"{name} ({elapsed(took)})" + (f": {summary}" if summary else ""))
            elif summary and summary != self._said[name]:
                self._line(at, "update", f"{name}: {summary}")
            self._said[name] = summary
            self._check_min_capacity(at, output)
        elif kind in self.FAILED_EVENTS:
            details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
            self._line(at, "error", f"{self._current}: {details.get('error') or kind}")


    def _check_min_capacity(self, at: datetime, document: Any) -> None:
        """Fleet's addon set the autoscaling minimum after the migration; the workflow restores the one it found."""
        if self._expected_min_capacity is None or not isinstance(document, dict):
            return
        services = document.get("services")
        if not isinstance(services, list) or not services or not isinstance(services[0], dict):
            return
        expected, self._expected_min_capacity = self._expected_min_capacity, None  # say it once
        target = services[0].get("scalable_target")
        found = target.get("min_capacity") if isinstance(target, dict) else None
        if found != expected:
            what = f"its autoscaling minimum is {found}" if found is not None else "it has no autoscaling target"
            self._line(at, "note", f"min_capacity is {expected} but {what}; the migration restores what it found "
                       "(set the minimum on the aws_appautoscaling_target)")


def read_new_events(sfn: Any, execution_arn: str, after_id: int) -> list[dict[str, Any]]:
    """History events with an id above ``after_id``, oldest first.

    Asks for the newest first and stops at the first page that reaches known events, so a long
    execution costs one small page per poll (a service that ignores reverseOrder still works).
    """
    fresh: list[dict[str, Any]] = []
    token = None
    while True:
        request: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True, "maxResults": 100}
        if token:
            request["nextToken"] = token
        page = sfn.get_execution_history(**request)
        events = page.get("events", [])
        new = [e for e in events if int(e.get("id", 0)) > after_id]
        fresh.extend(new)
        token = page.get("nextToken")
        if not token or len(new) < len(events):
            break
    fresh.sort(key=lambda e: int(e.get("id", 0)))
    return fresh


class Verdict:
    def __init__(self, settings: Settings, out: Callable[[str], None], err: Callable[[str], None]) -> None:
        self._settings, self._out, self._err = settings, out, err

    def report(self, described: dict[str, Any], decision: executions.Decision, already: bool = False) -> int:
        status = described["status"]
        took = _duration(described)
        name = described.get("name", decision.name)
        if status == "SUCCEEDED":
            output = _loads(described.get("output"))
            output = output if isinstance(output, dict) else {}
            if already:
                self._out(f"{PREFIX} execution {name} already SUCCEEDED (ran {elapsed(took)}, ended "
                          f"{_clock(described.get('stopDate'))}): revision {self._settings.revision} is migrated, "
                          "nothing to run again")
            else:
                self._out(f"{PREFIX} SUCCEEDED in {elapsed(took)} (execution {name})")
            for line in self._success_details(output):
                self._out(f"  {line}")
            return EXIT_SUCCEEDED
        error = described.get("error") or ("States.Aborted" if status == "ABORTED" else status)
        self._err(f"{PREFIX} {status} after {elapsed(took)}: {error} (execution {name})")
        cause = _loads(described.get("cause"))
        for line in self._failure_details(cause):
            self._err(f"  {line}")
        if status in ("ABORTED", "TIMED_OUT"):
            self._err("  an execution that is stopped or times out as a whole does not roll back: check the services' "
                      "desired counts and autoscaling, and any migration task still running (its first state's output "
                      "in the history shows what they were)")
        self._err(f"  console: {console_url(self._settings, decision.execution_arn)}")
        upcoming = executions.execution_name(self._settings.cluster, self._settings.service, self._settings.revision,
                                             decision.attempt + 1)
        self._err(f"  next: fix the cause, then run `terraform apply` again (or this client): it starts attempt "
                  f"{decision.attempt + 1}, {upcoming}")
        return EXIT_FAILED

    @staticmethod
    def _success_details(output: dict[str, Any]) -> list[str]:
        lines = []
        if output.get("task_arn"):
            lines.append(f"migration task {output['task_arn']} exited {output.get('exit_code')}")
        services = [s for s in output.get("services") or [] if isinstance(s, dict)]
        if services:
            lines.append("services: " + ", ".join(f"{s.get('name')} at {s.get('desired_count')} task(s)"
                                                   for s in services))
        return lines

    @staticmethod
    def _failure_details(cause: Any) -> list[str]:
        if not isinstance(cause, dict):
            return [str(cause)] if cause else []
        lines = [str(cause.get("message") or cause.get("errorMessage") or json.dumps(cause))]
        if cause.get("task_arn"):
            task = f"migration task {cause['task_arn']}"
            if cause.get("exit_code") is not None:
                task += f", exit code {cause['exit_code']}"
            if cause.get("stopped_reason"):
                task += f" ({cause['stopped_reason']})"
            lines.append(task)
        if "rolled_back" in cause:
            lines.append(f"rolled back: {'yes' if cause['rolled_back'] else 'NO'}")
        commands = cause.get("commands") or []
        if commands:
            lines.append("to finish by hand, run:")
            lines.extend(f"  {command}" for command in commands)
        return lines


def _duration(described: dict[str, Any]) -> float:
    start, stop = described.get("startDate"), described.get("stopDate")
    if not isinstance(start, datetime):
        return 0.0
    end = stop if isinstance(stop, datetime) else datetime.now(timezone.utc)
    return (end - start).total_seconds()


def _clock(moment: Any) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(moment, datetime) else "?"


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------

def follow(sfn_of: Callable[[], Any], settings: Settings, decision: executions.Decision, started: datetime,
           out: Callable[[str], None], err: Callable[[str], None]) -> dict[str, Any]:
    """Print the history as it grows until the execution ends; return the final describe_execution."""
    progress = Progress(out, started, settings.expected_min_capacity)
    deadline = time.monotonic() + settings.max_wait_seconds
    failures = 0
    while True:
        try:
            sfn = sfn_of()
            described = sfn.describe_execution(executionArn=decision.execution_arn)
            # read after describe: once the status is final, this read has every event
            for event in read_new_events(sfn, decision.execution_arn, progress.last_event_id):
                progress.event(event)
            failures = 0
        except Exception as exc:  # noqa: BLE001 - only transient errors are retried
            failures += 1
            if not _is_transient(exc) or failures > 10:
                raise
            err(f"{PREFIX} warning: {type(exc).__name__} while following the execution, retrying")
            time.sleep(min(30.0, settings.poll_seconds * 2 ** failures))
            continue
        if described["status"] not in ACTIVE:
            return described
        if time.monotonic() >= deadline:
            raise Stop(EXIT_STILL_RUNNING, f"gave up waiting after {elapsed(settings.max_wait_seconds)}; the execution "
                       f"{decision.name} still runs. Follow it at {console_url(settings, decision.execution_arn)}, "
                       "or run this client again to rejoin it")
        time.sleep(settings.poll_seconds)


def run(settings: Settings, out: Callable[[str], None], err: Callable[[str], None]) -> int:
    aws = Aws(settings, out)
    sfn = aws.stepfunctions()
    try:
        decision = executions.start_or_join(sfn, settings.state_machine_arn, settings.input_text,
                                            settings.cluster, settings.service, settings.revision)
    except RuntimeError as exc:  # every attempt already failed
        raise Stop(EXIT_FAILED, f"{exc}; look at why in the Step Functions console") from None
    verdict = Verdict(settings, out, err)
    described = sfn.describe_execution(executionArn=decision.execution_arn)
    if decision.action == "succeeded":
        return verdict.report(described, decision, already=True)
    if decision.action == "started":
        retry = f", after {decision.attempt - 1} failed attempt(s)" if decision.attempt > 1 else ""
        out(f"{PREFIX} started execution {decision.name} (attempt {decision.attempt}{retry}) "
            f"for revision {settings.revision}")
    else:
        out(f"{PREFIX} joined execution {decision.name}, running since {_clock(described.get('startDate'))}: "
            "another apply or the EventBridge trigger started it; following it instead of starting a second one")
        differing = _differing_fields(_loads(described.get("input")), settings.document)
        if differing:
            out(f"{PREFIX} note: it runs with its own input; these fields differ from yours: {', '.join(differing)}")
    out(f"  console: {console_url(settings, decision.execution_arn)}")
    started = described.get("startDate") or datetime.now(timezone.utc)
    try:
        final = follow(aws.stepfunctions, settings, decision, started, out, err)
    except Interrupted as stop:
        err(f"{PREFIX} interrupted ({stop}): the execution {decision.name} keeps running, this client only "
            "stopped following it.")
        err(f"  follow it: {console_url(settings, decision.execution_arn)}")
        err(f"  or: aws stepfunctions describe-execution --execution-arn {decision.execution_arn}")
        err("  running `terraform apply` (or this client) again joins it instead of starting another migration")
        return 128 + stop.signum
    return verdict.report(final, decision)


def _differing_fields(theirs: Any, ours: dict[str, Any]) -> list[str]:
    if not isinstance(theirs, dict):
        return ["(unreadable input)"]
    return sorted(key for key in set(theirs) | set(ours) if theirs.get(key) != ours.get(key))


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def main(argv: Optional[list[str]] = None, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    def out(line: str) -> None:
        print(line, file=stdout, flush=True)

    def err(line: str) -> None:
        print(line, file=stderr, flush=True)

    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    settings = None
    try:
        settings = Settings(args)
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise Stop(EXIT_AWS, f"boto3 is not installed for {sys.executable}: `{sys.executable} -m pip install "
                       "boto3`, or point the module's `python` variable at an interpreter that has it") from None
        return run(settings, out, err)
    except Stop as stop:
        err(f"{PREFIX} error: {stop.message}")
        return stop.code
    except Interrupted as stop:
        err(f"{PREFIX} interrupted ({stop}) while starting: if an execution started it keeps running, and "
            "running `terraform apply` (or this client) again joins it")
        return 128 + stop.signum
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        line = explain_aws_error(exc, settings) if settings is not None else None
        if line is None or os.environ.get("FLEET_MIGRATION_DEBUG"):
            raise
        err(f"{PREFIX} error: {line}")
        return EXIT_AWS


if __name__ == "__main__":
    sys.exit(main())
