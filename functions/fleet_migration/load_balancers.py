"""The Application Load Balancer in front of Fleet: how long its target groups drain, and the calls the maintenance
page makes (outage.py decides what they change).

When ECS scales a service in, it deregisters each task from its target groups and stops it only after the
group's deregistration delay (``deregistration_delay.timeout_seconds``, 300 s by default): while every task
goes away, all of that is outage. AWS's ECS best practices ("Load balancer connection draining") suggest a few
seconds for services with short requests. The delay in force when a target is deregistered is the one it
drains for (Target groups for Application Load Balancers, "Deregistration delay").
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from fleet_migration.aws import client, error_code, marker_pages, throttling_is_retried
from fleet_migration.models import HealthCheck

DELAY_ATTRIBUTE = "deregistration_delay.timeout_seconds"
# On a rule or listener whose forward to Fleet the maintenance page answers instead: the execution (its ARN) that
# swapped it, which alone puts it back while it runs.
PAGE_TAG = "fleet-migration:page"
# On a rule the workflow created (the rule keeping Fleet's target group attached): the execution (its ARN) that
# created it. DeleteRule is granted only on rules carrying it.
EXECUTION_TAG = "fleet-migration:execution"
# Listener rule priorities run from 1 to 50000; lower numbers are evaluated first (CreateRule, ELB API Reference).
LOWEST_PRIORITY = 50000
# Rules per Application Load Balancer, default rules not counted ("Quotas for your Application Load Balancers").
RULES_PER_LOAD_BALANCER = 100
_DESCRIBE_TAGS_BATCH = 20  # DescribeTags takes at most 20 resource ARNs per call
_DESCRIBE_BALANCERS_BATCH = 20  # DescribeLoadBalancers: at most 20 ARNs


def _elbv2() -> Any:
    return client("elbv2")


def target_group_arns(service: dict[str, Any]) -> list[str]:
    """The target groups of a service's ``loadBalancers`` (a Classic Load Balancer has none)."""
    return [lb["targetGroupArn"] for lb in service.get("loadBalancers", []) if lb.get("targetGroupArn")]


@throttling_is_retried
def target_states(target_group_arn: str) -> dict[tuple[str, int], str]:
    """Each registered target's state (``initial``, ``healthy``, ``draining``, ...) by (target id, port): in a
    target group of type ``instance`` one EC2 instance is several targets, one per host port (TargetDescription,
    Elastic Load Balancing API Reference: a target is an ``Id`` and a ``Port``)."""
    found = _elbv2().describe_target_health(TargetGroupArn=target_group_arn)
    return {
        (d["Target"]["Id"], int(d["Target"].get("Port") or 0)): d["TargetHealth"]["State"]
        for d in found.get("TargetHealthDescriptions", [])
    }


@throttling_is_retried
def deregistration_delay(target_group_arn: str) -> int:
    attributes = _elbv2().describe_target_group_attributes(TargetGroupArn=target_group_arn)["Attributes"]
    return int(next((a["Value"] for a in attributes if a["Key"] == DELAY_ATTRIBUTE), "300"))


@throttling_is_retried
def set_deregistration_delay(target_group_arn: str, seconds: int) -> None:
    _elbv2().modify_target_group_attributes(
        TargetGroupArn=target_group_arn, Attributes=[{"Key": DELAY_ATTRIBUTE, "Value": str(seconds)}]
    )


Actions = list[dict[str, Any]]


def forwarded_groups(action: dict[str, Any]) -> set[str]:
    """The target groups a ``forward`` action sends to (one, or a weighted ``ForwardConfig``); none for others."""
    if action.get("Type") != "forward":
        return set()
    config = (action.get("ForwardConfig") or {}).get("TargetGroups", [])
    return {g["TargetGroupArn"] for g in config if g.get("TargetGroupArn")} | (
        {action["TargetGroupArn"]} if action.get("TargetGroupArn") else set()
    )


@throttling_is_retried
def target_groups(arns: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in marker_pages(_elbv2().describe_target_groups, TargetGroupArns=arns):
        found += page.get("TargetGroups", [])
    return found


@throttling_is_retried
def load_balancers(arns: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(arns), _DESCRIBE_BALANCERS_BATCH):
        batch = arns[start : start + _DESCRIBE_BALANCERS_BATCH]
        for page in marker_pages(_elbv2().describe_load_balancers, LoadBalancerArns=batch):
            found += page.get("LoadBalancers", [])
    return found


@throttling_is_retried
def listeners(balancer_arn: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in marker_pages(_elbv2().describe_listeners, LoadBalancerArn=balancer_arn):
        found += page.get("Listeners", [])
    return found


@throttling_is_retried
def listener(listener_arn: str) -> dict[str, Any] | None:
    try:
        found = _elbv2().describe_listeners(ListenerArns=[listener_arn]).get("Listeners", [])
    except ClientError as exc:
        if error_code(exc) == "ListenerNotFound":
            return None
        raise
    return found[0] if found else None


@throttling_is_retried
def rules(listener_arn: str) -> list[dict[str, Any]]:
    """Every rule of a listener, its default rule included."""
    found: list[dict[str, Any]] = []
    for page in marker_pages(_elbv2().describe_rules, ListenerArn=listener_arn):
        found += page.get("Rules", [])
    return found


@throttling_is_retried
def tags(arns: list[str]) -> dict[str, dict[str, str]]:
    """The tags of each resource, by ARN."""
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), _DESCRIBE_TAGS_BATCH):
        described = _elbv2().describe_tags(ResourceArns=arns[start : start + _DESCRIBE_TAGS_BATCH])
        for resource in described.get("TagDescriptions", []):
            found[resource["ResourceArn"]] = {tag["Key"]: tag.get("Value", "") for tag in resource.get("Tags", [])}
    return found


@throttling_is_retried
def set_actions(listener_arn: str, rule_arn: str | None, actions: Actions) -> None:
    """A rule's actions (ModifyRule), or the listener's default actions (ModifyListener) when ``rule_arn`` is None:
    ModifyRule cannot change a default rule."""
    if rule_arn is None:
        _elbv2().modify_listener(ListenerArn=listener_arn, DefaultActions=actions)
    else:
        _elbv2().modify_rule(RuleArn=rule_arn, Actions=actions)


@throttling_is_retried
def tag(arn: str, key: str, value: str) -> None:
    _elbv2().add_tags(ResourceArns=[arn], Tags=[{"Key": key, "Value": value}])


@throttling_is_retried
def untag(arn: str, key: str) -> None:
    """Remove a tag; a resource already gone is fine."""
    try:
        _elbv2().remove_tags(ResourceArns=[arn], TagKeys=[key])
    except ClientError as exc:
        if error_code(exc) not in ("RuleNotFound", "ListenerNotFound"):
            raise


@throttling_is_retried
def create_rule(
    listener_arn: str, priority: int, conditions: list[dict[str, Any]], actions: Actions, execution_arn: str
) -> str:
    created = _elbv2().create_rule(
        ListenerArn=listener_arn,
        Priority=priority,
        Conditions=conditions,
        Actions=actions,
        Tags=[{"Key": EXECUTION_TAG, "Value": execution_arn}],
    )
    return created["Rules"][0]["RuleArn"]


@throttling_is_retried
def delete_rule(rule_arn: str) -> None:
    """Delete a listener rule; one already gone is fine (deleting twice must be safe)."""
    try:
        _elbv2().delete_rule(RuleArn=rule_arn)
    except ClientError as exc:
        if error_code(exc) != "RuleNotFound":
            raise


@throttling_is_retried
def health_check(target_group_arn: str) -> HealthCheck:
    group = _elbv2().describe_target_groups(TargetGroupArns=[target_group_arn])["TargetGroups"][0]
    return HealthCheck(
        interval_seconds=group["HealthCheckIntervalSeconds"],
        timeout_seconds=group["HealthCheckTimeoutSeconds"],
        healthy_threshold_count=group["HealthyThresholdCount"],
    )


@throttling_is_retried
def set_health_check(target_group_arn: str, check: HealthCheck) -> None:
    """One ModifyTargetGroup for the three, so the timeout is never left at or above a lowered interval."""
    _elbv2().modify_target_group(
        TargetGroupArn=target_group_arn,
        HealthCheckIntervalSeconds=check.interval_seconds,
        HealthCheckTimeoutSeconds=check.timeout_seconds,
        HealthyThresholdCount=check.healthy_threshold_count,
    )
