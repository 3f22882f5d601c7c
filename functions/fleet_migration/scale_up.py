"""The scale-up, and the wait until Fleet serves again (docs/behaviour.md, "Stable means Fleet serves")."""

from __future__ import annotations

from typing import Any

from fleet_migration import autoscaling, ecs, manual_restore, outage, polling, serving, snapshot
from fleet_migration.errors import ServiceNotStable
from fleet_migration.models import Migration, Poll, ServiceSnapshot


def scale_up(migration: Migration) -> Migration:
    """Desired counts first, then the autoscaling bounds and suspended state: the reverse of the scale-down."""
    spec = migration.input
    started = polling.now()  # before the first UpdateService: the tasks it starts count as started since the scale-up
    outage.lower_health_checks(spec, migration.services)  # before any new task registers
    for service in migration.services:
        ecs.set_desired_count(spec.cluster_name, service.name, service.target_desired_count)
        if service.scalable_target:
            autoscaling.restore(service.scalable_target, service.target_min_capacity, service.target_max_capacity)
    outage.restore_delays(migration.services)  # for the deregistrations to come: the tasks being replaced later
    migration.stabilize = Poll.start(started, spec.stabilize_timeout_seconds, spec.poll_interval)
    if spec.stabilize_timeout_seconds == 0:
        migration.stabilize.done = True
        _succeed(migration)
    return migration


def check_stable(migration: Migration) -> Migration:
    """Stable means Fleet serves: what ECS means by stable (ecs.rollout), then every check of
    ``serving.not_yet_serving`` (the count read back, the revision, the load balancer's health, no task
    stopped since the scale-up), then the tasks have run ``stable_seconds`` (serving.ran_too_briefly). A FAILED
    deployment, an automatic rollback by ECS or tasks that keep crashing end the wait. The maintenance page comes
    down, and the health checks go back, as soon as ``ecs_service`` serves: the vulnerability service takes no
    web traffic, and the time its tasks must run adds nothing to what a client sees.

    Crashes are counted here, not left to ECS's circuit breaker: it may be off, it judges only a deployment
    IN_PROGRESS (a desired-count change starts none), and ECS keeps a deployment's ``failedTasks`` across
    desired-count changes (Deployment.failedTasks, Amazon ECS API Reference), so only the tasks started since
    the scale-up count. We stop at the breaker's threshold (ecs.crash_limit) of them failing to start or
    exiting non-zero, however briefly they ran: as many as ECS itself calls a failure.
    """
    spec, stabilize = migration.input, migration.require("stabilize")
    at = polling.now()
    described = ecs.describe_services(spec.cluster_name, [s.name for s in migration.services])
    waiting_for = []
    settling = []  # per service that awaits only the time its tasks must still run: those seconds
    for service in migration.services:
        state = described.get(service.name)
        if state is None:
            waiting_for.append(f"{service.name}: not described by ECS")
            continue
        failed = ecs.failed_deployment(state)
        if failed:
            raise _not_stable(migration, f"ECS gave up on {service.name}: {failed}", detail=failed)
        went_back = _rolled_back_by_ecs(service, state)
        if went_back:
            raise _not_stable(
                migration,
                f"ECS rolled {service.name} back to {went_back} (its deployment circuit breaker)",
                detail=f"{service.name} rolled back by ECS to {went_back}",
                rolled_back_to=went_back,
            )
        tasks = ecs.service_tasks(spec.cluster_name, service.name)
        crashed = serving.crashed_since(tasks, stabilize.started_at)
        if len(crashed) >= ecs.crash_limit(service.target_desired_count):
            last = max(crashed, key=lambda task: task.get("stoppedAt") or task["createdAt"])
            reason = (
                f"{len(crashed)} of its tasks failed since the scale-up (last: {last.get('stopCode')}, "
                f"{last.get('stoppedReason') or 'no reason given'})"
            )
            raise _not_stable(migration, f"the tasks of {service.name} keep crashing: {reason}", detail=reason)
        stable, waiting = ecs.rollout(state)
        if stable:  # ECS is done: now whether Fleet answers behind the load balancer
            waiting = serving.not_yet_serving(
                state,
                tasks,
                service.target_desired_count,
                stabilize.started_at,
                serving.health_checked_containers(state["taskDefinition"]),
            )
        if not waiting and service.name == migration.services[0].name and migration.fleet_serving_at is None:
            _fleet_serves(migration, at)
        if stable and not waiting:
            waiting, left = serving.ran_too_briefly(
                state, tasks, at, spec.stable_seconds, outage.health_check_in_force(spec, service)
            )
            if waiting:
                settling.append(left)
        if waiting:
            waiting_for.append(f"{service.name}: {', '.join(waiting)}")
    if stabilize.look(at, "; ".join(waiting_for), spec.poll_interval):
        raise _not_stable(
            migration,
            f"the services did not become stable within stabilize_timeout_seconds={spec.stabilize_timeout_seconds} "
            f"({stabilize.detail})",
            detail=stabilize.detail,
        )
    if settling and len(settling) == len(waiting_for):
        stabilize.settle(at, max(settling))
    if stabilize.done:
        _succeed(migration)
    return migration


def _rolled_back_by_ecs(service: ServiceSnapshot, state: dict[str, Any]) -> str | None:
    """The revision ECS went back to, when its deployment circuit breaker rolled the service back during the
    scale-up: a new PRIMARY deployment on an older revision ("rollback" in DeploymentCircuitBreaker, Amazon ECS
    API Reference). The workflow itself changes no revision on the way up; a deploy of a newer revision meanwhile
    is someone's upgrade, and the rollout checks follow it."""
    now, was = serving.revision_name(state.get("taskDefinition")), serving.revision_name(service.task_definition)
    if not now or not was or now == was:
        return None
    (family, revision), (family_was, revision_was) = now.rsplit(":", 1), was.rsplit(":", 1)
    return now if family == family_was and int(revision) < int(revision_was) else None


def _fleet_serves(migration: Migration, at: float) -> None:
    """``ecs_service`` serves again: the page goes and the health checks go back at once."""
    migration.fleet_serving_at = at
    outage.take_down_maintenance_page(migration)
    outage.restore_health_checks(migration.services)


def _put_back_what_the_way_up_changed(migration: Migration) -> None:
    outage.take_down_maintenance_page(migration)
    outage.restore_health_checks(migration.services)


def _succeed(migration: Migration) -> None:
    _put_back_what_the_way_up_changed(migration)
    migration.result = _result(migration)


def _not_stable(migration: Migration, what: str, detail: str, rolled_back_to: str | None = None) -> ServiceNotStable:
    """The migration stays applied. Fleet's older binary runs on the newer schema, so the revision that served
    before is the way back to a serving Fleet: the cause gives the command for it. The maintenance page goes and
    the health checks go back: Fleet is as up as it will get without a person."""
    _put_back_what_the_way_up_changed(migration)
    snapshot.refresh(migration)  # the execution ends here: the cause says the snapshot as it is, not as it was
    cluster = migration.input.cluster_name
    back = [
        command
        for s in migration.services
        if s.revision_to_restore
        for command in manual_restore.way_back(
            cluster, s, s.target_desired_count, s.revision_to_restore, execution=migration.execution.name, live=True
        )
    ]
    return ServiceNotStable(
        f"The migration succeeded, but {what}; the services are set to the requested count, so "
        "look at the ECS service events and the stopped tasks for why"
        + (
            "; to serve Fleet from the revision that served before (its binary runs on the new schema), run the "
            "commands given"
            if back
            else ""
        ),
        task_arn=migration.task.arn if migration.task else None,
        exit_code=0,
        rolled_back=False,
        detail=detail,
        services=[{"name": s.name, "desired_count": s.target_desired_count} for s in migration.services],
        commands=back or None,
        snapshot=migration.snapshot_shown(),
        rolled_back_to=rolled_back_to,
    )


def _result(migration: Migration) -> dict[str, Any]:
    task = migration.require("task")
    started = migration.execution.started_at
    return {
        "task_arn": task.arn,
        "exit_code": task.exit_code,
        "task_definition": migration.task_definition_arn,
        "services": [{"name": s.name, "desired_count": s.target_desired_count} for s in migration.services],
        "duration_seconds": round(polling.now() - started, 1),
        **({"snapshot": shown} if (shown := migration.snapshot_shown()) else {}),
        **({"baseline_from": migration.baseline_from} if migration.baseline_from else {}),
    }
