"""template.yaml is a deployable SAM application: it translates offline, lints clean, and wires
every function, substitution and handler the way the emulator and the Terraform module expect."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint import api as cfnlint_api

from emulator.cloudformation import read_application
from template_support import PARAMETERS, ROOT, TEMPLATE, Resolver, load_template, translate


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate()


def _lint(text: str) -> list[str]:
    # cfn-lint validates the state machine's definition (a Fn::Join after translation) recursively, a few hundred
    # frames deep: under pytest's own frames that comes close to Python's default limit of 1000.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4000))
    try:
        matches = cfnlint_api.lint(text, regions=["us-east-1"])
    finally:
        sys.setrecursionlimit(limit)
    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches if m.rule.id.startswith("E")]


def test_cfn_lint_reports_no_errors_on_the_template() -> None:
    assert _lint(TEMPLATE.read_text()) == []


def test_cfn_lint_reports_no_errors_on_the_translated_template(translated: dict[str, Any]) -> None:
    assert _lint(json.dumps(translated, indent=1)) == []


def test_translation_keeps_every_step_and_adds_the_trigger_only_under_its_condition(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    kinds: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        kinds.setdefault(resource["Type"], []).append(logical_id)
    assert len(kinds["AWS::Lambda::Function"]) == 12
    assert kinds["AWS::StepFunctions::StateMachine"] == ["MigrationStateMachine"]
    trigger = [k for k, v in resources.items() if k.startswith("Trigger") or v["Type"] == "AWS::Events::Rule"]
    assert sorted(trigger) == [
        "TriggerErrorsAlarm",
        "TriggerFailedEventsQueue",
        "TriggerFailedEventsQueuePolicy",
        "TriggerFunction",
        "TriggerFunctionEventInvokeConfig",
        "TriggerFunctionNewRevision",
        "TriggerFunctionNewRevisionPermission",
        "TriggerFunctionRole",
    ]
    assert all(resources[k].get("Condition") == "TriggerEnabled" for k in trigger)
    assert all("Condition" not in v for k, v in resources.items() if k not in trigger)


def test_the_trigger_is_off_by_default(template: dict[str, Any]) -> None:
    assert template["Parameters"]["EnableTrigger"]["Default"] == "false"
    assert not Resolver(template, {}).condition("TriggerEnabled")
    assert Resolver(template, {"EnableTrigger": "true"}).condition("TriggerEnabled")


def test_globals_carry_what_every_function_shares(template: dict[str, Any]) -> None:
    shared = template["Globals"]["Function"]
    assert shared["Runtime"] in ("python3.12", "python3.13")
    assert shared["Architectures"] == ["arm64"]
    assert shared["Tracing"] == "Active"
    assert shared["LoggingConfig"]["LogFormat"] == "JSON"
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} <= set(
        shared["Environment"]["Variables"]
    )


def test_logs_go_to_declared_groups_with_retention(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    groups = {k for k, v in resources.items() if v["Type"] == "AWS::Logs::LogGroup"}
    assert all("RetentionInDays" in resources[g]["Properties"] for g in groups)
    machine = resources["MigrationStateMachine"]["Properties"]
    destination = machine["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert destination == {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]}
    assert machine["TracingConfiguration"] == {"Enabled": True}
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Function":
            assert resource["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionsLogGroup"}, logical_id


def test_the_state_machine_has_a_fixed_name_the_policies_can_build(template: dict[str, Any]) -> None:
    machine = template["Resources"]["MigrationStateMachine"]["Properties"]
    assert machine["Name"] == {"Ref": "StateMachineName"}
    resolver = Resolver(template)
    assert resolver.resolve(machine["Name"]) == resolver.state_machine_arn.rsplit(":", 1)[-1] == "fleet-migration"


def test_a_long_stack_name_keeps_the_state_machine_name_within_step_functions_80_characters(
    template: dict[str, Any],
) -> None:
    # CloudFormation allows stack names of 128 characters; Step Functions, state machine names of 80
    resolver = Resolver(template, stack_name="f" * 128)
    name = resolver.resolve(template["Resources"]["MigrationStateMachine"]["Properties"]["Name"])
    assert len(name) <= 80


def test_a_state_machine_name_over_80_characters_is_refused_by_the_parameter(template: dict[str, Any]) -> None:
    pattern = re.compile(template["Parameters"]["StateMachineName"]["AllowedPattern"])
    assert pattern.fullmatch("x" * 80)
    assert not pattern.fullmatch("x" * 81) and not pattern.fullmatch("")


def test_a_failed_migration_raises_an_alarm_that_can_notify_a_topic(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["FailedMigrationsAlarm"]["Properties"]
    metrics = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert metrics == {"ExecutionsFailed", "ExecutionsTimedOut"}
    with_topic = Resolver(template, {"AlarmTopicArn": PARAMETERS["AlarmTopicArn"]}).resolve(alarm)
    without_topic = Resolver(template, {}).resolve(alarm)
    assert with_topic["AlarmActions"] == [PARAMETERS["AlarmTopicArn"]]
    assert "AlarmActions" not in without_topic


def test_outputs_give_terraform_and_operators_what_they_need(template: dict[str, Any]) -> None:
    outputs = Resolver(template).resolve(template["Outputs"])
    assert outputs["StateMachineArn"]["Value"].startswith("arn:aws:states:")
    assert outputs["StateMachineName"]["Value"] == "<MigrationStateMachine.Name>"
    assert outputs["ExecutionConsoleUrlPrefix"]["Value"].endswith("#/v2/executions/details/")
    assert {"StateMachineLogGroupName", "FunctionsLogGroupName", "StateMachineConsoleUrl"} <= set(outputs)


# -- DefinitionSubstitutions and handlers -----------------------------------------------------------


def _asl_placeholders() -> set[str]:
    spec = read_application().state_machine
    return set(re.findall(r"\$\{([^}]+)\}", spec.definition_path.read_text()))


def test_every_asl_placeholder_has_a_substitution_and_every_substitution_is_used(template: dict[str, Any]) -> None:
    machine = template["Resources"]["MigrationStateMachine"]["Properties"]
    substitutions = set(machine["DefinitionSubstitutions"])
    placeholders = _asl_placeholders()
    assert placeholders - substitutions == set(), "the ASL uses these without a substitution"
    assert substitutions - placeholders == set(), "template.yaml substitutes these but the ASL never uses them"


def test_every_substitution_names_the_arn_of_a_function_of_the_template(template: dict[str, Any]) -> None:
    machine = template["Resources"]["MigrationStateMachine"]["Properties"]
    for name, value in machine["DefinitionSubstitutions"].items():
        logical_id, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn", name
        assert template["Resources"][logical_id]["Type"] == "AWS::Serverless::Function", name
        assert name == f"{logical_id}Arn", "substitutions are named after the function they point at"


def test_every_function_has_its_code_under_functions_and_is_discovered_by_the_emulator(
    template: dict[str, Any],
) -> None:
    functions = {k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    discovered = read_application().functions
    assert set(discovered) == functions
    for spec in discovered.values():
        assert spec.code_dir == (ROOT / "functions").resolve(), spec.logical_id
        assert (spec.code_dir / f"{spec.module}.py").is_file(), spec.handler


@pytest.mark.parametrize("logical_id", sorted(read_application().functions))
def test_every_handler_imports_and_is_callable(logical_id: str) -> None:
    spec = read_application().functions[logical_id]
    sys.path.insert(0, str(spec.code_dir))
    try:
        module = importlib.import_module(spec.module)
    finally:
        sys.path.remove(str(spec.code_dir))
    assert callable(getattr(module, spec.attribute)), spec.handler
    assert Path(module.__file__).resolve().parent == spec.code_dir


def test_samconfig_deploys_this_template_with_iam_capability() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploy = config["default"]["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert deploy.get("resolve_s3") is True
    assert config["default"]["global"]["parameters"]["template_file"] == "template.yaml"
