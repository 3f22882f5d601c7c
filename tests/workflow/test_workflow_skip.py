"""Nothing to migrate, only on evidence that the new revision runs the binary that serves.

An image reference alone does not say which binary runs: ``fleetdm/fleet:latest`` is pushed again with each
release, and a task resolves it when it starts. Each test runs in Fleet's Terraform order (the services already
moved to the new revision, ``deploy_revision``) or in the console's (the services still on the old one).
"""

from __future__ import annotations

from typing import Any

from emulator import Emulator, FleetDeployment, TargetGroupSettings
from emulator.fleet import image_for_revision
from emulator.fleet.database import level_of
from emulator.fleet.image_registry import release_digest
from fleet_migration import preflight
from workflow_support import DESCRIBE, ROLLBACK, SUCCEEDED, cause_of, follows, tasks_entered

LATEST = "fleetdm/fleet:latest"
CHANGES = [("ecs", "UpdateService"), ("application-autoscaling", "RegisterScalableTarget"), ("ecs", "RunTask")]
# Health checks so slow that no new task turns healthy while a test looks: only a digest can show the binary
SLOW_HEALTH = TargetGroupSettings(interval=300, timeout=120, healthy_threshold=10, unhealthy_threshold=10)


def tasks(aws: Emulator, fleet: FleetDeployment, service: str, status: str = "RUNNING") -> list[dict[str, Any]]:
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=service, desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"] if arns else []


def serving_digests(aws: Emulator, fleet: FleetDeployment, service: str) -> set[str]:
    return {
        c["imageDigest"] for t in tasks(aws, fleet, service) if t["lastStatus"] == "RUNNING" for c in t["containers"]
    }


def crashes(aws: Emulator, fleet: FleetDeployment, service: str) -> int:
    return sum(
        1
        for t in tasks(aws, fleet, service, "STOPPED")
        if any(c.get("exitCode") not in (0, None, 137) for c in t["containers"])
    )


def changes(aws: Emulator) -> list[int]:
    return [aws.faults.calls[call] for call in CHANGES]


def skipped(run) -> str:
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert tasks_entered(run) == [DESCRIBE] and follows(run, DESCRIBE, SUCCEEDED)
    assert run.output["task_arn"] is None and "exit_code" not in run.output
    return run.output["skipped"]


def migrated(run) -> None:
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert "skipped" not in run.output and run.output["exit_code"] == 0 and run.output["task_arn"].startswith("arn:")


def register_like(aws: Emulator, revision: str, **container: Any) -> str:
    """A new revision of the family: ``revision``'s definition with the Fleet container's fields changed."""
    ecs = aws.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=revision)["taskDefinition"]
    fleet_container = {**definition["containerDefinitions"][0], **container}
    keep = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "taskRoleArn")
    return ecs.register_task_definition(
        **{key: definition[key] for key in keep}, containerDefinitions=[fleet_container]
    )["taskDefinition"]["taskDefinitionArn"]


# -- a mutable tag pushed again -----------------------------------------------------------------------


def test_a_configuration_only_revision_of_a_tag_pushed_again_is_migrated_in_fleets_terraform_order(aws):
    # GIVEN Fleet and its vulnerability service run fleetdm/fleet:latest, revision 2 changes the configuration only,
    # and latest was pushed again (a newer Fleet) before Terraform moved both services to it
    fleet = aws.seed_fleet(images={1: LATEST, 2: LATEST})
    newer = aws.push_image(LATEST)
    aws.deploy_revision(2)
    aws.clock.advance(10)
    assert crashes(aws, fleet, fleet.service) > 0 and crashes(aws, fleet, fleet.vuln_service) > 0

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    # THEN the migration ran, the schema is the newer binary's, and the newer Fleet serves
    migrated(run)
    assert aws.fleet_db.level == level_of(aws.registry.release_of(newer))
    aws.clock.advance(30)
    assert serving_digests(aws, fleet, fleet.service) == {newer} == serving_digests(aws, fleet, fleet.vuln_service)
    assert aws.elb.answer(fleet.listener_arn)[0] == 200


def test_a_configuration_only_revision_of_a_tag_pushed_again_is_migrated_in_the_consoles_order(aws):
    fleet = aws.seed_fleet(images={1: LATEST, 2: LATEST})
    newer = aws.push_image(LATEST)

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    migrated(run)
    assert aws.fleet_db.level == level_of(aws.registry.release_of(newer))
    aws.clock.advance(30)
    assert serving_digests(aws, fleet, fleet.service) == {newer}
    assert aws.elb.answer(fleet.listener_arn)[0] == 200


def test_a_mutable_tag_with_nothing_to_show_for_it_is_migrated(aws):
    # GIVEN the console's order: no task of revision 2 has run, and latest may have moved since the old tasks pulled it
    fleet = aws.seed_fleet(images={1: LATEST, 2: LATEST})
    level = aws.fleet_db.level

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    # THEN it is migrated, which changes nothing in the schema ("Migrations already completed. Nothing to do.")
    migrated(run)
    assert aws.fleet_db.level == level


# -- evidence (b): the new revision's own tasks already serve ---------------------------------------------------


def test_a_mutable_tag_whose_new_tasks_already_serve_in_fleets_terraform_order_is_skipped(aws):
    # GIVEN Terraform moved both services to revision 2 (same latest, not pushed again) and its tasks serve
    fleet = aws.seed_fleet(images={1: LATEST, 2: LATEST})
    aws.deploy_revision(2)
    aws.clock.advance(60)  # past ECS's 40 s for a task without health checks: the old ones are gone
    before = changes(aws)

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    # THEN nothing ran and nothing changed, and the sentence says which evidence it used for each service
    sentence = skipped(run)
    assert "fleet:2" in sentence and LATEST in sentence
    assert "fleet's own tasks of fleet:2 already serve" in sentence
    assert "fleet-vuln-processing's own tasks of fleet-vuln-processing:2 already serve" in sentence
    assert changes(aws) == before


def test_a_new_revision_task_that_exited_non_zero_rules_the_skip_out(aws):
    # GIVEN a pinned release, the same in both revisions, but a task of revision 2 exited 1 after Terraform's deploy
    fleet = aws.seed_fleet(images={2: image_for_revision(1)})
    aws.service_behaviour(fleet.service).crash_exit_code = 1
    aws.deploy_revision(2)
    aws.clock.advance(5)
    aws.service_behaviour(fleet.service).crash_exit_code = None
    aws.clock.advance(30)  # its replacements run and serve
    assert crashes(aws, fleet, fleet.service) > 0

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    migrated(run)


def test_the_vulnerability_services_evidence_is_needed_too(aws):
    # GIVEN Fleet's tasks of revision 2 serve, but latest was pushed again before the vulnerability service moved:
    # its new task runs a newer Fleet, which exits 1 on the schema
    fleet = aws.seed_fleet(images={1: LATEST, 2: LATEST})
    aws.deploy_revision(2, vuln_service=None)
    aws.clock.advance(30)
    newer = aws.push_image(LATEST)
    aws.deploy_revision(2)
    aws.clock.advance(10)
    assert crashes(aws, fleet, fleet.vuln_service) > 0 and crashes(aws, fleet, fleet.service) == 0

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    migrated(run)
    assert aws.fleet_db.level == level_of(aws.registry.release_of(newer))


# -- evidence (a): the same immutable reference ------------------------------------------------------------


def test_the_same_version_tag_is_skipped_in_both_orders(aws):
    fleet = aws.seed_fleet(images={1: "fleetdm/fleet:v4.81.0", 2: "fleetdm/fleet:v4.81.0"})

    console = aws.run(fleet.migration_input(task_definition_revision=2, poll_interval_seconds=5), name="console")
    aws.deploy_revision(2)
    terraform = aws.run(fleet.migration_input(task_definition_revision=2, poll_interval_seconds=5), name="terraform")

    for run in (console, terraform):
        sentence = skipped(run)
        assert "fleet serves it from fleet:1 (the same image reference, a version tag)" in sentence
        assert "fleetdm/fleet:v4.81.0" in sentence and "fleet:2" in sentence


def test_the_same_digest_reference_is_skipped(aws):
    pinned = f"fleetdm/fleet@{release_digest(image_for_revision(1))}"
    fleet = aws.seed_fleet(images={1: pinned, 2: pinned})

    sentence = skipped(aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2"))

    assert "(the same image reference, pinned by digest)" in sentence


def test_fleet_upgrades_allow_missing_migrations_rules_the_skip_out(aws):
    # GIVEN the same pinned release, but revision 3 lets Fleet serve on a schema that lacks migrations
    fleet = aws.seed_fleet(images={2: image_for_revision(1)})
    allowing = [{"name": "FLEET_UPGRADES_ALLOW_MISSING_MIGRATIONS", "value": "true"}]
    register_like(aws, "fleet:2", environment=allowing)

    run = aws.run(fleet.migration_input(task_definition_revision=3, poll_interval_seconds=5), name="fleet-fleet-r3")

    migrated(run)


def release_repository() -> str:
    """The repository the catalogue's Fleet images come from (Docker Hub's fleetdm/fleet)."""
    return preflight.repository(image_for_revision(1))


# -- evidence (c): the digest ECS reports ------------------------------------------------------------------


QUAY = "quay.io/fleetdm/fleet"


def test_the_same_fleet_from_another_registry_is_refused_unless_the_deployment_allows_that_registry(aws):
    # GIVEN revision 2 pulls the same release from quay.io, and the deployment allows only the serving
    # revision's repository (AllowedImageRepositories left empty)
    release = image_for_revision(1)
    fleet = aws.seed_fleet(images={2: f"quay.io/{release}"})

    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    assert (run.status, run.error) == ("FAILED", "InvalidInput"), run.cause
    assert f"repository {QUAY!r}" in cause_of(run)["message"]


def test_the_same_fleet_from_another_registry_is_skipped_on_the_digest_ecs_reports(aws, monkeypatch):
    # GIVEN revision 2 pulls the same release from quay.io, a registry the deployment allows; Terraform moved both
    # services to it, and its tasks run but are not healthy yet (slow health checks): only the digest ECS reports
    # shows the same binary
    monkeypatch.setenv(preflight.IMAGE_REPOSITORIES_ENV, f"{release_repository()},{QUAY}")
    release = image_for_revision(1)
    fleet = aws.seed_fleet(images={2: f"quay.io/{release}"}, target_group=SLOW_HEALTH)
    aws.deploy_revision(2)
    aws.clock.advance(10)

    sentence = skipped(aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2"))

    assert f"ECS reports the image digest {release_digest(release)} for fleet's serving tasks (fleet:1)" in sentence
    assert f"quay.io/{release}" in sentence


def test_the_same_fleet_from_another_registry_is_migrated_when_no_task_shows_its_digest(aws, monkeypatch):
    # the console's order: no task of revision 2 has pulled it yet
    monkeypatch.setenv(preflight.IMAGE_REPOSITORIES_ENV, f"{release_repository()},{QUAY}")
    release = image_for_revision(1)
    fleet = aws.seed_fleet(images={2: f"quay.io/{release}"})

    migrated(aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2"))


# -- the vulnerability service on its own family -------------------------------------------------------------


def test_the_vulnerability_service_named_as_ecs_service_in_its_own_family_is_migrated(aws):
    # GIVEN the vulnerability service runs its own family (container fleet-vuln-processing, Fleet's image), and an
    # operator migrates with Fleet's new revision (container fleet) stopping that service alone
    fleet = aws.seed_fleet()
    document = fleet.migration_input(ecs_service=fleet.vuln_service, poll_interval_seconds=5)
    del document["vuln_service"]

    run = aws.run(document, name="fleet-fleet-vuln-processing-r2")

    # THEN the describe step does not take Fleet's container for one the serving revision lacks: the migration runs
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.output["task_arn"]


def test_a_rollback_puts_each_service_back_on_its_own_serving_revision(aws):
    # GIVEN Fleet's Terraform moved Fleet to fleet:2 and the vulnerability service to its own next revision, and
    # deregistered the vulnerability service's old revision; the new tasks of both exit 1 while the old ones serve
    fleet = aws.seed_fleet()
    ecs = aws.client("ecs")
    ecs.deregister_task_definition(taskDefinition=f"{fleet.vuln_task_definition}:1")
    aws.deploy_revision(2)
    aws.clock.advance(10)

    aws.next_migration(exit_code=1)
    run = aws.run(fleet.migration_input(poll_interval_seconds=5), name="fleet-fleet-r2")

    # THEN each service is back on the revision that served it: Fleet's own, and a copy of the vulnerability
    # service's deregistered one
    assert (run.status, run.error) == ("FAILED", "MigrationFailed"), run.cause
    assert follows(run, ROLLBACK)
    restored = {s["name"]: s for s in cause_of(run)["services"]}
    assert (restored["fleet"]["task_definition"], restored["fleet"]["replaced_task_definition"]) == (
        "fleet:1",
        "fleet:2",
    )
    vuln = restored["fleet-vuln-processing"]
    assert (vuln["task_definition"], vuln["copy_of"], vuln["replaced_task_definition"]) == (
        "fleet-vuln-processing:3",
        "fleet-vuln-processing:1",
        "fleet-vuln-processing:2",
    )
    copy = ecs.describe_task_definition(taskDefinition="fleet-vuln-processing:3")["taskDefinition"]
    assert [(c["name"], c["image"]) for c in copy["containerDefinitions"]] == [
        ("fleet-vuln-processing", fleet.images[1])
    ]
    # AND both serve again from those revisions, no longer crashing
    aws.clock.advance(30)
    revisions = {
        service: {t["taskDefinitionArn"].rsplit("/", 1)[-1] for t in tasks(aws, fleet, service)}
        for service in (fleet.service, fleet.vuln_service)
    }
    assert revisions == {"fleet": {"fleet:1"}, "fleet-vuln-processing": {"fleet-vuln-processing:3"}}
    settled = crashes(aws, fleet, fleet.vuln_service)
    aws.clock.advance(30)
    assert crashes(aws, fleet, fleet.vuln_service) == settled
