"""The Application Load Balancer in front of Fleet: how long its target groups drain, and the maintenance page.

When ECS scales a service in, it deregisters each task from its target groups and stops it only after the
group's deregistration delay (``deregistration_delay.timeout_seconds``, 300 s by default): while every task
goes away, all of that is outage. AWS's ECS best practices ("Load balancer connection draining") suggest a few
seconds for services with short requests. The delay in force when a target is deregistered is the one it
drains for (Target groups for Application Load Balancers, "Deregistration delay").
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from fleet_migration.aws import client, error_code, pages, throttling_is_retried
from fleet_migration.models import HealthCheck

DELAY_ATTRIBUTE = "deregistration_delay.timeout_seconds"
# The tag that marks a maintenance-page rule as ours, with the execution that added it as its value.
EXECUTION_TAG = "fleet-migration:execution"
# Listener rule priorities run from 1 to 50000; lower numbers are evaluated first (CreateRule, ELB API Reference).
HIGHEST_PRIORITY = 1
_DESCRIBE_TAGS_BATCH = 20  # DescribeTags takes at most 20 resource ARNs per call


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


def _forwards_to(action: dict[str, Any], groups: set[str]) -> bool:
    if action.get("Type") != "forward":
        return False
    targets = {action.get("TargetGroupArn")} | {
        g.get("TargetGroupArn") for g in (action.get("ForwardConfig") or {}).get("TargetGroups", [])
    }
    return bool(targets & groups)


@throttling_is_retried
def listeners_forwarding_to(target_groups: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each listener whose default action or rules forward to one of ``target_groups``, with all its rules."""
    if not target_groups:
        return {}
    wanted = set(target_groups)
    described = _elbv2().describe_target_groups(TargetGroupArns=target_groups)["TargetGroups"]
    balancers = sorted({arn for group in described for arn in group.get("LoadBalancerArns", [])})
    found: dict[str, list[dict[str, Any]]] = {}
    for balancer in balancers:
        for page in pages(_elbv2().describe_listeners, LoadBalancerArn=balancer):
            for listener in page.get("Listeners", []):
                rules = _rules(listener["ListenerArn"])
                if any(_forwards_to(action, wanted) for rule in rules for action in rule.get("Actions", [])):
                    found[listener["ListenerArn"]] = rules
    return found


def _rules(listener_arn: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    marker: dict[str, str] = {}
    while True:  # DescribeRules pages with Marker/NextMarker; boto3 has no paginator for it
        page = _elbv2().describe_rules(ListenerArn=listener_arn, **marker)
        rules.extend(page.get("Rules", []))
        if not page.get("NextMarker"):
            return rules
        marker = {"Marker": page["NextMarker"]}


@throttling_is_retried
def rules_left_by_earlier_executions(rules: list[dict[str, Any]], execution_name: str) -> list[str]:
    """The rules tagged ``fleet-migration:execution`` by another execution: maintenance pages nobody took down."""
    arns = [rule["RuleArn"] for rule in rules if not rule.get("IsDefault")]
    left = []
    for start in range(0, len(arns), _DESCRIBE_TAGS_BATCH):
        described = _elbv2().describe_tags(ResourceArns=arns[start : start + _DESCRIBE_TAGS_BATCH])
        for resource in described.get("TagDescriptions", []):
            tags = {tag["Key"]: tag.get("Value") for tag in resource.get("Tags", [])}
            if EXECUTION_TAG in tags and tags[EXECUTION_TAG] != execution_name:
                left.append(resource["ResourceArn"])
    return left


def free_priority(rules: list[dict[str, Any]], ignoring: list[str]) -> int | None:
    """A priority numerically lower than every other rule's (rules about to be deleted aside), or None."""
    taken = [
        int(rule["Priority"])
        for rule in rules
        if not rule.get("IsDefault") and rule["RuleArn"] not in ignoring and str(rule["Priority"]).isdigit()
    ]
    priority = min(taken, default=HIGHEST_PRIORITY + 1) - 1
    return priority if priority >= HIGHEST_PRIORITY else None


@throttling_is_retried
def add_maintenance_rule(listener_arn: str, priority: int, message: str, execution_name: str) -> str:
    """A rule answering every request with ``503`` and ``message``; a retried step finds the one it made."""
    made = rules_of_execution(listener_arn, execution_name)
    if made:
        return made[0]
    content_type = "text/html" if message.lstrip().startswith("<") else "text/plain"
    created = _elbv2().create_rule(
        ListenerArn=listener_arn,
        Priority=priority,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["*"]}}],
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "503", "ContentType": content_type, "MessageBody": message},
            }
        ],
        Tags=[{"Key": EXECUTION_TAG, "Value": execution_name}],
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
def rules_of_execution(listener_arn: str, execution_name: str) -> list[str]:
    """The rules of a listener an execution added (found by tag, so a step that died after CreateRule counts)."""
    rules = [rule for rule in _rules(listener_arn) if not rule.get("IsDefault")]
    ours = []
    for start in range(0, len(rules), _DESCRIBE_TAGS_BATCH):
        described = _elbv2().describe_tags(
            ResourceArns=[r["RuleArn"] for r in rules[start : start + _DESCRIBE_TAGS_BATCH]]
        )
        ours += [
            resource["ResourceArn"]
            for resource in described.get("TagDescriptions", [])
            if {"Key": EXECUTION_TAG, "Value": execution_name} in resource.get("Tags", [])
        ]
    return ours


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
