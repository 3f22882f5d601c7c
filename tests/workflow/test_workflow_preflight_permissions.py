"""What the deployment does not allow the run-task step to do is refused by the first step, with nothing changed.

The emulator deploys template.yaml with the seeded deployment as its parameters (emulator/cloudformation.py):
family "fleet", execution role fleet-execution, task role fleet-task, and the default AllowedCommands.
Without these checks, the services would be scaled down before RunTask's IAM (or nothing at all, for a
command) refused.
"""

from __future__ import annotations

import json

import pytest

from fleet_migration import preflight
from workflow_support import DESCRIBE, cause_of, last_state, tasks_entered


def register(
    aws, family: str = "fleet", container: dict | None = None, extra: list[dict] | None = None, **roles: str
) -> int:
    """Register a revision like the seeded ones, with other roles or another family, other settings of the fleet
    container or more containers; its revision number."""
    account = "arn:aws:iam::123456789012:role"
    definition = aws.client("ecs").register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE", "EC2"],
        cpu="512",
        memory="1024",
        executionRoleArn=roles.get("executionRoleArn", f"{account}/fleet-execution"),
        taskRoleArn=roles.get("taskRoleArn", f"{account}/fleet-task"),
        containerDefinitions=[
            {"name": "fleet", "image": "fleetdm/fleet:v4.60.0", "memory": 1024, "essential": True, **(container or {})},
            *(extra or []),
        ],
    )["taskDefinition"]
    return definition["revision"]


def assert_refused_before_anything_changed(run, field: str) -> dict:
    assert (run.status, run.error) == ("FAILED", "InvalidInput"), run.cause
    assert tasks_entered(run) == [DESCRIBE]
    assert last_state(run) == "The input is invalid"
    cause = cause_of(run)
    assert cause["fields"] == [field] and cause["message"].startswith(f"{field}: ")
    assert cause["rolled_back"] is False and "Nothing was changed" in cause["message"]
    return cause


@pytest.mark.parametrize(
    "command",
    [["sh", "-c", "env"], ["fleet", "serve"], ["fleet", "prepare", "db", "--dev"]],
    ids=["a-shell", "another-fleet-command", "another-flag"],
)
def test_a_command_the_deployment_does_not_allow_is_refused(shared, everything, command):
    aws, fleet = shared
    before = everything()

    run = aws.run(fleet.migration_input(poll_interval_seconds=5, command=command), name=f"command-{command[-1]}")

    cause = assert_refused_before_anything_changed(run, "command")
    assert "AllowedCommands" in cause["message"]
    assert everything() == before


def test_the_deployment_s_allowed_commands_are_the_ones_accepted(shared, everything, monkeypatch):
    # GIVEN a stack deployed with AllowedCommands = only the prompt-less form
    aws, fleet = shared
    monkeypatch.setenv(preflight.ALLOWED_COMMANDS_ENV, json.dumps([["fleet", "prepare", "db", "--no-prompt"]]))
    before = everything()

    run = aws.run(fleet.migration_input(poll_interval_seconds=5, command=["fleet", "prepare", "db"]), name="not-listed")

    cause = assert_refused_before_anything_changed(run, "command")
    assert '["fleet", "prepare", "db", "--no-prompt"]' in cause["message"]
    assert everything() == before


@pytest.mark.parametrize(
    ("key", "parameter"), [("taskRoleArn", "TaskRoleArn"), ("executionRoleArn", "TaskExecutionRoleArn")]
)
def test_a_revision_with_a_role_the_deployment_may_not_pass_is_refused(shared, everything, key, parameter):
    # GIVEN a new revision whose role is not one the stack's iam:PassRole names
    aws, fleet = shared
    admin = "arn:aws:iam::123456789012:role/fleet-admin"
    revision = register(aws, **{key: admin})
    before = everything()

    run = aws.run(fleet.migration_input(poll_interval_seconds=5, task_definition_revision=revision), name=f"role-{key}")

    cause = assert_refused_before_anything_changed(run, "task_definition_revision")
    assert f"has {key} {admin}" in cause["message"] and f"{parameter}={admin}" in cause["message"]
    assert everything() == before


def test_a_family_the_deployment_may_not_run_is_refused(shared, everything):
    aws, fleet = shared
    revision = register(aws, family="fleet-preview")
    before = everything()

    run = aws.run(
        fleet.migration_input(
            poll_interval_seconds=5, task_definition="fleet-preview", task_definition_revision=revision
        ),
        name="another-family",
    )

    cause = assert_refused_before_anything_changed(run, "task_definition")
    assert "TaskDefinitionFamily=fleet-preview" in cause["message"]
    assert everything() == before


# -- what the migration task runs (docs/behaviour.md, "Whom the trigger trusts") ---------------------------------


@pytest.mark.parametrize(
    ("container", "extra", "words"),
    [
        ({"entryPoint": ["sh", "-c"]}, None, "has an entryPoint"),
        ({"privileged": True}, None, "is privileged"),
        ({"image": "attacker.example/fleet:v4.60.0"}, None, "repository 'attacker.example/fleet'"),
        (None, [{"name": "miner", "image": "fleetdm/fleet:v4.60.0", "memory": 128}], "adds container(s) miner"),
    ],
    ids=["entry-point", "privileged", "another-repository", "an-added-container"],
)
def test_a_revision_that_would_run_more_than_fleets_migration_is_refused(shared, everything, container, extra, words):
    # GIVEN someone with ecs:RegisterTaskDefinition registered a revision of the family that does something else
    aws, fleet = shared
    revision = register(aws, container=container, extra=extra)
    before = everything()

    run = aws.run(
        fleet.migration_input(poll_interval_seconds=5, task_definition_revision=revision),
        name=f"fleet-fleet-r{revision}",
    )

    cause = assert_refused_before_anything_changed(run, "task_definition_revision")
    assert words in cause["message"]
    assert everything() == before


def test_the_image_repositories_the_deployment_allows_replace_the_serving_one(shared, everything, monkeypatch):
    # GIVEN a stack deployed with AllowedImageRepositories = Fleet's ECR mirror only
    aws, fleet = shared
    monkeypatch.setenv(preflight.IMAGE_REPOSITORIES_ENV, "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet")
    revision = register(aws)
    before = everything()

    run = aws.run(
        fleet.migration_input(poll_interval_seconds=5, task_definition_revision=revision),
        name=f"fleet-fleet-r{revision}",
    )

    cause = assert_refused_before_anything_changed(run, "task_definition_revision")
    assert "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet" in cause["message"]
    assert "AllowedImageRepositories" in cause["message"]
    assert everything() == before


def test_an_execution_named_for_another_migration_is_refused(shared, everything):
    # GIVEN an input for revision 1 under revision 2's name (a harmless input that would pass for revision 2's
    # migration when it succeeds)
    aws, fleet = shared
    before = everything()

    run = aws.run(fleet.migration_input(poll_interval_seconds=5, task_definition_revision=1), name="fleet-fleet-r999")

    assert (run.status, run.error) == ("FAILED", "InvalidInput"), run.cause
    assert tasks_entered(run) == [DESCRIBE]
    cause = cause_of(run)
    assert cause["message"].startswith("execution name: ") and "fleet-fleet-r1" in cause["message"]
    assert "Nothing was changed" in cause["message"]
    assert everything() == before


# -- the families the services may be put back on (UpdateService's ecs:task-definition condition) ---------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [(preflight.VULN_FAMILY_ENV, "vuln-scans"), (preflight.VULN_SERVICE_ENV, "")],
    ids=["another-vuln-family", "no-vuln-service-in-the-deployment"],
)
def test_a_vulnerability_service_on_a_family_the_deployment_does_not_allow_is_refused(
    shared, everything, monkeypatch, setting, value
):
    # GIVEN a stack whose IAM names another family for the vulnerability service, or none at all: the seeded
    # vulnerability service serves from fleet-vuln-processing, which its UpdateService could not put back
    aws, fleet = shared
    monkeypatch.setenv(setting, value)
    before = everything()

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name=f"vuln-family-{value or 'none'}")

    cause = assert_refused_before_anything_changed(run, "vuln_service")
    assert "'fleet-vuln-processing'" in cause["message"] and "VulnTaskDefinitionFamily" in cause["message"]
    assert everything() == before
