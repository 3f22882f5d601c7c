"""Least privilege, checked against what the code really does.

Workflows run on the emulator (success, failed migration, timed-out migration, a second migration
refused while one runs, the EventBridge trigger) while every AWS call a step makes is recorded with
the function that made it. Then, per function: the actions its role allows are exactly the actions
it called (plus the ones AWS authorizes alongside them); every recorded call is allowed by the role
on its real resource ARN; calls on anything outside the configured cluster, services, family and
task roles are not.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.client import BaseClient

from emulator import Emulator
from emulator.fleet.load_balancer import TargetGroupSettings
from template_support import (
    ACCOUNT,
    PARAMETERS,
    REGION,
    TEMPLATE,
    Request,
    Resolver,
    allows,
    as_list,
    function_arn,
    inline_statements,
    load_template,
    statement_actions,
    translate,
)

STATE_MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:fleet-migration"
AN_EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:fleet-migration:iam-success"
ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}"

# Actions AWS authorizes on top of the API action itself.
IMPLIED = {
    # RunTask passes the task definition's execution and task roles to ECS.
    "ecs:RunTask": ["iam:PassRole"],
    # RegisterTaskDefinition (the rollback's copy of a deregistered serving revision) passes its roles too.
    # and its tags need ecs:TagResource ("Grant permission to tag resources on creation", ECS Developer Guide).
    "ecs:RegisterTaskDefinition": ["iam:PassRole", "ecs:TagResource"],
    # Tags on CreateRule need elasticloadbalancing:AddTags (the keep-alive rule's fleet-migration:execution tag).
    "elasticloadbalancing:CreateRule": ["elasticloadbalancing:AddTags"],
    # Application Auto Scaling checks that the caller of RegisterScalableTarget may describe and
    # update the ECS service behind the target.
    "application-autoscaling:RegisterScalableTarget": ["ecs:DescribeServices", "ecs:UpdateService"],
    # Tags on CreateDBClusterSnapshot/CreateDBSnapshot need rds:AddTagsToResource (Service Authorization Reference).
    "rds:CreateDBClusterSnapshot": ["rds:AddTagsToResource"],
    "rds:CreateDBSnapshot": ["rds:AddTagsToResource"],
}

# Actions the Lambda service performs with a function's role, not its code: the trigger's asynchronous
# invocations that fail go to its on-failure destination, an SQS queue ("Capturing records of asynchronous
# invocations", AWS Lambda Developer Guide).
SERVICE_USES_ROLE = {"TriggerFunction": {"sqs:SendMessage"}}

# Where Resource "*" is allowed, and why. Anything else with "*" fails test_resource_star_only_where_iam_needs_it.
STAR_RESOURCES = {
    "ecs:DescribeTaskDefinition": "no resource-level permissions",
    "ecs:ListTaskDefinitions": "no resource-level permissions",
    "application-autoscaling:DescribeScalableTargets": "no resource-level permissions",
    "ecs:ListTasks": "no resource of its own for Fargate tasks; scoped by the ecs:cluster condition",
    "logs:CreateLogDelivery": "Step Functions log delivery: no resource-level permissions",
    "logs:GetLogDelivery": "Step Functions log delivery: no resource-level permissions",
    "logs:UpdateLogDelivery": "Step Functions log delivery: no resource-level permissions",
    "logs:DeleteLogDelivery": "Step Functions log delivery: no resource-level permissions",
    "logs:ListLogDeliveries": "Step Functions log delivery: no resource-level permissions",
    "logs:PutResourcePolicy": "Step Functions log delivery: no resource-level permissions",
    "logs:DescribeResourcePolicies": "Step Functions log delivery: no resource-level permissions",
    "logs:DescribeLogGroups": "Step Functions log delivery: no resource-level permissions",
    **{
        f"elasticloadbalancing:{action}": "Elastic Load Balancing's Describe actions: no resource-level permissions"
        for action in (
            "DescribeTargetGroupAttributes",
            "DescribeTargetGroups",
            "DescribeListeners",
            "DescribeRules",
            "DescribeTags",
            "DescribeTargetHealth",
            "DescribeLoadBalancers",
        )
    },
}
STAR_NEEDS_CONDITION = {"ecs:ListTasks": "ecs:cluster"}

# AWS managed policies SAM attaches: logging (every function) and X-Ray (Tracing: Active / Enabled).
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


@dataclass(frozen=True)
class Call:
    function: str
    service: str  # the IAM prefix (the SDK's signing name)
    operation: str
    params: dict[str, Any]
    invocation: int = 0

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"


@dataclass
class Recording:
    calls: list[Call]
    task_definition_roles: dict[str, list[str]]

    def by_function(self) -> dict[str, list[Call]]:
        grouped: dict[str, list[Call]] = defaultdict(list)
        for call in self.calls:
            grouped[call.function].append(call)
        return grouped


# -- the requests IAM authorizes for a call --------------------------------------------------------


def _ecs_arn(kind: str, path: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:{kind}/{path}"


def _short(name_or_arn: str) -> str:
    return name_or_arn.rsplit("/", 1)[-1]


def _cluster_arn(cluster: str) -> str:
    return cluster if cluster.startswith("arn:") else _ecs_arn("cluster", cluster)


def _service_arn(cluster: str, service: str) -> str:
    return service if service.startswith("arn:") else _ecs_arn("service", f"{_short(cluster)}/{service}")


def _task_definition_arn(reference: str) -> str:
    return reference if reference.startswith("arn:") else _ecs_arn("task-definition", reference)


def _privileged(request: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """ecs:privileged of a RegisterTaskDefinition request: whether a container of it is privileged."""
    privileged = any(c.get("privileged") for c in request.get("containerDefinitions", []))
    return (("ecs:privileged", "true" if privileged else "false"),)


def requests_for(call: Call, roles: dict[str, list[str]]) -> list[Request]:
    p, action = call.params, call.action
    cluster = p.get("cluster", "default")
    in_cluster = (("ecs:cluster", _cluster_arn(cluster)),)
    if action == "ecs:DescribeClusters":
        return [Request(action, _cluster_arn(c)) for c in p["clusters"]]
    if action == "ecs:DescribeServices":
        return [Request(action, _service_arn(cluster, s), in_cluster) for s in p["services"]]
    if action == "ecs:UpdateService":
        # the revision it puts the service on is the ecs:task-definition key; a count alone carries none
        revision = (
            (("ecs:task-definition", _task_definition_arn(p["taskDefinition"])),) if "taskDefinition" in p else ()
        )
        return [Request(action, _service_arn(cluster, p["service"]), in_cluster + revision)]
    if action == "ecs:ListTasks":
        return [Request(action, "*", in_cluster)]
    if action == "ecs:DescribeTasks":
        return [Request(action, t, in_cluster) for t in p["tasks"]]
    if action == "ecs:StopTask":
        return [Request(action, p["task"], in_cluster)]
    if action == "ecs:DescribeTaskDefinition":
        return [Request(action, "*")]
    if action == "ecs:DescribeContainerInstances":
        return [Request(action, c, in_cluster) for c in p["containerInstances"]]
    if action == "ecs:RegisterTaskDefinition":
        passed = [
            Request(
                "iam:PassRole",
                p[key],
                (("iam:PassedToService", "ecs-tasks.amazonaws.com"),),
                "implied by RegisterTaskDefinition",
            )
            for key in ("executionRoleArn", "taskRoleArn")
            if p.get(key)
        ]
        # the revision it creates is the family's next: any revision number stands for it
        created = _ecs_arn("task-definition", f"{p['family']}:999")
        tagged = [
            Request(
                "ecs:TagResource",
                created,
                (("ecs:CreateAction", "RegisterTaskDefinition"),),
                "implied by RegisterTaskDefinition with tags",
            )
        ]
        return [Request(action, created, _privileged(p)), *passed, *(tagged if p.get("tags") else [])]
    if action == "ecs:ListTaskDefinitions":
        return [Request(action, "*")]
    if action == "ecs:RunTask":
        definition = p["taskDefinition"]
        arn = definition if definition.startswith("arn:") else _ecs_arn("task-definition", definition)
        passed = [
            Request("iam:PassRole", role, (("iam:PassedToService", "ecs-tasks.amazonaws.com"),), "implied by RunTask")
            for role in roles[arn]
        ]
        return [Request(action, arn, in_cluster), *passed]
    if action == "application-autoscaling:DescribeScalableTargets":
        return [Request(action, "*")]
    if action == "application-autoscaling:RegisterScalableTarget":
        _, target_cluster, service = p["ResourceId"].split("/")
        target = f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/0123456789abcdef0123456789abcdef"
        checked = _service_arn(target_cluster, service)
        return [
            Request(action, target),
            Request("ecs:DescribeServices", checked, why="checked by Application Auto Scaling"),
            Request("ecs:UpdateService", checked, why="checked by Application Auto Scaling"),
        ]
    if action == "states:ListExecutions":
        return [Request(action, p["stateMachineArn"])]
    if action in ("states:DescribeExecution", "states:GetExecutionHistory"):
        return [Request(action, p["executionArn"])]
    if action == "states:StartExecution":
        return [Request(action, p["stateMachineArn"])]
    if action == "logs:GetLogEvents":
        return [
            Request(
                action, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{p['logGroupName']}:log-stream:{p['logStreamName']}"
            )
        ]
    if action.startswith("rds:"):
        return _rds_requests(action, p)
    if action.startswith("elasticloadbalancing:"):
        return _elb_requests(action, p)
    raise AssertionError(f"{call.function} calls {action}: teach requests_for which resource IAM checks for it")


def _elb_requests(action: str, p: dict[str, Any]) -> list[Request]:
    """The resources IAM checks for an Elastic Load Balancing call (Service Authorization Reference)."""
    if action.split(":")[1].startswith("Describe"):
        return [Request(action, "*")]
    if action in ("elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:ModifyTargetGroup"):
        return [Request(action, p["TargetGroupArn"])]
    if action == "elasticloadbalancing:CreateRule":
        rule = p["ListenerArn"].replace(":listener/", ":listener-rule/") + "/0123456789abcdef"
        tagged = [
            Request(
                "elasticloadbalancing:AddTags",
                rule,
                (("elasticloadbalancing:CreateAction", "CreateRule"), ("aws:TagKeys", tag["Key"])),
                "Tags on CreateRule",
            )
            for tag in p.get("Tags", [])
        ]
        return [Request(action, p["ListenerArn"]), *tagged]
    if action == "elasticloadbalancing:ModifyRule":
        return [Request(action, p["RuleArn"])]
    if action == "elasticloadbalancing:ModifyListener":
        return [Request(action, p["ListenerArn"])]
    if action == "elasticloadbalancing:AddTags":
        return [Request(action, arn, (("aws:TagKeys", tag["Key"]),)) for arn in p["ResourceArns"] for tag in p["Tags"]]
    if action == "elasticloadbalancing:RemoveTags":
        return [Request(action, arn, (("aws:TagKeys", key),)) for arn in p["ResourceArns"] for key in p["TagKeys"]]
    if action == "elasticloadbalancing:DeleteRule":
        # the steps delete only the rules they created, tagged fleet-migration:execution with their execution's ARN
        return [Request(action, p["RuleArn"], (("aws:ResourceTag/fleet-migration:execution", AN_EXECUTION),))]
    raise AssertionError(f"teach _elb_requests which resource IAM checks for {action}")


def _rds_arn(kind: str, name: str) -> str:
    return f"arn:aws:rds:{REGION}:{ACCOUNT}:{kind}:{name}"


def _rds_requests(action: str, p: dict[str, Any]) -> list[Request]:
    """The resources IAM checks for an RDS call (Service Authorization Reference, Amazon RDS)."""
    requests = []
    if "DBClusterIdentifier" in p:
        requests.append(Request(action, _rds_arn("cluster", p["DBClusterIdentifier"])))
    if "DBInstanceIdentifier" in p:
        requests.append(Request(action, _rds_arn("db", p["DBInstanceIdentifier"])))
    for key, kind in (("DBClusterSnapshotIdentifier", "cluster-snapshot"), ("DBSnapshotIdentifier", "snapshot")):
        if key in p:
            requests.append(Request(action, _rds_arn(kind, p[key])))
            if p.get("Tags"):
                requests.append(Request("rds:AddTagsToResource", _rds_arn(kind, p[key]), why=f"Tags on {action}"))
    assert requests, f"teach _rds_requests which resource IAM checks for {action}"
    return requests


# -- recording -------------------------------------------------------------------------------------


_INVOCATIONS = itertools.count(1)  # numbered across recordings: a number is one invocation


def _start_recording(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Every AWS call a step makes from now on, with the function that made it (the list fills as they run)."""
    calls: list[Call] = []
    current = threading.local()
    original_invoke = aws.lambdas.invoke
    original_call = BaseClient._make_api_call

    def invoke(name: str, arn: str, body: Any, response_headers: dict[str, str]) -> bytes:
        current.function = name
        current.invocation = next(_INVOCATIONS)
        try:
            return original_invoke(name, arn, body, response_headers)
        finally:
            current.function = None

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        function = getattr(current, "function", None)
        if function:
            calls.append(
                Call(
                    function,
                    client.meta.service_model.signing_name,
                    operation,
                    copy.deepcopy(params),
                    current.invocation,
                )
            )
        return original_call(client, operation, params)

    monkeypatch.setattr(aws.lambdas, "invoke", invoke)
    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    return calls


def _record_workflows(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    calls = _start_recording(aws, monkeypatch)
    fleet = aws.seed_fleet(databases=True)
    # A rule of the operator's own on Fleet's listener: the maintenance page goes before it, and finding the
    # page's own rules reads the listener's rules' tags
    aws.client("elbv2").create_rule(
        ListenerArn=fleet.listener_arn,
        Priority=100,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/v1/osquery/*"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": fleet.target_group_arn}],
    )

    def document(**overrides: Any) -> dict[str, Any]:
        return fleet.migration_input(poll_interval_seconds=5, **overrides)

    # GIVEN a successful migration, with a maintenance page while Fleet is down
    assert aws.run(document(maintenance_page=True), name="iam-success").status == "SUCCEEDED"
    # one that does not wait for stability: the scale-up step takes the page down itself
    assert (
        aws.run(document(maintenance_page=True, stabilize_timeout_seconds=0), name="iam-no-wait").status == "SUCCEEDED"
    )
    # one with a snapshot of the Aurora cluster first (the stack's DbClusterIdentifier)
    assert aws.run(document(db_cluster_identifier=fleet.db_cluster), name="iam-snapshot").status == "SUCCEEDED"
    # a migration whose command fails: rollback restores
    aws.next_migration(exit_code=3)
    failure = document(maintenance_page=True, db_cluster_identifier=fleet.db_cluster)  # its cause reads the snapshot
    assert aws.run(failure, name="iam-failure").error == "MigrationFailed"
    # a migration that never ends (it is stopped), and meanwhile a second one for the same service
    aws.next_migration(runs_forever=True)
    # (its timeout is long enough in emulated time for the second one to find it running, however slow the machine)
    slow = aws.start(document(timeout_seconds=120), name="iam-timeout")
    aws.until(lambda: aws.ecs_sim.running_tasks(one_off=True), "the migration task starting")
    assert aws.run(document(), name="iam-second").error == "MigrationInProgress"
    aws.clock.advance(120)
    assert aws.wait(slow).error == "MigrationTimeout"
    # the poll step fails once (a lasting AWS error): the rollback finds the migration task still running and stops it
    aws.next_migration(runs_forever=True)
    aws.faults.inject(
        "ecs",
        "DescribeTasks",
        code="AccessDeniedException",
        message="not authorized",
        times=1,
        # the running migration task only: the describe step reads earlier, stopped ones of the family
        when=lambda call: (
            bool(call.params.get("tasks"))
            and all(arn in aws.ecs_sim.running_tasks(one_off=True) for arn in call.params["tasks"])
        ),
    )
    assert aws.run(document(), name="iam-poll-refused").error == "MigrationFailed"
    aws.clock.advance(60)  # the stopped task reaches STOPPED
    # RunTask refused while a task of the service is kept: rollback looks for a task started unreported
    aws.ecs_sim.run_task_failures.append(
        {"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x", "reason": "RESOURCE:MEMORY"}
    )
    assert aws.run(document(capacity_during_migration=1), name="iam-no-capacity").error == "TaskFailedToStart"
    # an execution stopped mid-migration: the next attempt reads what it captured from its history
    # (its task runs long enough in emulated time for the next attempt to find it, however slow the machine)
    aws.next_migration(exit_code=0, run_seconds=600)
    aborted = aws.start(document(maintenance_page=True), name="iam-aborted")  # it leaves its page up
    aws.until(lambda: aws.ecs_sim.running_tasks(one_off=True), "the migration task starting")
    aws.client("stepfunctions").stop_execution(executionArn=aborted)
    assert aws.wait(aborted).status == "ABORTED"
    # while its migration task still runs, the next attempt finds it and refuses (however slow the machine)
    assert aws.run(document(), name="iam-blocked").error == "MigrationInProgress"
    aws.clock.advance(610)
    after = aws.run(document(), name="iam-after-abort")
    assert after.status == "SUCCEEDED", (after.error, after.cause)
    # Fleet's new tasks crash after the scale-up: the stability check reads why its stopped tasks stopped
    aws.service_behaviour(fleet.service).crash_exit_code = 1
    crashing = document(db_cluster_identifier=fleet.db_cluster)  # its cause reads the snapshot
    assert aws.run(crashing, name="iam-crashing").error == "ServiceNotStable"
    aws.service_behaviour(fleet.service).crash_exit_code = None
    # Fleet's Terraform order: the serving revision deregistered, the service moved to the new one; the failed
    # migration's rollback registers the serving revision again
    # the EventBridge trigger for a new revision, and the execution it starts
    for name, value in _trigger_environment(fleet).items():
        monkeypatch.setenv(name, value)
    event = json.dumps(_registered_event(fleet.task_definition, fleet.latest_revision))
    answer = json.loads(aws.lambdas.invoke("TriggerFunction", function_arn("TriggerFunction"), event, {}))
    assert answer["action"] == "started", answer
    assert aws.wait(answer["execution_arn"]).status == "SUCCEEDED"
    aws.clock.advance(60)  # Fleet serves again after the crashes above
    aws.ecs_sim.migration_outcomes.clear()
    ecs = aws.client("ecs")
    ecs.deregister_task_definition(taskDefinition=f"fleet:{fleet.service_revision}")
    # the vulnerability service's serving revision too, of its own family (fleet-terraform's external-vuln-scans):
    # the rollback registers and tags a copy of it as well
    vuln = ecs.describe_services(cluster=fleet.cluster, services=[fleet.vuln_service])["services"][0]
    ecs.deregister_task_definition(taskDefinition=vuln["taskDefinition"])
    aws.deploy_revision(fleet.latest_revision)
    aws.next_migration(exit_code=1)
    assert aws.run(document(), name="iam-copy-back").error == "MigrationFailed"
    # a configuration-only revision on a mutable tag, in Fleet's Terraform order: nothing to migrate once its own
    # tasks are healthy in Fleet's target group (DescribeTargetHealth)
    serving = ecs.describe_services(cluster=fleet.cluster, services=[fleet.service])["services"][0]["taskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=serving)["taskDefinition"]
    container = {**definition["containerDefinitions"][0], "image": "fleetdm/fleet:latest"}
    shape = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "taskRoleArn")
    latest = ecs.register_task_definition(**{k: definition[k] for k in shape}, containerDefinitions=[container])
    revision = latest["taskDefinition"]["revision"]
    aws.deploy_revision(revision)
    aws.clock.advance(60)
    skipped = aws.run(document(task_definition_revision=revision), name="iam-nothing-to-migrate")
    assert skipped.status == "SUCCEEDED" and "already serve" in skipped.output["skipped"], skipped
    return calls


def _record_instance_target_group(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Fleet on EC2 with bridge networking behind a target group of type instance, in Fleet's Terraform order: the
    stability check finds its tasks' targets by container instance and host port."""
    calls = _start_recording(aws, monkeypatch)
    fleet = aws.seed_fleet(network_mode="bridge")
    aws.deploy_revision(fleet.latest_revision)
    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="iam-instance-targets")
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    # a configuration-only revision whose own tasks already serve: the describe step finds them by their targets
    ecs = aws.client("ecs")
    serving = ecs.describe_services(cluster=fleet.cluster, services=[fleet.service])["services"][0]["taskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=serving)["taskDefinition"]
    shape = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "taskRoleArn")
    latest = ecs.register_task_definition(
        **{k: definition[k] for k in shape if definition.get(k)},
        containerDefinitions=[{**definition["containerDefinitions"][0], "image": "fleetdm/fleet:latest"}],
    )
    revision = latest["taskDefinition"]["revision"]
    aws.deploy_revision(revision)
    aws.clock.advance(60)
    skipped = aws.run(
        fleet.migration_input(poll_interval_seconds=5, task_definition_revision=revision), name="iam-bridge-skip"
    )
    assert skipped.status == "SUCCEEDED" and "already serve" in skipped.output["skipped"], skipped
    return calls


def _task_definition_roles(aws: Emulator, calls: list[Call]) -> dict[str, list[str]]:
    ecs = aws.client("ecs")
    roles = {}
    for call in calls:
        if call.action == "ecs:RunTask":
            definition = ecs.describe_task_definition(taskDefinition=call.params["taskDefinition"])["taskDefinition"]
            roles[definition["taskDefinitionArn"]] = [
                definition[key] for key in ("executionRoleArn", "taskRoleArn") if definition.get(key)
            ]
    return roles


def _trigger_environment(fleet: Any) -> dict[str, str]:
    return {
        "STATE_MACHINE_ARN": STATE_MACHINE,
        "ECS_CLUSTER": fleet.cluster,
        "ECS_SERVICE": fleet.service,
        "VULN_SERVICE": fleet.vuln_service or "",
        "TASK_DEFINITION_FAMILY": fleet.task_definition,
        "SUBNETS": ",".join(fleet.subnets),
        "SECURITY_GROUPS": ",".join(fleet.security_groups),
        "INPUT_OVERRIDES": json.dumps({"poll_interval_seconds": 1}),
        "TRIGGER_PRINCIPAL_ARNS": PARAMETERS["TriggerPrincipalArns"],
    }


def _registered_event(family: str, revision: int) -> dict[str, Any]:
    arn = _ecs_arn("task-definition", f"{family}:{revision}")
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ecs",
        "account": ACCOUNT,
        "time": "2026-01-01T12:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "userIdentity": {"sessionContext": {"sessionIssuer": {"arn": PARAMETERS["TriggerPrincipalArns"]}}},
            "eventSource": "ecs.amazonaws.com",
            "eventName": "RegisterTaskDefinition",
            "requestParameters": {"family": family},
            "responseElements": {"taskDefinition": {"taskDefinitionArn": arn, "family": family, "revision": revision}},
        },
    }


@pytest.fixture(scope="module")
def recording() -> Recording:
    # Health checks the scale-up makes faster, and a deregistration delay the scale-down lowers
    target_group = TargetGroupSettings(
        interval=10, timeout=5, healthy_threshold=3, unhealthy_threshold=2, deregistration_delay=30
    )
    with pytest.MonkeyPatch.context() as monkeypatch, Emulator(simulated=True, target_group=target_group) as aws:
        calls = _record_workflows(aws, monkeypatch)
        roles = _task_definition_roles(aws, calls)
    with pytest.MonkeyPatch.context() as monkeypatch, Emulator(simulated=True) as aws:
        instance_calls = _record_instance_target_group(aws, monkeypatch)
        roles.update(_task_definition_roles(aws, instance_calls))
    return Recording(calls + instance_calls, roles)


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate()


@pytest.fixture(scope="module")
def resolver(translated: dict[str, Any]) -> Resolver:
    return Resolver(translated)


def _functions(translated: dict[str, Any]) -> list[str]:
    return [k for k, v in translated["Resources"].items() if v["Type"] == "AWS::Lambda::Function"]


def _role_statements(translated: dict[str, Any], resolver: Resolver, function: str) -> list[dict[str, Any]]:
    role = translated["Resources"][f"{function}Role"]
    return resolver.resolve(inline_statements(role))


# -- the tests -------------------------------------------------------------------------------------


def test_every_function_ran_in_the_recorded_workflows(recording: Recording, translated: dict[str, Any]) -> None:
    assert set(recording.by_function()) == set(_functions(translated))


def test_each_role_allows_exactly_the_actions_its_function_calls(
    recording: Recording, translated: dict[str, Any], resolver: Resolver
) -> None:
    by_function = recording.by_function()
    mismatches = {}
    for function in _functions(translated):
        called = {call.action for call in by_function[function]}
        needed = called | {implied for action in called for implied in IMPLIED.get(action, [])}
        needed |= SERVICE_USES_ROLE.get(function, set())
        granted = statement_actions(_role_statements(translated, resolver, function))
        if granted != needed:
            mismatches[function] = {
                "granted but never called": sorted(granted - needed),
                "called but not granted": sorted(needed - granted),
            }
    assert not mismatches, json.dumps(mismatches, indent=2)


def test_every_recorded_call_is_allowed_on_its_resource(
    recording: Recording, translated: dict[str, Any], resolver: Resolver
) -> None:
    denied = []
    for function, calls in recording.by_function().items():
        statements = _role_statements(translated, resolver, function)
        for call in calls:
            for request in requests_for(call, recording.task_definition_roles):
                if not allows(statements, request):
                    denied.append(f"{function}: {request}")
    assert not denied, "\n".join(sorted(set(denied)))


@pytest.mark.parametrize(
    ("function", "request_", "why"),
    [
        ("ScaleDownFunction", Request("ecs:UpdateService", _ecs_arn("service", "fleet/other")), "another service"),
        ("ScaleDownFunction", Request("ecs:UpdateService", _ecs_arn("service", "other/fleet")), "another cluster"),
        ("RollbackFunction", Request("ecs:UpdateService", _ecs_arn("service", "staging/fleet")), "another cluster"),
        ("DescribeServiceFunction", Request("ecs:DescribeClusters", _ecs_arn("cluster", "other")), "another cluster"),
        (
            "RunTaskFunction",
            Request(
                "ecs:RunTask", _ecs_arn("task-definition", "other:3"), (("ecs:cluster", _ecs_arn("cluster", "fleet")),)
            ),
            "another family",
        ),
        (
            "RunTaskFunction",
            Request(
                "ecs:RunTask", _ecs_arn("task-definition", "fleet:3"), (("ecs:cluster", _ecs_arn("cluster", "other")),)
            ),
            "another cluster",
        ),
        (
            "RunTaskFunction",
            Request(
                "iam:PassRole",
                f"arn:aws:iam::{ACCOUNT}:role/admin",
                (("iam:PassedToService", "ecs-tasks.amazonaws.com"),),
            ),
            "another role",
        ),
        (
            "RunTaskFunction",
            Request(
                "iam:PassRole", PARAMETERS["TaskExecutionRoleArn"], (("iam:PassedToService", "lambda.amazonaws.com"),)
            ),
            "passed to another service",
        ),
        (
            "CheckDrainedFunction",
            Request("ecs:ListTasks", "*", (("ecs:cluster", _ecs_arn("cluster", "other")),)),
            "another cluster",
        ),
        ("PollTaskFunction", Request("ecs:StopTask", _ecs_arn("task", "other/0123")), "a task of another cluster"),
        (
            "CheckStableFunction",
            Request("ecs:DescribeContainerInstances", _ecs_arn("container-instance", "other/0123")),
            "a container instance of another cluster",
        ),
        (
            "TriggerFunction",
            Request("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:other"),
            "another state machine",
        ),
        (
            "DescribeServiceFunction",
            Request("states:DescribeExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:other:x"),
            "another state machine",
        ),
        (
            "DescribeServiceFunction",
            Request("rds:DescribeDBClusters", _rds_arn("cluster", "other")),
            "another database",
        ),
        (
            "TakeSnapshotFunction",
            Request("rds:CreateDBClusterSnapshot", _rds_arn("cluster", "other")),
            "another database",
        ),
        (
            "TakeSnapshotFunction",
            Request("rds:CreateDBClusterSnapshot", _rds_arn("cluster-snapshot", "nightly")),
            "a snapshot not named by the workflow",
        ),
        (
            "TakeSnapshotFunction",
            Request("rds:CreateDBSnapshot", _rds_arn("db", "fleet")),
            "an instance not configured",
        ),
        (
            "CheckSnapshotFunction",
            Request("rds:DescribeDBClusterSnapshots", _rds_arn("cluster-snapshot", "other-1")),
            "a snapshot not named by the workflow",
        ),
        (
            "ScaleDownFunction",
            Request(
                "elasticloadbalancing:ModifyRule", f"{ELB}:listener-rule/app/other/50dc6c495c0c9188/f2f7dc8efc522ab2/1"
            ),
            "a rule of another load balancer",
        ),
        (
            "RollbackFunction",
            Request(
                "elasticloadbalancing:ModifyListener", f"{ELB}:listener/app/other/50dc6c495c0c9188/f2f7dc8efc522ab2"
            ),
            "a listener of another load balancer",
        ),
        (
            "ScaleDownFunction",
            Request("elasticloadbalancing:ModifyTargetGroupAttributes", f"{ELB}:targetgroup/other/50dc6c495c0c9188"),
            "another target group",
        ),
        (
            "ScaleDownFunction",
            Request(
                "elasticloadbalancing:AddTags",
                f"{ELB}:listener-rule/app/fleet/50dc6c495c0c9188/f2f7dc8efc522ab2/1",
                (("aws:TagKeys", "fleet-migration:execution"),),
            ),
            "marking an operator's rule as one the workflow may delete",
        ),
        (
            "CheckStableFunction",
            Request(
                "elasticloadbalancing:DeleteRule", f"{ELB}:listener-rule/app/fleet/50dc6c495c0c9188/f2f7dc8efc522ab2/1"
            ),
            "a rule the workflow did not create",
        ),
        (
            "RollbackFunction",
            Request(
                "elasticloadbalancing:DeleteRule",
                f"{ELB}:listener-rule/app/fleet/50dc6c495c0c9188/f2f7dc8efc522ab2/1",
                (
                    (
                        "aws:ResourceTag/fleet-migration:execution",
                        f"arn:aws:states:{REGION}:{ACCOUNT}:execution:other:x",
                    ),
                ),
            ),
            "a rule of another workflow's execution",
        ),
        (
            "RollbackFunction",
            Request("logs:GetLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:other:log-stream:fleet/fleet/1"),
            "another log group",
        ),
        *(
            (
                function,
                Request(
                    "ecs:UpdateService",
                    _ecs_arn("service", "fleet/fleet"),
                    (("ecs:task-definition", _ecs_arn("task-definition", "other:1")),),
                ),
                "Fleet's service put on a revision of another family",
            )
            for function in ("ScaleDownFunction", "ScaleUpFunction", "RollbackFunction")
        ),
        (
            "RollbackFunction",
            Request(
                "ecs:RegisterTaskDefinition", _ecs_arn("task-definition", "other:1"), (("ecs:privileged", "false"),)
            ),
            "registering a revision of another family",
        ),
        (
            "RollbackFunction",
            Request(
                "ecs:RegisterTaskDefinition", _ecs_arn("task-definition", "fleet:9"), (("ecs:privileged", "true"),)
            ),
            "registering a revision with a privileged container",
        ),
        (
            "RollbackFunction",
            Request(
                "ecs:TagResource",
                _ecs_arn("task-definition", "other:1"),
                (("ecs:CreateAction", "RegisterTaskDefinition"),),
            ),
            "tagging a revision of another family",
        ),
    ],
)
def test_calls_outside_the_configured_deployment_are_denied(
    translated: dict[str, Any], resolver: Resolver, function: str, request_: Request, why: str
) -> None:
    assert not allows(_role_statements(translated, resolver, function), request_), why


def test_the_state_machine_invokes_exactly_its_steps(translated: dict[str, Any], resolver: Resolver) -> None:
    machine = translated["Resources"]["MigrationStateMachine"]["Properties"]
    steps = {resolver.resolve(value) for value in machine["DefinitionSubstitutions"].values()}
    statements = resolver.resolve(inline_statements(translated["Resources"]["MigrationStateMachineRole"]))
    invoked = {r for s in statements if "lambda:InvokeFunction" in as_list(s["Action"]) for r in as_list(s["Resource"])}
    assert invoked == steps
    assert statement_actions(statements) == {
        "lambda:InvokeFunction",
        *(a for a in STAR_RESOURCES if a.startswith("logs:")),
    }


def test_no_action_wildcards_anywhere(translated: dict[str, Any], resolver: Resolver) -> None:
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for action in statement_actions(resolver.resolve(inline_statements(resource))):
                assert isinstance(action, str) and not re.search(r"[*?]", action), f"{logical_id}: {action}"


def test_resource_star_only_where_iam_needs_it(translated: dict[str, Any], resolver: Resolver) -> None:
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in resolver.resolve(inline_statements(resource)):
            if "*" not in as_list(statement["Resource"]):
                continue
            for action in as_list(statement["Action"]):
                assert action in STAR_RESOURCES, f'{logical_id}: {action} on Resource "*" is not on the allow-list'
                if action in STAR_NEEDS_CONDITION:
                    keys = {k for tests in statement.get("Condition", {}).values() for k in tests}
                    assert STAR_NEEDS_CONDITION[action] in keys, f"{logical_id}: {action} needs a condition"


def test_every_resource_star_in_the_template_says_why() -> None:
    lines = TEMPLATE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r'\s*Resource:\s*"\*"', line):
            above = [text.strip() for text in lines[max(0, number - 3) : number]]
            assert any(text.startswith("#") for text in above), (
                f"template.yaml line {number + 1}: say why Resource is *"
            )


def test_only_logging_and_tracing_managed_policies(translated: dict[str, Any]) -> None:
    for logical_id, resource in translated["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            assert set(resource["Properties"].get("ManagedPolicyArns", [])) <= MANAGED_POLICIES, logical_id


def test_pass_role_only_for_the_task_roles_and_only_to_ecs_tasks(translated: dict[str, Any]) -> None:
    template = load_template()
    for task_role, expected in [
        (PARAMETERS["TaskRoleArn"], [PARAMETERS["TaskExecutionRoleArn"], PARAMETERS["TaskRoleArn"]]),
        ("", [PARAMETERS["TaskExecutionRoleArn"]]),
    ]:
        resolver = Resolver(template, {**PARAMETERS, "TaskRoleArn": task_role})
        passing = []
        for logical_id, resource in translated["Resources"].items():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            for statement in resolver.resolve(inline_statements(resource)):
                if "iam:PassRole" in as_list(statement["Action"]):
                    passing.append(logical_id)
                    assert as_list(statement["Resource"]) == expected
                    assert statement["Condition"] == {
                        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
                    }
        # RunTask, and the rollback re-registering a deregistered serving revision
        assert passing == ["RunTaskFunctionRole", "RollbackFunctionRole"]


def test_without_a_vuln_service_only_the_fleet_service_is_in_reach(translated: dict[str, Any]) -> None:
    resolver = Resolver(translated, {**PARAMETERS, "VulnServiceName": ""})
    statements = _role_statements(translated, resolver, "ScaleDownFunction")
    assert allows(statements, Request("ecs:UpdateService", _ecs_arn("service", "fleet/fleet")))
    assert not allows(statements, Request("ecs:UpdateService", _ecs_arn("service", "fleet/fleet-vuln-processing")))
    resources = [r for s in statements for r in as_list(s["Resource"])]
    assert all(not r.endswith("/") for r in resources), resources


def _update_service_to(function: str, revision: str) -> Call:
    params = {"cluster": "fleet", "service": "fleet", "desiredCount": 1, "taskDefinition": revision}
    return Call(function, "ecs", "UpdateService", params)


@pytest.mark.parametrize("function", ["ScaleDownFunction", "ScaleUpFunction", "RollbackFunction"])
def test_a_step_that_puts_fleets_service_on_another_family_is_refused(
    translated: dict[str, Any], resolver: Resolver, function: str
) -> None:
    statements = _role_statements(translated, resolver, function)
    # GIVEN the very UpdateService a rollback makes, to a revision of a family the deployment does not name
    refused = _update_service_to(function, _ecs_arn("task-definition", "fleet-preview:3"))
    allowed = _update_service_to(function, _ecs_arn("task-definition", "fleet:3"))
    count_only = Call(function, "ecs", "UpdateService", {"cluster": "fleet", "service": "fleet", "desiredCount": 0})

    assert not any(allows(statements, r) for r in requests_for(refused, {}) if r.action == "ecs:UpdateService")
    assert all(allows(statements, r) for r in requests_for(allowed, {}))
    assert all(allows(statements, r) for r in requests_for(count_only, {}))


def test_the_vulnerability_services_family_is_the_deployments_setting(translated: dict[str, Any]) -> None:
    def reach(**parameters: str) -> dict[str, bool]:
        resolver = Resolver(translated, {**PARAMETERS, **parameters})
        rollback = _role_statements(translated, resolver, "RollbackFunction")
        families = ("fleet-vuln-processing", "vuln-scans")
        return {
            family: allows(
                rollback,
                Request(
                    "ecs:UpdateService",
                    _ecs_arn("service", "fleet/fleet-vuln-processing"),
                    (("ecs:task-definition", _ecs_arn("task-definition", f"{family}:1")),),
                ),
            )
            and allows(
                rollback,
                Request(
                    "ecs:RegisterTaskDefinition",
                    _ecs_arn("task-definition", f"{family}:1"),
                    (("ecs:privileged", "false"),),
                ),
            )
            for family in families
        }

    # empty: <TaskDefinitionFamily>-vuln-processing, as fleet-terraform names it
    assert reach() == {"fleet-vuln-processing": True, "vuln-scans": False}
    assert reach(VulnTaskDefinitionFamily="vuln-scans") == {"fleet-vuln-processing": False, "vuln-scans": True}
    # no vulnerability service: no family of its own in reach
    resolver = Resolver(translated, {**PARAMETERS, "VulnServiceName": ""})
    rollback = _role_statements(translated, resolver, "RollbackFunction")
    register = Request(
        "ecs:RegisterTaskDefinition",
        _ecs_arn("task-definition", "fleet-vuln-processing:1"),
        (("ecs:privileged", "false"),),
    )
    assert not allows(rollback, register)


def test_the_rollbacks_copy_of_the_vulnerability_services_revision_was_recorded(recording: Recording) -> None:
    # the scenario above that the vuln family's statements are checked against
    registered = [c.params["family"] for c in recording.calls if c.action == "ecs:RegisterTaskDefinition"]
    assert sorted(set(registered)) == ["fleet", "fleet-vuln-processing"]


def test_with_an_rds_instance_configured_only_that_instance_and_its_workflow_snapshots_are_in_reach(
    translated: dict[str, Any],
) -> None:
    resolver = Resolver(translated, {**PARAMETERS, "DbClusterIdentifier": "", "DbInstanceIdentifier": "fleet-mysql"})
    take = _role_statements(translated, resolver, "TakeSnapshotFunction")
    check = _role_statements(translated, resolver, "CheckSnapshotFunction")
    snapshot = _rds_arn("snapshot", "fleet-migration-fleet-fleet-r2-0123abcd")

    assert allows(take, Request("rds:CreateDBSnapshot", _rds_arn("db", "fleet-mysql")))
    assert allows(take, Request("rds:CreateDBSnapshot", snapshot))
    assert allows(take, Request("rds:AddTagsToResource", snapshot))
    assert allows(check, Request("rds:DescribeDBSnapshots", snapshot))
    assert not allows(take, Request("rds:CreateDBClusterSnapshot", _rds_arn("cluster", "fleet")))
    assert not allows(take, Request("rds:CreateDBSnapshot", _rds_arn("db", "other")))
    assert not allows(
        check, Request("rds:DescribeDBClusterSnapshots", _rds_arn("cluster-snapshot", "fleet-migration-x"))
    )


def test_without_a_database_or_a_log_group_nothing_of_rds_or_the_task_logs_is_in_reach(
    translated: dict[str, Any],
) -> None:
    resolver = Resolver(
        translated, {**PARAMETERS, "DbClusterIdentifier": "", "DbInstanceIdentifier": "", "TaskLogGroupName": ""}
    )
    statements = {f: _role_statements(translated, resolver, f) for f in _functions(translated)}

    assert not any(allows(s, Request("rds:CreateDBSnapshot", _rds_arn("db", "fleet"))) for s in statements.values())
    assert not any(allows(s, Request("rds:DescribeDBInstances", _rds_arn("db", "fleet"))) for s in statements.values())
    assert not any(
        allows(s, Request("logs:GetLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:fleet:log-stream:x"))
        for s in statements.values()
    )


def test_every_function_outlasts_its_worst_aws_retry_budget(recording: Recording, translated: dict[str, Any]) -> None:
    # Each call may take WORST_CALL_SECONDS at worst (bounded timeouts and retries in fleet_migration/aws.py):
    # a function's timeout must cover the most calls it made in one invocation, or a slow AWS kills it half-way.
    from fleet_migration.aws import WORST_CALL_SECONDS

    short = {}
    for function, calls in recording.by_function().items():
        per_invocation: dict[int, int] = defaultdict(int)
        for call in calls:
            per_invocation[call.invocation] += 1
        budget = max(per_invocation.values()) * WORST_CALL_SECONDS
        timeout = translated["Resources"][function]["Properties"]["Timeout"]
        if timeout <= budget:
            short[function] = f"timeout {timeout} s, {max(per_invocation.values())} calls x {WORST_CALL_SECONDS} s"
    assert not short, short
