"""The embedded AWS: moto with Step Functions executing our ASL and Lambda running our handlers.

    with Emulator(speed=5) as aws:
        fleet = aws.seed_fleet()
        run = aws.run(fleet.migration_input(), name="demo")

Everything is deployed from template.yaml (functions, handlers, the ASL and its substitutions).
The world the workflow runs in is Fleet's: ``aws.fleet_db`` is Fleet's schema (emulator/fleet/database.py; Fleet's
tasks exit 1 on missing migrations, ``fleet prepare db`` applies them), ``aws.elb`` the Application Load Balancer
in front of the service (emulator/elb.py), ``aws.registry`` what image tags name as tasks start
(``aws.push_image`` pushes a tag again), and ``aws.deploy_revision`` moves the services to a new revision as
Fleet's Terraform does before its migration runs.
``server=True`` also serves the same backends over HTTP for other processes (the Terraform
client, and ``terraform apply`` with the AWS provider: emulator/terraform_support.py and
emulator/stepfunctions/state_machines.py answer the calls it makes that moto lacks), at ``aws.endpoint_url``.
"""

from __future__ import annotations

import functools
import io
import json
import os
import socket
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.endpoint
import botocore.loaders
import botocore.session
from moto import mock_aws
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.responses import get_backend as sfn_backend
from werkzeug.serving import make_server

from emulator import terraform_support
from emulator.clock import Clock
from emulator.cloudformation import TEMPLATE, Application, read_application, render_definition
from emulator.ecs import EcsSimulator, ServiceBehaviour, TaskOutcome
from emulator.elb import ElbSimulator
from emulator.faults import Faults
from emulator.fleet import FleetDeployment, fleet_spec, register_vuln_revision, seed
from emulator.fleet.database import FleetDatabase
from emulator.fleet.image_registry import ImageRegistry
from emulator.fleet.load_balancer import FAST_TARGET_GROUP, TargetGroupSettings
from emulator.lambda_runtime import LambdaRuntime
from emulator.logs import AwsLogsDriver
from emulator.patching import Patches
from emulator.rds import RdsSimulator, SnapshotOutcome
from emulator.stepfunctions import interpreter_cache, redrive, state_machines
from emulator.stepfunctions.visibility import ExecutionVisibility

STATE_MACHINE_NAME = "fleet-migration"
ACCOUNT_ID = "123456789012"  # moto's default account
# Service models parsed once per process, not once per emulator (they are read-only).
_LOADER = botocore.loaders.create_loader()
# One boto3 client per region and service for every emulator of the process: making one costs as much as a dozen
# calls, and a client outlives its emulator safely (moto intercepts every client's requests while a mock is on,
# and the credentials and endpoint are the same for every emulator).
_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()
_SESSIONS: dict[str, boto3.session.Session] = {}
# The region the steps' cached clients (fleet_migration.aws.client) were made for: the next emulator in the same
# region keeps them, for the same reason.
_STEPS_CLIENTS_REGION: list[str] = []
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


@dataclass
class ExecutionRun:
    """A finished execution: what ``describe_execution`` says, and its history."""

    arn: str
    status: str
    error: str | None
    cause: dict[str, Any] | None
    output: dict[str, Any] | None
    events: list[dict[str, Any]]

    @property
    def states_entered(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.events if "stateEnteredEventDetails" in e]


class _ScaledTime:
    """Stands in for the ``time`` module inside moto's retrier so Retry intervals follow the clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _wait_interval(clock: Clock, original: Any, function: WaitFunction, env: Any, wait_seconds: int) -> None:
    """A Wait state waits on the clock (moto's waits real seconds), and ends early when the execution stops."""
    clock.sleep(wait_seconds, stopped=lambda: not env.is_running())


def _start_held(clock: Clock, original: Any, worker: ExecutionWorker) -> None:
    """On a simulated clock an execution holds time from StartExecution (not from when its thread gets to run: a
    driver that starts two executions and then waits must not see time move before the second began) to its end."""
    logic = worker._execution_logic

    def held() -> None:
        try:
            logic()
        finally:
            clock.release()

    worker._execution_logic = held  # type: ignore[method-assign]
    clock.hold()
    try:
        original(worker)
    except BaseException:
        clock.release()
        raise


class _Server(ThreadedMotoServer):
    """moto's threaded server, whose loop looks for ``stop()`` every 20 ms: at serve_forever's default
    of half a second, every server-mode emulator's exit waited that long."""

    def _server_entry(self) -> None:
        # ThreadedMotoServer._server_entry (moto 5.2.5) but for the poll interval.
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.02)


class Emulator:
    def __init__(
        self,
        *,
        speed: float = 1.0,
        stepped: bool = False,
        simulated: bool = False,
        server: bool = False,
        region: str = "us-east-1",
        lambda_log_level: str = "WARNING",
        target_group: TargetGroupSettings = FAST_TARGET_GROUP,
    ) -> None:
        """``target_group``: the Fleet target group's health check and deregistration delay that ``seed_fleet``
        uses unless told otherwise. By default the shortest ELB accepts (healthy 10 s after RUNNING, 5 s of
        draining), so that the many tests running whole executions stay fast; ``FLEET_TARGET_GROUP`` is Fleet's
        Terraform (healthy 75 s after RUNNING, 300 s of draining), for the demo and the benchmark. ``stepped``: the
        clock moves only when the test advances it (emulator/clock.py), for tests that call the steps themselves.
        ``simulated``: the clock moves when every execution and the test wait on it (emulator/clock.py), for tests
        that run whole executions in this process (not ``server``: a client in another process waits in real time)."""
        if simulated and server:
            raise ValueError("a simulated clock cannot wait for a client in another process: use speed with server")
        self.clock = Clock(speed, stepped=stepped, simulated=simulated)
        self.region = region
        self.server = server
        self.application: Application = _application(TEMPLATE.stat().st_mtime_ns)
        self.faults = Faults()
        self.lambdas = LambdaRuntime(self.application.functions)
        self.ecs_sim = EcsSimulator(self.clock)
        self.rds_sim = RdsSimulator(self.clock)
        self.awslogs = AwsLogsDriver(self.clock)
        # Step Functions' eventual consistency after StartExecution: off until a test sets delay_seconds
        self.execution_visibility = ExecutionVisibility(self.clock)
        self.ecs_sim.awslogs = self.awslogs
        # Fleet's database (its schema level) and the load balancer in front of Fleet
        self.fleet_db = FleetDatabase(self.clock.now)
        self.elb = ElbSimulator(self.clock)
        self.elb.before_read = self.ecs_sim.tick
        self.ecs_sim.fleet_db, self.ecs_sim.elb = self.fleet_db, self.elb
        # An advance of the clock returns once what was due by then has happened in ECS and RDS.
        self.clock.on_advance(self.ecs_sim.tick)
        self.clock.on_advance(self.rds_sim.tick)
        # What image tags name when a task starts (a tag pushed again names a newer Fleet for later tasks)
        self.registry = ImageRegistry(self.clock.now)
        self.ecs_sim.registry = self.registry
        self.target_group = target_group
        self.endpoint_url: str | None = None
        self.state_machine_arn = ""
        self.function_arns: dict[str, str] = {}
        self._lambda_log_level = lambda_log_level
        self._server: _Server | None = None
        self._saved_env: dict[str, str | None] = {}
        self._stack = ExitStack()

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Emulator:
        # Each step's undo goes on one stack as the step is done: leaving undoes them in reverse (the server stops
        # first, then faults, ..., moto's mock, the environment), and a step that raises undoes the ones before it.
        with ExitStack() as stack:
            stack.callback(self._restore_env)
            self._set_env(self._environment())
            stack.enter_context(
                mock_aws(
                    config={
                        "stepfunctions": {"execute_state_machine": True},
                        "lambda": {"use_docker": False},
                        "core": {
                            "reset_boto3_session": True,
                            "mock_credentials": True,
                            "passthrough": {"urls": [], "services": []},
                        },
                    }
                )
            )
            for install in self._installs():
                stack.enter_context(install())
            self._deploy()
            if self.server:
                port = _free_port()
                self._server = _Server(ip_address="127.0.0.1", port=port, verbose=False)
                self._server.start()
                stack.callback(self._server.stop)
                self.endpoint_url = f"http://127.0.0.1:{port}"
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def _installs(self) -> list[Callable[[], AbstractContextManager[Any]]]:
        """The components that patch moto, in the order they install; each returns what undoes it on exit."""
        return [
            functools.partial(terraform_support.install, ACCOUNT_ID),
            state_machines.install,
            interpreter_cache.install,
            redrive.install,
            self._install_clock,
            self.lambdas.install,
            self.ecs_sim.install,
            self.rds_sim.install,
            self.awslogs.install,
            self.execution_visibility.install,
            self.elb.install,
            self.faults.install,
        ]

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def _environment(self) -> dict[str, str]:
        env = {}
        for function in self.application.functions.values():
            env.update(function.environment)
        env.update(
            {
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "POWERTOOLS_LOG_LEVEL": self._lambda_log_level,
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
                # Nothing here looks AMIs up (moto launches the seeded container instance from any id);
                # loading moto's AMI catalogue costs a third of a second.
                "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
            }
        )
        return env

    def _set_env(self, env: dict[str, str]) -> None:
        for key, value in env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ.pop(key, None)

    def _install_clock(self) -> ExitStack:
        clock = self.clock
        stack = ExitStack()
        patches = stack.enter_context(Patches())

        patches.wrap(WaitFunction, "_wait_interval", functools.partial(_wait_interval, clock))
        if clock.simulated:
            patches.wrap(ExecutionWorker, "start", functools.partial(_start_held, clock))
            stack.callback(clock.close)
        patches.replace(retrier_decl, "time", _ScaledTime(clock))
        # The SDK's own retry backoff (standard mode, inside the handlers) follows the clock too,
        # so a throttled call costs the same emulated time as on AWS, not seconds of a test run.
        patches.replace(botocore.endpoint, "time", _ScaledTime(clock))

        # The handlers' deadlines read the same clock.
        for code_dir in {str(f.code_dir) for f in self.application.functions.values()}:
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
        from fleet_migration import aws, polling

        patches.replace(polling, "now", clock.now)
        if _STEPS_CLIENTS_REGION != [self.region]:
            aws.client.cache_clear()
            _STEPS_CLIENTS_REGION[:] = [self.region]
        return stack

    def _deploy(self) -> None:
        iam = self.client("iam")
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        role = iam.create_role(RoleName="fleet-migration", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("README", "code runs in-process from functions/")
        lambda_client = self.client("lambda")
        for logical_id, function in self.application.functions.items():
            created = lambda_client.create_function(
                FunctionName=logical_id,
                Runtime="python3.12",
                Role=role,
                Handler=function.handler,
                Code={"ZipFile": package.getvalue()},
            )
            self.function_arns[logical_id] = created["FunctionArn"]
        definition = render_definition(self.application.state_machine, self.function_arns)
        self.state_machine_arn = self.client("stepfunctions").create_state_machine(
            name=STATE_MACHINE_NAME, definition=definition, roleArn=role
        )["stateMachineArn"]

    # -- helpers for tests, the demo and the benchmark ------------------------------------------
    def client(self, service: str) -> Any:
        # One session per region, and one client per service, for every helper of every emulator (_CLIENTS): a new
        # session parses the service models again (boto3's clients are safe to share by threads).
        with _CLIENTS_LOCK:
            key = (self.region, service)
            if key not in _CLIENTS:
                if self.region not in _SESSIONS:
                    botocore_session = botocore.session.get_session()
                    botocore_session.register_component("data_loader", _LOADER)
                    _SESSIONS[self.region] = boto3.session.Session(
                        botocore_session=botocore_session, region_name=self.region
                    )
                _CLIENTS[key] = _SESSIONS[self.region].client(service)
            return _CLIENTS[key]

    def seed_fleet(self, *, healthy: bool = True, **options: Any) -> FleetDeployment:
        """Seed a Fleet deployment (emulator/fleet/seeding.py ``fleet_spec``: its options) on this emulator's Fleet database;
        ``healthy=False`` is a first deploy whose tasks never reach RUNNING."""
        options.setdefault("target_group", self.target_group)
        spec = fleet_spec(self.region, **options)
        for service in (spec.service, spec.vuln_service):
            if service is not None:
                self.ecs_sim.behaviour(service.name).healthy = healthy
        return seed(spec, client=self.client, database=self.fleet_db, registry=self.registry)

    def deploy_revision(
        self,
        revision: int,
        *,
        service: str = "fleet",
        cluster: str = "fleet",
        family: str = "fleet",
        vuln_service: str | None = "fleet-vuln-processing",
    ) -> dict[str, Any]:
        """What ``terraform apply`` of Fleet's module does before its migration runs: UpdateService to the new
        revision. ECS starts a PRIMARY deployment whose Fleet tasks exit 1 while the schema lacks their
        migrations; the old deployment's tasks keep serving (minimumHealthyPercent 100). The same apply registers
        the vulnerability service's next revision with the same image (fleet-terraform's addons/external-vuln-scans
        takes ``fleet_config.image``) and moves that service to it. The described Fleet service."""
        ecs = self.client("ecs")
        described = ecs.update_service(cluster=cluster, service=service, taskDefinition=f"{family}:{revision}")
        if vuln_service:
            found = ecs.describe_services(cluster=cluster, services=[vuln_service])["services"]
            if found and found[0]["status"] == "ACTIVE":
                fleet = ecs.describe_task_definition(taskDefinition=f"{family}:{revision}")["taskDefinition"]
                vuln_revision = register_vuln_revision(ecs, found[0]["taskDefinition"], fleet)
                ecs.update_service(cluster=cluster, service=vuln_service, taskDefinition=vuln_revision)
        return described["service"]

    def push_image(self, reference: str, release: str | None = None) -> str:
        """Push a tag again (``fleetdm/fleet:latest``), as a registry does: tasks that start from now on run
        ``release`` (a catalogue image such as ``fleetdm/fleet:v4.60.0``; by default the Fleet release after the
        one the tag names now, a newer binary that needs newer migrations); tasks already started keep theirs.
        The new digest."""
        return self.registry.push(reference, release)

    def service_behaviour(self, service: str) -> ServiceBehaviour:
        return self.ecs_sim.behaviour(service)

    def next_migration(self, **outcome: Any) -> None:
        self.ecs_sim.next_migration(TaskOutcome(**outcome))

    def next_snapshot(self, **outcome: Any) -> None:
        """How the next RDS snapshot behaves: ``creating_seconds``, ``fails``."""
        self.rds_sim.next_snapshot(SnapshotOutcome(**outcome))

    def start(self, document: Any, name: str) -> str:
        body = document if isinstance(document, str) else json.dumps(document)
        return self.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn, name=name, input=body
        )["executionArn"]

    def wait(self, arn: str, timeout: float = 120) -> ExecutionRun:
        """Wait (in real seconds) for an execution to end, then describe it through the API."""
        # The status straight from moto's backend: a DescribeExecution every 20 ms through botocore
        # and moto's serializer would cost the emulator more CPU than the execution it waits for.
        _, _, _, region, account, *_ = arn.split(":")
        execution = sfn_backend(account, region).describe_execution(arn)
        if not self.clock.wait_until(lambda: execution.status in TERMINAL, timeout):
            raise TimeoutError(f"execution {arn} still {execution.status} after {timeout}s")
        sfn = self.client("stepfunctions")
        described = sfn.describe_execution(executionArn=arn)
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            events.extend(page["events"])
        cause = described.get("cause")
        return ExecutionRun(
            arn=arn,
            status=described["status"],
            error=described.get("error"),
            cause=_json_or_text(cause) if cause is not None else None,
            output=json.loads(described["output"]) if described.get("output") else None,
            events=events,
        )

    def redrive(self, arn: str) -> str:
        """Step Functions' RedriveExecution (moto has none): the execution runs again from where it ended."""
        _, _, _, region, account, *_ = arn.split(":")
        redrive.redrive(sfn_backend(account, region).describe_execution(arn))
        return arn

    def until(self, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
        """Wait (at most ``timeout`` real seconds) until ``condition()``: on a simulated clock, time moves meanwhile
        and the test sees every moment once the executions have done what was due by then."""
        if not self.clock.wait_until(condition, timeout):
            raise AssertionError(f"{what} did not happen within {timeout} s")

    def run(self, document: Any, name: str, timeout: float = 120) -> ExecutionRun:
        return self.wait(self.start(document, name), timeout)

    def service_state(self, cluster: str, service: str) -> dict[str, Any]:
        """What rollback must restore: desired count, and the autoscaling target if there is one."""
        self.ecs_sim.tick()
        described = self.client("ecs").describe_services(cluster=cluster, services=[service])["services"][0]
        targets = self.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="ecs",
            ResourceIds=[f"service/{cluster}/{service}"],
            ScalableDimension="ecs:service:DesiredCount",
        )["ScalableTargets"]
        state: dict[str, Any] = {"desired_count": described["desiredCount"]}
        if targets:
            target = targets[0]
            suspended = target.get("SuspendedState") or {}
            state.update(
                min_capacity=target["MinCapacity"],
                max_capacity=target["MaxCapacity"],
                suspended={
                    key: bool(suspended.get(key, False))
                    for key in ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")
                },
            )
        return state


@functools.lru_cache(maxsize=2)
def _application(template_mtime_ns: int) -> Application:
    """template.yaml read once per process (and again when it changes): emulators start often in tests."""
    return read_application()


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"message": text}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
