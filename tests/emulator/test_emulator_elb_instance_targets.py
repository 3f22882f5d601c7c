"""Fleet on EC2 with bridge or host networking, behind a target group of type ``instance``: ECS places each task on
a container instance, binds its container port to a host port (bridge: one ECS picks from the ephemeral range;
host: the container port itself) and registers the task as (EC2 instance id, host port). Health follows the same
rules as for ``ip`` targets: ``initial``, then ``healthy`` after healthy threshold x interval, ``draining`` for
the deregistration delay when ECS stops the task."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator import Emulator, FleetDeployment

# FAST_TARGET_GROUP (an Emulator's default): healthy 2 x 5 s after RUNNING, 5 s of draining
HEALTHY_AFTER, DRAIN = 10, 5
EPHEMERAL = range(32768, 61001)


def health(emu: Emulator, fleet: FleetDeployment) -> dict[tuple[str, int], str]:
    found = emu.client("elbv2").describe_target_health(TargetGroupArn=fleet.target_group_arn)
    return {
        (d["Target"]["Id"], d["Target"]["Port"]): d["TargetHealth"]["State"] for d in found["TargetHealthDescriptions"]
    }


def tasks(emu: Emulator, status: str = "RUNNING") -> list[dict]:
    ecs = emu.client("ecs")
    arns = ecs.list_tasks(cluster="fleet", serviceName="fleet", desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(cluster="fleet", tasks=arns)["tasks"] if arns else []


def target_of(emu: Emulator, task: dict) -> tuple[str, int]:
    (instance,) = emu.client("ecs").describe_container_instances(
        cluster="fleet", containerInstances=[task["containerInstanceArn"]]
    )["containerInstances"]
    (binding,) = task["containers"][0]["networkBindings"]
    return instance["ec2InstanceId"], binding["hostPort"]


def scale(emu: Emulator, count: int) -> None:
    emu.client("ecs").update_service(cluster="fleet", service="fleet", desiredCount=count)


@pytest.mark.fleet(network_mode="bridge")
def test_fleet_on_ec2_bridge_is_seeded_behind_an_instance_target_group(emu, deployment):
    ecs, elbv2 = emu.client("ecs"), emu.client("elbv2")
    (group,) = elbv2.describe_target_groups(TargetGroupArns=[deployment.target_group_arn])["TargetGroups"]
    definition = ecs.describe_task_definition(taskDefinition="fleet:2")["taskDefinition"]
    (service,) = ecs.describe_services(cluster="fleet", services=["fleet"])["services"]

    assert group["TargetType"] == "instance"
    assert (definition["networkMode"], definition["requiresCompatibilities"]) == ("bridge", ["EC2"])
    assert definition["containerDefinitions"][0]["portMappings"][0] | {"protocol": "tcp"} == {
        "containerPort": 8080,
        "hostPort": 0,
        "protocol": "tcp",
    }
    assert service["launchType"] == "EC2" and not service.get("networkConfiguration")
    # RunTask takes no awsvpc configuration for a bridge revision: the input leaves it out
    assert "subnets" not in deployment.migration_input() and "security_groups" not in deployment.migration_input()


@pytest.mark.fleet(network_mode="bridge")
def test_bridge_tasks_share_an_instance_on_dynamic_host_ports_and_are_registered_by_instance_and_port(emu, deployment):
    running = tasks(emu)
    targets = [target_of(emu, t) for t in running]

    assert len({instance for instance, _ in targets}) == 1  # one container instance, two tasks
    assert len(set(targets)) == 2 and all(port in EPHEMERAL for _, port in targets)
    assert health(emu, deployment) == {target: "healthy" for target in targets}


@pytest.mark.fleet(network_mode="bridge")
def test_a_new_instance_target_is_initial_once_running_then_healthy_after_threshold_times_interval(emu, deployment):
    before = set(health(emu, deployment))
    scale(emu, 3)
    emu.clock.advance(1.5)
    (new,) = [target_of(emu, t) for t in tasks(emu) if target_of(emu, t) not in before]

    assert health(emu, deployment)[new] == "initial"
    emu.clock.advance(HEALTHY_AFTER - 1)
    assert health(emu, deployment)[new] == "initial"
    emu.clock.advance(1)
    assert health(emu, deployment)[new] == "healthy"


@pytest.mark.fleet(network_mode="bridge")
def test_an_instance_target_ecs_stops_drains_for_the_delay_and_its_port_is_free_again(emu, deployment):
    scale(emu, 1)
    (stopping,) = tasks(emu, "STOPPED")
    gone = target_of(emu, stopping)

    assert health(emu, deployment)[gone] == "draining"
    emu.clock.advance(DRAIN + 1.5)
    assert gone not in health(emu, deployment)
    scale(emu, 2)
    emu.clock.advance(1.5)
    assert gone in {target_of(emu, t) for t in tasks(emu)}  # the lowest free port of the range again


@pytest.mark.fleet(network_mode="bridge")
def test_describe_target_health_answers_for_one_instance_target_by_id_and_port(emu, deployment):
    instance, port = target_of(emu, tasks(emu)[0])
    elbv2 = emu.client("elbv2")

    (found,) = elbv2.describe_target_health(
        TargetGroupArn=deployment.target_group_arn, Targets=[{"Id": instance, "Port": port}]
    )["TargetHealthDescriptions"]
    (other,) = elbv2.describe_target_health(
        TargetGroupArn=deployment.target_group_arn, Targets=[{"Id": instance, "Port": 61000}]
    )["TargetHealthDescriptions"]

    assert (found["Target"], found["TargetHealth"]["State"]) == ({"Id": instance, "Port": port}, "healthy")
    assert other["TargetHealth"]["State"] == "unused"


@pytest.mark.fleet(network_mode="host", desired_count=1)
def test_a_host_task_binds_the_container_port_itself_and_a_second_one_finds_no_room_on_the_instance(emu, deployment):
    (task,) = tasks(emu)
    assert target_of(emu, task)[1] == 8080

    scale(emu, 2)
    emu.clock.advance(1.5)

    assert [t["lastStatus"] for t in tasks(emu)].count("PENDING") == 1  # port 8080 is taken on the only instance


@pytest.mark.parametrize(("network_mode", "wrong_type"), [("awsvpc", "instance"), ("bridge", "ip")])
def test_create_service_refuses_a_target_group_whose_type_does_not_fit_the_network_mode(emu, network_mode, wrong_type):
    fleet = emu.seed_fleet(network_mode=network_mode, load_balancer=False, vuln_service=None)
    elbv2, ecs = emu.client("elbv2"), emu.client("ecs")
    vpc = emu.client("ec2").describe_subnets()["Subnets"][0]["VpcId"]
    group = elbv2.create_target_group(Name="other", Protocol="HTTP", Port=80, VpcId=vpc, TargetType=wrong_type)[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    network = (
        {"networkConfiguration": {"awsvpcConfiguration": {"subnets": fleet.subnets}}}
        if network_mode == "awsvpc"
        else {}
    )

    with pytest.raises(ClientError) as refused:
        ecs.create_service(
            cluster="fleet",
            serviceName="other",
            taskDefinition="fleet:1",
            desiredCount=1,
            launchType="EC2",
            loadBalancers=[{"targetGroupArn": group, "containerName": "fleet", "containerPort": 8080}],
            **network,
        )

    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert f"target type {wrong_type}" in refused.value.response["Error"]["Message"]
