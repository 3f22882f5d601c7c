"""Application Load Balancer target groups in front of ECS services, over the emulator's clock.

moto keeps the load balancers, target groups, listeners, rules and attributes; it registers nothing for ECS and
its DescribeTargetHealth knows no time. Here, what ECS and ELB document:
- As a task of a service with ``loadBalancers`` reaches RUNNING, ECS registers it in each target group; for
  awsvpc tasks the target is the task ENI's private IPv4 address, on the ``containerPort`` (Amazon ECS Developer
  Guide, "Use load balancing to distribute Amazon ECS service traffic"; target type ``ip``). A bridge or host task
  "is registered with the Application Load Balancer as an instance ID and port combination": its container
  instance's EC2 instance id and the host port bound to ``containerPort`` (Amazon ECS Developer Guide, "Use an
  Application Load Balancer for Amazon ECS"; target type ``instance``), so one instance is several targets.
  CreateService refuses a group whose target type does not fit the network mode ("you must choose ip as the target
  type, not instance" for awsvpc tasks, same page).
- A new target is ``initial`` (``Elb.RegistrationInProgress``) until it passes ``HealthyThresholdCount``
  consecutive checks ``HealthCheckIntervalSeconds`` apart, then ``healthy`` (ELB User Guide for Application Load
  Balancers, "Health checks for Application Load Balancer target groups": target health states). A Fleet task
  that exits before then never turns healthy.
- A task ECS stops (scale-in, replaced by a deployment, StopTask) is deregistered first and stays ``draining``
  (``Target.DeregistrationInProgress``) for the group's ``deregistration_delay.timeout_seconds`` (300 s by
  default) as set when it was deregistered; meanwhile the task is DEACTIVATING and only then stops (ELB User
  Guide, "Deregistration delay"; Amazon ECS Developer Guide, "Amazon ECS task lifecycle": DEACTIVATING).
- A listener answers with its rules in priority order, the default rule last; a rule applies when every one of its
  conditions matches (path pattern, host header, source IP, method, HTTP header, query string: ELB User Guide,
  "Listener rules for your Application Load Balancer", "Condition types"); a ``forward`` to groups with no healthy
  target answers 503.
- A target group no listener rule or default action forwards to is not health checked: its targets are ``unused``
  (``Target.NotInUse``, "Target group is not configured to receive traffic from the load balancer") and never turn
  healthy (ELB User Guide, "Health checks for Application Load Balancer target groups").
- DescribeListeners, DescribeRules, DescribeTargetGroups and DescribeLoadBalancers answer one page at a time, with
  ``NextMarker`` when there is more (Elastic Load Balancing API Reference, each action's ``Marker``/``PageSize``:
  1 to 400); moto pages two of them and ignores ``PageSize`` in the others, so the emulator pages all four at
  ``page_size`` at most.
- At most 100 rules per Application Load Balancer, default rules not counted (User Guide, "Quotas for your
  Application Load Balancers"): CreateRule beyond that is ``TooManyRules``; a fixed response's body is at most 1024
  characters (API Reference, FixedResponseActionConfig ``MessageBody``).
"""

from __future__ import annotations

import fnmatch
import functools
import inspect
import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import InvalidParameterException
from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, elbv2_backends
from moto.elbv2.responses import ELBV2Response

from emulator.clock import Clock
from emulator.patching import Patches

# What an ALB answers when a forward finds no healthy target (ELB User Guide, "HTTP 503: Service unavailable").
UNAVAILABLE = (
    503,
    "text/html",
    "<html><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
)
SERVED = (200, "text/html", "Fleet")  # what Fleet's front page stands for here
RULES_PER_LOAD_BALANCER = 100
MESSAGE_BODY_LIMIT = 1024
MAX_PAGE_SIZE = 400
_STATE_REASONS = {
    "unused": ("Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"),
    "initial": ("Elb.RegistrationInProgress", "Target registration is in progress"),
    "draining": ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
}
_NOT_REGISTERED = ("Target.NotRegistered", "Target is not registered to the target group")


@dataclass(frozen=True)
class Request:
    """What a client sends, as far as listener rule conditions look at it."""

    path: str = "/"
    host: str = "fleet.example.com"
    source_ip: str = "198.51.100.7"
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()


@dataclass
class _Target:
    group_arn: str
    target_id: str  # the ENI's address (target type ip) or the EC2 instance id (target type instance)
    port: int
    task_arn: str
    registered_at: float | None  # None: the task never reaches RUNNING, so ECS never registers it
    healthy_at: float | None
    exits_at: Callable[[], float | None]  # when the task's container exits by itself (a crash), if it does
    deregistered_at: float | None = None
    drain_seconds: float | None = None  # frozen at deregistration

    def deregistration(self) -> float | None:
        """When ECS deregisters the target: when it decided to stop the task, or as the task exited by itself."""
        if self.deregistered_at is not None:
            return self.deregistered_at
        return self.exits_at()

    def turns_healthy(self) -> float | None:
        gone = self.deregistration()
        if self.registered_at is None or self.healthy_at is None or (gone is not None and gone <= self.healthy_at):
            return None
        return self.healthy_at

    def state(self, at: float, delay_now: float) -> str | None:
        """Its health at ``at``: initial, healthy, draining, or None (not registered, or gone)."""
        if self.registered_at is None or at < self.registered_at:
            return None
        gone = self.deregistration()
        if gone is not None and at >= gone:
            if gone < self.registered_at:
                return None
            drain = self.drain_seconds if self.drain_seconds is not None else delay_now
            return "draining" if at < gone + drain else None
        healthy = self.turns_healthy()
        return "healthy" if healthy is not None and at >= healthy else "initial"


class ElbSimulator:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.before_read: Callable[[], None] = lambda: None  # the ECS simulator's tick
        self._lock = threading.RLock()
        self._targets: list[_Target] = []
        self._by_task: dict[str, list[_Target]] = {}  # the scheduler asks about one task at a time, often
        self.page_size = MAX_PAGE_SIZE  # tests lower it to see every Describe call follow NextMarker

    # -- the ECS simulator's hooks ---------------------------------------------------------------
    def track(
        self,
        task: Any,
        load_balancers: list[dict[str, Any]],
        running_at: float | None,
        exits_at: Callable[[], float | None],
        settled: bool = False,
    ) -> None:
        """A service task that reaches RUNNING at ``running_at`` is registered in each of its groups then;
        ``settled`` (a seeded service's tasks) is healthy from the start."""
        for entry in load_balancers:
            group = self._group_by_arn(entry.get("targetGroupArn") or "")
            found = None if group is None else _target_of(task, entry, group.target_type)
            if found is None:
                continue
            target_id, port = found
            checks = int(group.healthy_threshold_count) * int(group.health_check_interval_seconds)
            healthy_at = None if running_at is None else running_at + (0 if settled else checks)
            target = _Target(
                group_arn=group.arn,
                target_id=target_id,
                port=port,
                task_arn=task.task_arn,
                registered_at=running_at,
                healthy_at=healthy_at,
                exits_at=exits_at,
            )
            with self._lock:
                self._targets.append(target)
                self._by_task.setdefault(task.task_arn, []).append(target)

    def deregister(self, task_arn: str, at: float) -> float:
        """ECS deregisters a task it is about to stop: the seconds it drains (the longest of its groups' delays
        in force now; 0 when it was not registered)."""
        longest = 0.0
        with self._lock:
            for target in self._by_task.get(task_arn, []):
                if target.deregistered_at is not None:
                    continue
                target.deregistered_at = at
                if target.registered_at is not None and target.registered_at <= at:
                    target.drain_seconds = self.delay_of(target.group_arn)
                    longest = max(longest, target.drain_seconds)
                else:
                    target.drain_seconds = 0.0
        return longest

    def has_targets(self, task_arn: str) -> bool:
        with self._lock:
            return task_arn in self._by_task

    def is_healthy(self, task_arn: str, at: float) -> bool:
        """Healthy in every target group it belongs to (a group no listener forwards to checks nobody)."""
        with self._lock:
            mine = list(self._by_task.get(task_arn, []))
        states = [self._checked(t.group_arn, t.state(at, 0.0)) for t in mine]
        return bool(states) and all(state == "healthy" for state in states)

    def was_ever_healthy(self, task_arn: str) -> bool:
        with self._lock:
            mine = list(self._by_task.get(task_arn, []))
        at = self.clock.now()
        return bool(mine) and all((h := t.turns_healthy()) is not None and h <= at for t in mine)

    # -- what tests, the demo and the benchmark read ----------------------------------------------
    def target_health(self, group_arn: str, at: float | None = None) -> list[tuple[str, int, str]]:
        """(target id, port, state) of every target the group lists at ``at`` (now by default)."""
        at = self.clock.now() if at is None else at
        delay = self.delay_of(group_arn)
        with self._lock:
            found = [(t.target_id, t.port, t.state(at, delay)) for t in self._targets if t.group_arn == group_arn]
        return [
            (target_id, port, self._checked(group_arn, state)) for target_id, port, state in found if state is not None
        ]

    def _checked(self, group_arn: str, state: str | None) -> str | None:
        """A registered target's state as ELB reports it: ``unused`` while no listener forwards to its group."""
        if state in ("initial", "healthy") and not self.in_use(group_arn):
            return "unused"
        return state

    def in_use(self, group_arn: str) -> bool:
        """Whether a listener rule or default action of some load balancer forwards to the group."""
        return any(backend._any_listener_using(group_arn) for backend in self._backends())

    def check_service(self, network_mode: str, load_balancers: list[dict[str, Any]]) -> None:
        """CreateService refuses a target group whose type does not fit the tasks' network mode: "For services with
        tasks using the awsvpc network mode, when you create a target group for the service, you must choose ip as
        the target type, not instance", and a bridge or host task has no address of its own to register (Amazon
        ECS Developer Guide, "Use an Application Load Balancer for Amazon ECS")."""
        wanted = "ip" if network_mode == "awsvpc" else "instance"
        for entry in load_balancers:
            group = self._group_by_arn(entry.get("targetGroupArn") or "")
            if group is not None and group.target_type != wanted:
                raise InvalidParameterException(
                    f"The provided target group {group.arn} has target type {group.target_type}, which is "
                    f"incompatible with the {network_mode} network mode specified in the task definition."
                )

    def healthy_count(self, group_arn: str, at: float | None = None) -> int:
        return sum(1 for *_, state in self.target_health(group_arn, at) if state == "healthy")

    def healthy_history(self, group_arn: str) -> list[tuple[float, int]]:
        """(clock time, healthy targets from then on) at each change up to now, read-only: how long the group had
        no healthy target is the outage a client of the load balancer saw."""
        now = self.clock.now()
        with self._lock:
            spans = [(t.turns_healthy(), t.deregistration()) for t in self._targets if t.group_arn == group_arn]
        moments = sorted({m for span in spans for m in span if m is not None and m <= now})
        history: list[tuple[float, int]] = []
        for moment in moments:
            count = sum(
                1 for start, end in spans if start is not None and start <= moment and (end is None or moment < end)
            )
            if not history or history[-1][1] != count:
                history.append((moment, count))
        return history

    def answer(
        self,
        listener_arn: str,
        path: str = "/",
        *,
        host: str = Request.host,
        source_ip: str = Request.source_ip,
        method: str = Request.method,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, str | None, str]:
        """(status, content type, body) the listener answers a request with (a GET of ``path`` by default)."""
        request = Request(path, host, source_ip, method, tuple((headers or {}).items()), tuple((query or {}).items()))
        self.before_read()
        listener = self._listener(listener_arn)
        rules = sorted((r for r in listener.rules.values() if not r.is_default), key=lambda r: int(r.priority))
        rules += [r for r in listener.rules.values() if r.is_default]
        for rule in rules:
            if all(_matches(condition, request) for condition in rule.conditions):
                return self._act(sorted(rule.actions, key=lambda a: int(a.data.get("Order") or 0))[-1])
        return UNAVAILABLE  # a listener always has a default rule; kept for safety

    # -- moto's state ---------------------------------------------------------------------------
    def delay_of(self, group_arn: str) -> float:
        group = self._group_by_arn(group_arn)
        return float(group.attributes.get("deregistration_delay.timeout_seconds", 300)) if group else 300.0

    def _act(self, action: Any) -> tuple[int, str | None, str]:
        data = action.data
        if action.type == "fixed-response":
            config = data.get("FixedResponseConfig") or {}
            return int(config.get("StatusCode", 503)), config.get("ContentType"), config.get("MessageBody", "")
        if action.type == "redirect":
            config = data.get("RedirectConfig") or {}
            return int(str(config.get("StatusCode", "HTTP_301")).removeprefix("HTTP_")), None, ""
        if action.type == "forward":
            groups = (
                [data["TargetGroupArn"]]
                if data.get("TargetGroupArn")
                else [g["TargetGroupArn"] for g in (data.get("ForwardConfig") or {}).get("TargetGroups", [])]
            )
            if any(self.healthy_count(g) for g in groups):
                return SERVED
            by_hand = [g for g in groups if self._healthy_by_hand(g)]
            return (200, "text/html", self._group_by_arn(by_hand[0]).name) if by_hand else UNAVAILABLE
        return UNAVAILABLE

    def _healthy_by_hand(self, group_arn: str) -> bool:
        """Targets someone registered by hand (RegisterTargets: another application's) answer with the group's
        name, as long as a listener forwards to the group."""
        group = self._group_by_arn(group_arn)
        return bool(group is not None and group.targets and self.in_use(group_arn))

    @staticmethod
    def _backends() -> list[ELBv2Backend]:
        return [backend for _, _, backend in elbv2_backends.iter_backends()]

    def _group_by_arn(self, arn: str) -> Any:
        return next((b.target_groups[arn] for b in self._backends() if arn in b.target_groups), None)

    def _listener(self, arn: str) -> Any:
        for backend in self._backends():
            for balancer in backend.load_balancers.values():
                if arn in balancer.listeners:
                    return balancer.listeners[arn]
        raise KeyError(f"no listener {arn}")

    # -- patches -----------------------------------------------------------------------------
    def install(self) -> Patches:
        """DescribeTargetHealth answers for the tasks' targets; the returned ``Patches`` puts moto's back on exit."""
        patches = Patches()
        patches.wrap(ELBv2Backend, "describe_target_health", self._describe_target_health)
        patches.wrap(ELBv2Backend, "modify_target_group", _modify_target_group)
        patches.wrap(ELBv2Backend, "create_rule", self._create_rule)
        patches.wrap(ELBv2Backend, "modify_rule", self._modify_rule)
        patches.wrap(ELBv2Backend, "modify_listener", self._modify_listener)
        for operation, key in _PAGED.items():
            patches.wrap(ELBV2Response, operation, functools.partial(self._paged_response, operation, key))
        return patches

    def _paged_response(self, operation: str, key: str, original: Any, response: ELBV2Response) -> ActionResult:
        """One page of the Describe call ``operation``, at ``page_size`` at most, with ``NextMarker`` when there is
        more (moto pages two of the four and ignores ``PageSize`` in the others: its answer is not used)."""
        everything = _describe_all(operation, response)
        size = response._get_int_param("PageSize") or self.page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ELBClientError("ValidationError", f"PageSize must be 1 to {MAX_PAGE_SIZE}, not {size}")
        size = min(size, self.page_size)
        marker = response._get_param("Marker")
        start = int(marker) if marker and marker.isdigit() else 0
        if marker and not marker.isdigit():
            raise ELBClientError("ValidationError", f"Invalid Marker {marker!r}")
        page = everything[start : start + size]
        more = start + size < len(everything)
        return ActionResult({key: page, **({"NextMarker": str(start + size)} if more else {})})

    def _create_rule(self, original: Any, backend: ELBv2Backend, listener_arn: str, conditions: Any, priority: Any,
                     actions: list[dict[str, Any]], tags: Any = None) -> Any:  # fmt: skip
        _check_bodies(actions)
        balancer = next(b for b in backend.load_balancers.values() if listener_arn in b.listeners)
        rules = sum(1 for lst in balancer.listeners.values() for r in lst.rules.values() if not r.is_default)
        if rules >= RULES_PER_LOAD_BALANCER:
            raise ELBClientError("TooManyRules", "You've reached the limit on the number of rules per load balancer")
        return original(backend, listener_arn, conditions, priority, actions, tags)

    def _modify_rule(self, original: Any, backend: ELBv2Backend, rule_arn: str, conditions: Any, actions: Any) -> Any:
        _check_bodies(actions or [])
        # "To modify the actions for the default rule, use ModifyListener" (ModifyRule, ELB API Reference)
        for balancer in backend.load_balancers.values():
            for listener in balancer.listeners.values():
                if any(rule.arn == rule_arn and rule.is_default for rule in listener.rules.values()):
                    raise ELBClientError("OperationNotPermitted", "Default rule cannot be modified")
        return original(backend, rule_arn, conditions, actions)

    def _modify_listener(self, original: Any, backend: ELBv2Backend, arn: str, *args: Any, **kwargs: Any) -> Any:
        _check_bodies(kwargs.get("actions") or [])
        return original(backend, arn, *args, **kwargs)

    def _describe_target_health(
        self, original: Any, backend: ELBv2Backend, target_group_arn: str, targets: list[dict[str, Any]]
    ) -> Any:
        self.before_read()
        found = original(backend, target_group_arn, [])  # moto's checks (an unknown group) and its own targets
        group = backend.target_groups[target_group_arn]
        # A target is an Id and a Port (TargetDescription, ELB API Reference): an EC2 instance is one target per port.
        ours = {(target_id, port): state for target_id, port, state in self.target_health(target_group_arn)}
        wanted = (
            [(t["Id"], int(t.get("Port") or _port_of(ours, t["Id"]) or group.port)) for t in targets]
            if targets
            else list(ours)
        )
        statuses = []
        for target_id, port in wanted:
            state = ours.get((target_id, port), "unused")
            reason, description = (
                _STATE_REASONS.get(state, (None, None)) if (target_id, port) in ours else _NOT_REGISTERED
            )
            statuses.append(FakeHealthStatus(target_id, str(port), group.health_check_port, state, reason, description))
        # targets someone registered by hand (RegisterTargets) keep moto's answer
        mine = {target_id for target_id, _ in ours}
        asked = {target_id for target_id, _ in wanted}
        statuses += [s for s in found if s.instance_id not in mine and (not targets or s.instance_id in asked)]
        return statuses


def _port_of(targets: dict[tuple[str, int], str], target_id: str) -> int | None:
    """A target asked for by Id alone: the port it is registered on (the first, for an instance on several)."""
    return next((port for known, port in targets if known == target_id), None)


def _target_of(task: Any, entry: dict[str, Any], target_type: str) -> tuple[str, int] | None:
    """(target id, port) ECS registers a task as in a group of ``target_type``, for one ``loadBalancers`` entry."""
    if target_type == "ip":
        ip = task_ip(task)
        return None if ip is None else (ip, int(entry.get("containerPort") or 80))
    instance_arn = getattr(task, "container_instance_arn", None)
    if not instance_arn:
        return None
    instance = task._backend.container_instances.get(task.cluster_name, {}).get(instance_arn.split("/")[-1])
    port = next(
        (
            int(binding["hostPort"])
            for container in task.containers
            if container.name == entry.get("containerName")
            for binding in getattr(container, "network_bindings", None) or []
            if binding.get("containerPort") == entry.get("containerPort")
        ),
        None,
    )
    return None if instance is None or port is None else (instance.ec2_instance_id, port)


def task_ip(task: Any) -> str | None:
    """The private IPv4 address of an awsvpc task's ENI, as DescribeTasks shows it in ``attachments``."""
    for attachment in getattr(task, "attachments", None) or []:
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return detail.get("value")
    return None


def _matches(condition: dict[str, Any], path: str) -> bool:
    """Path patterns: case sensitive, ``*`` any characters, ``?`` one (ELB User Guide, "Path conditions")."""
    if condition.get("Field") != "path-pattern":
        return False  # the emulator answers path-only requests; other conditions never match here
    values = (condition.get("PathPatternConfig") or {}).get("Values") or condition.get("Values") or []
    return any(fnmatch.fnmatchcase(path, value) for value in values)


def _modify_target_group(original: Any, backend: ELBv2Backend, *args: Any, **kwargs: Any) -> Any:
    """ModifyTargetGroup refuses health check settings outside ELB's ranges, judged on the settings that result
    (ModifyTargetGroup, Elastic Load Balancing API Reference: HealthCheckIntervalSeconds 5-300,
    HealthCheckTimeoutSeconds 2-120, HealthyThresholdCount 2-10; "the timeout must be smaller than the interval"
    for HTTP and HTTPS health checks). moto takes any value."""
    changes = inspect.signature(original).bind(backend, *args, **kwargs).arguments
    group = backend.target_groups.get(changes["arn"])
    if group is not None:
        interval = int(changes.get("health_check_interval") or group.health_check_interval_seconds)
        timeout = int(changes.get("health_check_timeout") or group.health_check_timeout_seconds)
        healthy = int(changes.get("healthy_threshold_count") or group.healthy_threshold_count)
        for name, value, low, high in (
            ("HealthCheckIntervalSeconds", interval, 5, 300),
            ("HealthCheckTimeoutSeconds", timeout, 2, 120),
            ("HealthyThresholdCount", healthy, 2, 10),
        ):
            if not low <= value <= high:
                raise ELBClientError("ValidationError", f"{name} must be from {low} to {high}, not {value}")
        if timeout >= interval:
            raise ELBClientError(
                "ValidationError", f"Health check timeout '{timeout}' must be smaller than the interval '{interval}'"
            )
    return original(backend, *args, **kwargs)


_PAGED = {
    "describe_listeners": "Listeners",
    "describe_rules": "Rules",
    "describe_target_groups": "TargetGroups",
    "describe_load_balancers": "LoadBalancers",
}


def _describe_all(operation: str, response: ELBV2Response) -> list[Any]:
    """Everything a Describe call selects, before paging (moto's own selection and errors)."""
    backend, param = response.elbv2_backend, response._get_param
    if operation == "describe_listeners":
        if not param("LoadBalancerArn") and not param("ListenerArns"):
            raise ELBClientError("ValidationError", "You must specify either listener ARNs or a load balancer ARN")
        return list(backend.describe_listeners(param("LoadBalancerArn"), param("ListenerArns", [])))
    if operation == "describe_rules":
        return list(backend.describe_rules(param("ListenerArn"), param("RuleArns")))
    if operation == "describe_target_groups":
        return list(
            backend.describe_target_groups(param("LoadBalancerArn"), param("TargetGroupArns", []), param("Names", []))
        )
    return list(backend.describe_load_balancers(param("LoadBalancerArns", []), param("Names", [])))


def _check_bodies(actions: list[dict[str, Any]]) -> None:
    for action in actions:
        body = (action.get("FixedResponseConfig") or {}).get("MessageBody") or ""
        if len(body) > MESSAGE_BODY_LIMIT:
            raise ELBClientError(
                "ValidationError",
                f"MessageBody must be at most {MESSAGE_BODY_LIMIT} characters, not {len(body)}",
            )


def _values(condition: dict[str, Any], config: str) -> list[Any]:
    """A condition's values, given in its ``...Config`` or (path and host only) the older ``Values``."""
    return (condition.get(config) or {}).get("Values") or condition.get("Values") or []


def _matches(condition: dict[str, Any], request: Request) -> bool:
    """Whether one condition matches (ELB User Guide, "Condition types for listener rules"): ``*`` is any
    characters and ``?`` exactly one, any of a condition's values is enough; path patterns and methods are case
    sensitive, host headers, HTTP headers and query strings are not."""
    field = condition.get("Field")
    if field == "path-pattern":
        return any(fnmatch.fnmatchcase(request.path, value) for value in _values(condition, "PathPatternConfig"))
    if field == "host-header":  # not case sensitive
        host = request.host.lower()
        return any(fnmatch.fnmatchcase(host, v.lower()) for v in _values(condition, "HostHeaderConfig"))
    if field == "http-request-method":  # case sensitive
        return request.method in _values(condition, "HttpRequestMethodConfig")
    if field == "source-ip":
        address = ipaddress.ip_address(request.source_ip)
        return any(address in ipaddress.ip_network(v, strict=False) for v in _values(condition, "SourceIpConfig"))
    if field == "http-header":  # the name is not case sensitive, the values are not either
        config = condition.get("HttpHeaderConfig") or {}
        name = str(config.get("HttpHeaderName", "")).lower()
        sent = [value for key, value in request.headers if key.lower() == name]
        return any(fnmatch.fnmatchcase(s.lower(), v.lower()) for s in sent for v in config.get("Values", []))
    if field == "query-string":  # keys and values are not case sensitive
        pairs = [(k.lower(), v.lower()) for k, v in request.query]
        wanted = (condition.get("QueryStringConfig") or {}).get("Values", [])
        return any(
            any(
                (w.get("Key") is None or fnmatch.fnmatchcase(k, w["Key"].lower()))
                and fnmatch.fnmatchcase(v, str(w.get("Value", "")).lower())
                for k, v in pairs
            )
            for w in wanted
        )
    return False
