"""The module under real Terraform, no AWS behind it: files, validate, fmt, plan-time checks, outputs.

Each test writes the `module "migrations"` block a user would write (tests/terraform/conftest.py) and
runs Terraform in it. Where the local-exec must run, the ``python`` variable names a recorder that
writes down what Terraform ran, instead of the client. Tables of cases (bad values, good values,
outputs) are one root module with a block per case (tfroot.Batch), checked by one Terraform command:
each command spends about 3 s starting the AWS provider, whatever the number of blocks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fleet_migration.errors import InvalidInput
from fleet_migration.execution_input import MigrationInput
from fleet_migration.executions import execution_arn, execution_name
from migrate_client.settings import Settings, parse_args
from migrate_client.text import console_url
from tfroot import (
    MODULE_DIR,
    NOWHERE,
    RECORDER_OUTPUT,
    STATE_MACHINE_ARN,
    Batch,
    Root,
    case_errors,
    errors,
    good_arguments,
    planned_addresses,
    record_local_exec,
)
from tools import terraform

REPO = MODULE_DIR.parent

# fleetdm/fleet terraform/addons/migrations/variables.tf (latest): name -> (type, default); REQUIRED = no default.
REQUIRED = object()
FLEET_ADDON_VARIABLES = {
    "ecs_cluster": ("string", REQUIRED),
    "ecs_service": ("string", REQUIRED),
    "min_capacity": ("number", REQUIRED),
    "max_capacity": ("number", REQUIRED),
    "desired_count": ("number", REQUIRED),
    "task_definition": ("string", REQUIRED),
    "task_definition_revision": ("number", REQUIRED),
    "subnets": ("list(string)", REQUIRED),
    "security_groups": ("list(string)", REQUIRED),
    "vuln_service": (None, ""),  # untyped upstream
    "assume_role_arn": ("string", ""),
    "assume_role_session_name": ("string", ""),
    "timeout_seconds": ("number", 600),
}
# Defaults that differ from the addon's on purpose. timeout_seconds: a timeout stops the migration task
# mid-way, and Fleet's migrations on large databases take tens of minutes (fleetdm/fleet#47538, #35927):
# the workflow's own default, never shorter.
OUR_DEFAULTS = {"timeout_seconds": 3600}
# Fleet's documented module block (fleet-terraform example/main.tf), values filled in.
FLEET_EXAMPLE_ARGUMENTS = {
    "ecs_cluster": "fleet",
    "task_definition": "fleet",
    "task_definition_revision": 7,
    "subnets": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
    "security_groups": ["sg-0a1b2c3d"],
    "ecs_service": "fleet",
    "desired_count": 2,
    "min_capacity": 2,
    "max_capacity": 10,
}


def blocks(kind: str) -> dict[str, str]:
    """The text of each top-level ``<kind> "name" { ... }`` block of the module (variable, output), by name."""
    found = {}
    for path in sorted(MODULE_DIR.glob("*.tf")):
        for match in re.finditer(rf'^{kind} "([^"]+)" {{\n(.*?)^}}', path.read_text(), re.MULTILINE | re.DOTALL):
            found[match.group(1)] = match.group(2)
    return found


def error_messages(text: str) -> list[str]:
    """The error_message strings in a block, unescaped as Terraform reads them."""
    return [json.loads(f'"{m}"') for m in re.findall(r'error_message\s*=\s*"((?:[^"\\]|\\.)*)"', text)]


def module_checks() -> list[tuple[str, str]]:
    """(subject, message) of every validation (subject: the variable) and precondition (null_resource.main)."""
    checks = [(name, message) for name, text in blocks("variable").items() for message in error_messages(text)]
    main = (MODULE_DIR / "main.tf").read_text()
    preconditions = re.findall(r"precondition {.*?^    }", main, re.MULTILINE | re.DOTALL)
    checks += [("null_resource.main", message) for block in preconditions for message in error_messages(block)]
    return checks


@pytest.fixture(scope="module")
def configuration(valid_planned) -> dict[str, Any]:
    """The module as Terraform reads it: the configuration part of ``terraform show -json`` of a plan."""
    return valid_planned.shown["configuration"]["root_module"]["module_calls"]["defaults"]["module"]


# Tests that read a module-scoped fixture (a batch, the configuration) share one worker, so that it runs once.
batched = pytest.mark.xdist_group("terraform-module-batches")


def batch(tmp_path_factory, terraform_data_dir, name: str, cases: dict[str, dict[str, Any]], **options: Any) -> Batch:
    return Batch(tmp_path_factory.mktemp(name), terraform_data_dir.parent / ".terraform.lock.hcl", cases, **options)


def plan_diagnostics(root) -> tuple[int, list[dict[str, Any]], list[str]]:
    """``terraform apply -json`` (its plan fails first when a check fails): exit code, error diagnostics,
    and the types of every message, which show whether anything was applied or provisioned."""
    completed = root.run("apply", "-auto-approve", "-input=false", "-json")
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    return completed.returncode, errors(messages), [m["type"] for m in messages]


# -- the files ----------------------------------------------------------------------------------------


def test_the_client_ships_a_byte_identical_copy_of_the_canonical_executions_module():
    canonical = REPO / "functions" / "fleet_migration" / "executions.py"
    assert (MODULE_DIR / "executions.py").read_bytes() == canonical.read_bytes(), (
        "terraform/executions.py must stay a copy of functions/fleet_migration/executions.py: cp the latter over it"
    )


def test_the_module_has_the_standard_layout():
    for name in (
        "main.tf",
        "variables.tf",
        "outputs.tf",
        "versions.tf",
        "README.md",
        "migrate.py",
        "executions.py",
        "examples/basic/main.tf",
    ):
        assert (MODULE_DIR / name).is_file(), name
    versions = (MODULE_DIR / "versions.tf").read_text()
    assert re.search(r'required_version\s*=\s*">=\s*1\.\d+"', versions), "a floor, not a pin"
    assert re.search(r'version\s*=\s*">=\s*2\.1"', versions), "the null constraint admits 2.1 (what PyPI gives)"


@pytest.mark.terraform
def test_terraform_fmt_finds_nothing_to_rewrite():
    for directory in (MODULE_DIR, REPO / "demo" / "terraform"):
        completed = subprocess.run(
            [*terraform.command(), "fmt", "-check", "-recursive", "-diff", str(directory)],
            env=terraform.environment(),
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr


def init_and_validate(directory: Path, data_dir: Path) -> dict[str, Any]:
    """``terraform init`` then ``terraform validate -json`` in ``directory``, as its own root module."""
    env = terraform.environment({**os.environ, "TF_DATA_DIR": str(data_dir)})
    for args in (["init", "-input=false", "-no-color"], ["validate", "-json"]):
        completed = subprocess.run(
            [*terraform.command(), *args],
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
    return json.loads(completed.stdout)


@pytest.mark.terraform
def test_terraform_validate_accepts_the_module_as_a_root(tmp_path):
    copy = tmp_path / "terraform"  # a copy: init writes its lock file beside the configuration
    shutil.copytree(MODULE_DIR, copy, ignore=shutil.ignore_patterns("examples", "__pycache__"))
    # modules/workflow deploys the repository's statemachine/migration.asl.json
    shutil.copytree(MODULE_DIR.parent / "statemachine", tmp_path / "statemachine")

    assert init_and_validate(copy, tmp_path / "data")["valid"] is True


@pytest.mark.terraform
def test_terraform_validate_accepts_the_example(tmp_path):
    if terraform.aws_provider_mirror() is None:
        pytest.skip("did not run: no filesystem mirror of hashicorp/aws on this machine, and no registry serves it")
    copy = tmp_path / "terraform"  # the example's source is "../.."
    shutil.copytree(MODULE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(MODULE_DIR.parent / "statemachine", tmp_path / "statemachine")  # modules/workflow's ASL

    assert init_and_validate(copy / "examples" / "basic", tmp_path / "data")["valid"] is True


@batched
def test_every_variable_is_typed_and_explains_why_it_exists(configuration):
    declared = blocks("variable")
    assert set(declared) == set(configuration["variables"])
    for name, variable in configuration["variables"].items():
        assert re.search(r"^  type\s*=", declared[name], re.MULTILINE), f"{name} has no type"
        text = variable["description"]
        assert 40 <= len(text) <= 400 and text[0].isupper() and text.endswith("."), f"{name}: {text!r}"


def test_every_error_message_is_a_sentence_that_says_how_to_fix_the_value():
    checks = module_checks()
    assert len(checks) >= 20
    for _, message in checks:
        assert "${" not in message  # Terraform before 1.9 wants a literal error_message
        assert message[0].isupper() and message.endswith((".", "?")), message


@batched
def test_the_variables_are_a_superset_of_fleets_addon_with_the_same_types_and_defaults(configuration):
    variables, declared = configuration["variables"], blocks("variable")
    for name, (type_, default) in FLEET_ADDON_VARIABLES.items():
        assert name in variables, f"{name} of Fleet's addon is missing"
        if type_ is not None:
            assert re.search(rf"^  type\s*=\s*{re.escape(type_)}$", declared[name], re.MULTILINE), name
        if default is not REQUIRED:
            assert variables[name].get("default") == OUR_DEFAULTS.get(name, default), name
    required = [name for name, variable in variables.items() if "default" not in variable]
    assert sorted(required) == sorted(
        ["ecs_cluster", "ecs_service", "task_definition", "task_definition_revision", "subnets", "security_groups"]
    )  # state_machine_arn: null deploys modules/workflow


@batched
def test_the_readme_documents_every_input_and_output(configuration):
    readme = (MODULE_DIR / "README.md").read_text()
    for name in [*configuration["variables"], *configuration["outputs"]]:
        assert re.search(rf"^\| `{name}` \|", readme, re.MULTILINE), f"{name} is not in a README table"
    for action in ("states:StartExecution", "states:DescribeExecution", "states:GetExecutionHistory"):
        assert action in readme


# -- the resource, as Terraform plans and applies it ----------------------------------------------------


def test_the_local_exec_runs_the_modules_client_with_every_value_in_the_environment(root, tmp_path):
    recorder = record_local_exec(tmp_path)
    role = "arn:aws:iam::123456789012:role/migrations"
    the_root = root(python=str(recorder), assume_role_arn=role)

    applied = the_root.apply()

    assert applied.returncode == 0, applied.terminal
    ran = json.loads((tmp_path / RECORDER_OUTPUT).read_text())
    assert ran["argv"][0] == str(recorder)  # the interpreter is var.python
    [command] = ran["argv"][1:]  # the command is the script's path and nothing else: no shell, no values
    assert Path(command).name == "migrate.py" and Path(command).resolve() == (MODULE_DIR / "migrate.py").resolve()
    env = ran["env"]
    assert env["FLEET_MIGRATION_STATE_MACHINE_ARN"] == STATE_MACHINE_ARN
    assert env["FLEET_MIGRATION_ASSUME_ROLE_ARN"] == role
    assert env["FLEET_MIGRATION_ASSUME_ROLE_SESSION_NAME"] == ""
    assert env["FLEET_MIGRATION_RERUN"] == "0"
    assert json.loads(env["FLEET_MIGRATION_INPUT"]) == json.loads(the_root.outputs()["execution_input"])


def check_warnings(messages: list[dict[str, Any]]) -> list[str]:
    """The details of the failed check blocks' warnings among ``terraform -json`` messages."""
    return [
        m["diagnostic"]["detail"]
        for m in messages
        if m["type"] == "diagnostic"
        and m["diagnostic"]["severity"] == "warning"
        and m["diagnostic"]["summary"] == "Check block assertion failed"
    ]


def test_a_timeout_kept_from_fleets_addon_warns_at_plan_time_that_it_now_stops_the_migration(root):
    # GIVEN the addon's README value, WHEN it plans
    completed = root(timeout_seconds=600).run("plan", "-input=false", "-json")
    messages = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]

    # THEN the plan goes ahead, and says what the value now does
    assert completed.returncode == 0, errors(messages)
    [warning] = check_warnings(messages)
    assert "timeout_seconds = 600 now stops the migration" in warning
    assert "only stopped waiting" in warning


@batched
def test_the_default_timeout_plans_without_a_warning(valid_planned):
    assert check_warnings(valid_planned.messages) == []


def test_raising_rerun_replaces_the_resource_and_the_same_value_again_changes_nothing(root, tmp_path):
    recorder = record_local_exec(tmp_path)
    applied = root(python=str(recorder)).apply()
    assert applied.returncode == 0, applied.terminal

    raised = root(python=str(recorder), rerun=1).apply()
    assert raised.returncode == 0, raised.terminal
    assert "Apply complete! Resources: 1 added, 0 changed, 1 destroyed." in raised.stdout
    assert json.loads((tmp_path / RECORDER_OUTPUT).read_text())["env"]["FLEET_MIGRATION_RERUN"] == "1"

    again = root(python=str(recorder), rerun=1).run("plan", "-input=false", "-no-color", "-detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr  # 0: no changes


def test_rerun_at_zero_leaves_the_trigger_as_it_was(root, tmp_path):
    # An apply of a module version without rerun recorded this trigger; a newer one must not replace it.
    recorder = record_local_exec(tmp_path)
    the_root = root(python=str(recorder))
    applied = the_root.apply()
    assert applied.returncode == 0, applied.terminal

    assert the_root.resource()["attributes"]["triggers"] == {"task_definition_revision": "42"}


@batched
def test_fleets_documented_module_block_works_unchanged_plus_state_machine_arn(evaluated):
    document = json.loads(evaluated["fleets_example"]["execution_input"])

    # Fleet's addon scaled to zero and used min_capacity as the autoscaling minimum after the migration
    assert (document["capacity_during_migration"], document["min_capacity"]) == (0, 2)
    assert (document["desired_count"], document["max_capacity"], document["timeout_seconds"]) == (2, 10, 3600)
    assert MigrationInput.parse(document).task_definition_ref == "fleet:7"


EVERY_FIELD = {
    **good_arguments(),
    "ecs_cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/fleet",
    "vuln_service": "fleet-vuln-processing",
    "desired_count": 3,
    "max_capacity": 12,
    "min_capacity": 3,
    "capacity_during_migration": 1,
    "container_name": "app",
    "command": ["fleet", "prepare", "db"],
    "assign_public_ip": True,
    "launch_type": "EC2",
    "timeout_seconds": 7200,
    "drain_timeout_seconds": 120,
    "stabilize_timeout_seconds": 0,
    "poll_interval_seconds": 10,
}


@batched
def test_the_execution_input_is_complete_and_valid_for_the_state_machine(evaluated):
    document = json.loads(evaluated["every_field"]["execution_input"])
    assert list(document) == sorted(document)  # jsonencode sorts keys
    assert set(document) == set(MigrationInput.model_fields)  # every field, explicit, for console reruns
    parsed = MigrationInput.parse(document)
    assert (parsed.capacity_during_migration, parsed.min_capacity) == (1, 3)
    assert parsed.desired_count == 3 and parsed.launch_type == "EC2"
    assert parsed.cluster_name == "fleet" and parsed.service_names == ["fleet", "fleet-vuln-processing"]


@batched
def test_the_defaults_make_a_valid_input_that_leaves_counts_to_what_was_found(default_input):
    parsed = MigrationInput.parse(default_input)
    assert (parsed.capacity_during_migration, parsed.min_capacity) == (0, None)
    assert (parsed.desired_count, parsed.max_capacity, parsed.vuln_service) == (None, None, "")
    assert parsed.command == ["fleet", "prepare", "db", "--no-prompt"]
    # every limit is the workflow's own default: a shorter timeout_seconds stops long migrations mid-way
    for field in ("timeout_seconds", "drain_timeout_seconds", "stabilize_timeout_seconds", "snapshot_timeout_seconds"):
        assert default_input[field] == MigrationInput.model_fields[field].default, field
    assert default_input["timeout_seconds"] == 3600


# -- the outputs equal what the client computes ---------------------------------------------------------

OUTPUTS = ("execution_name", "execution_arn", "execution_console_url", "state_machine_console_url", "execution_input")


# id -> (ecs_cluster, ecs_service, task_definition_revision, state_machine_arn)
OUTPUT_CASES = {
    "short": ("fleet", "fleet", 2, STATE_MACHINE_ARN),
    "arns": (
        "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        "arn:aws:ecs:us-east-1:123456789012:service/prod/fleet",
        17,
        STATE_MACHINE_ARN,
    ),
    # unsafe characters ("team.a") never get here: the validations refuse them (see BAD_VALUES)
    "case-and-underscores": (
        "Fleet_Prod-1",
        "arn:aws:ecs:us-east-1:123456789012:service/Fleet_Prod-1/fleet_blue",
        3,
        STATE_MACHINE_ARN,
    ),
    "88-characters": ("c" * 40, "s" * 40, 12345, STATE_MACHINE_ARN),  # cut to 71 + "-" + 8 hex digits
    "80-characters": ("c" * 30, "s" * 45, 1, STATE_MACHINE_ARN),  # kept
    "81-characters": ("c" * 30, "s" * 46, 1, STATE_MACHINE_ARN),  # cut
    "gov-cloud": (
        "fleet",
        "fleet",
        4,
        "arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:fleet-migration-Ab12",
    ),
    "china": ("fleet", "fleet", 4, "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:fleet-migration"),
}


@batched
@pytest.mark.parametrize(
    ("case", "cluster", "service", "revision", "state_machine_arn"),
    [(f"outputs_{i}", *row) for i, row in OUTPUT_CASES.items()],
    ids=list(OUTPUT_CASES),
)
def test_the_outputs_equal_what_the_client_computes(evaluated, case, cluster, service, revision, state_machine_arn):
    outputs = {name: evaluated[case][name] for name in OUTPUTS}

    name = execution_name(cluster, service, revision)
    arn = execution_arn(state_machine_arn, name)
    assert (outputs["execution_name"], outputs["execution_arn"]) == (name, arn)
    document = json.loads(outputs["execution_input"])
    settings = Settings(parse_args(["--state-machine-arn", state_machine_arn, "--input", outputs["execution_input"]]))
    assert outputs["execution_console_url"] == console_url(settings, arn)
    assert outputs["state_machine_console_url"].startswith(console_url(settings, arn).split("#")[0])
    assert outputs["state_machine_console_url"].endswith(f"#/statemachines/view/{state_machine_arn}")
    parsed = MigrationInput.parse(document)
    assert (parsed.ecs_cluster, parsed.ecs_service, parsed.task_definition_revision) == (cluster, service, revision)


# -- every validation and precondition fires at plan time, with its message, and nothing runs ------------

# (variable, bad value, words of its error_message, execution input field or None when only Terraform checks it)
BAD_VALUES = [
    ("task_definition", "fleet:42", "must not carry a revision", "task_definition"),
    (
        "task_definition",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:3",
        "must not carry a revision",
        "task_definition",
    ),
    ("task_definition", "", "task definition family", "task_definition"),
    ("task_definition_revision", 0, "at least 1", "task_definition_revision"),
    ("task_definition_revision", -3, "at least 1", "task_definition_revision"),
    ("task_definition_revision", 2.5, "whole number", "task_definition_revision"),
    ("ecs_cluster", "", "ECS cluster name", "ecs_cluster"),
    ("ecs_service", "", "ECS service name", "ecs_service"),
    ("subnets", [], "subnets list is empty", "subnets"),
    ("security_groups", [], "security_groups list is empty", "security_groups"),
    ("subnets", [""], "subnet id", "subnets"),
    ("security_groups", [""], "security group id", "security_groups"),
    ("capacity_during_migration", -1, "at least 0", "min_capacity"),
    ("desired_count", 0, "at least 1", "desired_count"),
    ("max_capacity", 0, "at least 1", "max_capacity"),
    ("timeout_seconds", 0, "from 1 to 86400", "timeout_seconds"),
    ("timeout_seconds", 86401, "from 1 to 86400", "timeout_seconds"),
    ("drain_timeout_seconds", 0, "from 1 to 3600", "drain_timeout_seconds"),
    ("drain_timeout_seconds", 3601, "from 1 to 3600", "drain_timeout_seconds"),
    ("stabilize_timeout_seconds", -1, "from 0 to 3600", "stabilize_timeout_seconds"),
    ("stabilize_timeout_seconds", 3601, "from 0 to 3600", "stabilize_timeout_seconds"),
    ("poll_interval_seconds", 0, "from 1 to 300", "poll_interval_seconds"),
    ("poll_interval_seconds", 301, "from 1 to 300", "poll_interval_seconds"),
    ("launch_type", "fargate", '"FARGATE" or "EC2"', "launch_type"),
    ("container_name", "", "name of a container", "container_name"),
    ("command", [], "non-empty list", "command"),
    ("task_cpu", "1 vCPU", "whole number of CPU units", "task_cpu"),
    ("task_memory", "4 GB", "whole number of MiB", "task_memory"),
    ("db_cluster_identifier", "fleet--db", "Aurora DB cluster identifier", "db_cluster_identifier"),
    ("db_instance_identifier", "9fleet", "RDS DB instance identifier", "db_instance_identifier"),
    ("snapshot_timeout_seconds", 59, "from 60 to 14400", "snapshot_timeout_seconds"),
    ("snapshot_timeout_seconds", 14401, "from 60 to 14400", "snapshot_timeout_seconds"),
    ("deregistration_delay_seconds", 3601, "from 0 to 3600", "deregistration_delay_seconds"),
    ("deregistration_delay_seconds", 2.5, "from 0 to 3600", "deregistration_delay_seconds"),
    ("maintenance_message", "", "1 to 1024 characters", None),
    ("maintenance_message", '{"status": "upgrading"}', "drop their buffered logs", None),
    ("maintenance_message", "[]", "drop their buffered logs", None),
    ("load_balancer_name", "fleet/alb", "load balancer name", None),
    ("target_group_name", "fleet_tg", "target group name", None),
    ("target_group_name", "a-target-group-name-of-33-letters", "target group name", None),
    ("on_partial_migration", "keep_going", "serve_previous", "on_partial_migration"),
    ("stable_seconds", 601, "from 0 to 600", "stable_seconds"),
    ("health_check_interval_seconds", 4, "from 5 to 300", "health_check_interval_seconds"),
    ("healthy_threshold_count", 11, "from 2 to 10", "healthy_threshold_count"),
    # Terraform-only: values the execution input does not carry, or that AWS would refuse later
    ("min_capacity", -1, "at least 0", "min_capacity"),
    ("subnets", ["subnet-zz"], "subnet id", None),
    ("security_groups", ["default"], "security group id", None),
    ("ecs_cluster", "my cluster", "ECS cluster name", None),
    ("vuln_service", "fleet vuln", "vuln_service must be an ECS service name", None),
    ("vuln_task_definition_family", "fleet-vuln-processing:3", "task definition family", None),
    ("state_machine_arn", "fleet-migration", "unqualified state machine ARN", None),
    ("workflow_name", "fleet migration", "1 to 40 letters", None),
    ("task_execution_role_arn", "fleet-execution", "IAM role ARN", None),
    ("task_role_arn", "fleet-task", "IAM role ARN", None),
    ("task_log_group_name", "fleet logs", "CloudWatch Logs group name", None),
    ("trigger_principal_arns", ["arn:aws:sts::123456789012:assumed-role/deploy/terraform"], "IAM role ARNs", None),
    (
        "state_machine_arn",
        "arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration:live",
        "unqualified state machine ARN",
        None,
    ),
    (
        "state_machine_arn",
        "arn:aws:lambda:us-east-1:123456789012:function:fleet",
        "unqualified state machine ARN",
        None,
    ),
    ("assume_role_arn", "fleet-migrations", "IAM role ARN", None),
    ("assume_role_arn", "arn:aws:iam::123456789012:user/bob", "IAM role ARN", None),
    ("assume_role_session_name", "has spaces", "2 to 64", None),
    ("python", " ", "Python 3 interpreter", None),
    ("migration_config", {"cpu": 1024, "memory": 2048}, "takes only cpu and mem", None),
    ("alarm_topic_arn", "fleet-alerts", "SNS topic ARN", None),
    ("log_retention_days", 10, "retention CloudWatch Logs accepts", None),
    ("tags", {"aws:team": "fleet"}, "do not start with", None),
    ("tags", {"": "fleet"}, "do not start with", None),
    ("permissions_boundary", "boundary", "IAM managed policy ARN", None),
    ("permissions_boundary", "arn:aws:iam::123456789012:role/boundary", "IAM managed policy ARN", None),
    ("role_path", "fleet", "start and end with /", None),
    ("role_path", "/fleet", "start and end with /", None),
    ("role_path", "/fleet team/", "start and end with /", None),
    ("kms_key_arn", "alias/fleet", "ARN of a symmetric KMS key", None),
    ("kms_key_arn", "arn:aws:kms:us-east-1:123456789012:alias/fleet", "ARN of a symmetric KMS key", None),
    ("rerun", -1, "whole number from 0 to 98", None),
    ("rerun", 1.5, "whole number from 0 to 98", None),
]
# Rules across variables are preconditions of null_resource.main (and model validators of MigrationInput).
BAD_COMBINATIONS = [
    (
        {"desired_count": 1, "capacity_during_migration": 2},
        "desired_count is below capacity_during_migration",
        {"desired_count": 1, "capacity_during_migration": 2},
    ),
    (
        {"desired_count": 1, "min_capacity": 2},
        "desired_count is below min_capacity",
        {"desired_count": 1, "min_capacity": 2},
    ),
    (
        {"min_capacity": 3, "max_capacity": 2},
        "max_capacity is below min_capacity",
        {"min_capacity": 3, "max_capacity": 2},
    ),
    (
        {"desired_count": 5, "max_capacity": 4},
        "max_capacity is below desired_count",
        {"desired_count": 5, "max_capacity": 4},
    ),
    ({"vuln_service": "fleet"}, "names the same service", {"vuln_service": "fleet"}),
    (
        {"vuln_service": "arn:aws:ecs:us-east-1:123456789012:service/fleet/fleet"},
        "names the same service",
        {"vuln_service": "arn:aws:ecs:us-east-1:123456789012:service/fleet/fleet"},
    ),
    (
        {"db_cluster_identifier": "fleet", "db_instance_identifier": "fleet"},
        "at most one of db_cluster_identifier",
        {"db_cluster_identifier": "fleet", "db_instance_identifier": "fleet"},
    ),
    ({"task_memory": "4096"}, "task_memory needs task_cpu", {"task_memory": "4096"}),
]


def test_the_table_of_bad_values_reaches_every_validation_and_precondition():
    rows = [(name, words) for name, _, words, _ in BAD_VALUES]
    rows += [("null_resource.main", words) for _, words, _ in BAD_COMBINATIONS]
    unreached = [
        (subject, message)
        for subject, message in module_checks()
        if not any(name == subject and words in message for name, words in rows)
    ]
    assert unreached == [], "add a row to BAD_VALUES or BAD_COMBINATIONS for each of these"


def assert_refused_before_anything_ran(
    returncode: int, found: list[dict[str, Any]], types: list[str], subject: str, words: str
) -> None:
    assert returncode == 1
    messages = {message for checked, message in module_checks() if checked == subject}
    fired = [e["detail"].split("\n\nThis was checked by")[0] for e in found]
    assert any(words in message and message in messages for message in fired), found
    assert not {"apply_start", "provision_start"} & set(types), types  # nothing created, the client never ran


# One block per row, named after its index: bad_value_<i>, bad_combination_<i>.
BAD_VALUE_CASES = {
    f"bad_value_{i}": {**good_arguments(), name: value} for i, (name, value, _, _) in enumerate(BAD_VALUES)
}
BAD_COMBINATION_CASES = {
    f"bad_combination_{i}": {**good_arguments(), **values} for i, (values, _, _) in enumerate(BAD_COMBINATIONS)
}


@pytest.fixture(scope="module")
def bad_values_applied(tmp_path_factory, terraform_data_dir) -> tuple[int, list[dict[str, Any]]]:
    """``terraform apply -json`` of a block per bad value: its plan refuses them all, each in its own file."""
    return batch(tmp_path_factory, terraform_data_dir, "bad-values", BAD_VALUE_CASES).run_json("apply", "-auto-approve")


@pytest.fixture(scope="module")
def bad_combinations_applied(tmp_path_factory, terraform_data_dir) -> tuple[int, list[dict[str, Any]]]:
    """The same for the rules across variables: preconditions, checked once every variable is valid."""
    cases = BAD_COMBINATION_CASES
    return batch(tmp_path_factory, terraform_data_dir, "bad-combinations", cases).run_json("apply", "-auto-approve")


@batched
def test_every_error_of_the_bad_values_is_traced_to_its_own_block(bad_values_applied):
    _, messages = bad_values_applied

    assert [
        e
        for e in errors(messages)
        if e.get("range", {}).get("filename") not in {f"{case}.tf.json" for case in BAD_VALUE_CASES}
    ] == []


@batched
@pytest.mark.parametrize(
    ("case", "name", "value", "words", "field"),
    [(f"bad_value_{i}", *row) for i, row in enumerate(BAD_VALUES)],
    ids=[f"{b[0]}={b[1]!r}" for b in BAD_VALUES],
)
def test_each_bad_value_is_refused_at_plan_time_and_by_the_state_machine(
    bad_values_applied, default_input, case, name, value, words, field
):
    returncode, messages = bad_values_applied
    found = case_errors(messages, case)

    assert_refused_before_anything_ran(returncode, found, [m["type"] for m in messages], name, words)
    assert {e["summary"] for e in found} == {"Invalid value for variable"}
    if field is not None:
        with pytest.raises(InvalidInput):
            MigrationInput.parse({**default_input, field: value})


def precondition_errors(messages: list[dict[str, Any]], arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """The precondition errors whose condition shows these arguments' values (Terraform names no module
    in them, but prints the value of every variable the condition reads)."""

    def shows(diagnostic: dict[str, Any]) -> bool:
        statements = {v["traversal"]: v["statement"] for v in diagnostic.get("snippet", {}).get("values", [])}
        shown = {name: statements[f"var.{name}"] for name in arguments if f"var.{name}" in statements}
        return bool(shown) and all(
            statement == f"is {json.dumps(arguments[name])}" for name, statement in shown.items()
        )

    return [e for e in errors(messages) if e["summary"] == "Resource precondition failed" and shows(e)]


@batched
def test_every_error_of_the_bad_combinations_is_a_precondition_and_nothing_is_planned(bad_combinations_applied):
    _, messages = bad_combinations_applied

    assert {e["summary"] for e in errors(messages)} == {"Resource precondition failed"}
    assert len(errors(messages)) == len(BAD_COMBINATIONS)
    assert planned_addresses(messages) == set()


@batched
@pytest.mark.parametrize(
    ("case", "values", "words", "fields"),
    [(f"bad_combination_{i}", *row) for i, row in enumerate(BAD_COMBINATIONS)],
    ids=[b[1] for b in BAD_COMBINATIONS],
)
def test_each_bad_combination_is_refused_by_a_precondition_and_by_the_state_machine(
    bad_combinations_applied, default_input, case, values, words, fields
):
    returncode, messages = bad_combinations_applied
    found = precondition_errors(messages, values)

    assert_refused_before_anything_ran(returncode, found, [m["type"] for m in messages], "null_resource.main", words)
    assert f"module.{case}.null_resource.main" not in planned_addresses(messages)
    with pytest.raises(InvalidInput):
        MigrationInput.parse({**default_input, **fields})


GOOD_VALUES = [
    ("ecs_cluster", "arn:aws:ecs:eu-west-1:123456789012:cluster/fleet-prod"),
    ("ecs_service", "arn:aws:ecs:eu-west-1:123456789012:service/fleet-prod/fleet"),
    ("ecs_service", "arn:aws:ecs:eu-west-1:123456789012:service/fleet"),
    ("task_definition", "arn:aws:ecs:eu-west-1:123456789012:task-definition/fleet"),
    ("vuln_service", "fleet-vuln-processing"),
    ("state_machine_arn", "arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:fleet-migration-Ab12"),
    ("assume_role_arn", "arn:aws:iam::123456789012:role/path/fleet-migrations"),
    ("assume_role_session_name", "terraform@ci"),
    ("desired_count", None),
    ("max_capacity", None),
    ("min_capacity", None),
    ("stabilize_timeout_seconds", 0),
    ("timeout_seconds", 86400),
    ("task_definition_revision", "9"),
    ("task_log_group_name", "/ecs/fleet"),
    ("task_log_group_name", ""),
    ("workflow_name", None),
    ("alarm_topic_arn", "arn:aws:sns:us-east-1:123456789012:fleet-alerts"),
    ("tags", {"team": "fleet", "cost-center": ""}),
    ("permissions_boundary", "arn:aws:iam::123456789012:policy/boundaries/fleet"),
    ("role_path", "/fleet/migrations/"),
    ("log_retention_days", 3653),
    # The workflow's state machine, log groups and queue under this key (the plan checks the provider's schema).
    ("kms_key_arn", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("rerun", 3),
]
GOOD_VALUE_CASES = {f"good_value_{i}": {**good_arguments(), name: value} for i, (name, value) in enumerate(GOOD_VALUES)}


@pytest.fixture(scope="module")
def good_values_planned(valid_planned) -> tuple[int, list[dict[str, Any]]]:
    return valid_planned.returncode, valid_planned.messages


@batched
@pytest.mark.parametrize(
    ("case", "name", "value"),
    [(f"good_value_{i}", *row) for i, row in enumerate(GOOD_VALUES)],
    ids=[f"{name}-{value}" for name, value in GOOD_VALUES],
)
def test_good_values_pass_the_plan(good_values_planned, case, name, value):
    returncode, messages = good_values_planned

    assert case_errors(messages, case) == []
    assert f"module.{case}.null_resource.main" in planned_addresses(messages)
    assert returncode == 0, errors(messages)


@batched
def test_values_are_converted_and_null_means_the_default(evaluated):
    # a string where a number is declared is converted, as Terraform converts "9" to 9
    document = json.loads(evaluated["converted"]["execution_input"])
    assert document["task_definition_revision"] == 9
    assert document["timeout_seconds"] == 3600  # null for a non-nullable variable with a default means the default


def test_terraform_refuses_an_argument_the_module_does_not_declare(root):
    returncode, found, types = plan_diagnostics(root(ecs_clustr="fleet"))

    assert returncode == 1 and not {"apply_start", "provision_start"} & set(types)
    assert any(
        e["summary"] == "Extraneous JSON object property"
        and 'No argument or block type is named "ecs_clustr"' in e["detail"]
        for e in found
    ), found


# id -> (arguments, summary, words of the detail)
UNTYPED = {
    "null-subnets": ({"subnets": None}, "Required variable not set", "var.subnets defined at"),
    "null-service": ({"ecs_service": None}, "Required variable not set", "var.ecs_service defined at"),
    "not-a-number": (
        {"task_definition_revision": "latest"},
        "Invalid value for input variable",
        "a number is required",
    ),
}


@pytest.fixture(scope="module")
def untyped_applied(tmp_path_factory, terraform_data_dir) -> tuple[int, list[dict[str, Any]]]:
    cases = {f"untyped_{i}": {**good_arguments(), **arguments} for i, (arguments, _, _) in UNTYPED.items()}
    return batch(tmp_path_factory, terraform_data_dir, "untyped", cases).run_json("apply", "-auto-approve")


@batched
@pytest.mark.parametrize(
    ("case", "summary", "words"),
    [(f"untyped_{i}", summary, words) for i, (_, summary, words) in UNTYPED.items()],
    ids=list(UNTYPED),
)
def test_terraform_refuses_what_the_module_does_not_type(untyped_applied, case, summary, words):
    returncode, messages = untyped_applied
    found = case_errors(messages, case)

    assert returncode == 1 and not {"apply_start", "provision_start"} & {m["type"] for m in messages}
    assert any(e["summary"] == summary and words in e["detail"] for e in found), found


def test_a_missing_required_argument_is_named(tmp_path, terraform_data_dir):
    arguments = {k: v for k, v in good_arguments().items() if k != "subnets"}
    the_root = Root(tmp_path, terraform_data_dir, NOWHERE).write(arguments)

    returncode, found, _ = plan_diagnostics(the_root)

    assert returncode == 1
    assert any(e["summary"] == "Missing required argument" and '"subnets" is required' in e["detail"] for e in found)


@batched
def test_the_task_size_and_the_recovery_point_reach_the_execution_input(evaluated):
    parsed = MigrationInput.parse(json.loads(evaluated["task_size"]["execution_input"]))

    assert (parsed.task_cpu, parsed.task_memory) == ("4096", "16384")
    assert (parsed.db_cluster_identifier, parsed.snapshot_timeout_seconds) == ("fleet", 7200)


# id -> (arguments, (task_cpu, task_memory) of the execution input)
MIGRATION_CONFIG_CASES = {
    "neither": ({}, (None, None)),
    "fleets-migration-config": ({"migration_config": {"cpu": 1024, "mem": 2048}}, ("1024", "2048")),
    "task-size-wins": (
        {"migration_config": {"cpu": 1024, "mem": 2048}, "task_cpu": "2048", "task_memory": "8192"},
        ("2048", "8192"),
    ),
}


@batched
@pytest.mark.parametrize(
    ("case", "size"),
    [(f"migration_config_{i}", size) for i, (_, size) in MIGRATION_CONFIG_CASES.items()],
    ids=list(MIGRATION_CONFIG_CASES),
)
def test_fleets_migration_config_sizes_the_task_unless_task_cpu_and_task_memory_say_otherwise(evaluated, case, size):
    parsed = MigrationInput.parse(json.loads(evaluated[case]["execution_input"]))

    assert (parsed.task_cpu, parsed.task_memory) == size


# -- the blocks of every test above that reads outputs: planned with the good values, each its own output ----

OUTPUT_BLOCKS = {
    "defaults": good_arguments(),
    "fleets_example": {**FLEET_EXAMPLE_ARGUMENTS, "state_machine_arn": STATE_MACHINE_ARN},
    "every_field": EVERY_FIELD,
    "converted": {**good_arguments(), "task_definition_revision": "9", "timeout_seconds": None},
    "task_size": {
        **good_arguments(),
        "task_cpu": "4096",
        "task_memory": "16384",
        "db_cluster_identifier": "fleet",
        "snapshot_timeout_seconds": 7200,
    },
    **{
        f"outputs_{i}": {
            **good_arguments(),
            "ecs_cluster": cluster,
            "ecs_service": service,
            "task_definition_revision": revision,
            "state_machine_arn": state_machine_arn,
        }
        for i, (cluster, service, revision, state_machine_arn) in OUTPUT_CASES.items()
    },
    **{
        f"migration_config_{i}": {**good_arguments(), **arguments}
        for i, (arguments, _) in MIGRATION_CONFIG_CASES.items()
    },
}


@dataclass
class Planned:
    returncode: int
    messages: list[dict[str, Any]]  # of `terraform plan -json`
    shown: dict[str, Any]  # `terraform show -json` of the saved plan


@pytest.fixture(scope="module")
def valid_planned(tmp_path_factory, terraform_data_dir) -> Planned:
    """One plan of every block that must pass (GOOD_VALUE_CASES and OUTPUT_BLOCKS), saved and shown."""
    planned = batch(
        tmp_path_factory,
        terraform_data_dir,
        "valid",
        {**GOOD_VALUE_CASES, **OUTPUT_BLOCKS},
        outputs=list(OUTPUT_BLOCKS),
    )
    returncode, messages = planned.run_json("plan", "-out=plan.bin")
    shown = planned.run("show", "-json", "plan.bin")
    assert shown.returncode == 0, errors(messages)
    return Planned(returncode, messages, json.loads(shown.stdout))


@pytest.fixture(scope="module")
def evaluated(valid_planned) -> dict[str, dict[str, Any]]:
    """Every output of every block in OUTPUT_BLOCKS, by case, as the plan computes them."""
    return {case: valid_planned.shown["planned_values"]["outputs"][case]["value"] for case in OUTPUT_BLOCKS}


@pytest.fixture(scope="module")
def default_input(evaluated) -> dict[str, Any]:
    """The execution input the module sends for good_arguments(), as Terraform computes it."""
    return json.loads(evaluated["defaults"]["execution_input"])
