"""Any error that outlives the first step's retries ends under a contract name (docs/errors.md).

The first step changes nothing, so whatever stops it (ECS throttling that never lets up, the Lambda
service failing, a bug in the handler) is reported as ``ResourceNotFound`` with a JSON cause that
names the underlying error and says that nothing was rolled back because nothing had changed.
"""

from __future__ import annotations

import pytest

from workflow_support import DESCRIBE, cause_of, last_state, retried_errors, tasks_entered


def assert_reported_as_nothing_changed(run, underlying: str) -> dict:
    assert (run.status, run.error) == ("FAILED", "ResourceNotFound"), run.cause
    assert tasks_entered(run) == [DESCRIBE]
    assert last_state(run) == "A resource was not found"
    cause = cause_of(run)
    assert cause["rolled_back"] is False
    assert cause["underlying_error"] == underlying
    assert f"failed with {underlying} before anything was changed" in cause["message"]
    assert "start the execution again" in cause["message"]
    return cause


def test_ecs_throttling_that_outlives_every_retry_fails_as_resource_not_found_with_nothing_changed(shared, everything):
    aws, fleet = shared
    before = everything()
    aws.faults.inject("ecs", "DescribeClusters", times=None)

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="throttled-throughout")

    assert_reported_as_nothing_changed(run, "AwsThrottled")
    assert retried_errors(run) == ["AwsThrottled"] * 6  # the first attempt and the Retry's 5
    aws.faults.clear()
    assert everything() == before


@pytest.mark.parametrize(
    ("code", "attempts"),
    [("ServiceException", 4), ("KMSAccessDeniedException", 1)],
    ids=["retried-lambda-error", "lambda-error-not-retried"],
)
def test_a_lambda_error_on_the_describe_step_fails_as_resource_not_found_with_nothing_changed(
    shared, everything, code, attempts
):
    aws, fleet = shared
    before = everything()
    aws.faults.inject(
        "lambda",
        "Invoke",
        code=code,
        message="the Lambda service failed",
        times=None,
        when=lambda call: call.params["FunctionName"] == "DescribeServiceFunction",
    )

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name=f"lambda-{code}")

    assert_reported_as_nothing_changed(run, f"Lambda.{code}")
    assert retried_errors(run) == [f"Lambda.{code}"] * attempts
    aws.faults.clear()
    assert everything() == before


def test_an_unexpected_exception_in_the_describe_step_fails_as_resource_not_found_with_nothing_changed(
    shared, everything, monkeypatch
):
    aws, fleet = shared
    before = everything()
    from fleet_migration import describe

    def broken(request):
        raise KeyError("clusterArn")  # a bug: the runtime reports a cause that is not our JSON

    monkeypatch.setattr(describe, "describe", broken)

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="handler-bug")

    assert_reported_as_nothing_changed(run, "KeyError")
    monkeypatch.undo()
    assert everything() == before


def test_the_contract_errors_of_the_describe_step_keep_their_own_name_and_cause(shared, everything):
    aws, fleet = shared
    before = everything()

    run = aws.run(fleet.migration_input(poll_interval_seconds=5, ecs_service="fleet-web"), name="unknown-service")

    assert (run.status, run.error) == ("FAILED", "ResourceNotFound"), run.cause
    cause = cause_of(run)
    assert "ecs_service" in cause["message"] and "underlying_error" not in cause
    assert everything() == before
