"""Read what template.yaml declares: the functions (handler, code directory) and the state machine."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


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


def read_application(path: Path = TEMPLATE) -> Application:
    template = load_template(path)
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
                environment={k: v for k, v in env.items() if isinstance(v, str)},
            )
        elif resource["Type"] == "AWS::Serverless::StateMachine":
            substitutions = {}
            for name, value in props.get("DefinitionSubstitutions", {}).items():
                if isinstance(value, dict) and "Fn::GetAtt" in value:
                    substitutions[name] = value["Fn::GetAtt"][0]
            machines.append(StateMachineSpec(logical_id, (path.parent / props["DefinitionUri"]).resolve(), substitutions))
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
