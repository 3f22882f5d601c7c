"""One fault at every Lambda step, then the next ``terraform apply``: Fleet serves, nothing is left changed, and
the upgrade finishes.

The steps come from the state machine itself (each Task state and the template function it invokes), so a new
step is swept without anyone adding it here. Each step meets three faults:

- ``before``: its invocation is refused for good (a Lambda service error outliving the state machine's retries):
  the step fails before doing anything;
- ``timeout``: it does its work and then Lambda answers as for a function that ran out of time
  (``Sandbox.Timedout``), every time it is invoked;
- ``stopped``: an operator stops the execution (StopExecution) right after the step returned.

Steps of the success path meet them in a migration that would have succeeded; steps of the rollback path in a
migration that fails. Then comes what the next ``terraform apply`` does in Fleet's Terraform order: Fleet's module
first (the services on the new revision), then the next attempt of the execution; when a migration task an
aborted execution left still runs, that attempt is ``MigrationInProgress``, and once the task ended, the next one.

The world is Fleet's Terraform order behind an Application Load Balancer, with the maintenance page, a target
group whose own deregistration delay the workflow lowers, autoscaling, the vulnerability service and a snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from emulator import Emulator, FleetDeployment
from emulator.cloudformation import read_application
from emulator.lambda_runtime import SANDBOX_TIMEDOUT
from fleet_migration.errors import CONTRACT_ERROR_NAMES

pytestmark = pytest.mark.emulator

APPLICATION = read_application()
ASL = json.loads(APPLICATION.state_machine.definition_path.read_text())
STATES: dict[str, dict] = ASL["States"]


def _function_of(state: dict) -> str | None:
    """The template function a Task state invokes (its ``${...FunctionArn}`` substitution), if any."""
    name = state.get("Parameters", {}).get("FunctionName", "")
    return APPLICATION.state_machine.substitutions.get(name.removeprefix("${").removesuffix("}"))


STEPS = {name: _function_of(state) for name, state in STATES.items() if state["Type"] == "Task"}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            state = STATES[name]
            todo += [state[key] for key in ("Next", "Default") if key in state]
            todo += [rule["Next"] for key in ("Choices", "Catch") for rule in state.get(key, [])]
    return seen


# Where every failure after the scale-down goes: the Task states from there on are the rollback path.
ROLLBACK_START = next(
    catch["Next"]
    for state in STATES.values()
    if state["Type"] == "Task"
    for catch in state.get("Catch", [])
    if catch["ErrorEquals"] == ["States.ALL"] and STATES[catch["Next"]]["Type"] == "Task"
)
ROLLBACK_PATH = [name for name in STEPS if name in _reachable(ROLLBACK_START)]  # in the definition's order
SUCCESS_PATH = [name for name in STEPS if name not in ROLLBACK_PATH]  # in the definition's order

UNTOUCHED = {"InvalidInput", "ResourceNotFound", "MigrationInProgress"}  # errors raised before any change
OWN_DELAY = 60  # the target group's deregistration delay, which the workflow lowers to its default 5 s
# What serves before Fleet's module moves the services: each service's first revision (the vulnerability service
# has its own family, one revision per apply, so its new revision is whatever the last apply registered)
SERVED = {"fleet": "fleet:1", "fleet-vuln-processing": "fleet-vuln-processing:1"}
# Steps after which an aborted execution leaves its migration task running (it starts it, or finds it running)
LEAVE_THE_TASK_RUNNING = {"RunTaskFunction", "PollTaskFunction"}


@dataclass(frozen=True)
class Fault:
    state: str
    kind: str  # "before", "timeout" or "stopped"

    @property
    def function(self) -> str:
        function = STEPS[self.state]
        assert function is not None, f"{self.state!r} invokes no template function"
        return function

    def inject(self, aws: Emulator) -> None:
        if self.kind == "before":
            aws.faults.inject(
                "lambda",
                "Invoke",
                code="ServiceException",
                message="Lambda is unable to run the function",
                times=None,
                when=lambda call: call.params["FunctionName"] == self.function,
            )
        elif self.kind == "timeout":
            aws.lambdas.time_out(self.function, times=None, error_type=SANDBOX_TIMEDOUT)
        else:
            aws.lambdas.after_return(self.function, lambda: stop_running_executions(aws))


KINDS = ("before", "timeout", "stopped")


def _case(*faults: Fault, migration_fails: bool = False) -> pytest.param:
    words = [f"{fault.function.removesuffix('Function')}-{fault.kind}" for fault in faults]
    return pytest.param(faults, migration_fails, id=("migration-fails-" if migration_fails else "") + "+".join(words))


CASES = [
    *(_case(Fault(state, kind)) for state in SUCCESS_PATH for kind in KINDS),
    *(_case(Fault(state, kind), migration_fails=True) for state in ROLLBACK_PATH for kind in KINDS),
    # two faults in one execution: a step, and then the rollback it led to
    *(
        _case(Fault(step, first), Fault(rollback, second))
        for step, first, rollback, second in [
            ("Scale the services down", "timeout", ROLLBACK_PATH[-1], "before"),
            ("Check the migration task", "before", ROLLBACK_PATH[0], "timeout"),
            ("Check whether the services are stable", "timeout", ROLLBACK_PATH[-1], "timeout"),
        ]
    ),
]


# -- what the sweep looks at ----------------------------------------------------------------------------------


def stop_running_executions(aws: Emulator) -> None:
    sfn = aws.client("stepfunctions")
    running = sfn.list_executions(stateMachineArn=aws.state_machine_arn, statusFilter="RUNNING")["executions"]
    for execution in running:
        sfn.stop_execution(executionArn=execution["executionArn"], error="Stopped", cause="stopped by an operator")


def settings(aws: Emulator, fleet: FleetDeployment) -> dict:
    """Everything the workflow changes and must put back (the services' revisions aside)."""
    elbv2 = aws.client("elbv2")
    services = {name: aws.service_state(fleet.cluster, name) for name in (fleet.service, fleet.vuln_service)}
    (group,) = elbv2.describe_target_groups(TargetGroupArns=[fleet.target_group_arn])["TargetGroups"]
    attributes = elbv2.describe_target_group_attributes(TargetGroupArn=fleet.target_group_arn)["Attributes"]
    rules = elbv2.describe_rules(ListenerArn=fleet.listener_arn)["Rules"]
    return {
        "services": services,
        "target_group": {
            "attributes": {a["Key"]: a["Value"] for a in attributes},
            "health_check": {key: value for key, value in group.items() if key.startswith(("Health", "Unhealthy"))},
        },
        "listener_rules": [(r["Priority"], r["Conditions"], r["Actions"]) for r in rules],
    }


def revisions(aws: Emulator, fleet: FleetDeployment) -> dict[str, str]:
    described = aws.client("ecs").describe_services(
        cluster=fleet.cluster, services=[fleet.service, fleet.vuln_service]
    )["services"]
    return {s["serviceName"]: s["taskDefinition"].rsplit("/", 1)[-1] for s in described}


def running_revisions(aws: Emulator, fleet: FleetDeployment, service: str) -> list[str]:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=service)["taskArns"]
    tasks = ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"] if arns else []
    return sorted(t["taskDefinitionArn"].rsplit("/", 1)[-1] for t in tasks if t["lastStatus"] == "RUNNING")


def crashed_tasks(aws: Emulator, fleet: FleetDeployment, service: str) -> int:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=service, desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"] if arns else []
    return sum(1 for t in tasks if any(c.get("exitCode") not in (0, None, 137, 143) for c in t["containers"]))


def assert_fleet_serves(aws: Emulator, fleet: FleetDeployment, revision: dict[str, str], expected: dict) -> None:
    """Each service runs its count of tasks, all on its ``revision``, none crashing; every Fleet target is healthy
    and the load balancer answers."""
    counts = {name: state["desired_count"] for name, state in expected["services"].items()}

    def settled() -> bool:
        return all(running_revisions(aws, fleet, s) == [revision[s]] * count for s, count in counts.items())

    # A rollback that put a revision back leaves the replaced deployment's tasks until the new ones count: healthy
    # in the target group (10 s in the tests), or, for the vulnerability service without a load balancer, 40 s
    # after RUNNING; the emulator's clock moves on until then
    for _ in range(12):
        aws.clock.advance(10)
        if settled() and aws.elb.healthy_count(fleet.target_group_arn) == counts[fleet.service]:
            break
    for service, count in counts.items():
        assert running_revisions(aws, fleet, service) == [revision[service]] * count, service
    assert aws.elb.healthy_count(fleet.target_group_arn) == counts[fleet.service]
    assert aws.elb.answer(fleet.listener_arn)[0] == 200
    crashes = {service: crashed_tasks(aws, fleet, service) for service in counts}
    aws.clock.advance(30)
    assert {service: crashed_tasks(aws, fleet, service) for service in counts} == crashes, "a crash loop"


def fleets_module(aws: Emulator, fleet: FleetDeployment) -> dict[str, str]:
    """``terraform apply`` of Fleet's module: both services on their new revision (before the migration runs).
    Each service's new revision."""
    aws.deploy_revision(fleet.latest_revision, service=fleet.service)
    return revisions(aws, fleet)


# -- the sweep ------------------------------------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[Emulator]:
    with Emulator(simulated=True) as emulator:
        yield emulator


@pytest.fixture
def world(aws: Emulator) -> tuple[FleetDeployment, dict[str, str]]:
    fleet = aws.seed_fleet(databases=True)
    aws.client("elbv2").modify_target_group_attributes(
        TargetGroupArn=fleet.target_group_arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(OWN_DELAY)}],
    )
    new = fleets_module(aws, fleet)  # Fleet's Terraform order: the new revision's tasks exit 1, the old ones serve
    aws.clock.advance(10)
    return fleet, new


def test_the_sweep_covers_every_function_the_state_machine_invokes():
    invoked = {function for function in STEPS.values() if function}
    # every function of the template is a step, but those an event source invokes (the trigger)
    steps = {
        logical_id
        for logical_id in APPLICATION.functions
        if not APPLICATION.template["Resources"][logical_id]["Properties"].get("Events")
    }
    swept = {fault.function for param in CASES for fault in param.values[0]}

    assert invoked == steps
    assert swept == invoked
    assert len(ROLLBACK_PATH) >= 2 and ROLLBACK_PATH[0] == ROLLBACK_START


@pytest.mark.parametrize(("faults", "migration_fails"), CASES)
def test_after_a_fault_fleet_serves_and_the_next_apply_finishes_the_upgrade(aws, world, faults, migration_fails):
    fleet, new = world
    # A look every 5 s from the start: what the sweep checks does not depend on how often the steps look, and on the
    # simulated clock a third fewer looks is a third less CPU than the default's 1 s looks while a wait is young.
    document = fleet.migration_input(
        poll_interval_seconds=5, maintenance_page=True, db_cluster_identifier=fleet.db_cluster
    )
    before, served_before = settings(aws, fleet), revisions(aws, fleet)
    assert served_before == new and new[fleet.service] == f"fleet:{fleet.latest_revision}"
    assert new[fleet.vuln_service].startswith("fleet-vuln-processing:") and new != SERVED
    if migration_fails:
        aws.next_migration(exit_code=1)
    leaves_a_task = any(f.kind == "stopped" and f.function in LEAVE_THE_TASK_RUNNING for f in faults)
    if leaves_a_task:
        aws.next_migration(exit_code=0, run_seconds=600)  # outlives the aborted execution, then ends by itself
    for fault in faults:
        fault.inject(aws)

    # WHEN the faulty execution runs
    run = aws.run(document, name="fleet-fleet-r2")

    # THEN it ends with a contract error (or was stopped), and unless its rollback failed Fleet serves as before
    aws.faults.clear()
    aws.lambdas.clear()
    if any(f.kind == "stopped" for f in faults):
        assert run.status == "ABORTED", (run.status, run.error, run.cause)
    else:
        assert run.status == "FAILED" and run.error in CONTRACT_ERROR_NAMES, (run.status, run.error, run.cause)
        assert isinstance(run.cause, dict) and run.cause.get("message"), run.cause
    if run.status == "FAILED" and run.error in UNTOUCHED:
        assert (settings(aws, fleet), revisions(aws, fleet)) == (before, served_before)
    elif run.status == "FAILED" and run.error != "RollbackFailed":
        applied = aws.fleet_db.level == aws.fleet_db.level_of(fleet.images[fleet.latest_revision])
        serving = new if applied and run.error == "ServiceNotStable" else SERVED
        assert revisions(aws, fleet) == serving, run.cause
        assert_fleet_serves(aws, fleet, serving, before)
        assert settings(aws, fleet) == before, run.cause

    # WHEN the next terraform apply runs: Fleet's module, then the next attempt (after one that is still migrating)
    new = fleets_module(aws, fleet)
    attempt = 2
    next_run = aws.run(document, name=f"fleet-fleet-r2-a{attempt}")
    if leaves_a_task:
        assert (next_run.status, next_run.error) == ("FAILED", "MigrationInProgress"), next_run.cause
        aws.clock.advance(700)  # the task the aborted execution left ends by itself
        attempt += 1
        next_run = aws.run(document, name=f"fleet-fleet-r2-a{attempt}")

    # THEN Fleet serves the new revision, everything is as before, and no migration task runs
    assert next_run.status == "SUCCEEDED", (next_run.error, next_run.cause)
    assert aws.fleet_db.level == aws.fleet_db.level_of(fleet.images[fleet.latest_revision])
    assert revisions(aws, fleet) == new
    assert_fleet_serves(aws, fleet, new, before)
    assert settings(aws, fleet) == before
    assert aws.ecs_sim.running_tasks(one_off=True) == []
