"""terraform/modules/workflow through real Terraform and the real AWS provider, on the embedded AWS.

One root module, Fleet's ``module "migrations"`` block with only ``source`` changed (no
state_machine_arn): ``terraform validate``, one ``plan`` whose JSON is checked (roles, permissions
against the translated SAM template, runtimes), and one ``apply`` of that plan that deploys the
workflow and runs the migration through it. Every test here shares that one apply (about a minute:
the provider creates Lambda functions one at a time and waits 5 s for each).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
from workflow_support import (
    ACCOUNT,
    REGION,
    SAM_STACK_NAME,
    WORKFLOW_NAME,
    Resource,
    checked,
    fleet_root_module,
    fleet_variables,
    module_resources,
    of_type,
    policy_document,
    requires_aws_provider,
    run,
)

from emulator import Emulator, FleetDeployment, ServiceBehaviour, TaskOutcome
from emulator.template import read_application, render_definition

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "template"))
from template_support import PARAMETERS, Resolver, as_list, inline_statements, translate

# Every test shares the one apply: on two xdist workers, `make test` keeps them on one (--dist loadgroup).
pytestmark = [requires_aws_provider, pytest.mark.xdist_group("workflow-module")]

WORKFLOW = "module.migrations.module.workflow[0]"
EXECUTION_NAME = "fleet-fleet-r2"  # <cluster>-<service>-r<revision> of the seeded deployment


@dataclass
class Root:
    aws: Emulator
    fleet: FleetDeployment
    directory: Path

    def terraform(self, *args: str) -> CompletedProcess:
        return run(self.directory, *args, endpoint_url=self.aws.endpoint_url)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Root]:
    """Fleet's root module, initialized, against an embedded AWS with Fleet seeded (revision 2 is new)."""
    with Emulator(speed=1, server=True) as aws:
        aws.ecs_sim.default_service = ServiceBehaviour(start_seconds=0.2, stop_seconds=0.2)
        aws.ecs_sim.default_migration = TaskOutcome(start_seconds=0.1, run_seconds=0.3)
        fleet = aws.seed_fleet()
        cluster_arn = aws.client("ecs").describe_clusters(clusters=[fleet.cluster])["clusters"][0]["clusterArn"]
        directory = tmp_path_factory.mktemp("fleet-root")
        fleet_root_module(directory, aws.endpoint_url)
        (directory / "terraform.tfvars.json").write_text(json.dumps(fleet_variables(fleet, cluster_arn=cluster_arn)))
        found = Root(aws, fleet, directory)
        checked(found.terraform("init", "-input=false", "-no-color"))
        yield found


@pytest.fixture(scope="module")
def plan(root: Root) -> dict[str, Any]:
    checked(root.terraform("plan", "-input=false", "-no-color", "-out=tfplan"))
    return json.loads(checked(root.terraform("show", "-json", "tfplan")).stdout)


@dataclass
class Applied:
    result: CompletedProcess
    state: dict[str, Any]


@pytest.fixture(scope="module")
def applied(root: Root, plan: dict[str, Any]) -> Applied:
    result = root.terraform("apply", "-input=false", "-no-color", "tfplan")
    # The state file itself rather than `terraform show -json` (one provider start less).
    return Applied(result, json.loads((root.directory / "terraform.tfstate").read_text()))


def planned(plan: dict[str, Any]) -> list[Resource]:
    return module_resources(plan, WORKFLOW)


# -- what the plan says ------------------------------------------------------------------------------

def test_terraform_validate_accepts_fleets_block_with_only_source_changed(root: Root) -> None:
    result = checked(root.terraform("validate", "-no-color"))

    assert "The configuration is valid" in result.stdout


def test_plan_gives_every_function_a_role_of_its_own(plan: dict[str, Any]) -> None:
    resources = planned(plan)
    functions = of_type(resources, "aws_lambda_function")
    roles = of_type(resources, "aws_iam_role")

    assert {function.values["function_name"] for function in functions.values()} == {
        f"{WORKFLOW_NAME}-{key}" for key in functions
    }
    # The role of each function is named after it, and no two functions share one.
    assert {key: roles[key].values["name"] for key in functions} == {key: f"{WORKFLOW_NAME}-{key}" for key in functions}
    assert set(of_type(resources, "aws_iam_role_policy")) == set(roles)
    for key in functions:
        trust = policy_document(roles[key].values["assume_role_policy"])
        assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}], key


def test_plan_allows_no_wildcard_action(plan: dict[str, Any]) -> None:
    actions = {
        action
        for policy in of_type(planned(plan), "aws_iam_role_policy").values()
        if isinstance(policy.values.get("policy"), str)
        for statement in policy_document(policy.values["policy"])["Statement"]
        for action in as_list(statement["Action"])
    }

    assert actions, "the plan knows no policy"
    assert [action for action in actions if "*" in action or "?" in action] == []


def test_plan_runs_each_template_handler_as_template_yaml_does(plan: dict[str, Any]) -> None:
    application = read_application()
    globals_ = application.template["Globals"]["Function"]
    functions = of_type(planned(plan), "aws_lambda_function")

    assert sorted(f.values["handler"] for f in functions.values()) == sorted(
        spec.handler for spec in application.functions.values()
    )
    for key, function in functions.items():
        values = function.values
        assert (values["runtime"], values["architectures"], values["memory_size"]) == (
            globals_["Runtime"], globals_["Architectures"], globals_["MemorySize"]), key
        assert values["tracing_config"] == [{"mode": globals_["Tracing"]}], key
        assert values["logging_config"][0]["log_format"] == globals_["LoggingConfig"]["LogFormat"], key
        variables = values["environment"][0]["variables"]
        assert {k: variables[k] for k in globals_["Environment"]["Variables"]} == globals_["Environment"]["Variables"], key


# -- one source of truth for permissions -------------------------------------------------------------

Permission = tuple[str, str, str]  # action, resource, condition (JSON)


def effective(statements: list[dict[str, Any]]) -> set[Permission]:
    """What a set of Allow statements grants: every action on every resource, under its condition."""
    granted = set()
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        condition = json.dumps(statement.get("Condition", {}), sort_keys=True)
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                granted.add((action.lower(), resource, condition))
    return granted


def sam_permissions() -> dict[str, tuple[set[Permission], set[str]]]:
    """Per Handler: what the translated SAM template's role of that function grants, and its managed policies."""
    translated = translate(parameters=PARAMETERS)
    resolver = Resolver(template=translated, parameters=dict(PARAMETERS), stack_name=SAM_STACK_NAME)
    permissions = {}
    for resource in translated["Resources"].values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resolver.resolve(translated["Resources"][resource["Properties"]["Role"]["Fn::GetAtt"][0]])
        permissions[resource["Properties"]["Handler"]] = (
            effective(inline_statements(role)), set(role["Properties"].get("ManagedPolicyArns", [])))
    return permissions


def terraform_permissions(plan: dict[str, Any]) -> dict[str, tuple[set[Permission], set[str]]]:
    resources = planned(plan)
    policies = of_type(resources, "aws_iam_role_policy")
    attachments = of_type(resources, "aws_iam_role_policy_attachment")
    return {
        function.values["handler"]: (
            effective(policy_document(policies[key].values["policy"])["Statement"]),
            {a.values["policy_arn"] for index, a in attachments.items() if index.split("/")[0] == key},
        )
        for key, function in of_type(resources, "aws_lambda_function").items()
    }


def test_every_function_may_do_exactly_what_the_sam_template_allows_it(plan: dict[str, Any]) -> None:
    # GIVEN the same deployment: SAM's parameters are the seeded Fleet's names, its stack named so that
    # its state machine is the module's; the module read the task roles from the revision itself.
    sam, terraform = sam_permissions(), terraform_permissions(plan)

    assert sorted(terraform) == sorted(sam)
    for handler in sam:
        sam_grants, sam_managed = sam[handler]
        tf_grants, tf_managed = terraform[handler]
        assert (sorted(tf_grants - sam_grants), sorted(sam_grants - tf_grants)) == ([], []), (
            f"{handler}: (only in Terraform, only in SAM)")
        assert tf_managed == sam_managed, handler


# -- what the apply does -----------------------------------------------------------------------------

def test_one_apply_deploys_the_workflow_and_runs_the_migration_through_it(root: Root, applied: Applied) -> None:
    assert applied.result.returncode == 0, applied.result.stdout[-3000:] + applied.result.stderr[-3000:]
    assert "fleet-migration: SUCCEEDED" in applied.result.stdout
    execution_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{WORKFLOW_NAME}:{EXECUTION_NAME}"
    run_ = root.aws.wait(execution_arn, timeout=10)
    assert run_.status == "SUCCEEDED"
    assert run_.output["exit_code"] == 0
    # Each step ran as the function Terraform created, dispatched to our handler by its Handler.
    invoked = {
        json.loads(event["taskScheduledEventDetails"]["parameters"])["FunctionName"].rsplit(":", 1)[-1]
        for event in run_.events if "taskScheduledEventDetails" in event
    }
    assert invoked == {f"{WORKFLOW_NAME}-{step}" for step in
                       ("describe-service", "scale-down", "check-drained", "run-task", "poll-task", "scale-up", "check-stable")}
    assert root.aws.service_state(root.fleet.cluster, root.fleet.service)["desired_count"] == 2


def test_the_state_machine_is_the_asl_file_wired_to_the_module_functions(applied: Applied) -> None:
    resources = module_resources(applied.state, WORKFLOW)
    machine = of_type(resources, "aws_sfn_state_machine", "migration")[None].values
    arn_by_handler = {f.values["handler"]: f.values["arn"] for f in of_type(resources, "aws_lambda_function").values()}
    application = read_application()
    expected = render_definition(application.state_machine, {
        logical_id: arn_by_handler[spec.handler] for logical_id, spec in application.functions.items()
        if spec.handler in arn_by_handler
    })

    assert json.loads(machine["definition"]) == json.loads(expected)
    log_group = of_type(resources, "aws_cloudwatch_log_group", "state_machine")[None].values
    assert machine["logging_configuration"][0]["log_destination"] == f"{log_group['arn']}:*"
    assert machine["tracing_configuration"] == [{"enabled": True}]


def test_the_state_machine_may_invoke_exactly_the_steps(applied: Applied) -> None:
    resources = module_resources(applied.state, WORKFLOW)
    policy = policy_document(of_type(resources, "aws_iam_role_policy", "state_machine")[None].values["policy"])
    steps = {f.values["arn"] for key, f in of_type(resources, "aws_lambda_function").items() if key != "trigger"}
    invoke = [s for s in policy["Statement"] if s["Action"] == "lambda:InvokeFunction"]

    assert [set(as_list(s["Resource"])) for s in invoke] == [steps]


def test_given_a_state_machine_arn_the_drop_in_creates_nothing_else(root: Root, applied: Applied,
                                                                     tmp_path: Path) -> None:
    # GIVEN the same root module in a fresh directory, with the SAM stack's state machine named
    shutil.copy(root.directory / "main.tf", tmp_path / "main.tf")
    (tmp_path / "main.tf").write_text((tmp_path / "main.tf").read_text().replace(
        "  source = ", f'  state_machine_arn = "{root.aws.state_machine_arn}"\n  source = ', 1))
    variables = json.loads((root.directory / "terraform.tfvars.json").read_text())
    (tmp_path / "terraform.tfvars.json").write_text(json.dumps(variables))
    checked(run(tmp_path, "init", "-input=false", "-no-color", endpoint_url=root.aws.endpoint_url))

    # WHEN it plans
    result = checked(run(tmp_path, "plan", "-input=false", "-no-color", endpoint_url=root.aws.endpoint_url))

    # THEN the migration's null_resource is all it would create
    assert "# module.migrations.null_resource.main will be created" in result.stdout
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in result.stdout
