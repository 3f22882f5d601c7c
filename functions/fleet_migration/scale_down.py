"""The scale-down: hold autoscaling, lower the desired counts, then look until the services have drained."""

from __future__ import annotations

from fleet_migration import autoscaling, ecs, outage, polling
from fleet_migration.errors import DrainTimeout
from fleet_migration.models import Migration, Poll


def scale_down(migration: Migration) -> Migration:
    """Hold autoscaling first (or it would undo the scale-down), then lower the desired counts."""
    spec = migration.input
    outage.before_scale_down(migration)
    for service in migration.services:
        hold = service.held_count(spec.capacity_during_migration)
        if service.scalable_target:
            autoscaling.hold_at(service.scalable_target, hold)
        ecs.set_desired_count(spec.cluster_name, service.name, hold)
    started = polling.now()
    migration.drain = Poll.start(started, spec.drain_timeout_seconds, spec.poll_interval)
    return migration


def check_drained(migration: Migration) -> Migration:
    spec, drain = migration.input, migration.require("drain")
    at = polling.now()
    waiting_for = []
    for service in migration.services:
        active, stopping = ecs.drain_progress(ecs.service_tasks(spec.cluster_name, service.name))
        if active > service.held_count(spec.capacity_during_migration) or stopping:
            waiting_for.append(f"{service.name}: {active} running or starting, {stopping} stopping")
    if drain.look(at, "; ".join(waiting_for), spec.poll_interval):
        raise DrainTimeout(
            f"The services did not drain to capacity_during_migration={spec.capacity_during_migration} within drain_timeout_seconds="
            f"{spec.drain_timeout_seconds} ({drain.detail}); look at why the tasks do not stop, or raise the timeout",
        )
    return migration
