"""terraform/modules/workflow through real Terraform and the real AWS provider, on the embedded AWS.

One root module, Fleet's ``module "migrations"`` block with only ``source`` changed (no
state_machine_arn): ``terraform validate``, one ``plan`` whose JSON is checked (roles, permissions
against the translated SAM template, runtimes), and one ``apply`` of that plan that deploys the
workflow and runs the migration through it. Every test here shares that one apply.

The apply takes about 70 s, a minute of it hashicorp/aws 5.100.0 waiting on itself: it creates the
12 Lambda functions one at a time (a function whose code comes from ``filename`` holds a lock of the
provider process for its whole create, "so that we're only reading one function into memory at a
time") and sleeps 5 s after each CreateFunction before its first GetFunction (waitFunctionCreated's
Delay), whatever that would show: the emulator answers State Active and LastUpdateStatus Successful
at once, as AWS does for a function that is ready ("Lambda function states", Lambda Developer Guide).
Meanwhile the failed-events queue, then its policy, take 25 s each (the provider wants six equal
GetQueueAttributes 5 s apart). No answer of the emulator shortens either wait, so validate, the
plan's JSON, the given-ARN plan and the plan-only tests run while the apply waits.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess, Popen, TimeoutExpired
from typing import Any

import pytest

from emulator import Emulator, FleetDeployment, ServiceBehaviour, TaskOutcome
from emulator.cloudformation import read_application, render_definition
from workflow_module_support import (
    ACCOUNT,
    ALARM_TOPIC_ARN,
    DEPLOYER_ACTIONS,
    PERMISSIONS_BOUNDARY,
    REGION,
    ROLE_PATH,
    SAM_STACK_NAME,
    TAGS,
    WORKFLOW_NAME,
    Resource,
    allows,
    checked,
    deployer_policy,
    fleet_root_module,
    fleet_variables,
    initialized_copy,
    module_resources,
    of_type,
    policy_document,
    requires_aws_provider,
    run,
    start,
)

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

    def start(self, *args: str) -> Popen:
        return start(self.directory, *args, endpoint_url=self.aws.endpoint_url)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Root]:
    """Fleet's root module, initialized, against an embedded AWS with Fleet seeded (revision 2 is new)."""
    with Emulator(speed=5, server=True) as aws:
        aws.ecs_sim.default_service = ServiceBehaviour(start_seconds=0.2, stop_seconds=0.2)
        aws.ecs_sim.default_migration = TaskOutcome(start_seconds=0.1, run_seconds=0.3)
        fleet = aws.seed_fleet(databases=True)
        # The organisation's boundary and alerts topic exist before the workflow names them, as in AWS.
        aws.client("iam").create_policy(
            PolicyName=PERMISSIONS_BOUNDARY.rsplit("/", 1)[-1],
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        aws.client("sns").create_topic(Name=ALARM_TOPIC_ARN.rsplit(":", 1)[-1])
        cluster_arn = aws.client("ecs").describe_clusters(clusters=[fleet.cluster])["clusters"][0]["clusterArn"]
        directory = tmp_path_factory.mktemp("fleet-root")
        fleet_root_module(directory, aws.endpoint_url)
        (directory / "terraform.tfvars.json").write_text(json.dumps(fleet_variables(fleet, cluster_arn=cluster_arn)))
        found = Root(aws, fleet, directory)
        checked(found.terraform("init", "-input=false", "-no-color"))
        yield found


@dataclass
class Runs:
    """The file's Terraform commands, each started as soon as what it reads exists: the apply spends most
    of its minute waiting on the provider, and validate, the plan's JSON and the plan-only tests run meanwhile."""

    validate: Popen
    plan: CompletedProcess  # -out=tfplan
    apply: Popen | None  # of tfplan, started only when the plan succeeded and a selected test needs it
    # The same root module with a state machine named, planned while the apply waits on Lambda.
    given_arn_plan: Popen | None


@pytest.fixture(scope="module")
def runs(root: Root, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    validate = root.start("validate", "-no-color")
    plan = root.terraform("plan", "-input=false", "-no-color", "-out=tfplan")
    apply = given = None
    if plan.returncode == 0 and any(
        "applied" in item.fixturenames for item in request.session.items if item.module is request.module
    ):
        apply = root.start("apply", "-input=false", "-no-color", "tfplan")
        directory = tmp_path_factory.mktemp("given-arn")
        initialized_copy(root.directory, directory)
        (directory / "main.tf").write_text(
            (directory / "main.tf")
            .read_text()
            .replace("  source = ", f'  state_machine_arn = "{root.aws.state_machine_arn}"\n  source = ', 1)
        )
        given = start(directory, "plan", "-input=false", "-no-color", endpoint_url=root.aws.endpoint_url)
    started = Runs(validate, plan, apply, given)
    yield started
    # A test that failed before waiting for one left it running: no Terraform outlives its AWS.
    for process in (validate, apply, given):
        if process is not None and process.returncode is None:
            try:
                process.communicate(timeout=300)
            except TimeoutExpired:
                process.kill()
                raise


@pytest.fixture(scope="module")
def plan(root: Root, runs: Runs) -> dict[str, Any]:
    checked(runs.plan)
    return json.loads(checked(root.terraform("show", "-json", "tfplan")).stdout)


@dataclass
class Applied:
    result: CompletedProcess
    state: dict[str, Any]
    given_arn_plan: tuple[int, str, str]


def finished(process: Popen) -> CompletedProcess:
    stdout, stderr = process.communicate(timeout=300)
    return CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def applied(root: Root, plan: dict[str, Any], runs: Runs) -> Applied:
    assert runs.apply is not None and runs.given_arn_plan is not None
    result, given = finished(runs.apply), finished(runs.given_arn_plan)
    # The state file itself rather than `terraform show -json` (one provider start less).
    return Applied(
        result,
        json.loads((root.directory / "terraform.tfstate").read_text()),
        (given.returncode, given.stdout, given.stderr),
    )


def planned(plan: dict[str, Any]) -> list[Resource]:
    return module_resources(plan, WORKFLOW)


# -- what the plan says ------------------------------------------------------------------------------


def test_terraform_validate_accepts_fleets_block_with_only_source_changed(runs: Runs) -> None:
    result = checked(finished(runs.validate))

    assert "The configuration is valid" in result.stdout


def test_plan_gives_every_function_a_role_of_its_own(plan: dict[str, Any]) -> None:
    resources = planned(plan)
    functions = of_type(resources, "aws_lambda_function")
    roles = of_type(resources, "aws_iam_role")

    assert {function.values["function_name"] for function in functions.values()} == {
        f"{WORKFLOW_NAME}-{key}" for key in functions
    }
    # The role of each function is named after it, with the suffix that makes it unique in the account (region,
    # workflow, services), and no two functions share one.
    names = {key: roles[key].values["name"] for key in functions}
    suffixes = {name.rsplit("-", 1)[-1] for name in names.values()}
    assert len(suffixes) == 1 and re.fullmatch(r"[0-9a-f]{8}", suffixes.pop())
    assert {key: name.rsplit("-", 1)[0] for key, name in names.items()} == {
        key: f"{WORKFLOW_NAME}-{key}" for key in functions
    }
    assert len(set(names.values())) == len(names)
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


def test_plan_runs_each_template_function_as_template_yaml_does(plan: dict[str, Any]) -> None:
    template = read_application().template
    globals_ = template["Globals"]["Function"]
    expected = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            properties = resource["Properties"]
            variables = {
                **globals_["Environment"]["Variables"],
                **properties.get("Environment", {}).get("Variables", {}),
            }
            expected[properties["Handler"]] = {
                "runtime": properties.get("Runtime", globals_["Runtime"]),
                "architectures": properties.get("Architectures", globals_["Architectures"]),
                "memory_size": properties.get("MemorySize", globals_["MemorySize"]),
                "timeout": properties.get("Timeout", globals_["Timeout"]),
                "tracing": properties.get("Tracing", globals_["Tracing"]),
                "log_format": globals_["LoggingConfig"]["LogFormat"],
                # The names, and the values template.yaml writes out (the others are references).
                "variables": sorted(variables),
                "literal_variables": {k: v for k, v in variables.items() if isinstance(v, str)},
            }

    planned_functions = {}
    for function in of_type(planned(plan), "aws_lambda_function").values():
        values = function.values
        variables = values["environment"][0]["variables"]
        literal = expected.get(values["handler"], {}).get("literal_variables", {})
        planned_functions[values["handler"]] = {
            "runtime": values["runtime"],
            "architectures": values["architectures"],
            "memory_size": values["memory_size"],
            "timeout": values["timeout"],
            "tracing": values["tracing_config"][0]["mode"],
            "log_format": values["logging_config"][0]["log_format"],
            "variables": sorted(variables),
            "literal_variables": {k: variables.get(k) for k in literal},
        }

    assert planned_functions == expected


def test_every_role_has_the_path_and_permissions_boundary_given_to_the_drop_in(plan: dict[str, Any]) -> None:
    roles = [r for r in planned(plan) if r.type == "aws_iam_role"]

    assert len(roles) == 13  # eleven steps, the trigger, the state machine
    assert {(r.values["path"], r.values["permissions_boundary"]) for r in roles} == {(ROLE_PATH, PERMISSIONS_BOUNDARY)}


def test_the_drop_ins_tags_reach_every_resource_that_takes_them(plan: dict[str, Any]) -> None:
    tagged = [r for r in planned(plan) if "tags" in r.values]

    assert {r.type for r in tagged} >= {"aws_lambda_function", "aws_iam_role", "aws_sfn_state_machine"}
    assert [r.address for r in tagged if r.values["tags"] != TAGS] == []


def test_the_failed_migrations_alarm_notifies_the_topic_given_to_the_drop_in(root: Root, applied: Applied) -> None:
    assert applied.result.returncode == 0, applied.result.stderr[-3000:]
    [alarm] = root.aws.client("cloudwatch").describe_alarms(AlarmNames=[f"{WORKFLOW_NAME}-migration-failed"])[
        "MetricAlarms"
    ]

    assert alarm["AlarmActions"] == [ALARM_TOPIC_ARN]


def test_the_drop_in_re_exports_the_workflows_state_machine_log_groups_and_alarm(applied: Applied) -> None:
    resources = module_resources(applied.state, WORKFLOW)

    assert applied.state["outputs"]["workflow"]["value"] == {
        "state_machine_arn": of_type(resources, "aws_sfn_state_machine", "migration")[None].values["arn"],
        "state_machine_log_group_name": f"/aws/vendedlogs/states/{WORKFLOW_NAME}",
        "functions_log_group_name": f"/aws/lambda/{WORKFLOW_NAME}-steps",
        "failed_migrations_alarm_name": f"{WORKFLOW_NAME}-migration-failed",
        "workflow_name": WORKFLOW_NAME,
    }


def test_the_deployer_policy_reaches_every_resource_the_apply_created(applied: Applied) -> None:
    # terraform/deployer-policy.json with its fleet-migration prefix set to this workflow's name
    statements = deployer_policy(WORKFLOW_NAME)
    resources = module_resources(applied.state, WORKFLOW)
    # The ARN each type's actions act on: its own, except a target's (put on its rule). PassRole acts on the
    # roles (checked with them), and a function's GetLayerVersion on the layer (listed with it too).
    [rule] = [r.values["arn"] for r in resources if r.type == "aws_cloudwatch_event_rule"]
    acted_on = [
        (r.address, r.type, rule if r.type == "aws_cloudwatch_event_target" else r.values["arn"])
        for r in resources
        if "arn" in r.values
    ]
    unreached = [
        (address, action, arn)
        for address, kind, arn in acted_on
        for action in DEPLOYER_ACTIONS[kind]
        if (kind, action) != ("aws_lambda_function", "lambda:GetLayerVersion") and not allows(statements, action, arn)
    ]

    assert unreached == []
    assert len(acted_on) >= 30  # every function, role, log group, the state machine, alarms, rule, queue, layer


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


class SameResources(Resolver):
    """Resolves the ARN of a resource CloudFormation names at random to the one the module names."""

    def get_att(self, name: str, attribute: str) -> Any:
        if self.template["Resources"][name]["Type"] == "AWS::SQS::Queue" and attribute == "Arn":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{WORKFLOW_NAME}-trigger-failed-events"
        return super().get_att(name, attribute)


def sam_permissions() -> dict[str, tuple[set[Permission], set[str]]]:
    """Per Handler: what the translated SAM template's role of that function grants, and its managed policies."""
    parameters = {**PARAMETERS, "StateMachineName": WORKFLOW_NAME}  # the module's name for the state machine
    translated = translate(parameters=parameters)
    resolver = SameResources(template=translated, parameters=parameters, stack_name=SAM_STACK_NAME)
    permissions = {}
    for resource in translated["Resources"].values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role = resolver.resolve(translated["Resources"][resource["Properties"]["Role"]["Fn::GetAtt"][0]])
        permissions[resource["Properties"]["Handler"]] = (
            effective(inline_statements(role)),
            set(role["Properties"].get("ManagedPolicyArns", [])),
        )
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
            f"{handler}: (only in Terraform, only in SAM)"
        )
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
        for event in run_.events
        if "taskScheduledEventDetails" in event
    }
    assert invoked == {
        f"{WORKFLOW_NAME}-{step}"
        for step in (
            "describe-service",
            "scale-down",
            "check-drained",
            "take-snapshot",
            "check-snapshot",
            "run-task",
            "poll-task",
            "scale-up",
            "check-stable",
        )
    }
    assert root.aws.service_state(root.fleet.cluster, root.fleet.service)["desired_count"] == 2


def test_the_state_machine_is_the_asl_file_wired_to_the_module_functions(applied: Applied) -> None:
    resources = module_resources(applied.state, WORKFLOW)
    machine = of_type(resources, "aws_sfn_state_machine", "migration")[None].values
    arn_by_handler = {f.values["handler"]: f.values["arn"] for f in of_type(resources, "aws_lambda_function").values()}
    application = read_application()
    expected = render_definition(
        application.state_machine,
        {
            logical_id: arn_by_handler[spec.handler]
            for logical_id, spec in application.functions.items()
            if spec.handler in arn_by_handler
        },
    )

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


def test_given_a_state_machine_arn_the_drop_in_creates_nothing_else(applied: Applied) -> None:
    # GIVEN Fleet's block with state_machine_arn (a SAM stack's), WHEN it plans
    returncode, stdout, stderr = applied.given_arn_plan

    # THEN the migration's null_resource is all it would create
    assert returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert "# module.migrations.null_resource.main will be created" in stdout
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in stdout


def test_the_trigger_terraform_created_migrates_a_new_revision_with_the_drop_ins_settings(
    root: Root, applied: Applied
) -> None:
    # GIVEN revision 3 registered outside Terraform, and CloudTrail's record of it
    fleet = root.fleet
    definition = root.aws.client("ecs").describe_task_definition(taskDefinition=f"{fleet.task_definition}:2")
    registered = {
        key: definition["taskDefinition"][key]
        for key in (
            "family",
            "networkMode",
            "requiresCompatibilities",
            "cpu",
            "memory",
            "executionRoleArn",
            "taskRoleArn",
            "containerDefinitions",
        )
    }
    arn = root.aws.client("ecs").register_task_definition(**registered)["taskDefinition"]["taskDefinitionArn"]
    event = json.loads(
        (Path(__file__).resolve().parents[1] / "template" / "events" / "register_task_definition.json").read_text()
    )
    event["detail"]["responseElements"]["taskDefinition"].update(taskDefinitionArn=arn, revision=3)

    # WHEN EventBridge invokes the trigger function the module created
    answer = root.aws.client("lambda").invoke(FunctionName=f"{WORKFLOW_NAME}-trigger", Payload=json.dumps(event))
    started = json.loads(answer["Payload"].read())

    # THEN it started revision 3's migration on the module's state machine, with the drop-in's settings
    assert answer.get("FunctionError") is None, started
    assert (started["action"], started["execution_name"]) == ("started", "fleet-fleet-r3")
    run_ = root.aws.wait(started["execution_arn"], timeout=60)
    assert run_.status == "SUCCEEDED", run_.cause
    document = json.loads(
        root.aws.client("stepfunctions").describe_execution(executionArn=started["execution_arn"])["input"]
    )
    assert (document["task_definition_revision"], document["subnets"], document["poll_interval_seconds"]) == (
        3,
        fleet.subnets,
        1,
    )
