"""Flags, or the environment the Terraform module sets: everything checked before the first AWS call."""

from __future__ import annotations

import argparse
import json
import os
import re
from typing import Any

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1  # the execution FAILED, TIMED_OUT or was ABORTED
EXIT_USAGE = 2  # missing or malformed settings (argparse uses 2 as well)
EXIT_AWS = 3  # credentials, permissions, unknown state machine, AWS unreachable, neither boto3 nor the AWS CLI
EXIT_STILL_RUNNING = 4  # gave up waiting; the execution still runs
EXIT_NO_RECOVERY_POINT = 5  # migrated and Fleet serves, but the snapshot asked for failed or is not available

ENV = {
    "state_machine_arn": "FLEET_MIGRATION_STATE_MACHINE_ARN",
    "input": "FLEET_MIGRATION_INPUT",
    "assume_role_arn": "FLEET_MIGRATION_ASSUME_ROLE_ARN",
    "assume_role_session_name": "FLEET_MIGRATION_ASSUME_ROLE_SESSION_NAME",
    "region": "FLEET_MIGRATION_REGION",
    "poll_seconds": "FLEET_MIGRATION_CLIENT_POLL_SECONDS",
    "max_wait_seconds": "FLEET_MIGRATION_CLIENT_MAX_WAIT_SECONDS",
    "heartbeat_seconds": "FLEET_MIGRATION_CLIENT_HEARTBEAT_SECONDS",
    "rerun": "FLEET_MIGRATION_RERUN",
}
# One GetExecutionHistory a second: the end of a migration reaches `terraform apply` within a second,
# well inside the API's throttling budget.
DEFAULT_POLL_SECONDS = 1.0
# A wait that prints nothing for longer looks hung: people kill applies that look hung.
DEFAULT_HEARTBEAT_SECONDS = 30.0
# When the input leaves a timeout out, the state machine uses these (the execution input's documented defaults).
DEFAULT_TIMEOUTS = {"drain_timeout_seconds": 600, "timeout_seconds": 3600, "stabilize_timeout_seconds": 600}
# Taken only when the input names a database (db_cluster_identifier or db_instance_identifier).
DEFAULT_SNAPSHOT_TIMEOUT_SECONDS = 3600
# After a timed-out migration the rollback waits this long for the stopped task to reach STOPPED
# (STOP_DEADLINE_SECONDS in functions/fleet_migration/rollback.py; the client cannot import it).
ROLLBACK_STOP_WAIT_SECONDS = 300
# Describe, scale-down, scale-up, rollback, Lambda retries and the poll intervals that overshoot each deadline.
WAIT_MARGIN_SECONDS = 900
STATE_MACHINE_ARN = re.compile(r"^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([^:/\s]{1,80})$")
PREFIX = "fleet-migration:"


class Stop(Exception):
    """The client must end now with ``code``; ``message`` is the one line that says why."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="migrate.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Start or join the fleet-migration Step Functions execution for a task definition "
        "revision and follow it to the end, with the migration container's own log lines. Each flag defaults "
        "to the environment variable named in its help.",
        epilog="exit codes: 0 succeeded (or had already succeeded), 1 the execution failed, 2 bad settings, "
        "3 AWS credentials/permissions/state machine problem, 4 still running after --max-wait-seconds, "
        "130/143 interrupted (the execution keeps running).\n\n"
        "example:\n  python3 migrate.py --state-machine-arn arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration \\\n"
        '    --input \'{"ecs_cluster": "fleet", "ecs_service": "fleet", "task_definition": "fleet", '
        '"task_definition_revision": 42, "subnets": ["subnet-0a1b"], "security_groups": ["sg-0a1b"]}\'',
    )
    parser.add_argument(
        "--state-machine-arn",
        default=env.get(ENV["state_machine_arn"], ""),
        help=f"the fleet-migration state machine (${ENV['state_machine_arn']})",
    )
    parser.add_argument(
        "--input",
        default=env.get(ENV["input"], ""),
        metavar="JSON|@FILE",
        help=f"the execution input, a JSON object, or @path of a file holding it (${ENV['input']})",
    )
    parser.add_argument(
        "--assume-role-arn",
        default=env.get(ENV["assume_role_arn"], ""),
        help=f"IAM role to assume before calling AWS (${ENV['assume_role_arn']})",
    )
    parser.add_argument(
        "--assume-role-session-name",
        default=env.get(ENV["assume_role_session_name"], ""),
        help=f"session name for --assume-role-arn; default fleet-migration-r<revision> "
        f"(${ENV['assume_role_session_name']})",
    )
    parser.add_argument(
        "--region",
        default=env.get(ENV["region"], ""),
        help=f"AWS region; default: the state machine's, from its ARN (${ENV['region']})",
    )
    parser.add_argument(
        "--poll-seconds",
        default=env.get(ENV["poll_seconds"], ""),
        metavar="SECONDS",
        help=f"how often to read the execution history; default {DEFAULT_POLL_SECONDS:g} (${ENV['poll_seconds']})",
    )
    parser.add_argument(
        "--max-wait-seconds",
        default=env.get(ENV["max_wait_seconds"], ""),
        metavar="SECONDS",
        help="stop following (exit 4, the execution keeps running) after this long; default: the followed "
        "execution's own input (a joined one may have other timeouts than --input): its drain + snapshot "
        "(when a database is named) + task + stabilize timeouts, plus "
        f"{ROLLBACK_STOP_WAIT_SECONDS} s for a timed-out task to stop, plus {WAIT_MARGIN_SECONDS} s "
        f"(${ENV['max_wait_seconds']})",
    )
    parser.add_argument(
        "--heartbeat-seconds",
        default=env.get(ENV["heartbeat_seconds"], ""),
        metavar="SECONDS",
        help="while a wait prints nothing new, print where it stands at least this often; default "
        f"{DEFAULT_HEARTBEAT_SECONDS:g} (${ENV['heartbeat_seconds']})",
    )
    parser.add_argument(
        "--rerun",
        default=env.get(ENV["rerun"], ""),
        metavar="N",
        help="run the revision's migration again although it succeeded, until N attempts after its first success "
        "have succeeded (the Terraform module's rerun); default 0: a revision that succeeded is only reported "
        f"(${ENV['rerun']})",
    )
    return parser.parse_args(argv)


class Settings:
    """Checked settings: everything needed before the first AWS call."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.state_machine_arn = args.state_machine_arn.strip()
        if not self.state_machine_arn:
            raise Stop(EXIT_USAGE, f"no state machine: pass --state-machine-arn or set {ENV['state_machine_arn']}")
        match = STATE_MACHINE_ARN.match(self.state_machine_arn)
        if not match:
            raise Stop(
                EXIT_USAGE,
                f"{self.state_machine_arn!r} is not a state machine ARN; expected "
                "arn:aws:states:<region>:<account>:stateMachine:<name> (without a version or alias)",
            )
        self.partition, arn_region = match.group(1), match.group(2)
        self.region = args.region.strip() or arn_region
        self.input_text, self.document = _read_input(args.input)
        self.cluster = self.document["ecs_cluster"]
        self.service = self.document["ecs_service"]
        self.revision = self.document["task_definition_revision"]
        self.assume_role_arn = args.assume_role_arn.strip()
        self.session_name = args.assume_role_session_name.strip() or f"fleet-migration-r{self.revision}"
        self.poll_seconds = _seconds(args.poll_seconds, DEFAULT_POLL_SECONDS, "poll seconds", minimum=0.05)
        self.max_wait_given = bool(str(args.max_wait_seconds).strip())
        # For the execution this input starts; one joined is followed as long as its own input allows (run.py).
        self.max_wait_seconds = _seconds(
            args.max_wait_seconds, longest_execution_seconds(self.document), "max wait seconds", minimum=1
        )
        self.heartbeat_seconds = _seconds(
            args.heartbeat_seconds, DEFAULT_HEARTBEAT_SECONDS, "heartbeat seconds", minimum=0.05
        )
        rerun = str(args.rerun).strip()
        if rerun and not rerun.isdigit():
            raise Stop(EXIT_USAGE, f"rerun must be a whole number of at least 0, got {rerun!r}")
        self.rerun = int(rerun) if rerun else 0


def longest_execution_seconds(document: dict[str, Any]) -> float:
    """How long an execution with this input may run, every phase at its limit, plus a margin: the drain, the
    snapshot (when a database is named), the migration task, the rollback's wait for a timed-out task to stop,
    and the scale-up's wait for the services to stabilize. The client waits that long before it gives up."""

    def limit(key: str, default: float) -> float:
        value = document.get(key, default)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float(default)

    phases = [limit(key, default) for key, default in DEFAULT_TIMEOUTS.items()]
    if document.get("db_cluster_identifier") or document.get("db_instance_identifier"):
        phases.append(limit("snapshot_timeout_seconds", DEFAULT_SNAPSHOT_TIMEOUT_SECONDS))
    return sum(phases) + ROLLBACK_STOP_WAIT_SECONDS + WAIT_MARGIN_SECONDS


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
        raise Stop(
            EXIT_USAGE,
            f"the execution input needs task_definition_revision, an integer of at least 1 (got {revision!r})",
        )
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
