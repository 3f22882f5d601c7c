"""The seeded Fleet deployment: one Fleet release per revision, the service on the one before the latest, the schema
at the level of what the service runs, and ``deploy_revision`` reproducing the order of Fleet's Terraform (the
service moves to the new revision before its migration runs)."""

from __future__ import annotations

import pytest

from emulator import Emulator
from emulator.fleet.database import level_of
from emulator.fleet.seeding import FleetSpec, NetworkSpec, RevisionsSpec, ServiceSpec, fleet_spec, seed


def images(emu: Emulator, revisions: int) -> list[str]:
    ecs = emu.client("ecs")
    return [
        ecs.describe_task_definition(taskDefinition=f"fleet:{r}")["taskDefinition"]["containerDefinitions"][0]["image"]
        for r in range(1, revisions + 1)
    ]


def service(emu: Emulator) -> dict:
    return emu.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"][0]


@pytest.mark.fleet(revisions=3)
def test_each_revision_runs_its_own_newer_fleet_release(emu, deployment):
    seeded = images(emu, 3)

    assert seeded == [deployment.images[r] for r in (1, 2, 3)]
    assert level_of(seeded[0]) < level_of(seeded[1]) < level_of(seeded[2])


@pytest.mark.fleet(revisions=3)
def test_the_service_runs_the_revision_before_the_latest_on_a_schema_at_its_level(emu, deployment):
    assert service(emu)["taskDefinition"].endswith(":2") and deployment.service_revision == 2
    assert (
        emu.fleet_db.level == level_of(deployment.images[2]) < level_of(deployment.images[deployment.latest_revision])
    )


@pytest.mark.fleet(revisions=1)
def test_a_single_revision_is_a_first_deploy_whose_fleet_exits_on_an_empty_schema(emu, deployment):
    emu.clock.advance(1.5)

    assert emu.fleet_db.level == 0 and service(emu)["taskDefinition"].endswith(":1")
    stopped = emu.client("ecs").list_tasks(cluster="fleet", serviceName="fleet", desiredStatus="STOPPED")["taskArns"]
    exits = {
        t["containers"][0]["exitCode"]
        for t in emu.client("ecs").describe_tasks(cluster="fleet", tasks=stopped)["tasks"]
    }
    assert exits == {1}


@pytest.mark.fleet(healthy=False, revisions=1)
def test_an_unhealthy_first_deploys_tasks_never_reach_running(emu, deployment):
    emu.clock.advance(10)

    assert (service(emu)["runningCount"], service(emu)["pendingCount"]) == (0, 2)


@pytest.mark.fleet(service_revision=2, images={2: "fleetdm/fleet:v4.62.0"})
def test_images_choose_a_revisions_image_and_the_service_revision_the_schema(emu, deployment):
    assert images(emu, 2) == ["fleetdm/fleet:v4.58.0", "fleetdm/fleet:v4.62.0"]
    assert emu.fleet_db.level == level_of("fleetdm/fleet:v4.62.0")


def test_deploying_a_revision_keeps_the_old_tasks_serving_while_the_new_ones_crash(emu, deployment):
    emu.deploy_revision(2)
    for _ in range(4):
        emu.clock.advance(1.5)
        emu.ecs_sim.tick()

    primary, old = service(emu)["deployments"]
    assert (primary["status"], primary["taskDefinition"].rsplit("/", 1)[-1], primary["runningCount"] < 2) == (
        "PRIMARY",
        "fleet:2",
        True,
    )
    assert primary["failedTasks"] > 0 and primary["rolloutState"] == "IN_PROGRESS"
    assert (old["status"], old["taskDefinition"].rsplit("/", 1)[-1], old["runningCount"]) == ("ACTIVE", "fleet:1", 2)
    ecs = emu.client("ecs")
    running = ecs.describe_tasks(
        cluster="fleet", tasks=ecs.list_tasks(cluster="fleet", serviceName="fleet")["taskArns"]
    )
    serving = [t for t in running["tasks"] if t["lastStatus"] == "RUNNING" and t["taskDefinitionArn"].endswith(":1")]
    assert len(serving) == 2
    assert emu.elb.healthy_count(deployment.target_group_arn) == 2
    assert emu.elb.answer(deployment.listener_arn)[0] == 200


def test_the_service_is_deployed_as_fleets_terraform_deploys_it(emu, deployment):
    described = service(emu)

    assert {k: described["deploymentConfiguration"][k] for k in ("minimumHealthyPercent", "maximumPercent")} == {
        "minimumHealthyPercent": 100,
        "maximumPercent": 200,
    }
    assert described["loadBalancers"] == [
        {"targetGroupArn": deployment.target_group_arn, "containerName": "fleet", "containerPort": 8080}
    ]


def test_the_options_become_a_typed_spec_of_each_part():
    spec = fleet_spec("us-east-1", revisions=3, autoscaling=(1, 4), vuln_service=None, network_mode="bridge")

    assert (spec.revisions.count, spec.service.revision, spec.network.mode) == (3, 2, "bridge")
    assert (spec.autoscaling.min_capacity, spec.autoscaling.max_capacity) == (1, 4)
    assert spec.vuln_service is None and spec.load_balancer is not None and spec.cluster.name == "fleet"


@pytest.mark.parametrize(
    ("options", "field"),
    [({"network_mode": "nat"}, "network_mode"), ({"revisions": 2, "service_revision": 3}, "service_revision")],
)
def test_options_that_describe_no_deployment_are_refused_before_anything_is_created(emu, options, field):
    with pytest.raises(ValueError, match=field):
        emu.seed_fleet(**options)

    assert emu.client("ecs").list_clusters()["clusterArns"] == []


def test_a_spec_built_by_hand_seeds_only_its_parts(emu):
    spec = FleetSpec(
        region=emu.region,
        revisions=RevisionsSpec(images={1: "fleetdm/fleet:v4.58.0"}),
        service=ServiceSpec(desired_count=1),
        network=NetworkSpec(cidr="10.20.0.0/16", zones=("a",)),
        vuln_service=None,
        autoscaling=None,
        load_balancer=None,
    )

    seeded = seed(spec, client=emu.client, database=emu.fleet_db, registry=emu.registry)

    assert (seeded.vuln_service, seeded.autoscaling, seeded.target_group_arn, len(seeded.subnets)) == (
        None,
        None,
        None,
        1,
    )
    ecs = emu.client("ecs")
    assert ecs.list_services(cluster="fleet")["serviceArns"] == [service(emu)["serviceArn"]]
    subnet = emu.client("ec2").describe_subnets(SubnetIds=seeded.subnets)["Subnets"][0]
    assert subnet["CidrBlock"] == "10.20.1.0/24"
