"""The Terraform client's words: settings, progress lines, the verdict (terraform/migrate_client/)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

import executions
from migrate_client.aws import explain_aws_error
from migrate_client.progress import Lines, Progress, read_new_events, summarize
from migrate_client.settings import EXIT_NO_RECOVERY_POINT, Settings, parse_args
from migrate_client.verdict import Verdict

STARTED = datetime(2026, 1, 1, tzinfo=UTC)
TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/fleet/0f3c2a1b"
DECISION = executions.Decision(
    "started", "arn:aws:states:eu-west-1:123456789012:execution:fm:fleet-fleet-r4", "fleet-fleet-r4", 1
)


def settings(**overrides) -> Settings:
    document = {"ecs_cluster": "fleet", "ecs_service": "fleet", "task_definition_revision": 4}
    args = parse_args(
        [
            "--state-machine-arn",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:fm",
            "--input",
            json.dumps(document),
        ]
    )
    for key, value in overrides.items():
        setattr(args, key, value)
    return Settings(args)


def verdict(described: dict) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = Verdict(settings(), lambda s: print(s, file=out), lambda s: print(s, file=err)).report(described, DECISION)
    return code, out.getvalue(), err.getvalue()


def failed(cause: dict, error: str = "MigrationFailed", seconds: float = 75) -> dict:
    return {
        "status": "FAILED",
        "name": "fleet-fleet-r4",
        "error": error,
        "cause": json.dumps(cause),
        "startDate": STARTED,
        "stopDate": STARTED + timedelta(seconds=seconds),
    }


# -- settings ---------------------------------------------------------------------------------------


def test_the_region_comes_from_the_state_machine_arn_unless_given():
    assert settings().region == "eu-west-1"
    assert settings(region="eu-central-1").region == "eu-central-1"
    assert settings().session_name == "fleet-migration-r4"


def test_the_client_waits_as_long_as_every_phase_of_the_execution_may_take():
    # drain + migration task + the rollback's wait for a stopped task + stabilize, and a margin
    assert settings().max_wait_seconds == 600 + 3600 + 300 + 600 + 900
    # a database adds its snapshot_timeout_seconds
    with_database = {
        "ecs_cluster": "fleet",
        "ecs_service": "fleet",
        "task_definition_revision": 4,
        "db_instance_identifier": "fleet-mysql",
        "snapshot_timeout_seconds": 7200,
        "timeout_seconds": 60,
    }
    assert settings(input=json.dumps(with_database)).max_wait_seconds == 600 + 7200 + 60 + 300 + 600 + 900
    assert settings(input=json.dumps({**with_database, "snapshot_timeout_seconds": None})).max_wait_seconds == (
        600 + 3600 + 60 + 300 + 600 + 900
    )
    assert settings(max_wait_seconds="90").max_wait_seconds == 90


def test_the_rollback_stop_wait_the_client_allows_for_is_the_workflow_s():
    from fleet_migration.rollback import STOP_DEADLINE_SECONDS
    from migrate_client.settings import ROLLBACK_STOP_WAIT_SECONDS

    assert ROLLBACK_STOP_WAIT_SECONDS == STOP_DEADLINE_SECONDS


def test_the_timeouts_the_client_assumes_for_an_input_without_them_are_the_workflow_s_defaults():
    from fleet_migration.execution_input import MigrationInput
    from migrate_client.settings import DEFAULT_SNAPSHOT_TIMEOUT_SECONDS, DEFAULT_TIMEOUTS

    defaults = {name: field.default for name, field in MigrationInput.model_fields.items()}

    assert DEFAULT_TIMEOUTS == {name: defaults[name] for name in DEFAULT_TIMEOUTS}
    assert set(DEFAULT_TIMEOUTS) == {"drain_timeout_seconds", "timeout_seconds", "stabilize_timeout_seconds"}
    assert DEFAULT_SNAPSHOT_TIMEOUT_SECONDS == defaults["snapshot_timeout_seconds"]


def test_a_quiet_wait_is_reported_every_30_seconds_unless_told_otherwise():
    assert settings().heartbeat_seconds == 30
    assert settings(heartbeat_seconds="0.5").heartbeat_seconds == 0.5


def test_the_heartbeat_flag_mirrors_its_environment_variable(capsys, monkeypatch):
    monkeypatch.setenv("FLEET_MIGRATION_CLIENT_HEARTBEAT_SECONDS", "12")
    assert parse_args([]).heartbeat_seconds == "12"

    with pytest.raises(SystemExit):
        parse_args(["--help"])

    text = capsys.readouterr().out
    assert "--heartbeat-seconds" in text and "FLEET_MIGRATION_CLIENT_HEARTBEAT_SECONDS" in text


def test_access_denied_says_which_permissions_are_needed():
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "StartExecution")

    line = explain_aws_error(denied, settings())

    assert "access denied on StartExecution" in line
    assert "states:StartExecution" in line and "states:GetExecutionHistory" in line
    role = settings(assume_role_arn="arn:aws:iam::123456789012:role/x")
    line = explain_aws_error(ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole"), role)
    assert "sts:AssumeRole" in line and "trust policy" in line


# -- progress lines ---------------------------------------------------------------------------------


def entered(second, kind="Task", name="Check the migration task"):
    return {
        "id": second * 10,
        "type": f"{kind}StateEntered",
        "timestamp": STARTED + timedelta(seconds=second),
        "stateEnteredEventDetails": {"name": name},
    }


def exited(second, status, exit_code=None, name="Check the migration task"):
    output = {
        "input": {"container_name": "fleet"},
        "task_definition_arn": "arn:aws:ecs:eu-west-1:1:task-definition/f:4",
        "task": {"arn": TASK_ARN, "last_status": status, "exit_code": exit_code},
    }
    return {
        "id": second * 10 + 1,
        "type": "TaskStateExited",
        "timestamp": STARTED + timedelta(seconds=second),
        "stateExitedEventDetails": {"name": name, "output": json.dumps(output)},
    }


def test_progress_prints_loops_once_and_again_only_when_something_changed():
    printed: list[str] = []
    lines = Lines(printed.append, STARTED)
    progress = Progress(lines)

    for event in (
        entered(1),
        exited(1, "RUNNING"),
        entered(2, "Wait", "Wait for the migration task"),
        entered(3),
        exited(3, "RUNNING"),
        entered(4),
        exited(4, "STOPPED", 0),
        entered(5, "Succeed", "Migration succeeded"),
    ):
        progress.event(event)
    lines.flush()

    assert printed == [
        "[     1.0s] enter  Check the migration task",
        f"[     1.0s] leave  Check the migration task (0.0s): task {TASK_ARN} RUNNING",
        f"[     4.0s] update Check the migration task: task {TASK_ARN} STOPPED, exit code 0",
        "[     5.0s] done   Migration succeeded",
    ]
    assert progress.last_event_id == 50


def test_progress_remembers_the_task_its_definition_and_container_for_the_log_lines():
    progress = Progress(Lines(print, STARTED))

    progress.event(exited(1, "RUNNING"))

    assert progress.task["arn"] == TASK_ARN and not progress.task_stopped
    assert progress.task_definition_arn == "arn:aws:ecs:eu-west-1:1:task-definition/f:4"
    assert progress.container_name == "fleet"
    progress.event(exited(2, "STOPPED", 1))
    assert progress.task_stopped


def test_a_round_of_lines_is_printed_in_the_order_things_happened():
    printed: list[str] = []
    lines = Lines(printed.append, STARTED)

    lines.progress(STARTED + timedelta(seconds=3), "update", "task STOPPED")
    lines.task(STARTED + timedelta(seconds=2), "Migrations completed.")
    lines.task(STARTED + timedelta(seconds=1), "Applying table migration 1")
    lines.flush()

    assert printed == [
        "[     1.0s]  | Applying table migration 1",
        "[     2.0s]  | Migrations completed.",
        "[     3.0s] update task STOPPED",
    ]


def test_the_wait_line_names_the_phase_how_long_it_lasts_and_the_last_log_line():
    printed: list[str] = []
    lines = Lines(printed.append, STARTED)
    progress = Progress(lines)
    progress.event(entered(10))
    progress.event(exited(10, "RUNNING"))

    progress.still_waiting(STARTED + timedelta(seconds=100), "Applying table migration 20241110152839")
    lines.flush()

    assert printed[-1] == (
        "[    1m40s] wait   Check the migration task, 1m30s so far: task 0f3c2a1b RUNNING; "
        "last log line: Applying table migration 20241110152839"
    )


def test_the_log_lines_do_not_count_as_news_about_the_execution():
    clock = [100.0]
    lines = Lines(print, STARTED, monotonic=lambda: clock[0])
    lines.progress(STARTED, "enter", "Check the migration task")
    lines.flush()

    clock[0] = 130.0
    lines.task(STARTED + timedelta(seconds=29), "Applying table migration 1")
    lines.flush()

    assert lines.last_progress == 100.0


class _History:
    """A Step Functions that pages the history newest first, as AWS does with reverseOrder."""

    def __init__(self, count: int, page: int) -> None:
        self.events = [{"id": i, "type": "X"} for i in range(1, count + 1)]
        self.page = page
        self.calls = 0

    def get_execution_history(self, executionArn, reverseOrder, maxResults, nextToken=None):
        self.calls += 1
        ordered = list(reversed(self.events)) if reverseOrder else self.events
        start = int(nextToken or 0)
        chunk = ordered[start : start + min(maxResults, self.page)]
        more = start + len(chunk) < len(ordered)
        return {"events": chunk, **({"nextToken": str(start + len(chunk))} if more else {})}


def test_history_is_read_incrementally_newest_first():
    sfn = _History(count=250, page=100)

    assert [e["id"] for e in read_new_events(sfn, "arn", 0)] == list(range(1, 251))
    assert sfn.calls == 3
    sfn.calls = 0
    sfn.events.extend({"id": i, "type": "X"} for i in range(251, 256))
    assert [e["id"] for e in read_new_events(sfn, "arn", 250)] == [251, 252, 253, 254, 255]
    assert sfn.calls == 1


# -- the verdict ------------------------------------------------------------------------------------


def test_a_failure_verdict_carries_the_error_the_cause_and_the_console_link():
    cause = {
        "message": "Rolling back failed; run these commands",
        "rolled_back": False,
        "commands": ["aws ecs update-service --cluster fleet --service fleet --desired-count 2"],
    }

    code, out, err = verdict(failed(cause, "RollbackFailed"))

    assert code == 1 and out == ""
    assert err.startswith("fleet-migration: FAILED after 1m15s: RollbackFailed (execution fleet-fleet-r4)")
    assert "Rolling back failed" in err and "rolled back: NO" in err
    assert "    aws ecs update-service --cluster fleet --service fleet --desired-count 2" in err
    assert (
        "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/"
        "arn:aws:states:eu-west-1:123456789012:execution:fm:fleet-fleet-r4"
    ) in err
    assert "fleet-fleet-r4-a2" in err


def test_a_failure_verdict_prints_the_containers_last_lines_from_the_cause():
    cause = {
        "message": "The migration command exited with code 1",
        "task_arn": TASK_ARN,
        "exit_code": 1,
        "rolled_back": True,
        "log_tail": [SECOND_MIGRATION, FAILED_SECOND],
    }

    _, _, err = verdict(failed(cause))

    assert (f"  its last 2 log line(s):\n    | {SECOND_MIGRATION}\n    | {FAILED_SECOND}\n  rolled back: yes\n") in err


# What Fleet's goose prints as it starts a migration, and when one fails (fleetdm/fleet server/goose/migration.go)
FIRST_MIGRATION = "2024/11/20 10:00:00 [2024-11-10] Add Team Identifier To Host Software Installed Paths"
SECOND_MIGRATION = "2024/11/20 10:00:01 [2024-11-16] Add Slot Key To Host Disk Encryption Keys"
FAILED_SECOND = (
    "2024/11/20 10:00:02 FAIL 20241116233322_AddSlotKeyToHostDiskEncryptionKeys.go (Error 1205 (HY000): Lock wait "
    "timeout exceeded; try restarting transaction), quitting migration."
)


def test_a_failure_verdict_lists_the_migrations_applied_before_it():
    cause = {
        "message": "The migration command exited with code 1. The schema is partly migrated: ...",
        "rolled_back": True,
        "applied_migrations": [FIRST_MIGRATION[20:]],
        "failed_migration": "20241116233322_AddSlotKeyToHostDiskEncryptionKeys",
        "restore_commands": [
            "db-restore.sh --restore-snapshot s --dry-run",
            "db-restore.sh --restore-snapshot s --confirm",
        ],
    }

    _, _, err = verdict(failed(cause))

    assert (
        "  migrations applied before the failure (1; the schema is partly migrated):\n"
        f"    {FIRST_MIGRATION[20:]}\n"
        "    failed: 20241116233322_AddSlotKeyToHostDiskEncryptionKeys\n"
    ) in err
    assert (
        "  to restore the database to the recovery point, run:\n"
        "    db-restore.sh --restore-snapshot s --dry-run\n"
        "    db-restore.sh --restore-snapshot s --confirm\n"
    ) in err


def test_a_failure_verdict_says_when_no_migration_was_applied():
    _, _, err = verdict(failed({"message": "exited 1", "rolled_back": True, "applied_migrations": []}))

    assert "migrations applied before the failure: none (the schema is as it was)" in err


def test_a_stay_down_verdict_gives_the_restore_then_the_commands_that_bring_fleet_back():
    cause = {
        "message": "exited 1. Nothing was rolled back",
        "rolled_back": False,
        "applied_migrations": [FIRST_MIGRATION[20:]],
        "restore_commands": ["aws rds restore-db-cluster-to-point-in-time ..."],
        "commands": ["aws ecs update-service --cluster fleet --service fleet --desired-count 2"],
    }

    _, _, err = verdict(failed(cause))

    assert err.index("to restore the database to the recovery point, run:") < err.index(
        "then, to bring Fleet back, run:\n    aws ecs update-service"
    )


def test_a_verdict_names_the_recovery_point_and_how_to_restore_it():
    snapshot = {
        "snapshot_identifier": "fleet-fleet-r4",
        "status": "available",
        "restore_command": "aws rds restore-db-cluster-from-snapshot --snapshot-identifier fleet-fleet-r4 ...",
    }

    _, _, err = verdict(failed({"message": "exited 1", "rolled_back": True, "snapshot": snapshot}))
    code, out, _ = verdict(
        {
            "status": "SUCCEEDED",
            "name": "fleet-fleet-r4",
            "startDate": STARTED,
            "stopDate": STARTED,
            "output": json.dumps({"task_arn": TASK_ARN, "exit_code": 0, "snapshot": snapshot}),
        }
    )

    for text in (err, out):
        assert "recovery point: snapshot fleet-fleet-r4 available" in text
        assert "to restore it: aws rds restore-db-cluster-from-snapshot --snapshot-identifier fleet-fleet-r4" in text
    assert code == 0


def test_an_aborted_execution_is_a_failure_that_warns_nothing_was_rolled_back():
    described = {"status": "ABORTED", "name": "fleet-fleet-r4", "startDate": STARTED, "stopDate": STARTED}

    code, _, err = verdict(described)

    assert code == 1
    assert "ABORTED after 0.0s" in err and "does not roll back" in err


def test_a_cause_that_could_not_read_the_lines_says_why():
    note = "No log stream fleet/fleet/0f3c2a1b in fleet: the container wrote nothing (it may never have started)."

    _, _, err = verdict(
        failed({"message": "stopped before running", "rolled_back": True, "log_note": note}, "TaskFailedToStart")
    )

    assert f"  {note}\n" in err


def test_the_snapshot_steps_report_the_snapshot_and_the_steps_before_them_do_not():
    planned = {"snapshot_identifier": "fleet-fleet-r4", "status": "planned"}
    services = [{"name": "fleet", "desired_count": 2}]

    assert summarize({"input": {}, "services": services, "snapshot": planned}) == "fleet at 2 task(s)"
    assert summarize({"input": {}, "services": services, "snapshot": planned, "drain": {"done": True}}) == "drained"
    creating = {**planned, "status": "creating"}
    assert summarize({"input": {}, "services": services, "snapshot": creating, "drain": {"done": True}}) == (
        "snapshot fleet-fleet-r4 creating"
    )


def test_a_skipped_migration_is_a_success_that_says_why_nothing_ran():
    skipped = (
        "Nothing to migrate: fleet:5 runs the image fleetdm/fleet:v4.60.0, the image fleet's serving tasks run "
        "(fleet:4), so its migrations are already in; nothing was changed."
    )
    described = {
        "status": "SUCCEEDED",
        "name": "fleet-fleet-r4",
        "startDate": STARTED,
        "stopDate": STARTED + timedelta(seconds=1),
        "output": json.dumps(
            {"skipped": skipped, "task_arn": None, "services": [{"name": "fleet", "desired_count": 2}]}
        ),
    }

    code, out, err = verdict(described)

    assert code == 0 and err == ""
    assert f"nothing migrated: {skipped}" in out
    assert "migration task" not in out


def test_a_failure_verdict_says_which_revision_serves_again():
    code, _, err = verdict(
        failed(
            {
                "message": "The migration failed.",
                "rolled_back": True,
                "services": [
                    {
                        "name": "fleet",
                        "desired_count": 2,
                        "task_definition": "fleet:4",
                        "replaced_task_definition": "fleet:5",
                    },
                    {"name": "fleet-vuln-processing", "desired_count": 1},
                ],
            }
        )
    )

    assert code == 1
    assert "fleet serves from fleet:4 again, fleet:5 set aside until the next apply" in err
    assert "fleet-vuln-processing serves" not in err


# -- someone else's text: the container's log lines and the cause are printed harmlessly ------------------------
def test_a_line_that_github_actions_would_read_as_a_workflow_command_is_defused():
    from migrate_client.text import printable

    assert printable("::add-mask::") == ": :add-mask::"
    assert printable("  ::stop-commands::token") == "  : :stop-commands::token"
    assert printable("cause\n::error::forged") == "cause\n: :error::forged"
    assert printable("a::b") == "a::b"


def test_control_characters_are_printed_as_escapes():
    from migrate_client.text import printable

    assert printable("\x1b[2Jcleared\rhidden\x07\ttab") == "\\x1b[2Jcleared\\x0dhidden\\x07\ttab"
    assert printable("\x9b31m") == "\\x9b31m"


def _verdict_of(output: dict, already: bool = False) -> tuple[int, list[str], list[str]]:
    out, err = [], []
    code = Verdict(settings(), out.append, err.append).report(
        {"status": "SUCCEEDED", "name": "fleet-fleet-r4", "output": json.dumps(output)}, DECISION, already=already
    )
    return code, out, err


def test_a_success_without_the_snapshot_it_asked_for_exits_non_zero_saying_there_is_no_recovery_point():
    failed = {
        "snapshot_identifier": "fleet-migration-fleet-fleet-r4-0123abcd",
        "status": "failed",
        "message": "The snapshot 'fleet-migration-fleet-fleet-r4-0123abcd' of 'fleet' ended 'failed': there is no "
        "snapshot to restore",
        "restore_time": "2026-01-01T12:00:05Z",
        "point_in_time_restore_command": "aws rds restore-db-cluster-to-point-in-time ...",
    }

    code, out, err = _verdict_of({"task_arn": "arn:task", "exit_code": 0, "services": [], "snapshot": failed})

    assert code == EXIT_NO_RECOVERY_POINT != 0
    assert err == [f"fleet-migration: NO RECOVERY POINT: {failed['message']}"]
    assert "point-in-time restore target: 2026-01-01T12:00:05Z (the services had drained)" in "\n".join(out)


def test_a_later_run_joining_that_success_repeats_the_warning_but_lets_the_apply_pass():
    late = {"snapshot_identifier": "s", "status": "creating", "message": "still creating"}

    code, _, err = _verdict_of({"task_arn": "arn:task", "services": [], "snapshot": late}, already=True)

    assert code == 0 and err == ["fleet-migration: NO RECOVERY POINT: still creating"]


def test_a_success_with_its_snapshot_available_exits_zero():
    code, _, err = _verdict_of({"task_arn": "arn:task", "services": [], "snapshot": {"status": "available"}})

    assert (code, err) == (0, [])


def test_after_fleet_serves_the_progress_says_the_execution_waits_for_the_snapshot():
    stable = {"done": True, "polls": 3}
    creating = {"snapshot_identifier": "fleet-fleet-r4", "status": "creating", "wait": {"done": False, "polls": 1}}

    assert summarize({"input": {}, "stabilize": stable, "snapshot": creating}) == (
        "services stable; snapshot fleet-fleet-r4 creating"
    )
