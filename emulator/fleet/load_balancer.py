"""The Application Load Balancer in front of Fleet, as fleetdm/fleet-terraform's byo-vpc/byo-db module makes it.

Its ``alb_config.fleet_target_group``: protocol HTTP, target type ``ip``, health check ``/healthz`` matching 200
every 15 s with a 10 s timeout, 5 checks to turn healthy or unhealthy; no deregistration delay of its own, so
ELB's default of 300 s. The service registers container ``fleet`` on port 8080 (byo-ecs/main.tf
``load_balancers``). The module's listener is HTTPS with a certificate; the emulator's is plain HTTP on port 80
forwarding to the group (moto has no certificate to offer), which answers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONTAINER_PORT = 8080


@dataclass(frozen=True)
class TargetGroupSettings:
    """Health check and deregistration delay of the Fleet target group, within what CreateTargetGroup and
    ModifyTargetGroupAttributes accept (Elastic Load Balancing API Reference: HealthCheckIntervalSeconds 5-300,
    HealthCheckTimeoutSeconds 2-120 and less than the interval, Healthy/UnhealthyThresholdCount 2-10;
    deregistration_delay.timeout_seconds 0-3600)."""

    interval: int = 15
    timeout: int = 10
    healthy_threshold: int = 5
    unhealthy_threshold: int = 5
    deregistration_delay: int = 300

    def __post_init__(self) -> None:
        limits = {
            "interval": (5, 300),
            "timeout": (2, 120),
            "healthy_threshold": (2, 10),
            "unhealthy_threshold": (2, 10),
            "deregistration_delay": (0, 3600),
        }
        for name, (low, high) in limits.items():
            if not low <= getattr(self, name) <= high:
                raise ValueError(f"{name} must be {low} to {high}, not {getattr(self, name)}")
        if self.timeout >= self.interval:
            raise ValueError("the health check timeout must be less than its interval")


FLEET_TARGET_GROUP = TargetGroupSettings()  # Fleet's Terraform, and ELB's default deregistration delay
# The shortest ELB allows: healthy 10 s after RUNNING, drained in 5 s (the workflow's own default delay).
FAST_TARGET_GROUP = TargetGroupSettings(
    interval=5, timeout=2, healthy_threshold=2, unhealthy_threshold=2, deregistration_delay=5
)


@dataclass
class LoadBalancer:
    load_balancer_arn: str
    target_group_arn: str
    listener_arn: str

    def service_load_balancers(self, container_name: str) -> list[dict[str, Any]]:
        """CreateService ``loadBalancers``, as byo-ecs/main.tf sets them."""
        return [
            {"targetGroupArn": self.target_group_arn, "containerName": container_name, "containerPort": CONTAINER_PORT}
        ]


def seed_load_balancer(
    elbv2: Any,
    *,
    name: str,
    vpc: str,
    subnets: list[str],
    security_group: str,
    settings: TargetGroupSettings,
    target_type: str = "ip",
) -> LoadBalancer:
    """``target_type`` "ip" for awsvpc tasks (Fleet's module), "instance" for tasks on EC2 with bridge or host
    networking (CreateTargetGroup TargetType, Elastic Load Balancing API Reference)."""
    balancer = elbv2.create_load_balancer(
        Name=name, Subnets=subnets, SecurityGroups=[security_group], Scheme="internet-facing", Type="application"
    )["LoadBalancers"][0]
    group = elbv2.create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=80,
        VpcId=vpc,
        TargetType=target_type,
        HealthCheckProtocol="HTTP",
        HealthCheckPath="/healthz",
        Matcher={"HttpCode": "200"},
        HealthCheckIntervalSeconds=settings.interval,
        HealthCheckTimeoutSeconds=settings.timeout,
        HealthyThresholdCount=settings.healthy_threshold,
        UnhealthyThresholdCount=settings.unhealthy_threshold,
    )["TargetGroups"][0]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=group["TargetGroupArn"],
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(settings.deregistration_delay)}],
    )
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    return LoadBalancer(
        load_balancer_arn=balancer["LoadBalancerArn"],
        target_group_arn=group["TargetGroupArn"],
        listener_arn=listener["Listeners"][0]["ListenerArn"],
    )


# fleet-terraform's example/main.tf, its optional allowlist (https_listener_rules): osquery, orbit and MDM paths
# forwarded from anywhere at priorities 1 to 4, the allowed addresses forwarded from priority 5 (five CIDRs a rule),
# /version answered 404 at 8999 and everything else 403 at 9000.
ALLOWLIST_PATHS = {
    1: ["/api/osquery/*", "/api/*/osquery/*", "/api/*/orbit/*"],
    2: ["/api/*/fleet/device/*", "/mdm/*", "/api/mdm/apple/enroll"],
    3: ["/device/*", "/api/*/fleet/mdm/*", "/assets/*"],
    4: ["/api/mdm/microsoft/*", "/api/fleet/device/ping"],
}


def add_fleet_allowlist(elbv2: Any, balancer: LoadBalancer, allowed_cidrs: list[str]) -> None:
    """The allowlist of fleet-terraform's example on the listener in front of Fleet."""

    def rule(priority: int, condition: dict[str, Any], action: dict[str, Any]) -> None:
        elbv2.create_rule(
            ListenerArn=balancer.listener_arn, Priority=priority, Conditions=[condition], Actions=[action]
        )

    forward = {"Type": "forward", "TargetGroupArn": balancer.target_group_arn}
    for priority, paths in ALLOWLIST_PATHS.items():
        rule(priority, {"Field": "path-pattern", "PathPatternConfig": {"Values": paths}}, forward)
    for index in range(0, len(allowed_cidrs), 5):
        rule(
            5 + index // 5,
            {"Field": "source-ip", "SourceIpConfig": {"Values": allowed_cidrs[index : index + 5]}},
            forward,
        )
    for priority, paths, status, body in (
        (8999, ["/version"], "404", "<h1><center>404 Not Found</center></h1>"),
        (9000, ["*"], "403", "<h1><center>403 Forbidden</center></h1>"),
    ):
        rule(
            priority,
            {"Field": "path-pattern", "PathPatternConfig": {"Values": paths}},
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": status, "ContentType": "text/html", "MessageBody": body},
            },
        )


def add_other_application(elbv2: Any, balancer: LoadBalancer, vpc: str, host: str, priority: int) -> str:
    """Another application sharing the load balancer: its host forwarded to its own target group, with one target
    registered by hand (it answers with the group's name). Returns the group's ARN."""
    group = elbv2.create_target_group(Name="other-app", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.10.1.200", "Port": 80}])
    elbv2.create_rule(
        ListenerArn=balancer.listener_arn,
        Priority=priority,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [host]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    return group
