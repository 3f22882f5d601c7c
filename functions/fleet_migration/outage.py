"""What users see while Fleet is down: how long its target groups drain, and the maintenance page.

The describe step plans (reads only); the scale-down applies the plan before lowering any count; every path
out puts things back: the scale-up and the stability check on success, the rollback on failure, and a later
execution for what an aborted one left (the delays it recorded are inherited with the rest of its baseline;
its maintenance rules are found by their tag).
"""

from __future__ import annotations

from typing import Any

from fleet_migration import deployment, load_balancers
from fleet_migration.errors import InvalidInput
from fleet_migration.execution_input import MigrationInput
from fleet_migration.models import HealthCheck, MaintenanceRule, ServiceSnapshot, TargetGroup


def plan_target_groups(
    spec: MigrationInput, service: dict[str, Any], inherited: ServiceSnapshot | None
) -> list[TargetGroup]:
    """Each target group of the service with its delay and health check before; ``lowered`` and
    ``health_check_lowered`` where this execution must put them back: it changes them, or an interrupted earlier
    execution left them changed."""
    before = {group.arn: group for group in (inherited.target_groups if inherited else [])}
    groups = []
    for arn in load_balancers.target_group_arns(service):
        live = load_balancers.deregistration_delay(arn)
        was = before[arn].deregistration_delay_seconds if arn in before else live
        setting = spec.deregistration_delay_seconds
        live_check = load_balancers.health_check(arn)
        check = (before[arn].health_check if arn in before else None) or live_check
        groups.append(
            TargetGroup(
                arn=arn,
                deregistration_delay_seconds=was,
                lowered=(setting is not None and was > setting) or was != live,
                health_check=check,
                health_check_lowered=_faster_check(spec, check) != check or check != live_check,
            )
        )
    return groups


def _faster_check(spec: MigrationInput, check: HealthCheck) -> HealthCheck:
    return check.lowered_to(spec.health_check_interval_seconds, spec.healthy_threshold_count)


def lower_health_checks(spec: MigrationInput, services: list[ServiceSnapshot]) -> None:
    """Before the scale-up: every task that registers from now on is new, and a stricter check than
    ``health_check_interval_seconds`` x ``healthy_threshold_count`` only keeps Fleet dark longer. An ALB applies
    a target group's health check settings to its next checks (ModifyTargetGroup, ELB API Reference)."""
    for group in _distinct(services):
        if group.health_check and group.health_check_lowered:
            load_balancers.set_health_check(group.arn, _faster_check(spec, group.health_check))


def health_check_in_force(spec: MigrationInput, service: ServiceSnapshot) -> int | None:
    """How long a task of ``service`` proves itself healthy while it comes back (the fastest of its groups'
    interval x threshold), or None when no target group checks it."""
    checks = [_faster_check(spec, g.health_check) for g in service.target_groups if g.health_check]
    return min(check.seconds_to_healthy for check in checks) if checks else None


def restore_health_checks(services: list[ServiceSnapshot]) -> list[dict[str, Any]]:
    """Put back every health check recorded as changed; returns what was put back. Safe to run twice."""
    restored = []
    for group in _distinct(services):
        if group.health_check and group.health_check_lowered:
            load_balancers.set_health_check(group.arn, group.health_check)
            restored.append({"target_group": group.arn, "health_check": group.health_check.model_dump()})
    return restored


def plan_maintenance(
    spec: MigrationInput, service: dict[str, Any], execution_name: str
) -> tuple[list[MaintenanceRule], list[str]]:
    """(the maintenance rules to add, the rules earlier executions left) on the listeners forwarding to Fleet."""
    planned, leftover = [], []
    for listener, rules in load_balancers.listeners_forwarding_to(load_balancers.target_group_arns(service)).items():
        left = load_balancers.rules_left_by_earlier_executions(rules, execution_name)
        leftover += left
        if not spec.maintenance_page:
            continue
        priority = load_balancers.free_priority(rules, ignoring=left)
        if priority is None:
            raise InvalidInput(
                f"maintenance_page: listener {listener} has a rule at priority {load_balancers.HIGHEST_PRIORITY}, so "
                "no rule can go before its rules to answer every request; move that rule to a higher number or set "
                "maintenance_page to false. Nothing was changed.",
                fields=["maintenance_page"],
            )
        planned.append(MaintenanceRule(listener_arn=listener, priority=priority))
    return planned, leftover


def before_scale_down(
    spec: MigrationInput,
    services: list[ServiceSnapshot],
    rules: list[MaintenanceRule],
    leftover: list[str],
    execution_name: str,
) -> None:
    """Take down pages nobody took down, put up ours, shorten the draining: all before any task goes away."""
    for arn in leftover:
        load_balancers.delete_rule(arn)
    for rule in rules:
        # recorded for the by-hand commands (delete-rule) of a rollback that cannot finish
        rule.rule_arn = load_balancers.add_maintenance_rule(
            rule.listener_arn, rule.priority, deployment.maintenance_message(), execution_name
        )
    setting = spec.deregistration_delay_seconds
    if setting is None:
        return
    for group in _distinct(services):
        if group.deregistration_delay_seconds > setting:
            load_balancers.set_deregistration_delay(group.arn, setting)


def restore_delays(services: list[ServiceSnapshot]) -> list[dict[str, Any]]:
    """Put back every delay recorded as changed; returns what was put back. Safe to run twice."""
    restored = []
    for group in _distinct(services):
        if group.lowered:
            load_balancers.set_deregistration_delay(group.arn, group.deregistration_delay_seconds)
            restored.append(
                {"target_group": group.arn, "deregistration_delay_seconds": group.deregistration_delay_seconds}
            )
    return restored


def take_down_maintenance_page(rules: list[MaintenanceRule], execution_name: str) -> None:
    """Delete this execution's maintenance rules, found by tag (a step may have died after creating one)."""
    for listener in sorted({rule.listener_arn for rule in rules}):
        for arn in load_balancers.rules_of_execution(listener, execution_name):
            load_balancers.delete_rule(arn)


def restore_commands(services: list[ServiceSnapshot]) -> list[str]:
    """The AWS CLI commands that put the recorded delays and health checks back by hand."""
    commands = []
    for group in _distinct(services):
        if group.lowered:
            commands.append(
                f"aws elbv2 modify-target-group-attributes --target-group-arn {group.arn} --attributes "
                f"Key={load_balancers.DELAY_ATTRIBUTE},Value={group.deregistration_delay_seconds}"
            )
        if group.health_check and group.health_check_lowered:
            check = group.health_check
            commands.append(
                f"aws elbv2 modify-target-group --target-group-arn {group.arn} --health-check-interval-seconds "
                f"{check.interval_seconds} --health-check-timeout-seconds {check.timeout_seconds} "
                f"--healthy-threshold-count {check.healthy_threshold_count}"
            )
    return commands


def _distinct(services: list[ServiceSnapshot]) -> list[TargetGroup]:
    """Each target group once, even when two services register with it."""
    seen: dict[str, TargetGroup] = {}
    for service in services:
        for group in service.target_groups:
            seen.setdefault(group.arn, group)
    return list(seen.values())
