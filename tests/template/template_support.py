"""What the template tests share: load template.yaml as CloudFormation does, translate it offline with
aws-sam-translator, resolve intrinsic functions for a set of parameter values, and evaluate the
resulting IAM policies against a request (a small, literal IAM evaluator: Allow statements, action
and resource wildcards, the condition operators the template uses).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode import cfn_yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from emulator.cloudformation import DEPLOYED_PARAMETERS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account: ARNs built here match the emulator's
PARTITION = "aws"
# The emulator names its state machine "fleet-migration", the template's StateMachineName default.
STACK_NAME = "fleet"

# The emulator's seeded Fleet deployment (emulator/fleet/deployment.py) as stack parameters, as the emulator deploys
# them, plus the optional parts that make every statement of the template appear.
PARAMETERS: dict[str, Any] = {
    **DEPLOYED_PARAMETERS,
    "EnableTrigger": "true",
    "Subnets": "subnet-0a1b2c3d,subnet-4e5f6a7b",
    "SecurityGroups": "sg-0a1b2c3d",
    # the role that registers revisions in tests/template/events/register_task_definition.json
    "TriggerPrincipalArns": f"arn:aws:iam::{ACCOUNT}:role/deploy",
    "AlarmTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:fleet-alerts",
    # seed_fleet(databases=True)'s Aurora cluster, and the migration container's awslogs group
    "DbClusterIdentifier": "fleet",
    "TaskLogGroupName": "fleet",
    # seed_fleet's load balancer and target group (named after the service)
    "LoadBalancerName": "fleet",
    "TargetGroupName": "fleet",
}

NO_VALUE = object()


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml with short-form tags expanded exactly as CloudFormation does (cfn-lint's decoder)."""
    return json.loads(json.dumps(cfn_yaml.load(str(path))))


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """What ``sam package`` would upload: the ASL inlined as ``Definition``, code at an S3 URI."""
    template = copy.deepcopy(template)
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://artifacts/functions.zip"
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = "s3://artifacts/functions.zip"
        if resource["Type"] == "AWS::Serverless::StateMachine":
            properties["Definition"] = json.loads((ROOT / properties.pop("DefinitionUri")).read_text())
    return template


def translate(template: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template SAM makes of ours, offline."""
    template = packaged(template if template is not None else load_template())
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    return translator.translate(template, dict(parameters or PARAMETERS), get_managed_policy_map=lambda: {})


# -- intrinsic functions -----------------------------------------------------------------------------


def function_arn(logical_id: str) -> str:
    """The emulator creates each function under its logical id."""
    return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"


@dataclass
class Resolver:
    """Evaluates Ref, Fn::Sub, Fn::If, Fn::Join, Fn::GetAtt, Fn::Select and conditions for given parameters."""

    template: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=lambda: dict(PARAMETERS))
    stack_name: str = STACK_NAME

    def __post_init__(self) -> None:
        values: dict[str, Any] = {}
        for name, spec in self.template.get("Parameters", {}).items():
            value = self.parameters.get(name, spec.get("Default"))
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",")
            values[name] = value
        values.update(
            {
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT,
                "AWS::Partition": PARTITION,
                "AWS::StackName": self.stack_name,
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::NoValue": NO_VALUE,
            }
        )
        self.values = values

    @property
    def state_machine_arn(self) -> str:
        return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{self.values['StateMachineName']}"

    def ref(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        resource = self.template["Resources"][name]
        kind = resource["Type"]
        if kind in ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine"):
            return self.state_machine_arn
        if kind in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
            return name
        return f"<{name}>"

    def get_att(self, name: str, attribute: str) -> Any:
        kind = self.template["Resources"][name]["Type"]
        if kind in ("AWS::Lambda::Function", "AWS::Serverless::Function") and attribute == "Arn":
            return function_arn(name)
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:<{name}>:*"
        return f"<{name}.{attribute}>"

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::GetAtt":
                name, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                return self._sub(value)
            if key == "Fn::If":
                return self.resolve(value[1] if self.condition(value[0]) else value[2])
            if key == "Fn::Join":
                return value[0].join(str(item) for item in self.resolve(value[1]))
            if key == "Fn::Select":
                return self.resolve(value[1])[int(self.resolve(value[0]))]
            if key == "Fn::Equals":
                left, right = self.resolve(value)
                return left == right
            if key == "Fn::Not":
                return not self.resolve(value[0])
            if key == "Fn::And":
                return all(self.resolve(value))
            if key == "Fn::Or":
                return any(self.resolve(value))
            if key == "Condition":
                return self.condition(value)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else (value[0], self.resolve(value[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.template["Resources"]:
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([A-Za-z0-9:._]+)\}", replace, text)


# -- IAM ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes for a call: an action on a resource, with its condition context."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    why: str = ""

    def __str__(self) -> str:
        context = f" {dict(self.context)}" if self.context else ""
        return f"{self.action} on {self.resource}{context}{f' ({self.why})' if self.why else ''}"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def inline_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for policy in role["Properties"].get("Policies", []) for s in as_list(policy["PolicyDocument"]["Statement"])
    ]


def statement_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in as_list(statement["Action"])}


def _glob(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


_CONDITION_OPERATORS = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringLike": lambda pattern, value: _glob(pattern, value),
    "ArnEquals": lambda pattern, value: _glob(pattern, value),
    "ArnLike": lambda pattern, value: _glob(pattern, value),
    # Multivalued keys (aws:TagKeys): each request here tags one key, so "every value is one of" is one comparison.
    "ForAllValues:StringEquals": lambda pattern, value: pattern == value,
    # "Bool condition operators" (IAM User Guide, "IAM JSON policy elements: Condition operators"): "true"/"false".
    "Bool": lambda pattern, value: str(pattern).lower() == str(value).lower(),
}
# "...IfExists condition operators" (IAM User Guide, same page): "If the policy key is present in the context of the
# request, process the key as specified in the policy. If the key is not present, evaluate the condition element as
# true."
_IF_EXISTS = "IfExists"


def _condition_holds(operator: str, key: str, patterns: Any, context: dict[str, str]) -> bool:
    if_exists = operator.endswith(_IF_EXISTS)
    compare = _CONDITION_OPERATORS[operator.removesuffix(_IF_EXISTS)]  # KeyError: an operator this evaluator lacks
    if key not in context:
        return if_exists
    return any(compare(p, context[key]) for p in as_list(patterns))


def allows(statements: list[dict[str, Any]], request: Request) -> bool:
    """Whether an Allow statement matches (there are no Deny statements in the template)."""
    context = dict(request.context)
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        if not any(_glob(a, request.action, case_sensitive=False) for a in as_list(statement["Action"])):
            continue
        if not any(_glob(r, request.resource) for r in as_list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        if all(
            _condition_holds(operator, key, patterns, context)
            for operator, tests in conditions.items()
            for key, patterns in tests.items()
        ):
            return True
    return False
