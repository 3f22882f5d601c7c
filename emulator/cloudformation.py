"""Read what template.yaml declares: the functions (handler, code directory, environment) and the state machine.

Reading is deploying, as far as the emulator goes: the template is checked the way CloudFormation checks it
before it creates anything (its ``Rules`` may use only rule functions, and their assertions must hold for the
parameters), and each function's environment is resolved for the parameters the emulator deploys with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
# The stack parameters the emulator deploys with: the deployment emulator/fleet/deployment.py seeds (its cluster,
# services, family and the two roles of its task definitions). EnableTrigger stays "false" (the subnets are
# only known once seeded); the trigger tests invoke TriggerFunction with the environment they set.
DEPLOYED_PARAMETERS: dict[str, str] = {
    "ClusterName": "fleet",
    "ServiceName": "fleet",
    "VulnServiceName": "fleet-vuln-processing",
    "TaskDefinitionFamily": "fleet",
    "TaskExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/fleet-execution",
    "TaskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/fleet-task",
}
STACK_NAME = "fleet-migration"

# "Rule functions" (AWS CloudFormation Template Reference): the only functions a rule's RuleCondition and
# Assertions may use, besides Ref to a parameter. Anything else makes CloudFormation reject the template.
RULE_FUNCTIONS = frozenset(
    {
        "Fn::And",
        "Fn::Contains",
        "Fn::EachMemberEquals",
        "Fn::EachMemberIn",
        "Fn::Equals",
        "Fn::Not",
        "Fn::Or",
        "Fn::RefAll",
        "Fn::ValueOf",
        "Fn::ValueOfAll",
    }
)


class TemplateError(ValueError):
    """What CloudFormation refuses before creating anything: a malformed template or a failed rule assertion."""


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags (!Ref, !GetAtt, !Sub, ...) as Fn:: dicts."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    # !Ref and !Condition are the only short forms whose long form has no "Fn::" prefix
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    code_dir: Path
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    definition_path: Path
    substitutions: dict[str, str]  # ${Name} -> logical id of the function whose ARN goes there


@dataclass(frozen=True)
class Application:
    functions: dict[str, FunctionSpec]
    state_machine: StateMachineSpec
    template: dict[str, Any]


def read_application(path: Path = TEMPLATE, parameters: dict[str, str] | None = None) -> Application:
    template = load_template(path)
    values = parameter_values(template, DEPLOYED_PARAMETERS if parameters is None else parameters)
    check_rules(template)
    evaluate_rules(template, values)
    globals_ = template.get("Globals", {}).get("Function", {})
    global_env = globals_.get("Environment", {}).get("Variables", {})
    functions: dict[str, FunctionSpec] = {}
    machines: list[StateMachineSpec] = []
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
            functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                handler=props.get("Handler", globals_.get("Handler")),
                code_dir=(path.parent / props.get("CodeUri", globals_.get("CodeUri"))).resolve(),
                environment=_resolved_environment(env, values),
            )
        elif resource["Type"] == "AWS::Serverless::StateMachine":
            substitutions = {}
            for name, value in props.get("DefinitionSubstitutions", {}).items():
                if isinstance(value, dict) and "Fn::GetAtt" in value:
                    substitutions[name] = value["Fn::GetAtt"][0]
            machines.append(
                StateMachineSpec(logical_id, (path.parent / props["DefinitionUri"]).resolve(), substitutions)
            )
    if len(machines) != 1:
        raise ValueError(f"template.yaml should declare one state machine, found {len(machines)}")
    return Application(functions=functions, state_machine=machines[0], template=template)


def render_definition(spec: StateMachineSpec, arns: dict[str, str]) -> str:
    """The ASL with each ``${Name}`` replaced by the ARN of the function it names, as CloudFormation would."""
    text = spec.definition_path.read_text()

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in spec.substitutions:
            raise KeyError(f"{spec.definition_path.name} uses ${{{name}}} but template.yaml does not substitute it")
        return arns[spec.substitutions[name]]

    return re.sub(r"\$\{([A-Za-z0-9]+)\}", replace, text)


# -- parameters and rules, as CloudFormation applies them before creating anything --------------------


def parameter_values(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """Each parameter's value (given, else its default; a CommaDelimitedList as a list), and the pseudo parameters."""
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        if name in parameters:
            value: Any = parameters[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"Parameters: [{name}] must have values")
        if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
            value = value.split(",")  # "" is [""]: a list of one empty string
        values[name] = value
    unknown = sorted(set(parameters) - set(values))
    if unknown:
        raise TemplateError(f"Parameters: {unknown} do not exist in the template")
    values.update(
        {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK_NAME,
            "AWS::URLSuffix": "amazonaws.com",
        }
    )
    return values


def check_rules(template: dict[str, Any]) -> None:
    """Refuse a rule that uses anything but rule functions and Ref to a parameter, as CloudFormation does."""
    parameters = set(template.get("Parameters", {}))
    for name, rule in template.get("Rules", {}).items():
        parts = [("RuleCondition", rule["RuleCondition"])] if "RuleCondition" in rule else []
        parts += [(f"Assertions[{i}]", a.get("Assert")) for i, a in enumerate(rule.get("Assertions", []))]
        for where, node in parts:
            for function, argument in _functions_in(node):
                if function == "Ref":
                    if argument not in parameters and not str(argument).startswith("AWS::"):
                        raise TemplateError(
                            f"Template format error: rule {name} {where}: Ref to {argument!r}, "
                            "which is not a parameter (rules may refer to parameters only)"
                        )
                elif function not in RULE_FUNCTIONS:
                    raise TemplateError(
                        f"Template format error: rule {name} {where} uses {function}; a rule may use only the rule "
                        f"functions ({', '.join(sorted(RULE_FUNCTIONS))}) and Ref to parameters"
                    )


def _functions_in(node: Any) -> list[tuple[str, Any]]:
    """Every (function, argument) in a parsed expression: a one-key mapping whose key is Ref, Condition or Fn::*."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            found += _functions_in(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
                found.append((key, value))
            found += _functions_in(value)
    return found


def evaluate_rules(template: dict[str, Any], values: dict[str, Any]) -> None:
    """A rule whose condition holds and one of whose assertions does not stops the deployment with its description."""
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not _rule_value(rule["RuleCondition"], values):
            continue
        for assertion in rule.get("Assertions", []):
            if not _rule_value(assertion["Assert"], values):
                raise TemplateError(f"Rule {name}: {assertion.get('AssertDescription', 'an assertion failed')}")


def _rule_value(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_rule_value(item, values) for item in node]
    if not isinstance(node, dict) or len(node) != 1:
        return node
    ((function, argument),) = node.items()
    if function == "Ref":
        return values[argument]
    args = [_rule_value(item, values) for item in argument] if isinstance(argument, list) else argument
    if function == "Fn::And":
        return all(args)
    if function == "Fn::Or":
        return any(args)
    if function == "Fn::Not":
        return not args[0]
    if function == "Fn::Equals":
        return args[0] == args[1]
    if function == "Fn::Contains":
        return args[1] in args[0]
    if function == "Fn::EachMemberEquals":
        return all(member == args[1] for member in args[0])
    if function == "Fn::EachMemberIn":
        return all(member in args[1] for member in args[0])
    # Fn::RefAll, Fn::ValueOf, Fn::ValueOfAll read AWS-specific parameter types from the account.
    raise TemplateError(f"the emulator cannot evaluate {function} (the template uses no AWS-specific parameter types)")


def _resolved_environment(variables: dict[str, Any], values: dict[str, Any]) -> dict[str, str]:
    """The variables whose values follow from the parameters alone; those naming resources are left out."""
    environment = {}
    for key, value in variables.items():
        resolved = _resolve(value, values)
        if isinstance(resolved, str):
            environment[key] = resolved
    return environment


def _resolve(node: Any, values: dict[str, Any]) -> Any:
    if not isinstance(node, dict):
        return node
    ((function, argument),) = node.items()
    if function == "Ref":
        return values.get(argument)  # a resource's Ref is not known before it exists
    if function == "Fn::Join":
        items = argument[1]
        items = [_resolve(item, values) for item in items] if isinstance(items, list) else _resolve(items, values)
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            return None
        return argument[0].join(items)
    if function == "Fn::Sub" and isinstance(argument, str):
        unknown = [n for n in re.findall(r"\$\{([^}]+)\}", argument) if n not in values]
        return None if unknown else re.sub(r"\$\{([^}]+)\}", lambda m: str(values[m.group(1)]), argument)
    return None
