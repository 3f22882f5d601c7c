"""Errors carry the contract's names and a JSON cause (docs/errors.md)."""

from __future__ import annotations

import json

from fleet_migration.errors import CONTRACT_ERROR_NAMES, AwsThrottled, MigrationFailed, migration_not_applied

# The error names docs/errors.md lists, in its order: the contract callers match on.
DOCUMENTED_ERROR_NAMES = (
    "InvalidInput",
    "ResourceNotFound",
    "MigrationInProgress",
    "DrainTimeout",
    "TaskFailedToStart",
    "MigrationFailed",
    "MigrationTimeout",
    "ServiceNotStable",
    "RollbackFailed",
    "RedriveNotSupported",
)


def test_the_error_classes_are_exactly_the_contract_names():
    assert CONTRACT_ERROR_NAMES == DOCUMENTED_ERROR_NAMES


def test_an_error_renders_as_a_json_cause_with_its_message_and_details():
    error = MigrationFailed("The migration command exited with code 3", task_arn="arn:task", exit_code=3)

    assert error.error == "MigrationFailed"
    assert json.loads(str(error)) == {
        "message": "The migration command exited with code 3",
        "task_arn": "arn:task",
        "exit_code": 3,
    }


def test_details_without_a_value_are_left_out_of_the_cause():
    assert json.loads(str(MigrationFailed("failed", exit_code=None))) == {"message": "failed"}


def test_throttling_is_not_a_contract_error_but_retried_by_the_state_machine():
    assert AwsThrottled.__name__ not in CONTRACT_ERROR_NAMES


def test_only_the_migration_tasks_own_failures_mean_the_migration_was_not_applied():
    not_applied = {name for name in CONTRACT_ERROR_NAMES if migration_not_applied(name)}

    assert not_applied == {"TaskFailedToStart", "MigrationFailed", "MigrationTimeout"}
    assert not migration_not_applied("ClientError")  # not ours: the state document decides
