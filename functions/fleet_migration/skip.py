"""Nothing to migrate: the evidence that the new revision runs the binary that already serves.

Fleet's migrations are built into its binary, so when the binary of the new revision is the one serving, its
migrations are in and ``fleet prepare db`` has nothing to do. An image reference alone does not say which binary
runs: a tag such as ``latest`` or ``main`` is pushed again, and a task resolves it when it starts (Container
imageDigest, Amazon ECS API Reference: the digest it pulled). So a revision is skipped only on evidence, for every
service the execution stops:

- the same image reference, one that cannot change: pinned by digest (``@sha256:``) or a version tag
  (``v4.81.0``, ``4.81.0``);
- or the tasks that run the new binary already serve: the new revision's own tasks (Fleet's Terraform order moves
  the service first), RUNNING and healthy wherever health is checked; for the vulnerability service, which runs a
  family of its own, its tasks started since the new revision was registered from the same image reference that
  report the digest the new revision's tasks report;
- or ECS reports for the serving tasks the image digest the new revision's tasks report (the same Fleet from
  another registry: a copied image keeps its manifest digest).

In the console's order no task of the new revision has run: only the first kind of evidence can be had there.
Never when one of those tasks exited non-zero (``fleet serve`` exits 1 on missing migrations), nor when Fleet runs
with ``FLEET_UPGRADES_ALLOW_MISSING_MIGRATIONS``: it then serves whatever the schema lacks, and proves nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet_migration import ecs, load_balancers, polling, serving, task_definitions
from fleet_migration.execution_input import MigrationInput
from fleet_migration.models import ServiceSnapshot

# Fleet's configuration as environment (fleet's server/config: upgrades.allow_missing_migrations).
ALLOW_MISSING_MIGRATIONS = "FLEET_UPGRADES_ALLOW_MISSING_MIGRATIONS"
# What Go's strconv.ParseBool reads as false (Fleet reads its booleans so); anything else we take as set.
_FALSE = ("", "0", "f", "F", "false", "FALSE", "False")
_VERSION_TAG = re.compile(r"^v?\d+\.\d+\.\d+$")


def immutability(reference: str) -> str | None:
    """Why an image reference names one image for good (None: it may be pushed again).

    A digest names the manifest itself; a release's version tag (``v4.81.0``, ``4.81.0``) is never pushed again
    by those who publish Fleet. ``latest``, ``main``, ``dev``, a branch or ``4.81`` move, and so does a reference
    without a tag (``latest``)."""
    name, _, digest = reference.partition("@")
    if digest.startswith("sha256:"):
        return "pinned by digest"
    last_part = name.rsplit("/", 1)[-1]
    tag = last_part.rsplit(":", 1)[1] if ":" in last_part else "latest"
    return "a version tag" if _VERSION_TAG.match(tag) else None


def fleet_container(definition: dict[str, Any], container_name: str) -> dict[str, Any] | None:
    """The container of a revision that runs Fleet: ``container_name``, else the first one (the vulnerability
    service's ``fleet-vuln-processing``: fleet-terraform puts Fleet's container first and sidecars after it)."""
    containers = definition.get("containerDefinitions", [])
    return next((c for c in containers if c.get("name") == container_name), containers[0] if containers else None)


def allows_missing_migrations(container: dict[str, Any]) -> bool:
    """Whether the container's environment (or a secret, whose value we cannot see) sets Fleet's
    ``upgrades.allow_missing_migrations``."""
    if any(s.get("name") == ALLOW_MISSING_MIGRATIONS for s in container.get("secrets", [])):
        return True
    return any(
        e.get("name") == ALLOW_MISSING_MIGRATIONS and str(e.get("value", "")).strip() not in _FALSE
        for e in container.get("environment", [])
    )


class ServiceTasks:
    """Each service's tasks and the revisions they run, read once for the describe step (its calls are counted)."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self._tasks: dict[str, list[dict[str, Any]]] = {}
        self._definitions: dict[str, dict[str, Any]] = {}

    def of(self, service: str) -> list[dict[str, Any]]:
        if service not in self._tasks:
            self._tasks[service] = ecs.service_tasks(self.cluster, service)
        return self._tasks[service]

    def definition(self, arn: str) -> dict[str, Any]:
        if arn not in self._definitions:
            self._definitions[arn] = task_definitions.describe(arn)
        return self._definitions[arn]

    def remember(self, definition: dict[str, Any]) -> None:
        self._definitions[definition["taskDefinitionArn"]] = definition

    def stopped_of_family(self, family: str) -> list[dict[str, Any]]:
        """The family's STOPPED tasks, whoever started them; those of the services already read are not read again."""
        known = {t["taskArn"]: t for tasks in self._tasks.values() for t in tasks}
        return ecs.stopped_family_tasks(self.cluster, family, known)

    def health_checked(self, arn: str) -> set[str]:
        """The containers of a revision that declare a ``healthCheck`` (ContainerDefinition, ECS API Reference)."""
        return {c["name"] for c in self.definition(arn).get("containerDefinitions", []) if c.get("healthCheck")}


@dataclass
class _Service:
    """One service, as the evidence needs it."""

    field: str  # ecs_service or vuln_service
    snapshot: ServiceSnapshot
    described: dict[str, Any]
    serving_image: str | None = None
    serving_digests: set[str | None] = dataclasses.field(default_factory=set)
    new_tasks: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # the tasks that run the new binary

    @property
    def name(self) -> str:
        return self.snapshot.name

    @property
    def serving(self) -> str | None:
        return serving.revision_name(self.snapshot.serving_task_definition)


def nothing_to_migrate(
    spec: MigrationInput,
    definition: dict[str, Any],
    services: Iterable[tuple[str, dict[str, Any], ServiceSnapshot]],
    tasks: ServiceTasks,
) -> str | None:
    """Why the new revision runs the binary that serves, for every service (the ``skipped`` sentence), or None.

    ``services``: (input field, the service as described, its snapshot with the serving revision)."""
    if not spec.skip_unchanged_image:
        return None
    migration_container = fleet_container(definition, spec.container_name)
    if migration_container is None or allows_missing_migrations(migration_container):
        return None
    image = migration_container.get("image") or ""
    tasks.remember(definition)
    new = serving.revision_name(definition["taskDefinitionArn"])
    judged = []
    for field_name, described, snapshot in services:
        service = _read(spec, definition, field_name, described, snapshot, tasks)
        if service is None:
            return None
        judged.append(service)
    # The new binary's digest: what the new revision's own tasks pulled, when they agree
    pulled = {
        d for s in judged if s.field == "ecs_service" for t in s.new_tasks if (d := _digest(t, spec.container_name))
    }
    new_digest = next(iter(pulled)) if len(pulled) == 1 else None
    evidence = []
    for service in judged:
        if service.field != "ecs_service":  # its tasks since the registration may have pulled the tag before a push
            service.new_tasks = [
                t for t in service.new_tasks if new_digest and _digest(t, spec.container_name) == new_digest
            ]
        found = _evidence(image, new, service, new_digest, tasks, spec.stable_seconds)
        if found is None:
            return None
        evidence.append(found)
    return (
        f"Nothing to migrate: {new} runs {image}, the binary that serves: {'; '.join(evidence)}. Nothing was "
        "changed; set skip_unchanged_image to false to run the migration anyway."
    )


def _read(
    spec: MigrationInput,
    definition: dict[str, Any],
    field_name: str,
    described: dict[str, Any],
    snap: ServiceSnapshot,
    known: ServiceTasks,
) -> _Service | None:
    """What serves in one service and which of its tasks run the new binary; None when that alone rules the skip
    out: nothing serves, its Fleet tolerates missing migrations, or a task of the new binary exited non-zero."""
    if snap.serving_task_definition is None:
        return None
    serving_container = fleet_container(known.definition(snap.serving_task_definition), spec.container_name)
    if serving_container is None or allows_missing_migrations(serving_container):
        return None
    service = _Service(field_name, snap, described, serving_image=serving_container.get("image"))
    tasks = known.of(snap.name)
    new_arn = definition["taskDefinitionArn"]
    if field_name == "ecs_service":
        service.new_tasks = [t for t in tasks if t.get("taskDefinitionArn") == new_arn]
        # and the revision's tasks outside the service (ECS lists stopped tasks for a while)
        stopped = known.stopped_of_family(definition["family"])
        if any(serving.has_failed(t) for t in stopped if t.get("taskDefinitionArn") == new_arn):
            return None
    else:
        service.new_tasks = _started_since_from(tasks, definition, spec.container_name, known)
    if any(serving.has_failed(t) for t in service.new_tasks):
        return None
    service.serving_digests = {
        _digest(t, spec.container_name)
        for t in tasks
        if _running(t) and t.get("taskDefinitionArn") == snap.serving_task_definition
    }
    return service


def _started_since_from(
    tasks: list[dict[str, Any]], definition: dict[str, Any], container_name: str, known: ServiceTasks
) -> list[dict[str, Any]]:
    """A service of another family (the vulnerability service): its tasks that started since the new revision was
    registered, from a revision whose Fleet container has the same image reference. They resolved that reference
    when the migration's would have, at the earliest (TaskDefinition registeredAt, Amazon ECS API Reference)."""
    registered = definition.get("registeredAt")
    if not isinstance(registered, datetime):
        return []
    image = (fleet_container(definition, container_name) or {}).get("image")
    return [
        task
        for task in tasks
        if isinstance(task.get("createdAt"), datetime)
        and task["createdAt"] >= registered
        and (fleet_container(known.definition(task["taskDefinitionArn"]), container_name) or {}).get("image") == image
    ]


def _evidence(
    image: str, new: str | None, service: _Service, digest: str | None, known: ServiceTasks, stable_seconds: int
) -> str | None:
    """The sentence that shows one service runs the new binary, or None.

    When what serves is the new revision itself (a first deploy whose tasks are RUNNING for the moment before
    ``fleet serve`` exits), an equal image or digest compares the new binary with itself: only its tasks serving
    for real (healthy where health is checked, and where nothing checks it, running ``stable_seconds``) shows it."""
    if service.field == "ecs_service" and service.serving == new:
        running = [t for t in service.new_tasks if _running(t)]
        if running and _all_healthy(service, running, known) and _proven(service, running, known, stable_seconds):
            return (
                f"{service.name}'s own tasks of {new} already serve ({len(running)} running, healthy wherever "
                "health is checked, none exited non-zero)"
            )
        return None
    unchanging = immutability(image)
    if service.serving_image == image and unchanging:
        return f"{service.name} serves it from {service.serving} (the same image reference, {unchanging})"
    running = [t for t in service.new_tasks if _running(t)]
    if running and _all_healthy(service, running, known) and _proven(service, running, known, stable_seconds):
        revisions = ", ".join(sorted({serving.revision_name(t["taskDefinitionArn"]) or "" for t in running}))
        return (
            f"{service.name}'s own tasks of {revisions} already serve ({len(running)} running, healthy wherever "
            f"health is checked, none exited non-zero; serving revision {service.serving})"
        )
    if digest and service.serving_digests == {digest}:
        return (
            f"ECS reports the image digest {digest} for {service.name}'s serving tasks ({service.serving}) and for "
            f"the tasks of {new}"
        )
    return None


def _running(task: dict[str, Any]) -> bool:
    return task.get("lastStatus") == "RUNNING" and task.get("desiredStatus") == "RUNNING"


def _digest(task: dict[str, Any], container_name: str) -> str | None:
    """The image digest ECS reports for the task's Fleet container (None until it has pulled it)."""
    containers = task.get("containers", [])
    chosen = next((c for c in containers if c.get("name") == container_name), containers[0] if containers else {})
    return chosen.get("imageDigest")


def _all_healthy(service: _Service, tasks: list[dict[str, Any]], known: ServiceTasks) -> bool:
    """Healthy wherever health is checked: in every target group of the service's load balancers
    (DescribeTargetHealth), and in the containers' own health checks (ContainerDefinition healthCheck)."""
    balancers = [b for b in service.described.get("loadBalancers", []) if b.get("targetGroupArn")]
    instances = serving.container_instances_of(tasks) if balancers else {}
    for balancer in balancers:
        states = load_balancers.target_states(balancer["targetGroupArn"])
        if any(states.get(serving.task_target(t, balancer, instances) or ("", 0)) != "healthy" for t in tasks):
            return False
    checked = {arn: known.health_checked(arn) for arn in {t["taskDefinitionArn"] for t in tasks}}
    return all(
        c.get("healthStatus") == "HEALTHY"
        for t in tasks
        for c in t.get("containers", [])
        if c.get("name") in checked[t["taskDefinitionArn"]]
    )


def _proven(service: _Service, tasks: list[dict[str, Any]], known: ServiceTasks, stable_seconds: int) -> bool:
    """Running proves serving only where health is checked (a healthy target or container has run its checks) or
    after ``stable_seconds``: ``fleet serve`` on a schema that lacks its migrations is RUNNING for about a second."""
    if any(b.get("targetGroupArn") for b in service.described.get("loadBalancers", [])):
        return True
    if any(known.health_checked(t["taskDefinitionArn"]) for t in tasks):
        return True
    now = polling.now()
    return all(
        isinstance(t.get("startedAt"), datetime) and now - t["startedAt"].timestamp() >= stable_seconds for t in tasks
    )
