"""A Fleet deployment seeded into the emulated account, shaped like fleetdm/fleet's Terraform one."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from emulator.fleet.database import FLEET_IMAGES, FleetDatabase, level_of
from emulator.fleet.image_registry import ImageRegistry
from emulator.fleet.load_balancer import (
    CONTAINER_PORT,
    FLEET_TARGET_GROUP,
    LoadBalancer,
    TargetGroupSettings,
    seed_load_balancer,
)

# Where Fleet's containers log, as fleetdm/fleet's Terraform sets it up (awslogs, prefix "fleet").
LOG_GROUP = "fleet"
LOG_STREAM_PREFIX = "fleet"
# fleet-terraform's addons/external-vuln-scans: the vulnerability service runs `fleet serve` in a family and a
# container of its own, "<family>-vuln-processing" and "fleet-vuln-processing", with no load balancer.
VULN_FAMILY_SUFFIX = "-vuln-processing"
VULN_CONTAINER = "fleet-vuln-processing"
# An Amazon Linux 2 AMI from moto's default catalogue (moto accepts it whether or not the catalogue is loaded).
CONTAINER_INSTANCE_AMI = "ami-04681a1dbd79675a5"


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


def seed_fleet(
    region: str,
    *,
    cluster: str = "fleet",
    service: str = "fleet",
    desired_count: int = 2,
    autoscaling: tuple[int, int] | None = (2, 10),
    vuln_service: str | None = "fleet-vuln-processing",
    vuln_desired_count: int = 1,
    revisions: int = 2,
    container_name: str = "fleet",
    databases: bool = False,
    capacity_provider_strategy: list[dict[str, Any]] | None = None,
    platform_version: str | None = None,
    suspended: dict[str, bool] | None = SEEDED_SUSPENDED_STATE,
    images: dict[int, str] | None = None,
    service_revision: int | None = None,
    load_balancer: bool = True,
    target_group: TargetGroupSettings = FLEET_TARGET_GROUP,
    database: FleetDatabase | None = None,
    registry: ImageRegistry | None = None,
    client: Callable[[str], Any] | None = None,
    network_mode: str = "awsvpc",
) -> FleetDeployment:
    """``client`` makes the boto3 clients (the emulator shares its own); by default a new session's.

    Revision r runs Fleet release ``image_for_revision(r)`` (``images`` overrides some or all). The service runs
    ``service_revision``: by default the one before the latest, so migrating the latest revision is a real
    migration while the older Fleet serves (the order of an EventBridge trigger or a console run); with a single
    revision, revision 1 on an empty schema (a first deploy). ``database`` (the emulator's) starts at the level of
    the service's image (0 on a first deploy), as ``registry`` resolves it (a mutable tag names some release). ``load_balancer`` puts an Application Load Balancer in front of the
    service, its target group as ``target_group`` says.

    ``capacity_provider_strategy`` runs the Fleet service on capacity providers (the cluster has FARGATE,
    FARGATE_SPOT and an EC2 one, ``EC2_CAPACITY_PROVIDER``) instead of the FARGATE launch type.

    ``network_mode`` "bridge" or "host" is Fleet on EC2 container instances (the EC2 launch type unless a capacity
    provider strategy is given): revisions for EC2 only, container port 8080 bound to a dynamic host port (bridge)
    or to 8080 (host), and a target group of type ``instance``.
    """
    if network_mode not in ("awsvpc", "bridge", "host"):
        raise ValueError(f"network_mode must be awsvpc, bridge or host, not {network_mode!r}")
    on_awsvpc = network_mode == "awsvpc"
    if client is None:
        client = boto3.session.Session(region_name=region).client
    ec2, ecs, iam = client("ec2"), client("ecs"), client("iam")

    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.10.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in ((1, "a"), (2, "b"))
    ]
    security_group = ec2.create_security_group(GroupName="fleet", Description="Fleet backend", VpcId=vpc)["GroupId"]

    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    execution_role = iam.create_role(RoleName="fleet-execution", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    task_role = iam.create_role(RoleName="fleet-task", AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    # The group behind the EC2 capacity provider is named, not created: moto does not look it up, nothing here
    # scales it, and creating one costs every seeded emulator a fifth of a second (the Auto Scaling backend).
    group_arn = (
        f"arn:aws:autoscaling:{region}:123456789012:autoScalingGroup:00000000-0000-0000-0000-000000000000:"
        f"autoScalingGroupName/{cluster}-ecs"
    )
    ecs.create_capacity_provider(
        name=EC2_CAPACITY_PROVIDER,
        autoScalingGroupProvider={
            "autoScalingGroupArn": group_arn,
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
        },
    )
    ecs.create_cluster(clusterName=cluster, capacityProviders=["FARGATE", "FARGATE_SPOT", EC2_CAPACITY_PROVIDER])
    # An EC2 container instance, so a migration with launch_type "EC2" has somewhere to run: moto's RunTask
    # places EC2 tasks on registered container instances ("No instances found in cluster" without one).
    instance_id = ec2.run_instances(
        ImageId=CONTAINER_INSTANCE_AMI,
        InstanceType="m5.large",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnets[0],
        SecurityGroupIds=[security_group],
    )["Instances"][0]["InstanceId"]
    container_instance = ecs.register_container_instance(
        cluster=cluster,
        instanceIdentityDocument=json.dumps({"instanceId": instance_id, "region": region}),
    )["containerInstance"]["containerInstanceArn"]
    family = "fleet"
    client("logs").create_log_group(logGroupName=LOG_GROUP)
    revision_images = {revision: image_for_revision(revision) for revision in range(1, revisions + 1)}
    revision_images.update(images or {})
    if service_revision is None:
        service_revision = revisions - 1 if revisions >= 2 else 1
    if not 1 <= service_revision <= revisions:
        raise ValueError(f"service_revision must be 1 to {revisions}, not {service_revision}")
    if database is not None:
        first_deploy = revisions == 1
        image = revision_images[service_revision]
        binary = registry.binary(image) if registry is not None else image
        database.reset(0 if first_deploy else level_of(binary) or 0)
    for revision in range(1, revisions + 1):
        ecs.register_task_definition(
            family=family,
            networkMode=network_mode,
            # the migration task may run on either (launch_type); only EC2 has bridge and host networking
            requiresCompatibilities=["FARGATE", "EC2"] if on_awsvpc else ["EC2"],
            cpu="512",
            memory="1024",
            executionRoleArn=execution_role,
            taskRoleArn=task_role,
            containerDefinitions=[
                {
                    "name": container_name,
                    "image": revision_images[revision],
                    "memory": 1024,  # moto wants a container-level memory
                    "essential": True,
                    "command": ["fleet", "serve"],
                    "environment": [{"name": "FLEET_REVISION", "value": str(revision)}],
                    **({} if on_awsvpc else {"portMappings": [_port_mapping(network_mode)]}),
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": LOG_GROUP,
                            "awslogs-region": region,
                            "awslogs-stream-prefix": LOG_STREAM_PREFIX,
                        },
                    },
                }
            ],
        )
    network = {
        "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [security_group], "assignPublicIp": "DISABLED"}
    }
    placement: dict[str, Any] = (
        {"capacityProviderStrategy": capacity_provider_strategy}
        if capacity_provider_strategy
        else {"launchType": "FARGATE" if on_awsvpc else "EC2"}
    )
    networking = {"networkConfiguration": network} if on_awsvpc else {}
    if platform_version:
        placement["platformVersion"] = platform_version
    balancer: LoadBalancer | None = None
    if load_balancer:
        balancer = seed_load_balancer(
            client("elbv2"),
            name=service,
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            settings=target_group,
            target_type="ip" if on_awsvpc else "instance",
        )
        placement["loadBalancers"] = balancer.service_load_balancers(container_name)
    # byo-ecs/main.tf: deployment_minimum_healthy_percent 100, deployment_maximum_percent 200
    ecs.create_service(
        cluster=cluster,
        serviceName=service,
        taskDefinition=f"{family}:{service_revision}",
        desiredCount=desired_count,
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200},
        **networking,
        **placement,
    )
    vuln_family = f"{family}{VULN_FAMILY_SUFFIX}" if vuln_service else None
    if vuln_service:
        # Its revisions follow Fleet's, one per apply, up to the one the service runs
        vuln_revision = ""
        for revision in range(1, service_revision + 1):
            fleet_revision = ecs.describe_task_definition(taskDefinition=f"{family}:{revision}")["taskDefinition"]
            vuln_revision = register_vuln_revision(ecs, None, fleet_revision, family=vuln_family)
        # addons/external-vuln-scans: launch type FARGATE, minimum healthy 100 %, maximum 200 %, no load balancer
        ecs.create_service(
            cluster=cluster,
            serviceName=vuln_service,
            taskDefinition=vuln_revision,
            desiredCount=vuln_desired_count,
            launchType="FARGATE",
            networkConfiguration=network,
            deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200},
        )
    if autoscaling:
        scaling = client("application-autoscaling")
        resource = f"service/{cluster}/{service}"
        scaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=resource,
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=autoscaling[0],
            MaxCapacity=autoscaling[1],
            **({"SuspendedState": suspended} if suspended else {}),
        )
        scaling.put_scaling_policy(
            PolicyName="fleet-cpu",
            ServiceNamespace="ecs",
            ResourceId=resource,
            ScalableDimension="ecs:service:DesiredCount",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 70.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            },
        )
    db_cluster, db_instance = _seed_databases(client("rds"), subnets, security_group) if databases else (None, None)
    return FleetDeployment(
        region=region,
        cluster=cluster,
        service=service,
        vuln_service=vuln_service,
        task_definition=family,
        revisions=list(range(1, revisions + 1)),
        subnets=subnets,
        security_groups=[security_group],
        autoscaling=autoscaling,
        extra={"container_instance": {"arn": container_instance, "ec2_instance_id": instance_id}},
        db_cluster=db_cluster,
        db_instance=db_instance,
        images=revision_images,
        service_revision=service_revision,
        load_balancer_arn=balancer.load_balancer_arn if balancer else None,
        target_group_arn=balancer.target_group_arn if balancer else None,
        listener_arn=balancer.listener_arn if balancer else None,
        vuln_task_definition=vuln_family,
        network_mode=network_mode,
    )


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


def _port_mapping(network_mode: str) -> dict[str, Any]:
    """Fleet's port on EC2 networking: a dynamic host port with bridge (hostPort 0), the same port with host."""
    return {"containerPort": CONTAINER_PORT, "hostPort": 0 if network_mode == "bridge" else CONTAINER_PORT}


def image_for_revision(revision: int) -> str:
    """Revision r of the seeded family runs the r-th Fleet release after the oldest the catalogue knows."""
    if not 1 <= revision < len(FLEET_IMAGES):
        raise ValueError(
            f"the catalogue has Fleet images for revisions 1 to {len(FLEET_IMAGES) - 1}; "
            f"pass images= for revision {revision}"
        )
    return FLEET_IMAGES[revision]


def _seed_databases(rds: Any, subnets: list[str], security_group: str) -> tuple[str, str]:
    """Fleet's database both ways: an Aurora MySQL cluster with a writer, and a single RDS MySQL instance."""
    rds.create_db_subnet_group(DBSubnetGroupName="fleet", DBSubnetGroupDescription="Fleet database", SubnetIds=subnets)
    rds.create_db_cluster(
        DBClusterIdentifier="fleet",
        Engine="aurora-mysql",
        EngineVersion="8.0.mysql_aurora.3.05.2",
        MasterUsername="fleet",
        MasterUserPassword="fleet-password",
        DBSubnetGroupName="fleet",
        VpcSecurityGroupIds=[security_group],
    )
    rds.create_db_instance(
        DBInstanceIdentifier="fleet-1",
        DBClusterIdentifier="fleet",
        Engine="aurora-mysql",
        DBInstanceClass="db.t4g.medium",
    )
    rds.create_db_instance(
        DBInstanceIdentifier="fleet-mysql",
        Engine="mysql",
        EngineVersion="8.0.35",
        DBInstanceClass="db.t4g.medium",
        AllocatedStorage=20,
        MasterUsername="fleet",
        MasterUserPassword="fleet-password",
        DBSubnetGroupName="fleet",
        VpcSecurityGroupIds=[security_group],
    )
    return "fleet", "fleet-mysql"
