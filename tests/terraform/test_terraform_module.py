"""The module as Terraform reads it (python-hcl2): variables, validations, trigger, local-exec, outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import hcl2
import pytest

from emulator.terraform import MODULE_DIR, EvalError, Module, TerraformError, jsonencode, render_local_exec
from fleet_migration.errors import InvalidInput
from fleet_migration.executions import execution_arn, execution_name
from fleet_migration.models import MigrationInput

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
# Fleet's documented module block (fleet-terraform example), values filled in.
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


# -- the files ----------------------------------------------------------------------------------------

def test_the_client_ships_a_byte_identical_copy_of_the_canonical_executions_module():
    canonical = REPO / "functions" / "fleet_migration" / "executions.py"
    assert (MODULE_DIR / "executions.py").read_bytes() == canonical.read_bytes(), (
        "terraform/executions.py must stay a copy of functions/fleet_migration/executions.py: cp the latter over it")


def test_the_module_has_the_standard_layout():
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md", "migrate.py", "executions.py",
                 "examples/basic/main.tf"):
        assert (MODULE_DIR / name).is_file(), name
    versions = hcl2.load((MODULE_DIR / "versions.tf").open())["terraform"][0]
    assert versions["required_version"].strip('"').startswith(">="), "a floor, not a pin"
    assert versions["required_providers"][0]["null"]["version"].strip('"').startswith(">=")


def test_every_variable_is_typed_and_explains_why_it_exists(module):
    for variable in module.variables.values():
        assert variable.type != "any", f"{variable.name} has no type"
        text = variable.description
        assert 40 <= len(text) <= 400 and text[0].isupper() and text.endswith("."), f"{variable.name}: {text!r}"


def test_every_error_message_is_a_literal_sentence(module):
    # Terraform before 1.9 wants a literal error_message; all want sentences that say how to fix the value
    checks = [c for v in module.variables.values() for c in v.validations] + module.preconditions
    assert len(checks) >= 20
    for check in checks:
        assert "${" not in check.error_message.replace("$${", "")
        message = json.loads(check.error_message)
        assert message[0].isupper() and message.endswith((".", "?")), message


def test_the_variables_are_a_superset_of_fleets_addon_with_the_same_types_and_defaults(module):
    for name, (type_, default) in FLEET_ADDON_VARIABLES.items():
        assert name in module.variables, f"{name} of Fleet's addon is missing"
        ours = module.variables[name]
        if type_ is not None:
            assert ours.type == type_, name
        if default is not REQUIRED:
            assert ours.has_default and ours.default == default, name
    # state_machine_arn is optional: without it the module deploys the workflow (modules/workflow).
    assert [v.name for v in module.variables.values() if v.required] == [
        "ecs_cluster", "ecs_service", "task_definition", "task_definition_revision", "subnets", "security_groups"]


def test_fleets_documented_module_block_works_unchanged_plus_state_machine_arn(module, good_variables):
    variables = {**FLEET_EXAMPLE_ARGUMENTS, "state_machine_arn": good_variables["state_machine_arn"]}

    document = json.loads(render_local_exec(variables).environment["FLEET_MIGRATION_INPUT"])

    # Fleet's addon scaled to zero and used min_capacity as the autoscaling minimum after the migration
    assert document["min_capacity"] == 0
    assert (document["desired_count"], document["max_capacity"], document["timeout_seconds"]) == (2, 10, 600)
    assert MigrationInput.parse(document).task_definition_ref == "fleet:7"


def test_the_example_passes_only_declared_variables_and_every_required_one(module):
    example = hcl2.load((MODULE_DIR / "examples" / "basic" / "main.tf").open())
    arguments = example["module"][0]['"migrations"']
    given = {k for k in arguments if k not in ("source", "__is_block__")}
    assert given <= set(module.variables)
    assert {v.name for v in module.variables.values() if v.required} <= given


def test_the_readme_documents_every_input_and_output(module):
    readme = (MODULE_DIR / "README.md").read_text()
    for name in [*module.variables, *module.outputs]:
        assert re.search(rf"^\| `{name}` \|", readme, re.MULTILINE), f"{name} is not in a README table"
    for action in ("states:StartExecution", "states:DescribeExecution", "states:GetExecutionHistory"):
        assert action in readme


# -- the resource ---------------------------------------------------------------------------------------

def test_the_null_resource_triggers_on_the_task_definition_revision_alone(module, good_variables):
    assert list(module.resource["triggers"]) == ["task_definition_revision"]
    assert module.triggers(good_variables) == {"task_definition_revision": 42}
    changed = {**good_variables, "desired_count": 5, "timeout_seconds": 1800, "subnets": ["subnet-99"]}
    assert module.triggers(changed) == module.triggers(good_variables)


def test_the_local_exec_runs_the_modules_client_with_every_value_in_the_environment(good_variables):
    local_exec = render_local_exec({**good_variables, "python": "/opt/venv/bin/python",
                                    "assume_role_arn": "arn:aws:iam::123456789012:role/migrations"})

    assert local_exec.interpreter == ["/opt/venv/bin/python"]
    assert local_exec.command == f"{MODULE_DIR}/migrate.py" and Path(local_exec.command).is_file()
    assert local_exec.environment["FLEET_MIGRATION_STATE_MACHINE_ARN"] == good_variables["state_machine_arn"]
    assert local_exec.environment["FLEET_MIGRATION_ASSUME_ROLE_ARN"] == "arn:aws:iam::123456789012:role/migrations"
    assert local_exec.environment["FLEET_MIGRATION_ASSUME_ROLE_SESSION_NAME"] == ""
    assert local_exec.environment["FLEET_MIGRATION_EXPECTED_MIN_CAPACITY"] == ""
    # no value reaches a shell line: the command is the script's path and nothing else
    assert "${" not in hcl2.load((MODULE_DIR / "main.tf").open())["resource"][0]['"null_resource"']['"main"'][
        "provisioner"][0]['"local-exec"']["command"].replace("${path.module}", "")


def test_the_execution_input_is_complete_and_valid_for_the_state_machine(good_variables):
    variables = {**good_variables, "ecs_cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/fleet",
                 "vuln_service": "fleet-vuln-processing", "desired_count": 3, "max_capacity": 12, "min_capacity": 3,
                 "capacity_during_migration": 1, "container_name": "app", "command": ["fleet", "prepare", "db"],
                 "assign_public_ip": True, "launch_type": "EC2", "timeout_seconds": 7200,
                 "drain_timeout_seconds": 120, "stabilize_timeout_seconds": 0, "poll_interval_seconds": 10}

    text = render_local_exec(variables).environment["FLEET_MIGRATION_INPUT"]

    document = json.loads(text)
    assert list(document) == sorted(document)  # jsonencode sorts keys, as Terraform does
    assert set(document) == set(MigrationInput.model_fields)  # every field, explicit, for console reruns
    parsed = MigrationInput.parse(document)
    assert parsed.min_capacity == 1 and parsed.desired_count == 3 and parsed.launch_type == "EC2"
    assert parsed.cluster_name == "fleet" and parsed.service_names == ["fleet", "fleet-vuln-processing"]


def test_the_defaults_make_a_valid_input_that_leaves_counts_to_what_was_found(good_variables):
    document = json.loads(render_local_exec(good_variables).environment["FLEET_MIGRATION_INPUT"])

    parsed = MigrationInput.parse(document)
    assert (parsed.min_capacity, parsed.desired_count, parsed.max_capacity, parsed.vuln_service) == (0, None, None, "")
    assert parsed.command == ["fleet", "prepare", "db", "--no-prompt"]


@pytest.mark.parametrize(("cluster", "service", "revision"), [
    ("fleet", "fleet", 2),
    ("arn:aws:ecs:us-east-1:123456789012:cluster/prod", "arn:aws:ecs:us-east-1:123456789012:service/prod/fleet", 17),
    ("team.a", "fleet@blue", 3),  # unsafe characters become "-"
    ("c" * 40, "s" * 40, 12345),  # 88 characters: cut to 71 + "-" + 8 hex digits
    ("c" * 30, "s" * 45, 1),  # exactly 80: kept
])
def test_the_execution_name_output_is_computed_as_design_section_6(module, good_variables, cluster, service, revision):
    values = {**good_variables, "ecs_cluster": cluster, "ecs_service": service, "task_definition_revision": revision}

    name = module.evaluate("local.execution_name", values)

    assert name == execution_name(cluster, service, revision)
    assert module.evaluate("local.execution_arn", values) == execution_arn(good_variables["state_machine_arn"], name)


def test_the_outputs_point_at_the_execution_and_the_state_machine(good_variables):
    from emulator.terraform import render_outputs

    outputs = render_outputs(good_variables)

    arn = "arn:aws:states:us-east-1:123456789012:execution:fleet-migration:fleet-fleet-r42"
    assert outputs["execution_name"] == "fleet-fleet-r42"
    assert outputs["execution_arn"] == arn
    assert outputs["execution_console_url"] == (
        f"https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/{arn}")
    assert outputs["state_machine_console_url"] == (
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/statemachines/view/"
        + good_variables["state_machine_arn"])
    assert json.loads(outputs["execution_input"])["task_definition_revision"] == 42


# -- validation: each bad value is refused by Terraform's condition and by the state machine ---------

# (variable, bad value, words of its error_message, execution input field or None when only Terraform checks it)
BAD_VALUES = [
    ("task_definition", "fleet:42", "must not carry a revision", "task_definition"),
    ("task_definition", "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:3", "must not carry a revision",
     "task_definition"),
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
    # Terraform-only: values the execution input does not carry, or that AWS would refuse later
    ("min_capacity", -1, "at least 0", None),
    ("subnets", ["subnet-zz"], "subnet id", None),
    ("security_groups", ["default"], "security group id", None),
    ("ecs_cluster", "my cluster", "ECS cluster name", None),
    ("state_machine_arn", "fleet-migration", "unqualified state machine ARN", None),
    ("state_machine_arn", "arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration:live",
     "unqualified state machine ARN", None),
    ("state_machine_arn", "arn:aws:lambda:us-east-1:123456789012:function:fleet", "unqualified state machine ARN",
     None),
    ("assume_role_arn", "fleet-migrations", "IAM role ARN", None),
    ("assume_role_arn", "arn:aws:iam::123456789012:user/bob", "IAM role ARN", None),
    ("assume_role_session_name", "has spaces", "2 to 64", None),
    ("python", " ", "Python 3 interpreter", None),
]


@pytest.mark.parametrize(("name", "value", "words", "field"), BAD_VALUES,
                         ids=[f"{b[0]}={b[1]!r}" for b in BAD_VALUES])
def test_each_bad_value_is_refused_by_the_module_and_by_the_state_machine(module, good_variables, name, value,
                                                                          words, field):
    problems = module.problems({**good_variables, name: value})

    messages = [p.message for p in problems if p.subject == name]
    assert any(words in message for message in messages), problems
    if field is not None:
        document = json.loads(render_local_exec(good_variables).environment["FLEET_MIGRATION_INPUT"])
        with pytest.raises(InvalidInput):
            MigrationInput.parse({**document, field: value})


# Rules across variables are preconditions of null_resource.main (and model validators of MigrationInput).
BAD_COMBINATIONS = [
    ({"desired_count": 1, "capacity_during_migration": 2}, "desired_count is below capacity_during_migration",
     {"desired_count": 1, "min_capacity": 2}),
    ({"desired_count": 5, "max_capacity": 4}, "max_capacity is below desired_count",
     {"desired_count": 5, "max_capacity": 4}),
    ({"vuln_service": "fleet"}, "names the same service", {"vuln_service": "fleet"}),
    ({"vuln_service": "arn:aws:ecs:us-east-1:123456789012:service/fleet/fleet"}, "names the same service",
     {"vuln_service": "arn:aws:ecs:us-east-1:123456789012:service/fleet/fleet"}),
]


@pytest.mark.parametrize(("values", "words", "fields"), BAD_COMBINATIONS)
def test_each_bad_combination_is_refused_by_a_precondition_and_by_the_state_machine(module, good_variables, values,
                                                                                    words, fields):
    problems = module.problems({**good_variables, **values})

    assert [p.subject for p in problems] == ["null_resource.main"] and words in problems[0].message
    document = json.loads(render_local_exec(good_variables).environment["FLEET_MIGRATION_INPUT"])
    with pytest.raises(InvalidInput):
        MigrationInput.parse({**document, **fields})
    with pytest.raises(TerraformError, match=words):
        render_local_exec({**good_variables, **values})


@pytest.mark.parametrize(("name", "value"), [
    ("ecs_cluster", "arn:aws:ecs:eu-west-1:123456789012:cluster/fleet-prod"),
    ("ecs_service", "arn:aws:ecs:eu-west-1:123456789012:service/fleet-prod/fleet"),
    ("ecs_service", "arn:aws:ecs:eu-west-1:123456789012:service/fleet"),
    ("task_definition", "arn:aws:ecs:eu-west-1:123456789012:task-definition/fleet"),
    ("vuln_service", "fleet-vuln-processing"),
    ("state_machine_arn", "arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:fleet-migration-Ab12"),
    ("assume_role_arn", "arn:aws:iam::123456789012:role/path/fleet-migrations"),
    ("assume_role_session_name", "terraform@ci"),
    ("desired_count", None), ("max_capacity", None), ("min_capacity", None),
    ("stabilize_timeout_seconds", 0), ("timeout_seconds", 86400), ("task_definition_revision", "9"),
])
def test_good_values_pass(module, good_variables, name, value):
    assert module.problems({**good_variables, name: value}) == []


def test_values_are_converted_and_checked_like_terraform_does(module, good_variables):
    # a string where a number is declared is converted, as Terraform converts "9" to 9
    document = json.loads(render_local_exec({**good_variables, "task_definition_revision": "9"})
                          .environment["FLEET_MIGRATION_INPUT"])
    assert document["task_definition_revision"] == 9
    with pytest.raises(TerraformError, match='"ecs_clustr" has not been declared'):
        module.resolve({**good_variables, "ecs_clustr": "fleet"})
    with pytest.raises(TerraformError, match='"subnets" is not set'):
        module.resolve({k: v for k, v in good_variables.items() if k != "subnets"})
    with pytest.raises(TerraformError, match="may not be set to null"):
        module.resolve({**good_variables, "ecs_service": None})
    with pytest.raises(TerraformError, match="task_definition_revision"):
        module.resolve({**good_variables, "task_definition_revision": "latest"})
    # null for a non-nullable variable with a default means the default
    assert module.resolve({**good_variables, "timeout_seconds": None})["timeout_seconds"] == 600


# -- the evaluator keeps Terraform's rules, so a condition that passes here passes there ---------------

def test_the_evaluator_does_not_short_circuit_and_or_as_classic_hcl(module, good_variables):
    values = {**good_variables, "desired_count": None}
    with pytest.raises(EvalError):
        module.evaluate("var.desired_count == null || var.desired_count >= 1", values)
    assert module.evaluate("var.desired_count == null ? true : var.desired_count >= 1", values) is True


def test_a_validation_sees_only_its_own_variable(tmp_path, good_variables):
    (tmp_path / "variables.tf").write_text(
        'variable "a" {\n  type = number\n  validation {\n    condition = var.a >= var.b\n'
        '    error_message = "The a must be at least b."\n  }\n}\nvariable "b" {\n  type = number\n}\n')
    problems = Module(tmp_path).problems({"a": 1, "b": 0})
    assert len(problems) == 1 and "var.b is not available here" in problems[0].message


def test_jsonencode_matches_terraform():
    assert jsonencode({"b": 1.0, "a": ["<&>"], "c": None, "d": True}) == (
        '{"a":["\\u003c\\u0026\\u003e"],"b":1,"c":null,"d":true}')


@pytest.mark.parametrize(("expression", "expected"), [
    ('regex("[^/]*$", "arn:aws:ecs:r:1:service/c/fleet")', "fleet"),
    ('replace("a.b/c", "/[^a-z]/", "-")', "a-b-c"),
    ('replace("ab", "/(a)(b)/", "$2$1")', "ba"),
    ('substr("abcdef", 1, 3)', "bcd"),
    ('substr("abc", 1, -1)', "bc"),
    ('length("héllo")', 5),
    ('alltrue([for s in ["sg-1", "sg-2"] : can(regex("^sg-", s))])', True),
    ('{for k, v in {b = 1, a = 2} : v => k}', {"1": "b", "2": "a"}),
    ('lookup({ "aws-cn" = "x" }, "aws", "y")', "y"),
    ('split(":", "a:b:c")[1]', "b"),
    ('"r${1 + 1}-$${literal}"', "r2-${literal}"),
    ("!(1 < 2) || 3 % 2 == 1", True),
    ('contains(["FARGATE", "EC2"], "EC2")', True),
    ("floor(2.5) == 2.5", False),
])
def test_the_evaluator_handles_the_subset_the_module_uses(module, good_variables, expression, expected):
    assert module.evaluate(expression, good_variables) == expected
