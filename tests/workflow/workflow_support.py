"""What the workflow tests share: the state names, reading an execution's path, finishing a rollback by hand."""

from __future__ import annotations

import json
import shlex
from typing import Any

from emulator import Emulator, ExecutionRun
from emulator.template import read_application

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
    """Run the AWS CLI commands a RollbackFailed cause lists, as an operator would, against the emulator."""
    ecs, scaling = aws.client("ecs"), aws.client("application-autoscaling")
    for command in commands:
        words = shlex.split(command)
        options = dict(zip(words[3::2], words[4::2], strict=False))
        match words[:3]:
            case ["aws", "ecs", "update-service"]:
                revision = {"taskDefinition": options["--task-definition"]} if "--task-definition" in options else {}
                ecs.update_service(
                    cluster=options["--cluster"],
                    service=options["--service"],
                    desiredCount=int(options["--desired-count"]),
                    **revision,
                )
            case ["aws", "elbv2", "modify-target-group-attributes"]:
                key, value = (part.split("=", 1)[1] for part in options["--attributes"].split(","))
                aws.client("elbv2").modify_target_group_attributes(
                    TargetGroupArn=options["--target-group-arn"], Attributes=[{"Key": key, "Value": value}]
                )
            case ["aws", "elbv2", "delete-rule"]:
                aws.client("elbv2").delete_rule(RuleArn=options["--rule-arn"])
            case ["aws", "ecs", "stop-task"]:
                ecs.stop_task(cluster=options["--cluster"], task=options["--task"])
            case ["aws", "ecs", "wait"] if words[3] == "tasks-stopped":
                aws.clock.advance(60)  # the waiter polls until then; the emulator's clock need not be waited on
                tasks = ecs.describe_tasks(
                    cluster=words[words.index("--cluster") + 1], tasks=words[words.index("--tasks") + 1 :]
                )["tasks"]
                assert {task["lastStatus"] for task in tasks} == {"STOPPED"}, command
            case ["aws", "application-autoscaling", "register-scalable-target"]:
                suspended = dict(item.split("=") for item in options["--suspended-state"].split(","))
                scaling.register_scalable_target(
                    ServiceNamespace=options["--service-namespace"],
                    ResourceId=options["--resource-id"],
                    ScalableDimension=options["--scalable-dimension"],
                    MinCapacity=int(options["--min-capacity"]),
                    MaxCapacity=int(options["--max-capacity"]),
                    SuspendedState={key: value == "true" for key, value in suspended.items()},
                )
            case _:
                raise AssertionError(f"not a command an operator could run here: {command}")


def cause_of(run: ExecutionRun) -> dict[str, Any]:
    assert isinstance(run.cause, dict), run.cause
    assert isinstance(run.cause.get("message"), str) and run.cause["message"], run.cause
    return run.cause
