"""Fleet's world seeded into the emulated account from a typed spec, shaped like fleetdm/fleet's Terraform one.

``fleet_spec`` turns ``seed_fleet``'s options into a ``FleetSpec`` (network, roles, cluster, revisions, services,
autoscaling, load balancer, databases), checking them first; ``seed`` applies it, one small function per part,
in the order Fleet's Terraform creates them, and returns the ``FleetDeployment`` a test drives.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from emulator.fleet.database import FleetDatabase, level_of
from emulator.fleet.deployment import (
    EC2_CAPACITY_PROVIDER,
    LOG_GROUP,
    LOG_STREAM_PREFIX,
    SEEDED_SUSPENDED_STATE,
    VULN_FAMILY_SUFFIX,
    FleetDeployment,
    image_for_revision,
    register_vuln_revision,
)
from emulator.fleet.image_registry import ImageRegistry
from emulator.fleet.load_balancer import (
    CONTAINER_PORT,
    FLEET_TARGET_GROUP,
    LoadBalancer,
    TargetGroupSettings,
    seed_load_balancer,
)

NETWORK_MODES = ("awsvpc", "bridge", "host")
# An Amazon Linux 2 AMI from moto's default catalogue (moto accepts it whether or not the catalogue is loaded).
CONTAINER_INSTANCE_AMI = "ami-04681a1dbd79675a5"


# -- the spec -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkSpec:
    """A VPC with a subnet in each zone and Fleet's security group. ``mode``: the revisions' networkMode, "awsvpc"
    (Fargate or EC2, target group of type ip) or "bridge"/"host" (EC2 only, target group of type instance)."""

    mode: str = "awsvpc"
    cidr: str = "10.10.0.0/16"
    zones: tuple[str, ...] = ("a", "b")

    @property
    def awsvpc(self) -> bool:
        return self.mode == "awsvpc"


@dataclass(frozen=True)
class RolesSpec:
    """The task execution role and the task role of Fleet's task definitions."""

    execution: str = "fleet-execution"
    task: str = "fleet-task"


@dataclass(frozen=True)
class ClusterSpec:
    """The cluster, its capacity providers (FARGATE, FARGATE_SPOT and an EC2 one) and one EC2 container instance."""

    name: str = "fleet"
    capacity_providers: tuple[str, ...] = ("FARGATE", "FARGATE_SPOT", EC2_CAPACITY_PROVIDER)


@dataclass(frozen=True)
class RevisionsSpec:
    """Revisions 1 to ``count`` of the family, revision r running ``images[r]``."""

    images: dict[int, str]
    family: str = "fleet"
    container_name: str = "fleet"

    @property
    def count(self) -> int:
        return len(self.images)


@dataclass(frozen=True)
class ServiceSpec:
    """The Fleet service: the revision it runs as seeded, and where (the FARGATE or EC2 launch type, or a capacity
    provider strategy)."""

    name: str = "fleet"
    revision: int = 1
    desired_count: int = 2
    capacity_provider_strategy: list[dict[str, Any]] | None = None
    platform_version: str | None = None


@dataclass(frozen=True)
class VulnServiceSpec:
    """fleet-terraform's addons/external-vuln-scans: the vulnerability service, in a family of its own."""

    name: str = "fleet-vuln-processing"
    desired_count: int = 1


@dataclass(frozen=True)
class AutoscalingSpec:
    """The Fleet service's scalable target (and its CPU target tracking policy)."""

    min_capacity: int = 2
    max_capacity: int = 10
    suspended: dict[str, bool] | None = field(default_factory=lambda: dict(SEEDED_SUSPENDED_STATE))


@dataclass(frozen=True)
class LoadBalancerSpec:
    """The Application Load Balancer in front of the Fleet service, its target group as ``target_group`` says."""

    target_group: TargetGroupSettings = FLEET_TARGET_GROUP


@dataclass(frozen=True)
class FleetSpec:
    region: str
    revisions: RevisionsSpec
    service: ServiceSpec
    network: NetworkSpec = NetworkSpec()
    roles: RolesSpec = RolesSpec()
    cluster: ClusterSpec = ClusterSpec()
    vuln_service: VulnServiceSpec | None = VulnServiceSpec()
    autoscaling: AutoscalingSpec | None = AutoscalingSpec()
    load_balancer: LoadBalancerSpec | None = LoadBalancerSpec()
    databases: bool = False  # an Aurora MySQL cluster and an RDS MySQL instance, as Fleet's Terraform makes either


def fleet_spec(
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
    network_mode: str = "awsvpc",
) -> FleetSpec:
    """The spec ``seed_fleet``'s options describe, checked before anything is created.

    Revision r runs Fleet release ``image_for_revision(r)`` (``images`` overrides some or all). The service runs
    ``service_revision``: by default the one before the latest, so migrating the latest revision is a real
    migration while the older Fleet serves (the order of an EventBridge trigger or a console run); with a single
    revision, revision 1 on an empty schema (a first deploy). ``load_balancer`` puts an Application Load Balancer
    in front of the service, its target group as ``target_group`` says.

    ``capacity_provider_strategy`` runs the Fleet service on capacity providers (the cluster has FARGATE,
    FARGATE_SPOT and an EC2 one, ``EC2_CAPACITY_PROVIDER``) instead of the FARGATE launch type.

    ``network_mode`` "bridge" or "host" is Fleet on EC2 container instances (the EC2 launch type unless a capacity
    provider strategy is given): revisions for EC2 only, container port 8080 bound to a dynamic host port (bridge)
    or to 8080 (host), and a target group of type ``instance``.
    """
    if network_mode not in NETWORK_MODES:
        raise ValueError(f"network_mode must be awsvpc, bridge or host, not {network_mode!r}")
    revision_images = {revision: image_for_revision(revision) for revision in range(1, revisions + 1)}
    revision_images.update(images or {})
    if service_revision is None:
        service_revision = revisions - 1 if revisions >= 2 else 1
    if not 1 <= service_revision <= revisions:
        raise ValueError(f"service_revision must be 1 to {revisions}, not {service_revision}")
    return FleetSpec(
        region=region,
        network=NetworkSpec(mode=network_mode),
        cluster=ClusterSpec(name=cluster),
        revisions=RevisionsSpec(images=revision_images, container_name=container_name),
        service=ServiceSpec(
            name=service,
            revision=service_revision,
            desired_count=desired_count,
            capacity_provider_strategy=capacity_provider_strategy,
            platform_version=platform_version,
        ),
        vuln_service=VulnServiceSpec(vuln_service, vuln_desired_count) if vuln_service else None,
        autoscaling=AutoscalingSpec(autoscaling[0], autoscaling[1], suspended) if autoscaling else None,
        load_balancer=LoadBalancerSpec(target_group) if load_balancer else None,
        databases=databases,
    )


# -- what seeding creates -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Network:
    vpc: str
    subnets: list[str]
    security_group: str

    def awsvpc_configuration(self) -> dict[str, Any]:
        """CreateService's networkConfiguration for an awsvpc task."""
        return {
            "awsvpcConfiguration": {
                "subnets": self.subnets,
                "securityGroups": [self.security_group],
                "assignPublicIp": "DISABLED",
            }
        }


@dataclass(frozen=True)
class Roles:
    execution_arn: str
    task_arn: str


@dataclass(frozen=True)
class ContainerInstance:
    arn: str
    ec2_instance_id: str


Client = Callable[[str], Any]  # makes a boto3 client by service name


def seed_fleet(
    region: str,
    *,
    database: FleetDatabase | None = None,
    registry: ImageRegistry | None = None,
    client: Client | None = None,
    **options: Any,
) -> FleetDeployment:
    """Seed the Fleet deployment ``fleet_spec(region, **options)`` describes. ``client`` makes the boto3 clients
    (the emulator shares its own); by default a new session's. ``database`` (the emulator's) starts at the level of
    the service's image (0 on a first deploy), as ``registry`` resolves it (a mutable tag names some release)."""
    return seed(fleet_spec(region, **options), client=client, database=database, registry=registry)


def seed(
    spec: FleetSpec,
    *,
    client: Client | None = None,
    database: FleetDatabase | None = None,
    registry: ImageRegistry | None = None,
) -> FleetDeployment:
    """Create what ``spec`` says, in the order Fleet's Terraform does; the deployment a test drives."""
    if client is None:
        client = boto3.session.Session(region_name=spec.region).client
    ecs = client("ecs")
    network = create_network(client("ec2"), spec)
    roles = create_roles(client("iam"), spec.roles)
    instance = create_cluster(client, spec, network)
    client("logs").create_log_group(logGroupName=LOG_GROUP)
    if database is not None:
        reset_schema(database, registry, spec)
    register_revisions(ecs, spec, roles)
    balancer = create_load_balancer(client("elbv2"), spec, network) if spec.load_balancer else None
    create_fleet_service(ecs, spec, network, balancer)
    vuln_family = create_vuln_service(ecs, spec, network) if spec.vuln_service else None
    if spec.autoscaling:
        register_autoscaling(client("application-autoscaling"), spec.cluster.name, spec.service.name, spec.autoscaling)
    db_cluster, db_instance = create_databases(client("rds"), network) if spec.databases else (None, None)
    return FleetDeployment(
        region=spec.region,
        cluster=spec.cluster.name,
        service=spec.service.name,
        vuln_service=spec.vuln_service.name if spec.vuln_service else None,
        task_definition=spec.revisions.family,
        revisions=list(range(1, spec.revisions.count + 1)),
        subnets=network.subnets,
        security_groups=[network.security_group],
        autoscaling=(spec.autoscaling.min_capacity, spec.autoscaling.max_capacity) if spec.autoscaling else None,
        extra={"container_instance": {"arn": instance.arn, "ec2_instance_id": instance.ec2_instance_id}},
        db_cluster=db_cluster,
        db_instance=db_instance,
        images=dict(spec.revisions.images),
        service_revision=spec.service.revision,
        load_balancer_arn=balancer.load_balancer_arn if balancer else None,
        target_group_arn=balancer.target_group_arn if balancer else None,
        listener_arn=balancer.listener_arn if balancer else None,
        vuln_task_definition=vuln_family,
        network_mode=spec.network.mode,
    )


# -- one function per part ------------------------------------------------------------------------------------------
def create_network(ec2: Any, spec: FleetSpec) -> Network:
    vpc = ec2.create_vpc(CidrBlock=spec.network.cidr)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    prefix = spec.network.cidr.rsplit(".", 2)[0]  # 10.10.0.0/16 -> 10.10
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{prefix}.{i}.0/24", AvailabilityZone=f"{spec.region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate(spec.network.zones, start=1)
    ]
    security_group = ec2.create_security_group(GroupName="fleet", Description="Fleet backend", VpcId=vpc)["GroupId"]
    return Network(vpc, subnets, security_group)


def create_roles(iam: Any, spec: RolesSpec) -> Roles:
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    execution = iam.create_role(RoleName=spec.execution, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    task = iam.create_role(RoleName=spec.task, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    return Roles(execution, task)


def create_cluster(client: Client, spec: FleetSpec, network: Network) -> ContainerInstance:
    """The cluster with its capacity providers, and an EC2 container instance registered in it, so a migration
    with launch_type "EC2" has somewhere to run (moto's RunTask: "No instances found in cluster" without one)."""
    ec2, ecs, name = client("ec2"), client("ecs"), spec.cluster.name
    # The group behind the EC2 capacity provider is named, not created: moto does not look it up, nothing here
    # scales it, and creating one costs every seeded emulator a fifth of a second (the Auto Scaling backend).
    group_arn = (
        f"arn:aws:autoscaling:{spec.region}:123456789012:autoScalingGroup:00000000-0000-0000-0000-000000000000:"
        f"autoScalingGroupName/{name}-ecs"
    )
    ecs.create_capacity_provider(
        name=EC2_CAPACITY_PROVIDER,
        autoScalingGroupProvider={
            "autoScalingGroupArn": group_arn,
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
        },
    )
    ecs.create_cluster(clusterName=name, capacityProviders=list(spec.cluster.capacity_providers))
    instance_id = ec2.run_instances(
        ImageId=CONTAINER_INSTANCE_AMI,
        InstanceType="m5.large",
        MinCount=1,
        MaxCount=1,
        SubnetId=network.subnets[0],
        SecurityGroupIds=[network.security_group],
    )["Instances"][0]["InstanceId"]
    arn = ecs.register_container_instance(
        cluster=name,
        instanceIdentityDocument=json.dumps({"instanceId": instance_id, "region": spec.region}),
    )["containerInstance"]["containerInstanceArn"]
    return ContainerInstance(arn, instance_id)


def reset_schema(database: FleetDatabase, registry: ImageRegistry | None, spec: FleetSpec) -> None:
    """Fleet's schema at the level of the service's image (0 on a first deploy, a single revision)."""
    image = spec.revisions.images[spec.service.revision]
    binary = registry.binary(image) if registry is not None else image
    database.reset(0 if spec.revisions.count == 1 else level_of(binary) or 0)


def register_revisions(ecs: Any, spec: FleetSpec, roles: Roles) -> None:
    revisions, network = spec.revisions, spec.network
    for revision in range(1, revisions.count + 1):
        ecs.register_task_definition(
            family=revisions.family,
            networkMode=network.mode,
            # the migration task may run on either (launch_type); only EC2 has bridge and host networking
            requiresCompatibilities=["FARGATE", "EC2"] if network.awsvpc else ["EC2"],
            cpu="512",
            memory="1024",
            executionRoleArn=roles.execution_arn,
            taskRoleArn=roles.task_arn,
            containerDefinitions=[
                {
                    "name": revisions.container_name,
                    "image": revisions.images[revision],
                    "memory": 1024,  # moto wants a container-level memory
                    "essential": True,
                    "command": ["fleet", "serve"],
                    "environment": [{"name": "FLEET_REVISION", "value": str(revision)}],
                    **({} if network.awsvpc else {"portMappings": [_port_mapping(network.mode)]}),
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": LOG_GROUP,
                            "awslogs-region": spec.region,
                            "awslogs-stream-prefix": LOG_STREAM_PREFIX,
                        },
                    },
                }
            ],
        )


def _port_mapping(network_mode: str) -> dict[str, Any]:
    """Fleet's port on EC2 networking: a dynamic host port with bridge (hostPort 0), the same port with host."""
    return {"containerPort": CONTAINER_PORT, "hostPort": 0 if network_mode == "bridge" else CONTAINER_PORT}


def create_load_balancer(elbv2: Any, spec: FleetSpec, network: Network) -> LoadBalancer:
    assert spec.load_balancer is not None
    return seed_load_balancer(
        elbv2,
        name=spec.service.name,
        vpc=network.vpc,
        subnets=network.subnets,
        security_group=network.security_group,
        settings=spec.load_balancer.target_group,
        target_type="ip" if spec.network.awsvpc else "instance",
    )


def create_fleet_service(ecs: Any, spec: FleetSpec, network: Network, balancer: LoadBalancer | None) -> None:
    service = spec.service
    placement: dict[str, Any] = (
        {"capacityProviderStrategy": service.capacity_provider_strategy}
        if service.capacity_provider_strategy
        else {"launchType": "FARGATE" if spec.network.awsvpc else "EC2"}
    )
    if service.platform_version:
        placement["platformVersion"] = service.platform_version
    if balancer is not None:
        placement["loadBalancers"] = balancer.service_load_balancers(spec.revisions.container_name)
    networking = {"networkConfiguration": network.awsvpc_configuration()} if spec.network.awsvpc else {}
    # byo-ecs/main.tf: deployment_minimum_healthy_percent 100, deployment_maximum_percent 200
    ecs.create_service(
        cluster=spec.cluster.name,
        serviceName=service.name,
        taskDefinition=f"{spec.revisions.family}:{service.revision}",
        desiredCount=service.desired_count,
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200},
        **networking,
        **placement,
    )


def create_vuln_service(ecs: Any, spec: FleetSpec, network: Network) -> str:
    """The vulnerability service; its revisions follow Fleet's, one per apply, up to the one the service runs.
    Its family."""
    assert spec.vuln_service is not None
    family = f"{spec.revisions.family}{VULN_FAMILY_SUFFIX}"
    vuln_revision = ""
    for revision in range(1, spec.service.revision + 1):
        fleet = ecs.describe_task_definition(taskDefinition=f"{spec.revisions.family}:{revision}")["taskDefinition"]
        vuln_revision = register_vuln_revision(ecs, None, fleet, family=family)
    # addons/external-vuln-scans: launch type FARGATE, minimum healthy 100 %, maximum 200 %, no load balancer
    ecs.create_service(
        cluster=spec.cluster.name,
        serviceName=spec.vuln_service.name,
        taskDefinition=vuln_revision,
        desiredCount=spec.vuln_service.desired_count,
        launchType="FARGATE",
        networkConfiguration=network.awsvpc_configuration(),
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200},
    )
    return family


def register_autoscaling(scaling: Any, cluster: str, service: str, spec: AutoscalingSpec) -> None:
    resource = f"service/{cluster}/{service}"
    scaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=spec.min_capacity,
        MaxCapacity=spec.max_capacity,
        **({"SuspendedState": spec.suspended} if spec.suspended else {}),
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


def create_databases(rds: Any, network: Network) -> tuple[str, str]:
    """Fleet's database both ways: an Aurora MySQL cluster with a writer, and a single RDS MySQL instance."""
    rds.create_db_subnet_group(
        DBSubnetGroupName="fleet", DBSubnetGroupDescription="Fleet database", SubnetIds=network.subnets
    )
    rds.create_db_cluster(
        DBClusterIdentifier="fleet",
        Engine="aurora-mysql",
        EngineVersion="8.0.mysql_aurora.3.05.2",
        MasterUsername="fleet",
        MasterUserPassword="fleet-password",
        DBSubnetGroupName="fleet",
        VpcSecurityGroupIds=[network.security_group],
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
        VpcSecurityGroupIds=[network.security_group],
    )
    return "fleet", "fleet-mysql"
