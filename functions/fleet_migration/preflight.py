"""Preflight: what RunTask (or the run-task step's IAM) would refuse later, refused by the describe step
before anything changes, as ``InvalidInput`` naming the field and the fix (docs/behaviour.md).

Each check is a plain function of the input, the task definition revision and what the deployment
allows; ``workflow.describe`` calls them one after another. What the deployment allows comes from the
describe and run-task functions' environment, set by template.yaml from the stack's parameters (the same
parameters that scope the run-task step's IAM policy).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from fleet_migration.errors import InvalidInput
from fleet_migration.execution_input import MigrationInput
from fleet_migration.models import TaskLaunch

# A JSON list of commands (each a list of strings) the run-task step may run: parameter AllowedCommands.
ALLOWED_COMMANDS_ENV = "ALLOWED_MIGRATION_COMMANDS"
# The family, execution role and task role the run-task step's IAM lets it use (parameters
# TaskDefinitionFamily, TaskExecutionRoleArn, TaskRoleArn). Unset: not checked here (IAM still refuses at RunTask).
FAMILY_ENV = "ALLOWED_TASK_DEFINITION_FAMILY"
EXECUTION_ROLE_ENV = "ALLOWED_TASK_EXECUTION_ROLE_ARN"
# The vulnerability service's family (parameter VulnTaskDefinitionFamily; empty: the family above with
# VULN_FAMILY_SUFFIX, as fleet-terraform's external-vuln-scans addon names it), allowed only with a vulnerability
# service (parameter VulnServiceName, VULN_SERVICE). UpdateService and the rollback's RegisterTaskDefinition may
# use revisions of these families only (their ecs:task-definition condition and resource).
VULN_FAMILY_ENV = "ALLOWED_VULN_TASK_DEFINITION_FAMILY"
VULN_SERVICE_ENV = "VULN_SERVICE"
VULN_FAMILY_SUFFIX = "-vuln-processing"
TASK_ROLE_ENV = "ALLOWED_TASK_ROLE_ARN"
# The image repositories the migration container may run, comma-separated (parameter AllowedImageRepositories).
# Unset or empty: the repository of the revision that serves Fleet.
IMAGE_REPOSITORIES_ENV = "ALLOWED_IMAGE_REPOSITORIES"

# Fleet's own migration, as its Terraform addon and its docs run it.
DEFAULT_ALLOWED_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("fleet", "prepare", "db"),
    ("fleet", "prepare", "db", "--no-prompt"),
)


def allowed_commands(environ: Mapping[str, str] = os.environ) -> list[list[str]]:
    """The commands this deployment allows; Fleet's ``prepare db`` when the environment says nothing."""
    text = environ.get(ALLOWED_COMMANDS_ENV, "").strip()
    if not text:
        return [list(command) for command in DEFAULT_ALLOWED_COMMANDS]
    commands = json.loads(text)
    if not (
        isinstance(commands, list)
        and commands
        and all(isinstance(c, list) and c and all(isinstance(word, str) for word in c) for c in commands)
    ):
        raise ValueError(
            f"{ALLOWED_COMMANDS_ENV} (parameter AllowedCommands) must be a JSON list of commands, "
            f'each a non-empty list of strings, e.g. [["fleet", "prepare", "db", "--no-prompt"]]; got {text}'
        )
    return commands


def check_command(command: Sequence[str], allowed: Sequence[Sequence[str]]) -> None:
    """StartExecution must not become a way to run any command with Fleet's task role and secrets."""
    if list(command) not in [list(c) for c in allowed]:
        raise InvalidInput(
            f"command: {json.dumps(list(command))} is not a command this deployment allows; set command to one of "
            f"{', '.join(json.dumps(list(c)) for c in allowed)} (or leave it out), or add it to the stack's "
            f"AllowedCommands parameter ({ALLOWED_COMMANDS_ENV} of the describe and run-task functions). "
            "Nothing was changed.",
            fields=["command"],
        )


def check_family(definition: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """The run-task step may run revisions of one family only (its ecs:RunTask resource)."""
    allowed = environ.get(FAMILY_ENV)
    family = definition.get("family") or definition["taskDefinitionArn"].rsplit("/", 1)[-1].rsplit(":", 1)[0]
    if allowed and family != allowed:
        raise InvalidInput(
            f"task_definition: family {family!r} is not the family this deployment may run ({allowed!r}); set "
            f"task_definition to {allowed!r}, or deploy the stack with TaskDefinitionFamily={family}. "
            "Nothing was changed.",
            fields=["task_definition"],
        )


def check_roles(definition: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """RunTask passes the revision's execution and task roles; the step's iam:PassRole names the allowed ones."""
    if EXECUTION_ROLE_ENV not in environ and TASK_ROLE_ENV not in environ:
        return
    allowed = [arn for arn in (environ.get(EXECUTION_ROLE_ENV, ""), environ.get(TASK_ROLE_ENV, "")) if arn]
    parameter = {"executionRoleArn": "TaskExecutionRoleArn", "taskRoleArn": "TaskRoleArn"}
    for key, stack_parameter in parameter.items():
        role = definition.get(key)
        if role and not any(_same_role(role, arn) for arn in allowed):
            revision = definition.get("taskDefinitionArn", "the revision")
            raise InvalidInput(
                f"task_definition_revision: {revision} has {key} {role}, a role this deployment may not pass to ECS "
                f"(it may pass {', '.join(allowed) or 'no role'}); register a revision with an allowed role, or "
                f"deploy the stack with {stack_parameter}={role}. Nothing was changed.",
                fields=["task_definition_revision"],
            )


def allowed_service_families(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The families whose revisions the services may be put on (empty: not known here, not checked)."""
    family = environ.get(FAMILY_ENV)
    if not family:
        return []
    vuln = (environ.get(VULN_FAMILY_ENV) or f"{family}{VULN_FAMILY_SUFFIX}") if environ.get(VULN_SERVICE_ENV) else None
    return [family, *([vuln] if vuln else [])]


def check_service_families(
    field: str, service: Mapping[str, Any], serving: str | None, environ: Mapping[str, str] = os.environ
) -> None:
    """The steps may put a service on, and the rollback register again, revisions of the deployment's families only
    (UpdateService's ecs:task-definition condition): a service that serves from, is set to, or would be put back on
    another family would be refused by IAM part-way through."""
    allowed = allowed_service_families(environ)
    for arn in (serving, service.get("taskDefinition")):
        family = str(arn or "").rsplit("/", 1)[-1].rsplit(":", 1)[0]
        if allowed and family and family not in allowed:
            raise InvalidInput(
                f"{field}: service {service.get('serviceName')!r} runs revisions of family {family!r} "
                f"({str(arn).rsplit('/', 1)[-1]}), and this deployment may put its services on, and bring back, "
                f"revisions of {', '.join(repr(f) for f in allowed)} only; deploy the stack with TaskDefinitionFamily "
                "or, for the vulnerability service, VulnTaskDefinitionFamily (with VulnServiceName) naming "
                f"{family!r} (Terraform: task_definition_family, vuln_task_definition_family), or name another service "
                f"in {field}. Nothing was changed.",
                fields=[field],
            )


def _same_role(role: str, arn: str) -> bool:
    # A task definition may name its roles by name or by ARN (RegisterTaskDefinition, taskRoleArn).
    return role == arn if role.startswith("arn:") else arn.rsplit("/", 1)[-1] == role


# AwsVpcConfiguration (Amazon ECS API Reference): "There's a limit of 16 subnets" and "a limit of 5
# security groups that can be specified per AwsVpcConfiguration".
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5


def check_launch(spec: MigrationInput, launch: TaskLaunch, definition: Mapping[str, Any], service_name: str) -> None:
    """How the task will run (launch.resolve) against what RunTask accepts: the revision's compatibility and
    network mode, and the awsvpc configuration."""
    check_compatibility(spec, launch, definition)
    if definition.get("networkMode") != "awsvpc":
        return
    if not launch.subnets:
        raise InvalidInput(
            f"subnets: revision {spec.task_definition_ref} uses awsvpc networking and service {service_name!r} has "
            'no awsvpc configuration to borrow; set subnets (and security_groups), e.g. ["subnet-0abc"]',
            fields=["subnets"],
        )
    if len(launch.subnets) > MAX_SUBNETS:
        raise InvalidInput(
            f"subnets: ECS accepts at most {MAX_SUBNETS} subnets for a task and there are {len(launch.subnets)}; "
            f"list at most {MAX_SUBNETS}",
            fields=["subnets"],
        )
    if launch.security_groups is not None and len(launch.security_groups) > MAX_SECURITY_GROUPS:
        raise InvalidInput(
            f"security_groups: ECS accepts at most {MAX_SECURITY_GROUPS} security groups for a task and there are "
            f"{len(launch.security_groups)}; list at most {MAX_SECURITY_GROUPS}",
            fields=["security_groups"],
        )
    if launch.assign_public_ip and not launch.on_fargate:
        # AwsVpcConfiguration.AssignPublicIp: "You can specify ENABLED only when LaunchType ... is set to
        # FARGATE" (EventBridge / Amazon ECS task networking: tasks on EC2 get no public IP of their own).
        raise InvalidInput(
            f"assign_public_ip: a public IP is for Fargate tasks only and the migration task runs with "
            f'{launch.describe()}; set assign_public_ip to false, or run it on Fargate (launch_type "FARGATE")',
            fields=["assign_public_ip"],
        )


def check_compatibility(spec: MigrationInput, launch: TaskLaunch, definition: Mapping[str, Any]) -> None:
    """The revision must be valid for where the task runs (what RunTask checks against its compatibilities)."""
    compatible = definition.get("compatibilities") or definition.get("requiresCompatibilities") or ["EC2"]
    network_mode = definition.get("networkMode") or "bridge"
    needs = "FARGATE" if launch.on_fargate else "EC2"
    fix_launch = 'or set launch_type to "EC2"' if needs == "FARGATE" else 'or set launch_type to "FARGATE"'
    if needs not in compatible:
        raise InvalidInput(
            f"task_definition_revision: revision {spec.task_definition_ref} is compatible with {compatible} and "
            f"cannot run with {launch.describe()}; register a revision with requiresCompatibilities including "
            f"{needs}, {fix_launch}",
            fields=["task_definition_revision", "launch_type"],
        )
    if needs == "FARGATE" and network_mode != "awsvpc":
        # RegisterTaskDefinition's networkMode: "For Amazon ECS tasks on Fargate, the awsvpc network mode is required."
        raise InvalidInput(
            f"task_definition_revision: revision {spec.task_definition_ref} uses network mode {network_mode!r} and "
            f"Fargate ({launch.describe()}) needs awsvpc; register a revision with networkMode awsvpc, {fix_launch}",
            fields=["task_definition_revision", "launch_type"],
        )


# UpdateService takes a task definition only for services whose deployment controller is ECS: "If the service
# uses the CODE_DEPLOY deployment controller, only the desired count, deployment configuration, health check
# grace period, task placement constraints and strategies, and enable ECS managed tags option can be updated";
# for EXTERNAL, a new task set is created instead (UpdateService, Amazon ECS API Reference).
_REVISION_BY_UPDATE_SERVICE = ("ECS",)


def check_revision_restorable(field: str, service: Mapping[str, Any], revision_to_restore: str | None) -> None:
    """A rollback that must bring back the serving revision needs UpdateService to accept it."""
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if revision_to_restore and controller not in _REVISION_BY_UPDATE_SERVICE:
        raise InvalidInput(
            f"{field}: service {service.get('serviceName')!r} serves Fleet from {revision_to_restore.rsplit('/', 1)[-1]} "
            f"but is set to {str(service.get('taskDefinition')).rsplit('/', 1)[-1]}, and its {controller} deployment "
            "controller does not let UpdateService put the serving revision back if the migration fails; finish or "
            "roll back its deployment first (so that the revision it serves is its task definition), then start "
            "again. Nothing was changed.",
            fields=[field],
        )


def check_scheduling(found: Mapping[str, Mapping[str, Any]]) -> None:
    """A DAEMON service runs one task per container instance and takes no desired count: UpdateService would
    refuse the scale-down ("Amazon ECS service deployment controllers and strategies", ECS Developer Guide: with
    the daemon strategy "there is no need to specify a desired number of tasks"), part-way through it."""
    for field, service in found.items():
        if service.get("schedulingStrategy") == "DAEMON":
            raise InvalidInput(
                f"{field}: service {service['serviceName']!r} uses the DAEMON scheduling strategy (one task on each "
                "container instance), which has no desired count to scale down to and back; name a REPLICA service "
                f"in {field}, or stop {service['serviceName']!r} some other way. Nothing was changed.",
                fields=[field],
            )


# -- what the migration task runs: the deployment's image, Fleet's command, no more containers than serve --------


def repository(image: str) -> str:
    """An image reference without its digest or tag: ``fleetdm/fleet:v4.60.0@sha256:...`` -> ``fleetdm/fleet``.
    A colon before the last ``/`` belongs to the registry's port, not to a tag."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def allowed_repositories(environ: Mapping[str, str] = os.environ) -> list[str]:
    return [item.strip() for item in environ.get(IMAGE_REPOSITORIES_ENV, "").split(",") if item.strip()]


def _container(definition: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return next((c for c in definition.get("containerDefinitions", []) if c.get("name") == name), {})


def _family(definition: Mapping[str, Any]) -> str:
    return str(definition.get("family") or _revision(definition).rsplit(":", 1)[0])


def _revision(definition: Mapping[str, Any]) -> str:
    return str(definition.get("taskDefinitionArn", "the revision")).rsplit("/", 1)[-1]


def check_migration_container(definition: Mapping[str, Any], container_name: str) -> None:
    """The command override replaces the container's command only: an ``entryPoint`` would run first and could
    wrap the allowed command in anything; ``privileged`` gives the container the host's root."""
    container = _container(definition, container_name)
    if container.get("entryPoint"):
        raise InvalidInput(
            f"task_definition_revision: container {container_name!r} of {_revision(definition)} has an entryPoint "
            f"({json.dumps(container['entryPoint'])}), which would run instead of the migration command and could wrap "
            "it in anything; register a revision whose migration container has no entryPoint (Fleet's image needs "
            "none). Nothing was changed.",
            fields=["task_definition_revision"],
        )
    if container.get("privileged"):
        raise InvalidInput(
            f"task_definition_revision: container {container_name!r} of {_revision(definition)} is privileged (root "
            "on the host); register a revision with privileged false for it. Nothing was changed.",
            fields=["task_definition_revision"],
        )


def check_against_serving(
    definition: Mapping[str, Any],
    serving: Mapping[str, Any],
    container_name: str,
    environ: Mapping[str, str] = os.environ,
) -> None:
    """The new revision runs an image from a repository the deployment allows (by default the serving revision's)
    and no container the serving revision does not have: a registration must not become a way to run anything
    with Fleet's roles, secrets and network."""
    image = str(_container(definition, container_name).get("image", ""))
    # The vulnerability service named as ecs_service runs its own family (fleet-terraform's external-vuln-scans
    # addon: one container of its own name, Fleet's image): its containers compare by image, not by name, and the
    # migration container is the only one the new revision may run besides them.
    same_family = _family(definition) == _family(serving)
    serving_images = [c.get("image") for c in serving.get("containerDefinitions", []) if c.get("image")]
    serving_image = _container(serving, container_name).get("image")
    configured = allowed_repositories(environ)
    reference = [str(serving_image)] if serving_image else ([] if same_family else [str(i) for i in serving_images])
    allowed = configured or list(dict.fromkeys(repository(i) for i in reference))
    if allowed and repository(image) not in allowed:
        source = (
            f"the stack's AllowedImageRepositories ({IMAGE_REPOSITORIES_ENV})"
            if configured
            else f"the repository of {_revision(serving)}, the revision that serves"
        )
        raise InvalidInput(
            f"task_definition_revision: container {container_name!r} of {_revision(definition)} runs {image}, from "
            f"repository {repository(image)!r}, and this deployment allows {', '.join(allowed)} ({source}); register "
            f"a revision with an image from {allowed[0]}, or add the repository to AllowedImageRepositories "
            "(Terraform: allowed_image_repositories). Nothing was changed.",
            fields=["task_definition_revision"],
        )
    names = {c.get("name") for c in serving.get("containerDefinitions", [])} | (
        set() if same_family else {container_name}
    )
    added = sorted(str(c.get("name")) for c in definition.get("containerDefinitions", []) if c.get("name") not in names)
    if added:
        raise InvalidInput(
            f"task_definition_revision: {_revision(definition)} adds container(s) {', '.join(added)} that "
            f"{_revision(serving)}, the revision that serves, does not have; a migration runs what serves, with a "
            "newer image: deploy the new containers first (a revision with them that serves), then migrate. "
            "Nothing was changed.",
            fields=["task_definition_revision"],
        )


def check_restorable_roles(field: str, serving: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """A rollback may register the serving revision again (once it is INACTIVE): RegisterTaskDefinition passes its
    roles, and the rollback's iam:PassRole names the deployment's task roles only."""
    try:
        check_roles(serving, environ)
    except InvalidInput as exc:
        raise InvalidInput(
            f"{field}: if the migration fails, the rollback puts back {_revision(serving)}, the revision that serves, "
            "and may have to register it again (Terraform deregisters it), passing its roles; "
            + exc.message.split(": ", 1)[1],
            fields=[field],
        ) from exc


def check_restorable_unprivileged(field: str, serving: Mapping[str, Any]) -> None:
    """The rollback's RegisterTaskDefinition is allowed with ecs:privileged false only: a serving revision with a
    privileged container could not be registered again, and the rollback would fail with Fleet down."""
    privileged = [str(c.get("name")) for c in serving.get("containerDefinitions", []) if c.get("privileged")]
    if privileged:
        raise InvalidInput(
            f"{field}: if the migration fails, the rollback puts back {_revision(serving)}, the revision that serves, "
            "and may have to register it again (Terraform deregisters it), which this deployment may do only for "
            f"revisions without privileged containers; container(s) {', '.join(privileged)} of it are privileged. "
            "Deploy a revision with privileged false and let it serve, then migrate. Nothing was changed.",
            fields=[field],
        )


def check_network_allowed(
    spec: MigrationInput,
    service: Mapping[str, Any],
    allowed_subnets: Sequence[str],
    allowed_security_groups: Sequence[str],
) -> None:
    """The task holds Fleet's secrets: it runs where the service runs, or where the deployment allows. The input
    may narrow the network, never widen it: a subnet or security group outside the service's own and the
    deployment's list, or a public IP the service does not have, is refused."""
    network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    name = service.get("serviceName")
    for field, own, listed, parameter in (
        ("subnets", network.get("subnets") or [], allowed_subnets, "Subnets"),
        ("security_groups", network.get("securityGroups") or [], allowed_security_groups, "SecurityGroups"),
    ):
        given = getattr(spec, field)
        outside = [item for item in given or [] if item not in own and item not in listed]
        if outside:
            allowed = list(dict.fromkeys([*own, *listed]))
            raise InvalidInput(
                f"{field}: {', '.join(outside)} {'is' if len(outside) == 1 else 'are'} not where this deployment lets "
                f"the migration task run (service {name!r}'s own, or the stack's {parameter} parameter: "
                f"{', '.join(allowed) or 'none'}); leave {field} out to use the service's, list only allowed ones, "
                f"or deploy the stack with {parameter} including them. Nothing was changed.",
                fields=[field],
            )
    if spec.assign_public_ip and network.get("assignPublicIp") != "ENABLED":
        raise InvalidInput(
            f"assign_public_ip: service {name!r} runs without a public IP, and the migration task, which holds "
            "Fleet's secrets, may not have one where the service has none; leave assign_public_ip out or set it to "
            "false. Nothing was changed.",
            fields=["assign_public_ip"],
        )


def check_container_name(spec: MigrationInput, deployment_container: str) -> None:
    """Which container receives the command is the deployment's: another one (the ``fleet serve`` sidecar, a
    proxy) must not get Fleet's secrets and a network of the caller's choosing."""
    if "container_name" in spec.model_fields_set and spec.container_name != deployment_container:
        raise InvalidInput(
            f"container_name: {spec.container_name!r} is not the container this deployment runs the migration in "
            f"({deployment_container!r}); leave container_name out or set it to {deployment_container!r}, or deploy "
            f"the stack with ContainerName={spec.container_name}. Nothing was changed.",
            fields=["container_name"],
        )


def count_cap(deployment_cap: int | None, autoscaling_max: int | None) -> tuple[int | None, str]:
    """The most tasks the input may ask for after the migration, and where that number comes from (None: a service
    with neither autoscaling nor a deployment cap, whose count the input sets as Fleet's addon did)."""
    if deployment_cap is not None:
        return deployment_cap, "the stack's MaxDesiredCount parameter"
    if autoscaling_max is not None:
        return autoscaling_max, "the service's autoscaling maximum"
    return None, ""


def check_counts(spec: MigrationInput, service_name: str, cap: int | None, source: str) -> None:
    """``desired_count`` and ``max_capacity`` are the caller's to lower, not to raise past what the deployment
    runs: Fleet's tasks cost money and hold database connections."""
    if cap is None:
        return
    for field in ("desired_count", "max_capacity"):
        value = getattr(spec, field)
        if value is not None and value > cap:
            raise InvalidInput(
                f"{field}: {value} is above {cap}, the most service {service_name!r} may run ({source}); set "
                f"{field} to at most {cap} or leave it out, or deploy the stack with a higher MaxDesiredCount. "
                "Nothing was changed.",
                fields=[field],
            )
