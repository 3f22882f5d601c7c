"""Image tags as ECS pulls them, and the vulnerability service as fleet-terraform's addon deploys it.

A task resolves its image reference when it starts and keeps that digest (DescribeTasks ``containers[].imageDigest``);
a tag pushed again names a newer Fleet for the tasks that start afterwards only. The vulnerability service runs
``fleet serve`` in a family and a container of its own, and Fleet's Terraform moves it in the same apply.
"""

from __future__ import annotations

import pytest

from emulator import Emulator
from emulator.fleet import image_for_revision
from emulator.fleet.database import level_of
from emulator.fleet.image_registry import ImageRegistry, release_digest

LATEST = "fleetdm/fleet:latest"


def running(emu: Emulator, service: str, status: str = "RUNNING") -> list[dict]:
    ecs = emu.client("ecs")
    arns = ecs.list_tasks(cluster="fleet", serviceName=service, desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(cluster="fleet", tasks=arns)["tasks"] if arns else []


def test_a_release_tag_names_the_same_image_in_every_registry(emu):
    registry = emu.registry
    release = image_for_revision(2)

    digests = {
        registry.resolve(reference)
        for reference in (
            release,
            f"docker.io/{release}",
            f"quay.io/{release}",
            f"123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/{release}",
        )
    }

    assert digests == {release_digest(release)}


def test_a_tag_pushed_again_names_a_newer_fleet_from_then_on():
    now = [100.0]
    registry = ImageRegistry(lambda: now[0])
    before = registry.resolve(LATEST)

    now[0] = 200.0
    after = registry.push(LATEST)

    assert registry.resolve(LATEST) == after != before
    assert registry.resolve(LATEST, at=150.0) == before
    assert level_of(registry.release_of(after)) > level_of(registry.release_of(before))


def test_a_digest_cannot_be_pushed_again(emu):
    with pytest.raises(ValueError, match="only a tag"):
        emu.push_image(f"fleetdm/fleet@{release_digest(image_for_revision(1))}")


@pytest.mark.fleet(images={1: LATEST, 2: LATEST})
def test_ecs_reports_the_digest_each_task_pulled_as_it_started(emu, deployment):
    emu.clock.advance(1)
    old = release_digest(image_for_revision(1))
    assert {c["imageDigest"] for t in running(emu, "fleet") for c in t["containers"]} == {old}

    newer = emu.push_image(LATEST)
    emu.deploy_revision(2)
    emu.clock.advance(2.5)  # started after 1 s, `fleet serve` exits a second later

    # the tasks started before the push keep theirs; the new ones pulled the newer Fleet, which exits 1
    old_tasks = [t for t in running(emu, "fleet") if t["taskDefinitionArn"].endswith(":1")]
    assert len(old_tasks) == 2 and {c["imageDigest"] for t in old_tasks for c in t["containers"]} == {old}
    crashed = [t for t in running(emu, "fleet", "STOPPED") if t["taskDefinitionArn"].endswith(":2")]
    assert crashed and {(c["imageDigest"], c["exitCode"]) for t in crashed for c in t["containers"]} == {(newer, 1)}


def test_task_definitions_say_when_they_were_registered(emu, deployment):
    before = emu.clock.now()
    registered = emu.client("ecs").register_task_definition(
        family="other", containerDefinitions=[{"name": "app", "image": "nginx:1.27", "memory": 128}]
    )["taskDefinition"]["taskDefinitionArn"]

    described = emu.client("ecs").describe_task_definition(taskDefinition=registered)["taskDefinition"]
    assert described["registeredAt"].timestamp() >= before - 0.01


def test_the_vulnerability_service_runs_fleet_serve_in_its_own_family_and_container(emu, deployment):
    ecs = emu.client("ecs")
    described = ecs.describe_services(cluster="fleet", services=["fleet-vuln-processing"])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=described["taskDefinition"])["taskDefinition"]

    assert deployment.vuln_task_definition == "fleet-vuln-processing"
    assert (definition["family"], definition["revision"]) == ("fleet-vuln-processing", 1)
    (container,) = definition["containerDefinitions"]
    assert (container["name"], container["image"], container["command"]) == (
        "fleet-vuln-processing",
        deployment.images[1],
        ["fleet", "serve"],
    )
    assert described["loadBalancers"] == []


def test_fleets_terraform_moves_the_vulnerability_service_to_its_next_revision_whose_tasks_exit_1(emu, deployment):
    emu.deploy_revision(2)
    emu.clock.advance(2.5)

    ecs = emu.client("ecs")
    described = ecs.describe_services(cluster="fleet", services=["fleet-vuln-processing"])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=described["taskDefinition"])["taskDefinition"]
    assert (definition["family"], definition["revision"]) == ("fleet-vuln-processing", 2)
    assert definition["containerDefinitions"][0]["image"] == deployment.images[2]
    crashed = [t for t in running(emu, "fleet-vuln-processing", "STOPPED") if t["taskDefinitionArn"].endswith(":2")]
    assert crashed and {c["exitCode"] for t in crashed for c in t["containers"]} == {1}


def test_a_task_without_health_checks_replaces_an_old_one_only_after_40_seconds_running(emu, deployment):
    # GIVEN revision 2's Fleet runs on the schema (the same release as revision 1)
    ecs = emu.client("ecs")
    ecs.update_service(cluster="fleet", service="fleet-vuln-processing", taskDefinition="fleet-vuln-processing:1")
    emu.registry.push(LATEST, image_for_revision(1))
    current = ecs.describe_task_definition(taskDefinition="fleet-vuln-processing:1")["taskDefinition"]
    container = {**current["containerDefinitions"][0], "image": LATEST}
    keep = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "taskRoleArn")
    ecs.register_task_definition(**{k: current[k] for k in keep}, containerDefinitions=[container])
    ecs.update_service(cluster="fleet", service="fleet-vuln-processing", taskDefinition="fleet-vuln-processing:2")

    emu.clock.advance(30)  # the new task has run for 29 s
    assert {t["taskDefinitionArn"][-1] for t in running(emu, "fleet-vuln-processing")} == {"1", "2"}
    emu.clock.advance(15)
    emu.ecs_sim.tick()
    emu.clock.advance(5)
    assert {t["taskDefinitionArn"][-1] for t in running(emu, "fleet-vuln-processing")} == {"2"}
