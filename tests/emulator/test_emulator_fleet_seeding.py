"""The seeded Fleet deployment: one Fleet release per revision, the service on the one before the latest, the schema
at the level of what the service runs, and ``deploy_revision`` reproducing the order of Fleet's Terraform (the
service moves to the new revision before its migration runs)."""

from __future__ import annotations

import pytest

from emulator import Emulator
from emulator.fleet.database import level_of


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
