"""State machine definitions as Step Functions checks and lists them, where moto lacks the call.

The Terraform AWS provider calls both while planning and after creating an aws_sfn_state_machine; ``install()``
answers them in moto's Step Functions responses, in-process and in server mode alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import ResourceNotFound
from moto.stepfunctions.parser.api import InvalidDefinition
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from emulator.patching import Patches

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


_RESPONSES: dict[str, Callable[..., ActionResult]] = {
    "validate_state_machine_definition": _validate_state_machine_definition,
    "list_state_machine_versions": _list_state_machine_versions,
}


def install() -> Patches:
    """Answer ValidateStateMachineDefinition and ListStateMachineVersions; the ``Patches`` undoes it."""
    patches = Patches()
    for name, method in _RESPONSES.items():
        patches.replace(StepFunctionResponse, name, method)  # moto has neither: nothing to wrap
    return patches
