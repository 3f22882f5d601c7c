"""What the Terraform AWS provider needs of the embedded AWS that moto does not answer.

``terraform apply`` of terraform/modules/workflow (hashicorp/aws 5.x) makes a few calls moto 5.2.5
lacks or answers unlike AWS; ``install()`` adds them to moto's backends, so they hold in-process and
in server mode alike, and returns the function that takes them away again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.responses import ActionResult
from moto.iam.models import AWSManagedPolicy, iam_backends
from moto.stepfunctions.exceptions import ResourceNotFound
from moto.stepfunctions.parser.api import InvalidDefinition
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from emulator.patching import Patches

# The AWS managed policies SAM attaches to the functions and the state machine, which the module
# attaches too. Every AWS account has them; moto loads none unless asked to load all 1,500 (a third
# of a second per emulator).
MANAGED_POLICIES = ("AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess")


@cache
def _managed_policy_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    every = json.loads(aws_managed_policies_data)
    return {name: every[name] for name in MANAGED_POLICIES}


def add_managed_policies(account_id: str) -> None:
    """Give the emulated account the AWS managed policies the module attaches (``arn:aws:iam::aws:policy/...``)."""
    backend = iam_backends[account_id]["global"]
    for name, data in _managed_policy_data().items():
        policy = AWSManagedPolicy.from_data(name, account_id, "us-east-1", data)
        backend.managed_policies.setdefault(policy.arn, policy)


# -- ValidateStateMachineDefinition ------------------------------------------------------------------
# "Validation will look for problems in your state machine definition and return a result and a list of
# diagnostic elements ... FAIL when the workflow definition contains errors that would prevent you from
# creating or updating your state machine." (Step Functions API Reference, ValidateStateMachineDefinition;
# the codes are those of ValidateStateMachineDefinitionDiagnostic.) The provider calls it while planning
# an aws_sfn_state_machine, so a definition AWS would refuse fails `terraform plan` here as there.


def definition_diagnostics(definition: str | None) -> list[dict[str, str]]:
    """The ERROR diagnostics AWS reports for a definition; empty when it would be accepted."""
    if not definition or not definition.strip():
        return [_error("MISSING_DESCRIPTION", "The definition is empty.")]
    try:
        document = json.loads(definition)
    except json.JSONDecodeError as exc:
        return [_error("INVALID_JSON_DESCRIPTION", f"Invalid JSON: {exc}", f"line {exc.lineno}")]
    try:
        StepFunctionsParserBackend._validate_definition(definition)
    except InvalidDefinition as exc:  # moto's ASL parser refuses the grammar
        return [_error("SCHEMA_VALIDATION_FAILED", exc.message)]
    return _graph_diagnostics(document, "")


def _graph_diagnostics(machine: dict[str, Any], location: str) -> list[dict[str, str]]:
    # moto's parser accepts a dangling Next: AWS refuses it ("MISSING_TRANSITION_TARGET: Missing 'Next' target").
    diagnostics = []
    states = machine.get("States", {})
    if machine.get("StartAt") not in states:
        diagnostics.append(
            _error(
                "MISSING_TRANSITION_TARGET",
                f"Missing 'StartAt' target: {machine.get('StartAt')}",
                f"{location}/StartAt",
            )
        )
    terminal = False
    for name, state in states.items():
        here = f"{location}/States/{name}"
        targets = [(f"{here}/Next", state.get("Next")), (f"{here}/Default", state.get("Default"))]
        targets += [
            (f"{here}/Choices[{i}]/Next", choice.get("Next")) for i, choice in enumerate(state.get("Choices", []))
        ]
        targets += [(f"{here}/Catch[{i}]/Next", catch.get("Next")) for i, catch in enumerate(state.get("Catch", []))]
        for where, target in targets:
            if target is not None and target not in states:
                diagnostics.append(_error("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {target}", where))
        terminal |= state.get("Type") in ("Succeed", "Fail") or state.get("End") is True
        for i, branch in enumerate(state.get("Branches", [])):
            diagnostics += _graph_diagnostics(branch, f"{here}/Branches[{i}]")
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                diagnostics += _graph_diagnostics(state[key], f"{here}/{key}")
    if not terminal:
        diagnostics.append(_error("MISSING_END_STATE", "The workflow does not have a terminal state.", location or "/"))
    return diagnostics


def _error(code: str, message: str, location: str = "") -> dict[str, str]:
    diagnostic = {"severity": "ERROR", "code": code, "message": message}
    if location:
        diagnostic["location"] = location
    return diagnostic


def _validate_state_machine_definition(self: StepFunctionResponse) -> ActionResult:
    diagnostics = definition_diagnostics(self._get_param("definition"))
    return ActionResult({"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False})


# -- ListStateMachineVersions ------------------------------------------------------------------------
# "Lists versions for the specified state machine Amazon Resource Name (ARN). The results are sorted in
# descending order of the version creation time." (Step Functions API Reference, ListStateMachineVersions.)
# The provider reads it after creating an aws_sfn_state_machine (for its state_machine_version_arn).


def _list_state_machine_versions(self: StepFunctionResponse) -> ActionResult:
    arn = self._get_param("stateMachineArn")
    machine = next((m for m in self.stepfunction_backend.state_machines if m.arn == arn), None)
    if machine is None:
        raise ResourceNotFound(arn)
    versions = sorted(machine.versions.values(), key=lambda version: version.creation_date, reverse=True)
    return ActionResult(
        {
            "stateMachineVersions": [
                {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions
            ],
        }
    )


# -- A function's LoggingConfig ----------------------------------------------------------------------
# moto 5.2.5 neither keeps nor returns it, so every plan after the first saw the module's JSON logging as
# missing and updated every function. AWS keeps it and returns it from GetFunction: "By default, Lambda
# functions send logs to a default log group named /aws/lambda/<function name>" (Lambda API Reference,
# LoggingConfig), in Text format unless JSON is chosen, and for JSON the application and system log levels
# are INFO unless set ("Configuring advanced logging controls for Lambda functions", Lambda Developer Guide).


def logging_config(function_name: str, given: dict[str, Any] | None) -> dict[str, str]:
    """The LoggingConfig AWS reports for a function created or updated with ``given``."""
    config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}", **(given or {})}
    if config["LogFormat"] == "JSON":
        config = {"ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", **config}
    else:  # log levels apply to JSON logs only
        config.pop("ApplicationLogLevel", None)
        config.pop("SystemLogLevel", None)
    return config


def _init_function(original: Callable[..., None], function: LambdaFunction, *args: Any, **kwargs: Any) -> None:
    original(function, *args, **kwargs)
    spec = kwargs.get("spec", args[1] if len(args) > 1 else {})
    function.logging_config = logging_config(function.function_name, spec.get("LoggingConfig"))


def _function_configuration(
    original: Callable[..., dict[str, Any]], function: LambdaFunction, *args: Any, **kwargs: Any
) -> dict[str, Any]:
    configuration = original(function, *args, **kwargs)
    configuration["LoggingConfig"] = getattr(function, "logging_config", logging_config(function.function_name, None))
    return configuration


def _update_function_configuration(
    original: Callable[..., dict[str, Any]], function: LambdaFunction, updates: dict[str, Any]
) -> dict[str, Any]:
    if "LoggingConfig" in updates:
        function.logging_config = logging_config(function.function_name, updates["LoggingConfig"])
    return original(function, updates)


_RESPONSES: dict[str, Callable[..., ActionResult]] = {
    "validate_state_machine_definition": _validate_state_machine_definition,
    "list_state_machine_versions": _list_state_machine_versions,
}


def install(account_id: str) -> Patches:
    """Answer the provider's calls in moto's Step Functions responses, Lambda functions and IAM backend; the
    ``Patches`` undoes them."""
    patches = Patches()
    for name, method in _RESPONSES.items():
        patches.replace(StepFunctionResponse, name, method)
    patches.wrap(LambdaFunction, "__init__", _init_function)
    patches.wrap(LambdaFunction, "get_configuration", _function_configuration)
    patches.wrap(LambdaFunction, "update_configuration", _update_function_configuration)
    add_managed_policies(account_id)
    return patches
