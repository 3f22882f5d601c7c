"""What each step of the state machine does, one function per step.

Every function takes the state document and returns it updated; the handlers only parse,
call one of these and serialise. Waiting is the state machine's job: a ``check_*``/``poll_*``
function looks once, then says whether it is done and how long to wait before looking again.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from fleet_migration import (
    autoscaling,
    aws,
    baseline,
    ecs,
    guard,
    launch,
    outage,
    polling,
    preflight,
    serving,
    snapshot,
    task_logs,
    task_size,
)
from fleet_migration.errors import (
    CONTRACT_ERROR_NAMES,
    DrainTimeout,
    InvalidInput,
    MigrationError,
    MigrationFailed,
    MigrationInProgress,
    MigrationTimeout,
    ResourceNotFound,
    RollbackFailed,
    ServiceNotStable,
    TaskFailedToStart,
)
from fleet_migration.models import (
    ENDED_BY_ITSELF,
    DescribeRequest,
    Migration,
    MigrationInput,
    MigrationTask,
    Poll,
    ScalableTarget,
    ServiceSnapshot,
    TaskLaunch,
    short_name,
)

# How long a task RunTask started may be missing from DescribeTasks before that means it is gone. The
# ECS API "follows an eventual consistency model"; RunTask's reference advises describing a new task with
# backoff "starting with a couple of seconds of wait time" (RunTask, ECS API Reference).
VISIBILITY_GRACE_SECONDS = 60
# Rollback waits this long for a stopped migration task to reach STOPPED. StopTask sends SIGTERM and SIGKILL
# after the container's stopTimeout: 30 s by default, at most 120 s on Fargate (StopTask; ContainerDefinition
# stopTimeout, ECS API Reference); the rest leaves time for the task's network interface to be released.
STOP_DEADLINE_SECONDS = 300


def describe(request: DescribeRequest) -> Migration:
    """Validate, check that everything exists and capture what rollback must restore. Changes nothing."""
    spec = MigrationInput.parse(request.input)
    try:
        cluster_arn = ecs.find_cluster(spec.ecs_cluster)
        wanted = {"ecs_service": spec.ecs_service}
        if spec.vuln_service:
            wanted["vuln_service"] = spec.vuln_service
        found = ecs.find_services(spec.ecs_cluster, wanted)
        preflight.check_scheduling(found)
        definition = ecs.find_task_definition(spec.task_definition_ref, spec.container_name)
        _preflight(spec, definition)
        task_launch = launch.resolve(spec, found["ecs_service"], definition)
        preflight.check_launch(spec, task_launch, definition, found["ecs_service"]["serviceName"])
        container_memory = _check_task_size(spec, definition, task_launch)
        database = snapshot.find_database(spec)
        guard.ensure_no_other_migration(spec, request.execution)
        _ensure_no_migration_task_left(spec)
        live = {s["serviceName"]: (s["desiredCount"], autoscaling.capture(spec.cluster_name, s["serviceName"]))
                for s in found.values()}
        inherited = baseline.inherited(spec, request.execution, live)
        services = []
        for field, service in found.items():
            name = service["serviceName"]
            before = (inherited[name][1].desired_count, inherited[name][1].scalable_target) if name in inherited else live[name]
            captured = _snapshot(spec, field, service, *before)
            # What served before an interrupted earlier migration scaled it down is what serves "before".
            captured.serving_task_definition = (
                inherited[name][1].serving_task_definition if name in inherited
                else serving.serving_task_definition(service, ecs.service_tasks(spec.cluster_name, name)))
            preflight.check_revision_restorable(field, service, captured.revision_to_restore)
            captured.target_groups = outage.plan_target_groups(spec, service, inherited.get(name, (None, None))[1])
            services.append(captured)
        maintenance, leftover = outage.plan_maintenance(spec, found["ecs_service"], request.execution.name)
        skipped = None if inherited or leftover else _nothing_to_migrate(spec, services[0], definition)
    except ClientError as exc:
        # Only reads so far: an AWS refusal (permissions, wrong account or region) means we cannot
        # see what the input names, and the contract reports that before anything changed.
        raise ResourceNotFound(
            f"AWS refused {exc.operation_name} ({aws.error_code(exc)}: {aws.error_message(exc)}); check the names "
            "in the input and that the describe step's role may read them. Nothing was changed.",
            aws_error=aws.error_code(exc),
        ) from exc
    planned = snapshot.plan(spec, request.execution, database)
    migration = Migration(
        input=spec,
        execution=request.execution,
        cluster_arn=cluster_arn,
        task_definition_arn=definition["taskDefinitionArn"],
        services=services,
        launch=task_launch,
        baseline_from=", ".join(sorted({execution for execution, _ in inherited.values()})) or None,
        snapshot=planned,
        container_memory=container_memory,
        **_log_source(definition, spec),
        manual_restore_cause=json.dumps(
            {
                "message": "The rollback step could not run; restore the services by hand with these commands "
                "(and stop the migration task if one is still running).",
                "rolled_back": False,
                "commands": restore_commands(spec.cluster_name, services),
                **({"snapshot": snapshot.unknown(planned)} if planned else {}),
            }
        ),
        maintenance_rules=maintenance,
        leftover_rules=leftover,
    )
    if skipped:
        migration.result = {"skipped": skipped, "task_arn": None, "task_definition": migration.task_definition_arn,
                            "services": [{"name": s.name, "desired_count": s.desired_count} for s in services],
                            "duration_seconds": round(polling.now() - _started(migration), 1)}
    return migration


def _nothing_to_migrate(spec: MigrationInput, service: ServiceSnapshot, definition: dict[str, Any]) -> str | None:
    """Why nothing can need migrating, or None: the new revision's migration container runs exactly the image
    the serving tasks run (the migrations a Fleet binary applies are built into its image).

    Not when nothing serves (a first deploy, every task crashing), nor when an interrupted earlier execution
    left something to put back (this execution puts it back on its way).
    """
    if not spec.skip_unchanged_image or service.serving_task_definition is None:
        return None
    new_image = _image(definition, spec.container_name)
    serving_image = _image(ecs.describe_task_definition(service.serving_task_definition), spec.container_name)
    if new_image is None or new_image != serving_image:
        return None
    return (f"Nothing to migrate: {serving.revision_name(definition['taskDefinitionArn'])} runs the image "
            f"{new_image}, the image {service.name}'s serving tasks run ({serving.revision_name(service.serving_task_definition)}), "
            "so its migrations are already in; nothing was changed. Set skip_unchanged_image to false to run the "
            "migration anyway.")


def _image(definition: dict[str, Any], container_name: str) -> str | None:
    return next((c.get("image") for c in definition.get("containerDefinitions", []) if c.get("name") == container_name),
                None)


def _preflight(spec: MigrationInput, definition: dict[str, Any]) -> None:
    """What RunTask or the run-task step's IAM would refuse after the scale-down, refused now."""
    preflight.check_command(spec.command, preflight.allowed_commands())
    preflight.check_family(definition)
    preflight.check_roles(definition)


def _check_task_size(spec: MigrationInput, definition: dict[str, Any], task_launch: TaskLaunch) -> int | None:
    """The task size against where the task really runs (Fargate's table only on Fargate), a CPU override alone
    against the revision's memory, and what ``task_memory`` leaves the migration container, which becomes its
    own memory limit (returned): RunTask would refuse any of these after the scale-down."""
    fargate = task_launch.on_fargate
    problem = (task_size.problem(spec.task_cpu, spec.task_memory, fargate=fargate)
               or task_size.revision_problem(spec.task_cpu, spec.task_memory, definition, fargate=fargate)
               or task_size.container_memory_problem(spec.task_memory, definition, spec.container_name))
    if problem:
        raise InvalidInput(problem, fields=[problem.split(":", 1)[0]])
    return task_size.container_memory(spec.task_memory, definition, spec.container_name)


def _log_source(definition: dict[str, Any], spec: MigrationInput) -> dict[str, Any]:
    where, note = task_logs.source(definition, spec.container_name, aws.client("ecs").meta.region_name)
    return {"task_logs": where, "log_note": note}


def _ensure_no_migration_task_left(spec: MigrationInput) -> None:
    """A migration task of an execution that was stopped mid-way may still run, or still be stopping: never
    start a second one beside it. Only this service's migration tasks count (``migration_started_by``)."""
    left = [task["taskArn"] for task in ecs.unstopped_migration_tasks(spec.cluster_name, _started_by(spec),
                                                                       _family(spec))]
    if left:
        raise MigrationInProgress(
            f"A migration task of an earlier execution for service {short_name(spec.ecs_service)!r} has not stopped "
            f"yet ({', '.join(left)}); wait for it to stop or stop it (aws ecs stop-task --cluster "
            f"{spec.cluster_name} --task <arn>), then start again. Nothing was changed.",
            task_arn=left[0],
        )


def _started_by(spec: MigrationInput) -> str:
    return ecs.migration_started_by(spec.cluster_name, spec.ecs_service)


def _family(spec: MigrationInput) -> str:
    return short_name(spec.task_definition)


def _snapshot(spec: MigrationInput, field: str, service: dict[str, Any], before: int,
              target: ScalableTarget | None) -> ServiceSnapshot:
    """What one service looked like before (now, or as an interrupted earlier migration found it), and after."""
    after, max_after = before, None
    if field == "ecs_service":
        max_after = spec.max_capacity
        if spec.desired_count is not None:
            after = spec.desired_count
            if target is not None and max_after is None and after > target.max_capacity:
                raise InvalidInput(
                    f"desired_count: {after} is above the autoscaling maximum {target.max_capacity} of service "
                    f"{service['serviceName']!r}, which would scale it back in; raise max_capacity too or lower "
                    "desired_count",
                    fields=["desired_count"],
                )
        elif max_after is not None and target is not None:
            after = min(before, max_after)  # autoscaling would scale in to the new maximum anyway
    return ServiceSnapshot(
        name=service["serviceName"],
        arn=service["serviceArn"],
        desired_count=before,
        scalable_target=target,
        target_desired_count=after,
        target_max_capacity=max_after,
        task_definition=service.get("taskDefinition"),
    )


def scale_down(migration: Migration) -> Migration:
    """Hold autoscaling first (or it would undo the scale-down), then lower the desired counts."""
    spec = migration.input
    outage.before_scale_down(spec, migration.services, migration.maintenance_rules, migration.leftover_rules,
                             migration.execution.name)
    for service in migration.services:
        hold = service.held_count(spec.min_capacity)
        if service.scalable_target:
            autoscaling.hold_at(service.scalable_target, hold)
        ecs.set_desired_count(spec.cluster_name, service.name, hold)
    started = polling.now()
    migration.drain = Poll(started_at=started, deadline=started + spec.drain_timeout_seconds)
    return migration


def check_drained(migration: Migration) -> Migration:
    spec, drain = migration.input, _require(migration.drain, "drain")
    at = polling.now()
    waiting_for = []
    for service in migration.services:
        active, stopping = ecs.drain_progress(ecs.service_tasks(spec.cluster_name, service.name))
        if active > service.held_count(spec.min_capacity) or stopping:
            waiting_for.append(f"{service.name}: {active} running or starting, {stopping} stopping")
    drain.polls += 1
    drain.detail = "; ".join(waiting_for)
    if not waiting_for:
        drain.done = True
    elif at >= drain.deadline:
        raise DrainTimeout(
            f"The services did not drain to min_capacity={spec.min_capacity} within drain_timeout_seconds="
            f"{spec.drain_timeout_seconds} ({drain.detail}); look at why the tasks do not stop, or raise the timeout",
        )
    else:
        drain.next_poll_seconds = _next_wait(at, drain.started_at, drain.deadline, spec.poll_interval)
    return migration


def run_migration_task(migration: Migration) -> Migration:
    spec = migration.input
    # Checked again here: this step's input is the state document, which a redrive or a crafted call could change.
    preflight.check_command(spec.command, preflight.allowed_commands())
    task = ecs.run_task(
        cluster=spec.cluster_name,
        task_definition=migration.task_definition_arn,
        container_name=spec.container_name,
        command=spec.command,
        launch=_require(migration.launch, "launch"),
        client_token=client_token(migration.execution.id),
        started_by=_started_by(spec),
        group=task_group(migration.execution.id),
        cpu=spec.task_cpu,
        memory=spec.task_memory,
        container_memory=migration.container_memory,
    )
    started = polling.now()
    deadline = started + spec.timeout_seconds
    migration.task = MigrationTask(
        arn=task["taskArn"],
        started_at=started,
        deadline=deadline,
        last_status=task.get("lastStatus", "PROVISIONING"),
        next_poll_seconds=_next_wait(started, started, deadline, spec.poll_interval),
    )
    return migration


def poll_migration_task(migration: Migration) -> Migration:
    spec, task = migration.input, _require(migration.task, "task")
    at = polling.now()
    described = ecs.describe_task(spec.cluster_name, task.arn)
    task.polls += 1
    if described is None:
        if at - task.started_at >= VISIBILITY_GRACE_SECONDS:
            raise TaskFailedToStart(
                f"ECS still does not show the migration task {VISIBILITY_GRACE_SECONDS} s after RunTask started it; "
                "look for it in the cluster's stopped tasks, then run the migration again",
                task_arn=task.arn,
            )
        # not visible yet (eventual consistency): look again, within the timeout like any other poll
    else:
        _observe(task, described, spec.container_name)
    if task.last_status == "STOPPED":
        task.done = True
        _raise_unless_succeeded(task, spec.container_name)
    elif at >= task.deadline:
        ecs.stop_task(spec.cluster_name, task.arn, f"fleet-migration: still running after timeout_seconds={spec.timeout_seconds}")
        raise MigrationTimeout(
            f"The migration task was still {task.last_status} after timeout_seconds={spec.timeout_seconds} and was "
            "stopped; check the database and the task's logs, then raise timeout_seconds if the migration is just slow",
            **_task_details(task),
        )
    else:
        task.next_poll_seconds = _next_wait(at, task.started_at, task.deadline, spec.poll_interval)
    return migration


def _raise_unless_succeeded(task: MigrationTask, container_name: str) -> None:
    """A STOPPED task succeeded only if its essential container exited 0 by itself (``MigrationTask.succeeded``)."""
    if task.succeeded:
        return
    details = _task_details(task)
    reasons = "; ".join(f"{name}: {reason}" for name, reason in (task.container_reasons or {}).items())
    stopped_by = "" if task.stop_code == ENDED_BY_ITSELF else (
        f" after ECS stopped the task ({task.stop_code or 'no stop code'}: {task.stopped_reason or 'no reason given'})")
    if task.stop_code == "TaskFailedToStart" or task.exit_code is None:
        raise TaskFailedToStart(
            f"The migration task stopped before running the command ({task.stop_code or 'no exit code'}: "
            f"{task.stopped_reason or 'no reason given'}{'; ' + reasons if reasons else ''}); check the image, "
            "secrets, subnets and security groups",
            **details,
        )
    if task.exit_code != 0:
        raise MigrationFailed(
            f"The migration command exited with code {task.exit_code}{stopped_by}"
            f"{' (' + reasons + ')' if reasons else ''}; read the {container_name!r} container's logs for the task, "
            "fix the cause and run the migration again",
            **details,
        )
    raise MigrationFailed(
        f"The migration command exited with code 0, but only{stopped_by}: it was interrupted and may not have "
        f"finished{' (' + reasons + ')' if reasons else ''}; check the database schema and run the migration again",
        **details,
    )


def _task_details(task: MigrationTask) -> dict[str, Any]:
    return {"task_arn": task.arn, "exit_code": task.exit_code, "stop_code": task.stop_code,
            "stopped_reason": task.stopped_reason, "container_reasons": task.container_reasons or None}


def scale_up(migration: Migration) -> Migration:
    """Desired counts first, then the autoscaling bounds and suspended state: the reverse of scale_down."""
    spec = migration.input
    started = polling.now()  # before the first UpdateService: the tasks it starts count as started since the scale-up
    for service in migration.services:
        ecs.set_desired_count(spec.cluster_name, service.name, service.target_desired_count)
        if service.scalable_target:
            autoscaling.restore(service.scalable_target, service.target_max_capacity)
    outage.restore_delays(migration.services)  # for the deregistrations to come: the tasks being replaced later
    migration.stabilize = Poll(started_at=started, deadline=started + spec.stabilize_timeout_seconds)
    if spec.stabilize_timeout_seconds == 0:
        migration.stabilize.done = True
        _succeed(migration)
    return migration


def check_stable(migration: Migration) -> Migration:
    """Stable means Fleet serves: what ECS means by stable (ecs.rollout), then every check of
    ``serving.not_yet_serving`` (the count read back, the revision, the load balancer's health, no task
    stopped since the scale-up). A FAILED deployment or tasks that keep crashing end the wait.

    Crashes are counted here, not left to ECS's circuit breaker: it may be off, it judges only a deployment
    IN_PROGRESS (a desired-count change starts none), and ECS keeps a deployment's ``failedTasks`` across
    desired-count changes (Deployment.failedTasks, Amazon ECS API Reference), so only the tasks started since
    the scale-up count. We stop at the breaker's threshold (ecs.crash_limit) of them failing to start or
    exiting non-zero, however briefly they ran: as many as ECS itself calls a failure.
    """
    spec, stabilize = migration.input, _require(migration.stabilize, "stabilize")
    at = polling.now()
    described = ecs.describe_services(spec.cluster_name, [s.name for s in migration.services])
    waiting_for = []
    for service in migration.services:
        state = described.get(service.name)
        if state is None:
            waiting_for.append(f"{service.name}: not described by ECS")
            continue
        failed = ecs.failed_deployment(state)
        if failed:
            raise _not_stable(migration, f"ECS gave up on {service.name}: {failed}", detail=failed)
        tasks = ecs.service_tasks(spec.cluster_name, service.name)
        crashed = serving.crashed_since(tasks, stabilize.started_at)
        if len(crashed) >= ecs.crash_limit(service.target_desired_count):
            last = max(crashed, key=lambda task: task.get("stoppedAt") or task["createdAt"])
            reason = (f"{len(crashed)} of its tasks failed since the scale-up (last: {last.get('stopCode')}, "
                      f"{last.get('stoppedReason') or 'no reason given'})")
            raise _not_stable(migration, f"the tasks of {service.name} keep crashing: {reason}", detail=reason)
        stable, waiting = ecs.rollout(state)
        if stable:  # ECS is done: now whether Fleet answers behind the load balancer
            waiting = serving.not_yet_serving(state, tasks, service.target_desired_count, stabilize.started_at,
                                              serving.health_checked_containers(state["taskDefinition"]))
        if waiting:
            waiting_for.append(f"{service.name}: {', '.join(waiting)}")
    stabilize.polls += 1
    stabilize.detail = "; ".join(waiting_for)
    if not waiting_for:
        stabilize.done = True
        _succeed(migration)
    elif at >= stabilize.deadline:
        raise _not_stable(
            migration,
            f"the services did not become stable within stabilize_timeout_seconds={spec.stabilize_timeout_seconds} "
            f"({stabilize.detail})",
            detail=stabilize.detail,
        )
    else:
        stabilize.next_poll_seconds = _next_wait(at, stabilize.started_at, stabilize.deadline, spec.poll_interval)
    return migration


def stop_migration_tasks(migration: Migration) -> Migration:
    """Rollback's first step: make sure no migration task of this execution still runs. Looks once.

    StopTask only starts a stop: SIGTERM, then SIGKILL after the container's stop timeout (StopTask, ECS
    API Reference). Until the task is STOPPED the migration may still be writing the schema, so the
    services are restored only once ``stopping.done``. A task that already ended is read to learn how
    (exit 0 by itself means the migration was applied). StopTask is sent once, to tasks still meant to run.
    """
    spec = migration.input
    at = polling.now()
    stopping = migration.stopping or Poll(started_at=at, deadline=at + STOP_DEADLINE_SECONDS)
    migration.stopping = stopping
    try:
        left = _unstopped_tasks_of_this_execution(migration, at)
    except ClientError as exc:
        # What we cannot see we cannot know to be STOPPED: stop what we know of and leave the rest to a person.
        error, cause = contract_error(migration, *read_caught(migration))
        if migration.task is not None and not migration.task.done:
            ecs.stop_task(spec.cluster_name, migration.task.arn, f"fleet-migration: rolling back after {error}")
        arns = [migration.task.arn] if migration.task is not None and not migration.task.done else []
        raise _not_stopped(migration, error, cause, arns,
                           f"AWS refused {exc.operation_name} ({aws.error_code(exc)}: {aws.error_message(exc)}), so "
                           "the migration task cannot be seen to have STOPPED and nothing was restored") from exc
    error, cause = contract_error(migration, *read_caught(migration))  # once ECS said how the task ended
    for task in left:
        if task.get("desiredStatus") == "RUNNING":  # not one ECS does not show yet: StopTask would not find it
            ecs.stop_task(spec.cluster_name, task["taskArn"], f"fleet-migration: rolling back after {error}")
    stopping.polls += 1
    stopping.detail = ", ".join(f"{t['taskArn']} {t.get('lastStatus', 'not visible yet')}" for t in left)
    if not left:
        stopping.done = True
    elif at >= stopping.deadline:
        raise _not_stopped(migration, error, cause, [t["taskArn"] for t in left if t["taskArn"].startswith("arn:")],
                           f"The migration task did not stop within {STOP_DEADLINE_SECONDS} s after rolling back "
                           f"began ({stopping.detail}), so nothing was restored")
    else:
        stopping.next_poll_seconds = _next_wait(at, stopping.started_at, stopping.deadline, spec.poll_interval)
    return migration


def _not_stopped(migration: Migration, error: str, cause: dict[str, Any], arns: list[str], why: str) -> RollbackFailed:
    """Nothing restored: old Fleet must not run beside a migration. The commands stop, wait, then restore."""
    cluster = migration.input.cluster_name
    waits = [shlex.join(["aws", "ecs", "wait", "tasks-stopped", "--cluster", cluster, "--tasks", *arns])] if arns else []
    return RollbackFailed(
        f"{why}: old Fleet must not run beside a migration; once the task is STOPPED, run these commands",
        original_error=error,
        original_cause=cause,
        rolled_back=False,
        task_arn=arns[0] if arns else None,
        commands=[shlex.join(["aws", "ecs", "stop-task", "--cluster", cluster, "--task", arn]) for arn in arns]
        + waits + restore_commands(cluster, migration.services, applied=_migration_applied(migration, error)),
    )


def _unstopped_tasks_of_this_execution(migration: Migration, at: float) -> list[dict[str, Any]]:
    """The migration tasks of this execution not yet STOPPED, as ECS describes them.

    The one the document knows, or, when RunTask may have started one before its step failed, any task of
    this execution's ``group``. A task ECS may not show yet (eventual consistency) counts as not stopped
    (without ``lastStatus``) until the visibility grace has passed: for an unreported one, unless RunTask
    said it started nothing.
    """
    spec, task = migration.input, migration.task
    if task is not None:
        if task.done:
            return []
        described = ecs.describe_task(spec.cluster_name, task.arn)
        if described is None:
            return [{"taskArn": task.arn}] if at - task.started_at < VISIBILITY_GRACE_SECONDS else []
        _observe(task, described, spec.container_name)
        task.done = task.last_status == "STOPPED"
        return [] if task.done else [described]
    if migration.drain is not None and migration.drain.done:
        group = task_group(migration.execution.id)
        found = [t for t in ecs.unstopped_migration_tasks(spec.cluster_name, _started_by(spec), _family(spec))
                 if t.get("group") == group]
        stopping = _require(migration.stopping, "stopping")
        if not found and _may_have_started_unreported(migration) and at - stopping.started_at < VISIBILITY_GRACE_SECONDS:
            return [{"taskArn": f"any task of group {group}"}]
        return found
    return []


def _may_have_started_unreported(migration: Migration) -> bool:
    """Whether the failed step may have died after RunTask started a task (a Lambda timeout, a crash).

    Our own errors and AWS's error codes are raised once RunTask has answered (a refusal, or ``failures``:
    with count 1, no task) or before it was called; only the runtime's errors and unexpected exceptions are
    not.
    """
    error = read_caught(migration)[0]
    answered = error in CONTRACT_ERROR_NAMES or error in ("AwsThrottled", "ClientError") or (
        error.endswith("Exception") and "." not in error)
    return not answered


def _succeed(migration: Migration) -> None:
    outage.take_down_maintenance_page(migration.maintenance_rules, migration.execution.name)
    migration.result = _result(migration)


def _not_stable(migration: Migration, what: str, detail: str) -> ServiceNotStable:
    """The migration stays applied. Fleet's older binary runs on the newer schema, so the revision that served
    before is the way back to a serving Fleet: the cause gives the command for it. The maintenance page goes:
    Fleet is as up as it will get without a person."""
    outage.take_down_maintenance_page(migration.maintenance_rules, migration.execution.name)
    cluster = migration.input.cluster_name
    back = [shlex.join(["aws", "ecs", "update-service", "--cluster", cluster, "--service", s.name,
                        "--task-definition", str(serving.revision_name(s.revision_to_restore)),
                        "--desired-count", str(s.target_desired_count)])
            for s in migration.services if s.revision_to_restore]
    return ServiceNotStable(
        f"The migration succeeded, but {what}; the services are set to the requested count, so "
        "look at the ECS service events and the stopped tasks for why"
        + ("; to serve Fleet from the revision that served before (its binary runs on the new schema), run the "
           "commands given" if back else ""),
        task_arn=migration.task.arn if migration.task else None,
        exit_code=0,
        rolled_back=False,
        detail=detail,
        services=[{"name": s.name, "desired_count": s.target_desired_count} for s in migration.services],
        commands=back or None,
        snapshot=_snapshot_shown(migration),
    )


def rollback(migration: Migration) -> dict[str, str]:
    """Put every service where it belongs, once no migration task runs any more. Safe to run twice.

    Before the migration was applied that is what was captured (a rollback). Once it was applied,
    going back would run the old counts against the new schema for nothing: the services are set
    to the counts the migration was bringing them to instead. Returns ``{"error", "cause"}`` for the
    state machine's Fail states: the original error, with a cause that says what was done.
    """
    spec = migration.input
    stopping = _require(migration.stopping, "stopping")
    if not stopping.done:
        raise MigrationError("Rollback ran before the migration task was STOPPED; the state machine definition is out of order")
    error, cause = contract_error(migration, *read_caught(migration))
    applied = _migration_applied(migration, error)
    placed = []
    try:
        for service in reversed(migration.services):
            count, max_capacity = _destination(service, applied)
            ecs.set_desired_count(spec.cluster_name, service.name, count, _revision_back(service, applied))
            if service.scalable_target:
                autoscaling.restore(service.scalable_target, max_capacity)
            placed.append(_service_summary(service, applied))
        delays = outage.restore_delays(migration.services)
        outage.take_down_maintenance_page(migration.maintenance_rules, migration.execution.name)
    except Exception as exc:
        reason = exc.message if isinstance(exc, MigrationError) else str(exc)
        _add_recovery_details(migration, error, cause)
        raise RollbackFailed(
            f"Rolling back after {error} failed ({reason}); run these commands to restore the services by hand",
            original_error=error,
            original_cause=cause,
            rolled_back=False,
            restored=placed,
            commands=restore_commands(spec.cluster_name, migration.services, migration.task, applied=applied),
            snapshot=_snapshot_shown(migration),
        ) from exc
    _add_recovery_details(migration, error, cause)
    placed.reverse()
    summary = ", ".join(f"{s['name']} to {s['desired_count']} task(s)" for s in placed)
    outcome = (
        f"The migration was applied, so nothing was rolled back: the services were set to their new counts: {summary}."
        if applied
        else f"The services were rolled back to what they were before: {summary}.{_revisions_restored(placed)}"
    )
    cause.update(message=f"{str(cause.get('message', error)).rstrip('.')}. {outcome}", rolled_back=not applied,
                 services=placed)
    if delays:
        cause["target_groups"] = delays
    if migration.baseline_from:
        cause["baseline_from"] = migration.baseline_from
    return {"error": error, "cause": json.dumps(cause, sort_keys=True, default=str)}


def _snapshot_shown(migration: Migration) -> dict[str, Any] | None:
    """The recovery point, once the create step made it (a planned one that was never taken is not shown)."""
    taken = migration.snapshot
    return taken.public() if taken is not None and taken.status != "planned" else None


def _add_recovery_details(migration: Migration, error: str, cause: dict[str, Any]) -> None:
    """What the operator needs next: the snapshot taken, and why the migration task failed in its own words.

    The caught cause may already carry a fresher ``snapshot`` (the snapshot step's own failure): it wins.
    """
    shown = _snapshot_shown(migration)
    if shown is not None:
        cause.setdefault("snapshot", shown)
    task = migration.task
    if error not in ("TaskFailedToStart", "MigrationFailed", "MigrationTimeout") or task is None or "log_tail" in cause:
        return
    if migration.task_logs is None:
        if migration.log_note:
            cause["log_note"] = migration.log_note
        return
    lines, note = task_logs.tail(migration.task_logs, task.arn)
    cause["log_tail"] = lines
    if note:
        cause["log_note"] = note


def _migration_applied(migration: Migration, error: str) -> bool:
    if error in ("TaskFailedToStart", "MigrationFailed", "MigrationTimeout"):
        return False
    return migration.task is not None and migration.task.succeeded


def _observe(task: MigrationTask, described: dict[str, Any], container_name: str) -> None:
    """Copy what ECS says of the migration task into the state document."""
    task.last_status = described.get("lastStatus", task.last_status)
    task.stop_code = described.get("stopCode")
    task.stopped_reason = described.get("stoppedReason")
    task.exit_code = ecs.container_exit(described, container_name)
    task.container_reasons = ecs.container_reasons(described) or None


def _revision_back(service: ServiceSnapshot, applied: bool) -> str | None:
    """The revision that served before, when a rollback must bring it back (never once the migration applied:
    the service's own revision runs on the new schema)."""
    return None if applied else service.revision_to_restore


def _revisions_restored(placed: list[dict[str, Any]]) -> str:
    """The sentence that says which revision serves again, and what moves the service forward later."""
    moved = [s for s in placed if s.get("replaced_task_definition")]
    if not moved:
        return ""
    back = "; ".join(f"{s['name']} runs {s['task_definition']} again instead of {s['replaced_task_definition']}"
                     for s in moved)
    return (f" The Fleet that was serving serves again: {back} (the new revision cannot start before its migration). "
            "The next `terraform apply` or deploy moves the service forward again.")


def _destination(service: ServiceSnapshot, applied: bool) -> tuple[int, int | None]:
    """(desired count, autoscaling maximum override) a service is put back to."""
    if applied:
        return service.target_desired_count, service.target_max_capacity
    return service.desired_count, None


def read_caught(migration: Migration) -> tuple[str, dict[str, Any]]:
    """The error a ``Catch`` put in ``$.caught``, with its cause as our JSON object when it is one."""
    caught = migration.caught
    if caught is None:
        return "States.Runtime", {"message": "Rollback ran without a caught error."}
    try:
        payload = json.loads(caught.cause)
    except json.JSONDecodeError:
        return caught.error, {"message": caught.cause or caught.error}
    message = payload.get("errorMessage", payload) if isinstance(payload, dict) else payload
    if isinstance(message, str):
        try:
            parsed = json.loads(message)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and "message" in parsed:
            return caught.error, parsed
        return caught.error, {"message": message}
    return caught.error, {"message": json.dumps(message)}


# What a step that failed for a reason of its own (an AWS refusal, throttling that outlived every
# retry, a Lambda error) was doing, named with the contract's error for that phase.
_AWS_ERROR_CODE = re.compile(r"An error occurred \((\w+)\)")
_PHASES = {
    "DrainTimeout": "The services could not be scaled down and drained",
    "TaskFailedToStart": "The migration task could not be started",
    "MigrationFailed": "The migration task could not be followed to its end, so it was stopped",
    "ServiceNotStable": "The migration succeeded, but the services could not be scaled back up",
}


def contract_error(migration: Migration, error: str, cause: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The caught error under one of the contract's names (design section 5): callers match on those only.

    Our own errors keep their name. Anything else is named after the phase it interrupted, which
    the state document tells: it is the input of the step that failed.
    """
    if error in CONTRACT_ERROR_NAMES:
        return error, cause
    task = migration.task
    if task is None:
        name = "TaskFailedToStart" if migration.drain and migration.drain.done else "DrainTimeout"
    else:
        name = "ServiceNotStable" if task.succeeded else "MigrationFailed"
    detail = str(cause.get("message", "")).rstrip(".") or "no detail"
    # botocore raises a bare ClientError for errors a service model does not declare; the code is in the text
    aws_code = _AWS_ERROR_CODE.search(detail) if error == "ClientError" else None
    underlying = aws_code.group(1) if aws_code else error
    mapped = {
        **cause,
        "message": f"{_PHASES[name]} ({underlying}: {detail}); fix the cause and run the migration again",
        "underlying_error": underlying,
    }
    if task is not None:
        mapped.setdefault("task_arn", task.arn)
    return name, mapped


def client_token(execution_id: str) -> str:
    """RunTask's idempotency token: the same for every retry of one execution, different across executions."""
    return hashlib.sha256(execution_id.encode()).hexdigest()[:64]


def task_group(execution_id: str) -> str:
    """RunTask's ``group``: which execution a migration task belongs to, so rollback can find it unreported."""
    return f"fleet-migration:{client_token(execution_id)[:32]}"


def restore_commands(cluster: str, services: list[ServiceSnapshot], task: MigrationTask | None = None,
                     applied: bool = False) -> list[str]:
    """The AWS CLI commands that do by hand what rollback does."""
    commands = []
    if task and not task.done:
        commands.append(shlex.join(["aws", "ecs", "stop-task", "--cluster", cluster, "--task", task.arn]))
    for service in services:
        count, max_override = _destination(service, applied)
        revision = _revision_back(service, applied)
        commands.append(
            shlex.join(
                ["aws", "ecs", "update-service", "--cluster", cluster, "--service", service.name,
                 *(["--task-definition", serving.revision_name(revision)] if revision else []),
                 "--desired-count", str(count)]
            )
        )
        target = service.scalable_target
        if target:
            low, high = autoscaling.bounds_after(target, max_override)
            suspended = ",".join(f"{key}={str(value).lower()}" for key, value in target.suspended.to_api().items())
            commands.append(
                shlex.join(
                    ["aws", "application-autoscaling", "register-scalable-target", "--service-namespace", "ecs",
                     "--resource-id", target.resource_id, "--scalable-dimension", autoscaling.DIMENSION,
                     "--min-capacity", str(low), "--max-capacity", str(high),
                     "--suspended-state", suspended]
                )
            )
    return commands + outage.restore_commands(services)


def _service_summary(service: ServiceSnapshot, applied: bool = False) -> dict[str, Any]:
    count, max_override = _destination(service, applied)
    summary: dict[str, Any] = {"name": service.name, "desired_count": count}
    revision = _revision_back(service, applied)
    if revision:
        summary.update(task_definition=serving.revision_name(revision),
                       replaced_task_definition=serving.revision_name(service.task_definition))
    if service.scalable_target:
        low, high = autoscaling.bounds_after(service.scalable_target, max_override)
        summary.update(
            min_capacity=low,
            max_capacity=high,
            suspended_state=service.scalable_target.suspended.to_api(),
        )
    return summary


def _result(migration: Migration) -> dict[str, Any]:
    task = _require(migration.task, "task")
    started = _started(migration)
    return {
        "task_arn": task.arn,
        "exit_code": task.exit_code,
        "task_definition": migration.task_definition_arn,
        "services": [{"name": s.name, "desired_count": s.target_desired_count} for s in migration.services],
        "duration_seconds": round(polling.now() - started, 1),
        **({"snapshot": shown} if (shown := _snapshot_shown(migration)) else {}),
        **({"baseline_from": migration.baseline_from} if migration.baseline_from else {}),
    }


def _started(migration: Migration) -> float:
    return datetime.fromisoformat(migration.execution.start_time).timestamp()


def _next_wait(at: float, started: float, deadline: float, interval: int | None) -> int:
    """The schedule's next wait (``interval`` None: the default's fast start), never far past the deadline."""
    return polling.capped(polling.next_poll_seconds(at - started, interval), deadline, at)


def _require(value: Any, name: str) -> Any:
    if value is None:
        raise MigrationError(f"The state document has no {name!r}; the state machine definition is out of order")
    return value
