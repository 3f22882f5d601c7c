"""The template's Rules, as CloudFormation applies them before it creates anything.

CloudFormation accepts only rule functions in a rule (And, Contains, EachMemberEquals, EachMemberIn, Equals,
Not, Or, RefAll, ValueOf, ValueOfAll) and Ref to parameters; one Fn::Join made every ``sam deploy`` fail
while cfn-lint, sam-translator and every test passed. The emulator's deployment (emulator/cloudformation.py)
refuses such a template, and evaluates each rule's assertions for the parameters it deploys with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from emulator.cloudformation import DEPLOYED_PARAMETERS, RULE_FUNCTIONS, TemplateError, _functions_in, read_application
from template_support import TEMPLATE, load_template


def _rule_parts(template: dict[str, Any]) -> list[tuple[str, Any]]:
    parts = []
    for name, rule in template["Rules"].items():
        parts.append((f"{name}.RuleCondition", rule.get("RuleCondition")))
        parts += [(f"{name}.Assertions[{i}]", a["Assert"]) for i, a in enumerate(rule["Assertions"])]
    return parts


@pytest.mark.parametrize(
    ("where", "expression"), _rule_parts(load_template()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_rule_uses_only_rule_functions_and_refs_to_parameters(where: str, expression: Any) -> None:
    parameters = set(load_template()["Parameters"])
    for function, argument in _functions_in(expression):
        if function == "Ref":
            assert argument in parameters, f"{where}: Ref {argument} is not a parameter"
        else:
            assert function in RULE_FUNCTIONS, f"{where}: {function} is not a rule function"


@pytest.mark.parametrize(
    "expression",
    ['!Join ["", !Ref Subnets]', '!Sub "${EnableTrigger}"', "!Select [0, !Ref Subnets]"],
    ids=["Fn::Join", "Fn::Sub", "Fn::Select"],
)
def test_the_emulator_refuses_a_template_whose_rule_uses_another_function(tmp_path: Path, expression: str) -> None:
    # GIVEN the rule that shipped (Fn::Join inside Fn::Equals) or another non-rule function
    text = TEMPLATE.read_text().replace('!Not [!Contains [!Ref Subnets, ""]]', f'!Not [!Equals [{expression}, ""]]', 1)
    assert text != TEMPLATE.read_text()
    copy = tmp_path / "template.yaml"
    copy.write_text(text)

    # WHEN the emulator deploys it THEN it is refused, naming the rule and the function
    with pytest.raises(TemplateError, match=r"rule TriggerNeedsNetwork Assertions\[0\] uses Fn::"):
        read_application(copy)


def test_the_emulator_refuses_a_rule_that_refers_to_a_resource(tmp_path: Path) -> None:
    copy = tmp_path / "template.yaml"
    copy.write_text(
        TEMPLATE.read_text().replace(
            '!Contains [!Ref Subnets, ""]', "!Contains [!Ref Subnets, !Ref FunctionsLogGroup]", 1
        )
    )

    with pytest.raises(TemplateError, match="FunctionsLogGroup.*not a parameter"):
        read_application(copy)


def test_the_emulator_deploys_the_template_with_the_seeded_deployment_as_parameters() -> None:
    environment = read_application().functions["DescribeServiceFunction"].environment
    assert environment["ALLOWED_TASK_DEFINITION_FAMILY"] == DEPLOYED_PARAMETERS["TaskDefinitionFamily"]
    assert environment["ALLOWED_TASK_ROLE_ARN"] == DEPLOYED_PARAMETERS["TaskRoleArn"]


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        ({"EnableTrigger": "false"}, None),
        ({"EnableTrigger": "true", "Subnets": "subnet-1,subnet-2", "SecurityGroups": "sg-1"}, None),
        ({"EnableTrigger": "true", "SecurityGroups": "sg-1"}, "needs Subnets"),
        ({"EnableTrigger": "true", "Subnets": "subnet-1"}, "needs SecurityGroups"),
        ({"EnableTrigger": "true", "Subnets": "subnet-1,", "SecurityGroups": "sg-1"}, "needs Subnets"),
    ],
    ids=["trigger-off", "with-network", "no-subnets", "no-security-groups", "stray-comma"],
)
def test_deploying_the_trigger_without_a_network_is_refused(parameters: dict[str, str], refused: str | None) -> None:
    deployed = {**DEPLOYED_PARAMETERS, **parameters}
    if refused is None:
        read_application(parameters=deployed)
    else:
        with pytest.raises(TemplateError, match=f"TriggerNeedsNetwork: EnableTrigger=true {refused}"):
            read_application(parameters=deployed)


def test_a_parameter_without_a_default_must_be_given() -> None:
    with pytest.raises(TemplateError, match=r"\[TaskExecutionRoleArn\] must have values"):
        read_application(parameters={})


def test_the_trigger_s_environment_follows_the_parameters() -> None:
    deployed = {
        **DEPLOYED_PARAMETERS,
        "EnableTrigger": "true",
        "Subnets": "subnet-1,subnet-2",
        "SecurityGroups": "sg-1",
    }

    environment = read_application(parameters=deployed).functions["TriggerFunction"].environment

    assert (environment["SUBNETS"], environment["SECURITY_GROUPS"]) == ("subnet-1,subnet-2", "sg-1")
    assert "STATE_MACHINE_ARN" not in environment  # a resource's Ref is known only once it exists
