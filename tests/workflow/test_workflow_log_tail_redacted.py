"""A failed migration's last log lines go into the cause, which the execution history, the state machine's log
group and CI output keep: what looks like a secret is taken out first."""

from __future__ import annotations

from workflow_support import cause_of


def test_a_failed_migration_that_prints_secrets_leaves_them_out_of_the_cause(aws, fleet, fast_input):
    aws.next_migration(
        exit_code=1,
        log_lines=(
            "connecting with dsn fleet:s3cr3t-pw@tcp(fleet-db:3306)/fleet",
            "FLEET_MYSQL_PASSWORD=s3cr3t-pw",
            "aws credentials AKIAIOSFODNN7EXAMPLE",
            "Error 1146: Table 'fleet.hosts' doesn't exist",
        ),
    )

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.error == "MigrationFailed", run.cause
    cause = cause_of(run)
    assert cause["log_tail"][-1] == "Error 1146: Table 'fleet.hosts' doesn't exist"
    assert "s3cr3t-pw" not in run.cause and "AKIAIOSFODNN7EXAMPLE" not in run.cause
    assert "[redacted]" in cause["log_tail"][0]
