"""A Fleet deployment seeded into the emulated account (emulator/fleet/seeding.py), shaped like fleetdm/fleet's Terraform
one: what a test drives, and the names and revisions it is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.fleet.database import FLEET_IMAGES

# Where Fleet's containers log, as fleetdm/fleet's Terraform sets it up (awslogs, prefix "fleet").
LOG_GROUP = "fleet"
LOG_STREAM_PREFIX = "fleet"
# fleet-terraform's addons/external-vuln-scans: the vulnerability service runs `fleet serve` in a family and a
# container of its own, "<family>-vuln-processing" and "fleet-vuln-processing", with no load balancer.
VULN_FAMILY_SUFFIX = "-vuln-processing"
VULN_CONTAINER = "fleet-vuln-processing"


@dataclass
class FleetDeployment:
    region: str
    cluster: str
    service: str
    vuln_service: str | None
    task_definition: str
    revisions: list[int]
    subnets: list[str]
    security_groups: list[str]
    autoscaling: tuple[int, int] | None
    extra: dict[str, Any] = field(default_factory=dict)
    # seed_fleet(databases=True): an Aurora MySQL cluster and an RDS MySQL instance, as Fleet's Terraform makes either
    db_cluster: str | None = None
    db_instance: str | None = None
    # revision -> the image of its fleet container (each revision its own Fleet release, in order)
    images: dict[int, str] = field(default_factory=dict)
    # the revision the service runs as seeded (its taskDefinition)
    service_revision: int = 1
    # the Application Load Balancer in front of the service (None: seeded without one)
    load_balancer_arn: str | None = None
    target_group_arn: str | None = None
    listener_arn: str | None = None
    # the vulnerability service's own family (None: seeded without one)
    vuln_task_definition: str | None = None
    # the revisions' networkMode: "awsvpc" (Fargate or EC2, target group of type ip) or "bridge"/"host" (EC2 only,
    # target group of type instance)
    network_mode: str = "awsvpc"

    @property
    def latest_revision(self) -> int:
        return self.revisions[-1]

    def migration_input(self, **overrides: Any) -> dict[str, Any]:
        """A valid execution input for this deployment (the contract in docs/execution-input.md)."""
        document: dict[str, Any] = {
            "ecs_cluster": self.cluster,
            "ecs_service": self.service,
            "task_definition": self.task_definition,
            "task_definition_revision": self.latest_revision,
            "subnets": self.subnets,
            "security_groups": self.security_groups,
        }
        if self.vuln_service:
            document["vuln_service"] = self.vuln_service
        if self.network_mode != "awsvpc":  # RunTask takes no awsvpc configuration for other network modes
            del document["subnets"], document["security_groups"]
        document.update(overrides)
        return {k: v for k, v in document.items() if v is not _DROP}


# The Fleet target's suspended state as seeded: mixed on purpose, so a restore that resets it (or leaves it
# all suspended) shows in every workflow test that compares the services before and after.
SEEDED_SUSPENDED_STATE = {
    "DynamicScalingInSuspended": False,
    "DynamicScalingOutSuspended": False,
    "ScheduledScalingSuspended": True,
}
# An EC2 capacity provider (an Auto Scaling group with managed scaling) beside the Fargate ones.
EC2_CAPACITY_PROVIDER = "fleet-ec2"

_DROP = object()
DROP = _DROP  # pass as an override value to leave a field out


def register_vuln_revision(
    ecs: Any, current: str | None, fleet_revision: dict[str, Any], *, family: str | None = None
) -> str:
    """Register the vulnerability service's next revision for a Fleet revision, as addons/external-vuln-scans
    does in the same apply: Fleet's image and environment (with the vulnerability schedule on), the addon's
    own family, container and sizes. ``current``: the revision it runs now (its family), or None with ``family``.
    The new revision's ARN."""
    fleet = fleet_revision["containerDefinitions"][0]
    if current is not None:
        family = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]["family"]
    assert family is not None
    environment = [e for e in fleet.get("environment", []) if e["name"] != "FLEET_VULNERABILITIES_DISABLE_SCHEDULE"]
    options = dict(fleet.get("logConfiguration", {}).get("options", {}))
    options["awslogs-stream-prefix"] = f"{LOG_STREAM_PREFIX}{VULN_FAMILY_SUFFIX}"
    return ecs.register_task_definition(
        family=family,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="1024",
        memory="4096",
        executionRoleArn=fleet_revision["executionRoleArn"],
        taskRoleArn=fleet_revision["taskRoleArn"],
        containerDefinitions=[
            {
                "name": VULN_CONTAINER,
                "image": fleet["image"],
                "cpu": 1024,
                "memory": 4096,
                "essential": True,
                "command": fleet.get("command", ["fleet", "serve"]),
                "environment": [*environment, {"name": "FLEET_VULNERABILITIES_DISABLE_SCHEDULE", "value": "false"}],
                "logConfiguration": {"logDriver": "awslogs", "options": options},
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]


def image_for_revision(revision: int) -> str:
    """Revision r of the seeded family runs the r-th Fleet release after the oldest the catalogue knows."""
    if not 1 <= revision < len(FLEET_IMAGES):
        raise ValueError(
            f"the catalogue has Fleet images for revisions 1 to {len(FLEET_IMAGES) - 1}; "
            f"pass images= for revision {revision}"
        )
    return FLEET_IMAGES[revision]
