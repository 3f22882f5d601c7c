"""Cold start: each handler imported and invoked once in a fresh interpreter, beside boto3 alone.

Each fresh interpreter (``python -S -E``) sees what a Lambda function sees: functions/, the packaged
distributions and the runtime's boto3 (``package.lambda_like_path``), nothing else of this
virtualenv. It times the handler module's import, then its first invocation with an event recorded
from a real execution, against the emulator served over HTTP. The baseline is the same interpreter
doing ``import boto3`` and creating an ECS client. The runs interleave (baseline, each handler, then
again), so load from elsewhere on the machine hits them alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from bench.package import lambda_like_path
from bench.table import render
from emulator import Emulator

BASELINE = "import boto3 + ECS client"

CHILD = r"""
import json, sys, time
config = json.loads(sys.argv[1])
sys.path[:0] = config["path"]
started = time.perf_counter()
if config["module"] is None:
    import boto3
    imported = time.perf_counter()
    boto3.client("ecs")
    error = None
else:
    import importlib
    module = importlib.import_module(config["module"])
    imported = time.perf_counter()

    class Context:
        function_name = config["function"]
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + config["function"]
        aws_request_id = "00000000-0000-0000-0000-000000000000"
        function_version = "$LATEST"
        memory_limit_in_mb = 256
        log_group_name = log_stream_name = ""

        def get_remaining_time_in_millis(self):
            return 60000

    try:
        getattr(module, config["attribute"])(config["event"], Context())
        error = None
    except Exception as exc:
        error = type(exc).__name__
done = time.perf_counter()
print("BENCH " + json.dumps({"import": imported - started, "first_call": done - imported, "error": error}))
"""


@dataclass
class Timing:
    name: str
    imports: list[float] = field(default_factory=list)
    first_calls: list[float] = field(default_factory=list)
    errors: set[str] = field(default_factory=set)

    @property
    def total(self) -> float:
        return statistics.median(i + c for i, c in zip(self.imports, self.first_calls, strict=True))


def events_from(runs: list[Any]) -> dict[str, dict[str, Any]]:
    """The first payload each function received in these executions (from their TaskScheduled events)."""
    events: dict[str, dict[str, Any]] = {}
    for run in runs:
        for event in run.events:
            details = event.get("taskScheduledEventDetails")
            if details:
                parameters = json.loads(details["parameters"])
                events.setdefault(parameters["FunctionName"].rsplit(":", 1)[-1], parameters["Payload"])
    return events


def child_environment(aws: Emulator, function_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "MOTO_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": aws.region,
            "AWS_REGION": aws.region,
            "AWS_ENDPOINT_URL": aws.endpoint_url or "",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    env.update(function_env)
    return env


def _once(config: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-S", "-E", "-c", CHILD, json.dumps(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError(f"cold-start child failed ({config.get('module')}): {done.stderr.strip()[-2000:]}")


def measure(
    aws: Emulator, events: dict[str, dict[str, Any]], extra_env: dict[str, dict[str, str]], repeats: int
) -> tuple[Timing, list[Timing]]:
    """``events``: an event per function logical id; ``extra_env``: environment a function needs beyond
    what template.yaml gives it as plain strings (the trigger's stack parameters)."""
    holder, path = lambda_like_path()
    with holder:
        baseline = Timing(BASELINE)
        base_env = child_environment(aws, {})
        handlers = []
        for logical_id, spec in aws.application.functions.items():
            if logical_id not in events:
                continue
            env = child_environment(aws, {**spec.environment, **extra_env.get(logical_id, {})})
            config = {
                "path": path,
                "module": spec.module,
                "attribute": spec.attribute,
                "function": logical_id,
                "event": events[logical_id],
            }
            handlers.append((Timing(f"{spec.module} ({logical_id})"), config, env))
        for _ in range(repeats):
            result = _once({"path": path, "module": None}, base_env)
            baseline.imports.append(result["import"])
            baseline.first_calls.append(result["first_call"])
            for timing, config, env in handlers:
                result = _once(config, env)
                timing.imports.append(result["import"])
                timing.first_calls.append(result["first_call"])
                if result["error"]:
                    timing.errors.add(result["error"])
    return baseline, [timing for timing, _, _ in handlers]


def report(baseline: Timing, handlers: list[Timing], *, markdown: bool = False) -> str:
    def ms(values: list[float]) -> str:
        return f"{1000 * statistics.median(values):.0f}"

    rows = [
        [
            BASELINE + " (baseline)",
            ms(baseline.imports),
            ms(baseline.first_calls),
            f"{1000 * baseline.total:.0f}",
            "1.00",
        ]
    ]
    for timing in handlers:
        name = timing.name + (f" [raised {', '.join(sorted(timing.errors))}]" if timing.errors else "")
        rows.append(
            [
                name,
                ms(timing.imports),
                ms(timing.first_calls),
                f"{1000 * timing.total:.0f}",
                f"{timing.total / baseline.total:.2f}",
            ]
        )
    notes = [
        f"median of {len(baseline.imports)} fresh interpreters each (python -S -E, only the packaged "
        "distributions and boto3 on sys.path); first call = the baseline's client creation, or the handler's "
        "first invocation with an event recorded from a real execution, against the emulator over HTTP; "
        "target ≤ 1.50 × baseline"
    ]
    return render(
        "Cold start (ms)",
        ["module", "import", "first call", "both", "× baseline"],
        rows,
        markdown=markdown,
        notes=notes,
    )
