"""A Fleet deployment seeded into the emulated account, shaped like fleetdm/fleet's Terraform one."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

FLEET_IMAGE = "fleetdm/fleet:v4.60.0"
# Where Fleet's containers log, as fleetdm/fleet's Terraform sets it up (awslogs, prefix "fleet").
LOG_GROUP = "fleet"
LOG_STREAM_PREFIX = "fleet"
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

    @property
    def latest_revision(self) -> int:
        return self.revisions[-1]

    def migration_input(self, **overrides: Any) -> dict[str, Any]:
        """A valid execution input for this deployment (the contract of design section 3)."""
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
        document.update(overrides)
        return {k: v for k, v in document.items() if v is not _DROP}


# The Fleet target's suspended state as seeded: mixed on purpose, so a restore that resets it (or leaves it
# all suspended) shows in every workflow test that compares the services before and after.
SEEDED_SUSPENDED_STATE = {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False,
                          "ScheduledScalingSuspended": True}
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
    capacity_provider_strategy: list[dict[str, Any]] | None = None,
    platform_version: str | None = None,
    suspended: dict[str, bool] | None = SEEDED_SUSPENDED_STATE,
    client: Callable[[str], Any] | None = None,
) -> FleetDeployment:
    """``client`` makes the boto3 clients (the emulator shares its own); by default a new session's.

    ``capacity_provider_strategy`` runs the Fleet service on capacity providers (the cluster has FARGATE,
    FARGATE_SPOT and an EC2 one, ``EC2_CAPACITY_PROVIDER``) instead of the FARGATE launch type.
    """
    if client is None:
        client = boto3.session.Session(region_name=region).client
    ec2, ecs, iam = client("ec2"), client("ecs"), client("iam")

    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.10.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    security_group = ec2.create_security_group(GroupName="fleet", Description="Fleet backend", VpcId=vpc)["GroupId"]

    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    execution_role = iam.create_role(RoleName="fleet-execution", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    task_role = iam.create_role(RoleName="fleet-task", AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    # The group behind the EC2 capacity provider is named, not created: moto does not look it up, nothing here
    # scales it, and creating one costs every seeded emulator a fifth of a second (the Auto Scaling backend).
    group_arn = (f"arn:aws:autoscaling:{region}:123456789012:autoScalingGroup:00000000-0000-0000-0000-000000000000:"
                 f"autoScalingGroupName/{cluster}-ecs")
    ecs.create_capacity_provider(name=EC2_CAPACITY_PROVIDER, autoScalingGroupProvider={
        "autoScalingGroupArn": group_arn, "managedScaling": {"status": "ENABLED", "targetCapacity": 100}})
    ecs.create_cluster(clusterName=cluster, capacityProviders=["FARGATE", "FARGATE_SPOT", EC2_CAPACITY_PROVIDER])
    # An EC2 container instance, so a migration with launch_type "EC2" has somewhere to run: moto's RunTask
    # places EC2 tasks on registered container instances ("No instances found in cluster" without one).
    instance_id = ec2.run_instances(ImageId=CONTAINER_INSTANCE_AMI, InstanceType="m5.large", MinCount=1, MaxCount=1,
                                    SubnetId=subnets[0], SecurityGroupIds=[security_group])["Instances"][0]["InstanceId"]
    container_instance = ecs.register_container_instance(
        cluster=cluster, instanceIdentityDocument=json.dumps({"instanceId": instance_id, "region": region}),
    )["containerInstance"]["containerInstanceArn"]
    family = "fleet"
    client("logs").create_log_group(logGroupName=LOG_GROUP)
    for revision in range(1, revisions + 1):
        ecs.register_task_definition(
            family=family,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE", "EC2"],  # the migration task may run on either (launch_type)
            cpu="512",
            memory="1024",
            executionRoleArn=execution_role,
            taskRoleArn=task_role,
            containerDefinitions=[{
                "name": container_name,
                "image": FLEET_IMAGE,
                "memory": 1024,  # moto wants a container-level memory
                "essential": True,
                "command": ["fleet", "serve"],
                "environment": [{"name": "FLEET_REVISION", "value": str(revision)}],
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": LOG_GROUP, "awslogs-region": region, "awslogs-stream-prefix": LOG_STREAM_PREFIX}},
            }],
        )
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [security_group], "assignPublicIp": "DISABLED"}}
    placement: dict[str, Any] = ({"capacityProviderStrategy": capacity_provider_strategy} if capacity_provider_strategy
                                 else {"launchType": "FARGATE"})
    if platform_version:
        placement["platformVersion"] = platform_version
    ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=f"{family}:{revisions}",
                       desiredCount=desired_count, networkConfiguration=network, **placement)
    if vuln_service:
        ecs.create_service(cluster=cluster, serviceName=vuln_service, taskDefinition=f"{family}:{revisions}",
                           desiredCount=vuln_desired_count, launchType="FARGATE", networkConfiguration=network)
    if autoscaling:
        scaling = client("application-autoscaling")
        resource = f"service/{cluster}/{service}"
        scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=resource,
                                         ScalableDimension="ecs:service:DesiredCount",
                                         MinCapacity=autoscaling[0], MaxCapacity=autoscaling[1],
                                         **({"SuspendedState": suspended} if suspended else {}))
        scaling.put_scaling_policy(
            PolicyName="fleet-cpu", ServiceNamespace="ecs", ResourceId=resource,
            ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 70.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            },
        )
    return FleetDeployment(
        region=region, cluster=cluster, service=service, vuln_service=vuln_service, task_definition=family,
        revisions=list(range(1, revisions + 1)), subnets=subnets, security_groups=[security_group],
        autoscaling=autoscaling,
        extra={"container_instance": {"arn": container_instance, "ec2_instance_id": instance_id}},
    )
