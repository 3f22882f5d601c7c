"""What users see while Fleet is down: how long its target groups drain, and the maintenance page.

The describe step plans (reads only); the scale-down applies the plan before lowering any count; every path
out puts things back: the stability check once Fleet serves, the rollback on failure, and a later execution for
what an aborted one left (the delays it recorded are inherited with the rest of its baseline; its page is found by
its tags and put back from what it recorded).

The maintenance page answers exactly what would have reached Fleet: each forward to Fleet's target groups, in a
listener rule or a listener's default action, is swapped for a 503 fixed response (ModifyRule, ModifyListener), and
the actions it had are put back afterwards. Every other rule (another application's host, an allowlist's 403 or
404, a redirect) answers as before, whatever the priorities. Swapped resources carry the ``fleet-migration:page``
tag naming the execution: no execution touches what a running one swapped. ELB health checks only target groups a
listener forwards to (their targets turn ``unused``), so while the page is up a rule that only a header value known
to the execution matches keeps each of Fleet's target groups attached, and Fleet can turn healthy behind the page.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from typing import Any

from botocore.exceptions import ClientError

from fleet_migration import aws, baseline, deployment, load_balancers
from fleet_migration.errors import InvalidInput
from fleet_migration.execution_input import MigrationInput
from fleet_migration.load_balancers import EXECUTION_TAG, PAGE_TAG
from fleet_migration.models import (
    Execution,
    HealthCheck,
    KeepAlive,
    MaintenancePage,
    Migration,
    PageLeftovers,
    PageSwap,
    ServiceSnapshot,
    TargetGroup,
)

KEEP_ALIVE_HEADER = "X-Fleet-Migration-Keep-Alive"
# Tag values allow letters, numbers, spaces and _ . : / = + - @ (Elastic Load Balancing API Reference, Tag).
_TAG_VALUE = re.compile(r"[\w\s.:/=+\-@]*")
_STILL_RUNNING = {"RUNNING", "PENDING_REDRIVE"}


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
    spec: MigrationInput, service: dict[str, Any], execution: Execution
) -> tuple[MaintenancePage | None, PageLeftovers | None]:
    """(what the page changes, what interrupted earlier executions left of theirs) on the listeners in front of
    ``service``. Reads only; ``InvalidInput`` for a page that cannot be put up."""
    fleet = set(load_balancers.target_group_arns(service))
    recorded = {swap.arn: swap for swap in _recorded(baseline.earlier_page(spec, execution))}
    balancers = _balancers(fleet, recorded.values())
    front = {
        balancer: {listener["ListenerArn"]: listener for listener in load_balancers.listeners(balancer)}
        for balancer in balancers
    }
    rules = {arn: load_balancers.rules(arn) for listeners in front.values() for arn in listeners}
    tagged = load_balancers.tags(
        [*rules, *(r["RuleArn"] for found in rules.values() for r in found if not r.get("IsDefault"))]
    )
    owners = _Owners(execution)
    left = PageLeftovers()
    before: dict[str, tuple[str, str | None, list[dict[str, Any]]]] = {}  # arn -> (listener, rule, actions before)
    for listener_arn, found in rules.items():
        for rule in found:
            arn = listener_arn if rule.get("IsDefault") else rule["RuleArn"]
            actions = _current(front, listener_arn) if rule.get("IsDefault") else rule["Actions"]
            rule_arn = None if rule.get("IsDefault") else rule["RuleArn"]
            marks = tagged.get(arn, {})
            if owners.left_by_another(marks.get(EXECUTION_TAG)) and not rule.get("IsDefault"):
                left.rules.append(arn)
                continue
            owner = marks.get(PAGE_TAG)
            if owner and owner != execution.id:
                if not owners.left_by_another(owner):
                    continue  # a running execution's page (or another workflow's): not ours to touch
                earlier = recorded.get(arn)
                if earlier is not None and _is_page_over(actions, earlier.actions):
                    left.swaps.append(earlier)
                    actions = earlier.actions
                else:
                    left.untag.append(arn)  # changed by hand since: only the tag goes
            before[arn] = (listener_arn, rule_arn, actions)
    if not spec.maintenance_page:
        return None, left or None
    return _plan_page(execution, fleet, front, rules, before, left), left or None


def _plan_page(
    execution: Execution,
    fleet: set[str],
    front: dict[str, dict[str, dict[str, Any]]],
    rules: dict[str, list[dict[str, Any]]],
    before: dict[str, tuple[str, str | None, list[dict[str, Any]]]],
    left: PageLeftovers,
) -> MaintenancePage:
    problem = deployment.maintenance_message_problem(deployment.maintenance_message())
    if problem:
        raise InvalidInput(
            f"maintenance_message: the deployment's maintenance page (SAM parameter MaintenanceMessage, Terraform "
            f"variable maintenance_message) {problem}; redeploy with another, or set maintenance_page to false. "
            "Nothing was changed.",
            fields=["maintenance_message"],
        )
    if not _TAG_VALUE.fullmatch(execution.id):
        raise InvalidInput(
            f"maintenance_page: the execution name {execution.name!r} has characters an Elastic Load Balancing tag "
            "value does not allow (letters, numbers, spaces and _ . : / = + - @ only), and the page's changes are "
            "tagged with it; start the execution under another name. Nothing was changed.",
            fields=["maintenance_page"],
        )
    balancers = {b["LoadBalancerArn"]: b for b in load_balancers.load_balancers(sorted(front))}
    page = MaintenancePage(header_value=uuid.uuid4().hex)
    for balancer_arn, listeners in sorted(front.items()):
        swapped_groups: dict[str, str] = {}  # target group -> the first listener swapped away from it
        for listener_arn in sorted(listeners):
            for arn, (listener, rule_arn, actions) in before.items():
                if listener != listener_arn:
                    continue
                groups = set().union(*(load_balancers.forwarded_groups(a) for a in actions))
                if not groups & fleet:
                    continue
                _refuse_what_cannot_answer(balancers.get(balancer_arn, {}), listener_arn, arn, groups - fleet)
                page.swaps.append(PageSwap(listener_arn=listener_arn, rule_arn=rule_arn, actions=actions))
                for group in sorted(groups):
                    swapped_groups.setdefault(group, listener_arn)
        _plan_keep_alive(page, balancer_arn, listeners, swapped_groups, rules, left)
    return page


def _refuse_what_cannot_answer(balancer: dict[str, Any], listener_arn: str, arn: str, others: set[str]) -> None:
    if balancer.get("Type", "application") != "application":
        raise InvalidInput(
            f"maintenance_page: Fleet is behind a {balancer.get('Type')} load balancer ({listener_arn}); only an "
            "Application Load Balancer can answer with a page (fixed responses are an Application Load Balancer's "
            "actions). Set maintenance_page to false. Nothing was changed.",
            fields=["maintenance_page"],
        )
    if others:
        raise InvalidInput(
            f"maintenance_page: {arn} forwards to Fleet's target groups and to {', '.join(sorted(others))} at once; "
            "the page could answer only for all of them. Split the forward, or set maintenance_page to false. "
            "Nothing was changed.",
            fields=["maintenance_page"],
        )


def _plan_keep_alive(
    page: MaintenancePage,
    balancer_arn: str,
    front_listeners: dict[str, dict[str, Any]],
    swapped_groups: dict[str, str],
    rules: dict[str, list[dict[str, Any]]],
    left: PageLeftovers,
) -> None:
    """One rule per target group of Fleet on this load balancer, on the last free priorities of a listener."""
    if not swapped_groups:
        return
    listeners = list(front_listeners)
    counted = sum(
        1 for arn in listeners for r in rules[arn] if not r.get("IsDefault") and r["RuleArn"] not in left.rules
    )
    if counted + len(swapped_groups) > load_balancers.RULES_PER_LOAD_BALANCER:
        raise InvalidInput(
            f"maintenance_page: load balancer {balancer_arn} has {counted} rules; the page adds "
            f"{len(swapped_groups)} (keeping Fleet's target groups health checked) and an Application Load Balancer "
            f"takes at most {load_balancers.RULES_PER_LOAD_BALANCER}. Remove a rule or set maintenance_page to false. "
            "Nothing was changed.",
            fields=["maintenance_page"],
        )
    for group, listener_arn in sorted(swapped_groups.items()):
        taken = {
            int(r["Priority"]) for r in rules[listener_arn] if not r.get("IsDefault") and r["RuleArn"] not in left.rules
        }
        taken |= {k.priority for k in page.keep_alive if k.listener_arn == listener_arn}
        priority = next(p for p in range(load_balancers.LOWEST_PRIORITY, 0, -1) if p not in taken)
        page.keep_alive.append(KeepAlive(listener_arn=listener_arn, priority=priority, target_group_arn=group))


def before_scale_down(migration: Migration) -> None:
    """Put back what earlier pages left, put up ours, shorten the draining: all before any task goes away."""
    spec, me = migration.input, migration.execution.id
    page, left = migration.maintenance, migration.page_leftovers
    ours = {swap.arn for swap in page.swaps} if page else set()
    if left:
        for swap in left.swaps:
            if swap.arn not in ours:
                load_balancers.set_actions(swap.listener_arn, swap.rule_arn, swap.actions)
                load_balancers.untag(swap.arn, PAGE_TAG)
        for arn in left.untag:
            if arn not in ours:
                load_balancers.untag(arn, PAGE_TAG)
        for arn in left.rules:
            load_balancers.delete_rule(arn)
    if page:
        _put_up(page, me)
    setting = spec.deregistration_delay_seconds
    if setting is None:
        return
    for group in _distinct(migration.services):
        if group.deregistration_delay_seconds > setting:
            load_balancers.set_deregistration_delay(group.arn, setting)


def _put_up(page: MaintenancePage, me: str) -> None:
    """Keep Fleet's target groups attached first, then swap each forward: tagged before it changes, so a step that
    dies in between leaves a tag the next execution finds."""
    message = deployment.maintenance_message()
    for keep in page.keep_alive:
        made = _created_by(keep.listener_arn, me)
        keep.rule_arn = made.get(keep.priority) or load_balancers.create_rule(
            keep.listener_arn,
            keep.priority,
            [
                {
                    "Field": "http-header",
                    "HttpHeaderConfig": {"HttpHeaderName": KEEP_ALIVE_HEADER, "Values": [page.header_value]},
                }
            ],
            [{"Type": "forward", "TargetGroupArn": keep.target_group_arn}],
            me,
        )
    for swap in page.swaps:
        load_balancers.tag(swap.arn, PAGE_TAG, me)
        load_balancers.set_actions(swap.listener_arn, swap.rule_arn, page_actions(swap.actions, message))


def take_down_maintenance_page(migration: Migration) -> None:
    """Put back every forward this execution swapped and delete the rules it made. Safe to run twice, and only what
    still carries this execution's tag is touched (a step may have died half-way, or a person put things back)."""
    page, me = migration.maintenance, migration.execution.id
    if not page:
        return
    marks = load_balancers.tags([swap.arn for swap in page.swaps]) if page.swaps else {}
    for swap in page.swaps:
        if marks.get(swap.arn, {}).get(PAGE_TAG) == me:
            load_balancers.set_actions(swap.listener_arn, swap.rule_arn, swap.actions)
            load_balancers.untag(swap.arn, PAGE_TAG)
    for listener_arn in sorted({keep.listener_arn for keep in page.keep_alive}):
        for arn in _created_by(listener_arn, me).values():
            load_balancers.delete_rule(arn)


def manual_commands(page: MaintenancePage | None, left: PageLeftovers | None = None) -> list[str]:
    """The AWS CLI commands that take the maintenance page down by hand: each forward put back, the tags removed,
    the keep-alive rules deleted; and what an earlier execution left, likewise."""
    commands = []
    swaps = [*(left.swaps if left else []), *(page.swaps if page else [])]
    for swap in {swap.arn: swap for swap in swaps}.values():
        actions = json.dumps(swap.actions, separators=(",", ":"))
        if swap.rule_arn is None:
            commands.append(
                shlex.join(
                    [
                        "aws",
                        "elbv2",
                        "modify-listener",
                        "--listener-arn",
                        swap.listener_arn,
                        "--default-actions",
                        actions,
                    ]
                )
            )
        else:
            commands.append(
                shlex.join(["aws", "elbv2", "modify-rule", "--rule-arn", swap.rule_arn, "--actions", actions])
            )
        commands.append(
            shlex.join(["aws", "elbv2", "remove-tags", "--resource-arns", swap.arn, "--tag-keys", PAGE_TAG])
        )
    for arn in left.untag if left else []:
        commands.append(shlex.join(["aws", "elbv2", "remove-tags", "--resource-arns", arn, "--tag-keys", PAGE_TAG]))
    for arn in left.rules if left else []:
        commands.append(shlex.join(["aws", "elbv2", "delete-rule", "--rule-arn", arn]))
    for keep in page.keep_alive if page else []:
        if keep.rule_arn:
            commands.append(shlex.join(["aws", "elbv2", "delete-rule", "--rule-arn", keep.rule_arn]))
        else:  # planned, maybe not made: the rule at its priority, if there is one
            query = (
                f"Rules[?Priority=='{keep.priority}' && Actions[0].TargetGroupArn=='{keep.target_group_arn}'].RuleArn"
            )
            found = shlex.join(
                [
                    "aws",
                    "elbv2",
                    "describe-rules",
                    "--listener-arn",
                    keep.listener_arn,
                    "--query",
                    query,
                    "--output",
                    "text",
                ]
            )
            commands.append(f'for rule in $({found}); do aws elbv2 delete-rule --rule-arn "$rule"; done')
    return commands


def page_actions(actions: list[dict[str, Any]], message: str) -> list[dict[str, Any]]:
    """``actions`` with each forward replaced by the page (a fixed response must be the last action, where the
    forward was; an authentication action before it stays)."""
    page = {"StatusCode": "503", "ContentType": deployment.content_type(message), "MessageBody": message}
    swapped = []
    for action in actions:
        if action.get("Type") == "forward":
            order = {"Order": action["Order"]} if "Order" in action else {}
            swapped.append({"Type": "fixed-response", **order, "FixedResponseConfig": page})
        else:
            swapped.append(action)
    return swapped


def _is_page_over(live: list[dict[str, Any]], before: list[dict[str, Any]]) -> bool:
    """Whether ``live`` is the page put over ``before`` (with whatever body the page had)."""
    responses = [a for a in live if a.get("Type") == "fixed-response"]
    if not responses or any(a.get("Type") == "forward" for a in live):
        return False
    body = (responses[-1].get("FixedResponseConfig") or {}).get("MessageBody", "")
    return _comparable(live) == _comparable(page_actions(before, body))


def _comparable(actions: list[dict[str, Any]]) -> list[str]:
    return [
        json.dumps(
            {k: v for k, v in a.items() if k != "FixedResponseConfig"}
            | {"status": (a.get("FixedResponseConfig") or {}).get("StatusCode")},
            sort_keys=True,
        )
        for a in actions
    ]


def _current(front: dict[str, dict[str, dict[str, Any]]], listener_arn: str) -> list[dict[str, Any]]:
    return next(listeners[listener_arn]["DefaultActions"] for listeners in front.values() if listener_arn in listeners)


def _recorded(stored: list[dict[str, Any]]) -> list[PageSwap]:
    swaps = []
    for entry in stored:
        try:
            swaps.append(PageSwap.model_validate(entry))
        except ValueError:
            continue  # an older version's record: nothing to put back from it
    return swaps


def _balancers(fleet: set[str], recorded: Any) -> list[str]:
    """The load balancers in front of Fleet's target groups, and those an earlier page swapped away from them (a
    target group no rule forwards to may no longer list its load balancer)."""
    found = {
        arn
        for group in (load_balancers.target_groups(sorted(fleet)) if fleet else [])
        for arn in group.get("LoadBalancerArns", [])
    }
    for swap in recorded:
        described = load_balancers.listener(swap.listener_arn)
        if described is not None:
            found.add(described["LoadBalancerArn"])
    return sorted(found)


def _created_by(listener_arn: str, me: str) -> dict[int, str]:
    """The rules of a listener this execution created, by priority (found by tag: a step may have died after
    CreateRule)."""
    found = [r for r in load_balancers.rules(listener_arn) if not r.get("IsDefault")]
    marks = load_balancers.tags([r["RuleArn"] for r in found]) if found else {}
    return {int(r["Priority"]): r["RuleArn"] for r in found if marks.get(r["RuleArn"], {}).get(EXECUTION_TAG) == me}


class _Owners:
    """Whether a tag names an execution of this workflow that has ended (DescribeExecution, asked once each)."""

    def __init__(self, execution: Execution) -> None:
        self.me = execution.id
        self.prefix = execution.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":"
        self._ended: dict[str, bool] = {}

    def left_by_another(self, owner: str | None) -> bool:
        if not owner or owner == self.me or not owner.startswith(self.prefix):
            return False
        if owner not in self._ended:
            self._ended[owner] = self._status(owner) not in _STILL_RUNNING
        return self._ended[owner]

    @staticmethod
    @aws.throttling_is_retried
    def _status(owner: str) -> str:
        try:
            return aws.client("stepfunctions").describe_execution(executionArn=owner)["status"]
        except ClientError as exc:
            if aws.error_code(exc) == "ExecutionDoesNotExist":
                return "GONE"
            raise


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
