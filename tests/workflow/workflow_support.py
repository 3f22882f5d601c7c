"""What the workflow tests share: the state names, reading an execution's path, finishing a rollback by hand."""

from __future__ import annotations

import json
import shlex
from typing import Any

from botocore import xform_name

from emulator import Emulator, ExecutionRun
from emulator.cloudformation import read_application

STATES: dict[str, dict] = json.loads(read_application().state_machine.definition_path.read_text())["States"]
TASK_STATES = [name for name, state in STATES.items() if state["Type"] == "Task"]

DESCRIBE = "Validate the input and describe the services"
SCALE_DOWN = "Scale the services down"
CHECK_DRAINED = "Check whether the services drained"
RUN_TASK = "Run the migration task"
POLL_TASK = "Check the migration task"
SCALE_UP = "Scale the services up"
CHECK_STABLE = "Check whether the services are stable"
ROLLBACK = "Restore the services, or roll forward if the migration was applied"
SUCCEEDED = "Migration succeeded"

FAIL_STATE = {state["Error"]: name for name, state in STATES.items() if state["Type"] == "Fail" and "Error" in state}
FAIL_STATE["RollbackFailed"] = "The rollback failed"


def tasks_entered(run: ExecutionRun) -> list[str]:
    """The Task states entered, in order, each loop's repeats collapsed."""
    entered = [name for name in run.states_entered if name in TASK_STATES]
    return [name for i, name in enumerate(entered) if i == 0 or entered[i - 1] != name]


def follows(run: ExecutionRun, *path: str) -> bool:
    """Whether the execution entered these states in this order (others may come between)."""
    entered = iter(run.states_entered)
    return all(any(name == state for name in entered) for state in path)


def last_state(run: ExecutionRun) -> str:
    return run.states_entered[-1]


def retried_errors(run: ExecutionRun) -> list[str]:
    """The errors of failed task attempts (a Retry ran after each, or a Catch took over)."""
    return [e["taskFailedEventDetails"]["error"] for e in run.events if e["type"] == "TaskFailed"]


def restore_by_hand(aws: Emulator, commands: list[str]) -> None:
    """Run the AWS CLI commands a cause lists, in order, as an operator would, against the emulator: each
    ``aws <service> <command> --option value ...`` becomes the SDK call the AWS CLI makes, its options read by the
    operation's model the way the CLI reads them (``--cli-input-json``, lists, shorthand ``Key=value,...``)."""
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "aws", f"not an AWS CLI command: {command}"
        if words[1:3] == ["ecs", "wait"]:
            assert words[3] == "tasks-stopped", command
            aws.clock.advance(60)  # the waiter polls until then; the emulator's clock need not be waited on
            tasks = aws.client("ecs").describe_tasks(
                cluster=words[words.index("--cluster") + 1], tasks=words[words.index("--tasks") + 1 :]
            )["tasks"]
            assert {task["lastStatus"] for task in tasks} == {"STOPPED"}, command
            continue
        client = aws.client(words[1])
        operation = _operation(client, words[2], command)
        getattr(client, xform_name(operation.name))(**_parameters(operation, words[3:], command))


def _operation(client: Any, verb: str, command: str) -> Any:
    model = client.meta.service_model
    names = [name for name in model.operation_names if xform_name(name, "-") == verb]
    assert names, f"no {verb} in {model.service_name}: {command}"
    return model.operation_model(names[0])


def _parameters(operation: Any, words: list[str], command: str) -> dict[str, Any]:
    members = {xform_name(name, "-"): (name, shape) for name, shape in operation.input_shape.members.items()}
    parameters: dict[str, Any] = {}
    i = 0
    while i < len(words):
        option = words[i]
        assert option.startswith("--"), f"{option} is not an option: {command}"
        values = []
        i += 1
        while i < len(words) and not words[i].startswith("--"):
            values.append(words[i])
            i += 1
        if option == "--cli-input-json":
            parameters.update(json.loads(values[0]))
            continue
        assert option[2:] in members, f"{option} is not an option of {operation.name}: {command}"
        name, shape = members[option[2:]]
        parameters[name] = _value(shape, values, command)
    return parameters


def _value(shape: Any, values: list[str], command: str) -> Any:
    if shape.type_name == "list":
        if len(values) == 1 and values[0].lstrip().startswith("["):
            return json.loads(values[0])  # the CLI reads a JSON value as the whole list (--default-actions '[...]')
        return [_value(shape.member, [value], command) for value in values]
    (value,) = values
    if value.lstrip().startswith(("{", "[")):
        return json.loads(value)
    if shape.type_name == "structure":  # shorthand: Key=value,Other=value
        fields = dict(item.split("=", 1) for item in value.split(","))
        return {key: _value(shape.members[key], [text], command) for key, text in fields.items()}
    if shape.type_name in ("integer", "long"):
        return int(value)
    if shape.type_name == "boolean":
        assert value in ("true", "false"), command
        return value == "true"
    return value


def cause_of(run: ExecutionRun) -> dict[str, Any]:
    assert isinstance(run.cause, dict), run.cause
    assert isinstance(run.cause.get("message"), str) and run.cause["message"], run.cause
    return run.cause
