"""Which revision of a service serves Fleet now, and whether a scaled-up service serves Fleet again.

Fleet's own Terraform moves the service to the new revision before the migration runs: ECS starts a new
PRIMARY deployment whose tasks exit at once (``fleet serve`` refuses a database that lacks migrations), while
the old deployment's tasks keep serving (minimum healthy 100 %). The revision to bring back after a failed
migration is the one those serving tasks run, not the service's ``taskDefinition``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from fleet_migration import ecs, load_balancers, task_definitions

# A task that ended by itself with a non-zero exit, or never started, is a failing task (Task stopCode,
# Amazon ECS API Reference): its revision does not serve.
_FAILED_STOP_CODES = ("TaskFailedToStart",)


def revision_name(task_definition_arn: str | None) -> str | None:
    """``family:revision``, the way the AWS CLI and the console name a revision."""
    return task_definition_arn.rsplit("/", 1)[-1] if task_definition_arn else None


def has_failed(task: dict[str, Any]) -> bool:
    """A STOPPED task that never ran its command, or whose essential container exited non-zero by itself."""
    if task.get("lastStatus") != "STOPPED":
        return False
    if task.get("stopCode") in _FAILED_STOP_CODES:
        return True
    return task.get("stopCode") == "EssentialContainerExited" and any(
        container.get("exitCode") not in (0, None) for container in task.get("containers", [])
    )


def serving_task_definition(service: dict[str, Any], tasks: list[dict[str, Any]]) -> str | None:
    """The task definition the service's serving tasks run; None when no task serves (a first deploy, or
    every task crashing).

    Serving tasks are RUNNING now, of a revision that is not failing: the PRIMARY deployment's when its own
    tasks keep exiting (a task of it that failed), or any deployment's that reports ``failedTasks``
    (Deployment.failedTasks, Amazon ECS API Reference). An older deployment's crashes are not held against it:
    ECS lists stopped tasks for a while, and those may be from before a migration that has since let its tasks
    run. While a rollout is under way the revision it replaces is the one that served: the new one's first
    tasks may not have had the time to fail yet, and the old binary is the one known to run on the schema.
    """
    deployments = service.get("deployments", [])
    up = [t for t in tasks if t.get("lastStatus") == "RUNNING" and t.get("desiredStatus") == "RUNNING"]
    running = Counter(t["taskDefinitionArn"] for t in up)
    failing = {d["taskDefinition"] for d in deployments if d.get("failedTasks", 0) > 0}
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary and any(has_failed(t) and t.get("startedBy") == primary.get("id") for t in tasks):
        failing.add(primary["taskDefinition"])
    serving = {arn: count for arn, count in running.items() if arn not in failing}
    if len(serving) > 1:
        serving.pop(service.get("taskDefinition"), None)
    if not serving and primary and primary["taskDefinition"] in failing:
        return _served_before(tasks, failing)
    return max(serving, key=lambda arn: serving[arn]) if serving else None


def _served_before(tasks: list[dict[str, Any]], failing: set[str]) -> str | None:
    """The revision of the last task that ran without failing, when the failing rollout left none running.

    A service with no load balancer and no container health check counts a task healthy once it is RUNNING: ECS
    stops the old revision's tasks for new ones that exit a second later, and once none of the old is left the
    deployment it replaced is gone from ``deployments`` too. ECS still lists the stopped tasks (for about an hour).
    """
    ran = [
        t
        for t in tasks
        if t["taskDefinitionArn"] not in failing and t.get("startedAt") is not None and not has_failed(t)
    ]
    return max(ran, key=lambda t: t["startedAt"])["taskDefinitionArn"] if ran else None


def task_ip(task: dict[str, Any]) -> str | None:
    """The private IPv4 address of an awsvpc task's network interface: its target id in an ``ip`` target group."""
    for attachment in task.get("attachments", []):
        if attachment.get("type") == "ElasticNetworkInterface":
            for detail in attachment.get("details", []):
                if detail.get("name") == "privateIPv4Address":
                    return detail.get("value")
    return None


def task_target(
    task: dict[str, Any], balancer: dict[str, Any], container_instances: dict[str, str]
) -> tuple[str, int] | None:
    """The target ECS registers ``task`` as in the target group of ``balancer`` (an entry of its service's
    ``loadBalancers``): (target id, port), as DescribeTargetHealth reports it; None when it has none (yet).

    The task's network mode decides (Amazon ECS Developer Guide, "Use an Application Load Balancer for Amazon
    ECS"): an awsvpc task has its own network interface and its group must be of type ``ip``, so the target is
    that interface's address on ``containerPort``; a bridge or host task is "registered ... as an instance ID and
    port combination" in a group of type ``instance``: its container instance's EC2 instance id
    (``container_instances``: container instance ARN -> ``ec2InstanceId``) and the host port bound to
    ``containerPort`` (DescribeTasks ``networkBindings``; with bridge networking and hostPort 0, a port ECS
    picked from the instance's ephemeral range).
    """
    ip = task_ip(task)
    if ip is not None:
        return ip, int(balancer.get("containerPort") or 0)
    instance = container_instances.get(task.get("containerInstanceArn") or "")
    port = _host_port(task, balancer)
    return (instance, port) if instance and port else None


def _host_port(task: dict[str, Any], balancer: dict[str, Any]) -> int | None:
    for container in task.get("containers", []):
        if container.get("name") != balancer.get("containerName"):
            continue
        for binding in container.get("networkBindings") or []:
            if binding.get("containerPort") == balancer.get("containerPort") and binding.get("hostPort"):
                return int(binding["hostPort"])
    return None


def container_instances_of(tasks: list[dict[str, Any]]) -> dict[str, str]:
    """The EC2 instance id of each container instance that runs one of ``tasks`` without a network interface of
    its own (bridge or host networking): what identifies them in a target group of type ``instance``. awsvpc tasks
    need none, so a Fargate service makes no call."""
    by_cluster: dict[str, set[str]] = {}
    for task in tasks:
        if task_ip(task) is None and task.get("containerInstanceArn"):
            by_cluster.setdefault(task["clusterArn"], set()).add(task["containerInstanceArn"])
    found: dict[str, str] = {}
    for cluster, arns in by_cluster.items():
        found.update(ecs.ec2_instance_ids(cluster, sorted(arns)))
    return found


def not_yet_serving(
    service: dict[str, Any], tasks: list[dict[str, Any]], count: int, since: float, health_checked: set[str]
) -> list[str]:
    """What still keeps a service from serving Fleet at ``count`` tasks since the scale-up at ``since``.

    Besides ECS's own "stable" (``ecs.rollout``): DescribeServices reads the count just set (it is eventually
    consistent); the tasks counted run the service's revision; each is ``healthy`` in every target group of the
    service's ``loadBalancers`` (DescribeTargetHealth); containers with a health check (``health_checked``)
    report HEALTHY; and no task started since the scale-up has stopped since.
    """
    waiting = []
    if service.get("desiredCount") != count:
        waiting.append(f"ECS reports a desired count of {service.get('desiredCount')}, not yet {count}")
    revision = service.get("taskDefinition")
    running = [t for t in tasks if t.get("lastStatus") == "RUNNING" and t.get("desiredStatus") == "RUNNING"]
    others = [t for t in running if t.get("taskDefinitionArn") != revision]
    if others:
        waiting.append(
            f"{len(others)} task(s) still on {', '.join(sorted({str(revision_name(t['taskDefinitionArn'])) for t in others}))}"
        )
    current = [t for t in running if t.get("taskDefinitionArn") == revision]
    # a Classic Load Balancer has no target group: ECS's own rollout covers it
    balancers = [b for b in service.get("loadBalancers", []) if b.get("targetGroupArn")]
    instances = container_instances_of(current) if balancers else {}
    for balancer in balancers:
        group = balancer["targetGroupArn"]
        states = load_balancers.target_states(group)
        targets = [task_target(t, balancer, instances) for t in current]
        healthy = sum(1 for target in targets if target is not None and states.get(target) == "healthy")
        if healthy < count:
            waiting.append(f"{healthy} of {count} healthy in target group {group.rsplit(':', 1)[-1]}")
    if health_checked:
        unhealthy = [
            t
            for t in current
            if any(
                c.get("name") in health_checked and c.get("healthStatus") != "HEALTHY" for c in t.get("containers", [])
            )
        ]
        if unhealthy:
            waiting.append(f"{len(unhealthy)} task(s) whose container health check is not HEALTHY yet")
    stopped = [t for t in tasks if t.get("lastStatus") == "STOPPED" and started_since(t, since) and not _retired(t)]
    if stopped:
        waiting.append(f"{len(stopped)} task(s) started since the scale-up stopped")
    return waiting


def ran_too_briefly(
    service: dict[str, Any], tasks: list[dict[str, Any]], at: float, stable_seconds: int, proven_in: int | None
) -> tuple[list[str], float]:
    """Whether the tasks counted have not yet run long enough to call the service stable: ``stable_seconds``, or
    the service's ``healthCheckGracePeriodSeconds`` where larger (ECS ignores failing health checks that long).
    ``fleet serve`` on a database that lacks its migrations exits about a second after RUNNING, so a service with
    no load balancer and no container health check looks serving until its tasks have run a while. Behind a load
    balancer whose health check takes ``proven_in`` seconds or more to pass, health has already proven as much.
    Also the seconds until the youngest of them has run long enough (0 when none is too young).
    """
    seconds = max(stable_seconds, int(service.get("healthCheckGracePeriodSeconds") or 0))
    if proven_in is not None and proven_in >= seconds:
        return [], 0
    revision = service.get("taskDefinition")
    left = [
        seconds - (at - t["startedAt"].timestamp()) if t.get("startedAt") is not None else seconds
        for t in tasks
        if t.get("lastStatus") == "RUNNING" and t.get("taskDefinitionArn") == revision
    ]
    young = [x for x in left if x > 0]
    return ([f"{len(young)} task(s) running for less than {seconds} s"], max(young)) if young else ([], 0)


def _retired(task: dict[str, Any]) -> bool:
    """Stopped by the service scheduler for a deployment or a scale-in, not for failing its health checks:
    a task replaced on purpose says nothing about whether Fleet can serve (Task stopCode, ECS API Reference)."""
    return (
        task.get("stopCode") == "ServiceSchedulerInitiated"
        and "health" not in (task.get("stoppedReason") or "").lower()
    )


def started_since(task: dict[str, Any], since: float) -> bool:
    """Whether ECS created the task at or after ``since``. ECS reports its timestamps to the millisecond (AWS SDKs
    truncate finer ones): a task created in the millisecond ``since`` falls in reads as created before it unless
    ``since`` is read to the millisecond too."""
    created = task.get("createdAt")
    return created is not None and round(created.timestamp() * 1000) >= math.floor(since * 1000)


def crashed_since(tasks: list[dict[str, Any]], since: float) -> list[dict[str, Any]]:
    """The tasks created since the scale-up that failed: they never started, or exited non-zero."""
    return [t for t in tasks if started_since(t, since) and has_failed(t)]


def health_checked_containers(task_definition_arn: str) -> set[str]:
    """The containers of a revision that declare a ``healthCheck`` (ContainerDefinition, ECS API Reference)."""
    definition = task_definitions.describe(task_definition_arn)
    return {c["name"] for c in definition.get("containerDefinitions", []) if c.get("healthCheck")}
