"""`terraform apply` with ``rerun`` against the emulator: a revision's migration runs again only when asked."""

from __future__ import annotations

from tfroot import RESOURCE


def executions_of(aws) -> list[dict]:
    sfn = aws.client("stepfunctions")
    return sfn.list_executions(stateMachineArn=aws.state_machine_arn)["executions"]


def test_an_apply_after_success_runs_nothing_and_raising_rerun_starts_attempt_2(aws, fleet, fleet_root):
    # GIVEN revision 2 migrated
    applied = fleet_root().apply()
    assert applied.returncode == 0, applied.terminal

    # WHEN the resource is replaced without rerun (as the addon's `-replace` did), THEN nothing runs again
    replaced = fleet_root().apply(f"-replace={RESOURCE}")
    assert replaced.returncode == 0, replaced.terminal
    assert "execution fleet-fleet-r2 already SUCCEEDED" in replaced.stdout
    assert [e["name"] for e in executions_of(aws)] == ["fleet-fleet-r2"]

    # WHEN rerun is raised, THEN the next attempt runs although the first succeeded
    raised = fleet_root(rerun=1).apply()
    assert raised.returncode == 0, raised.terminal
    assert "started execution fleet-fleet-r2-a2 (attempt 2, a rerun of a revision that succeeded: rerun = 1)" in (
        raised.stdout
    )
    assert {e["name"]: e["status"] for e in executions_of(aws)} == {
        "fleet-fleet-r2": "SUCCEEDED",
        "fleet-fleet-r2-a2": "SUCCEEDED",
    }

    # WHEN the same rerun is applied again, THEN nothing changes
    again = fleet_root(rerun=1).apply()
    assert again.returncode == 0, again.terminal
    assert "No changes." in again.stdout
    assert len(executions_of(aws)) == 2
