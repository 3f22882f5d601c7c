"""The root modules the Terraform tests write, and the Terraform commands they run in them.

A root module here is a working directory whose main.tf.json calls terraform/ as
``module "migrations" { ... }``: the JSON form of the block a user writes, so values need no HCL quoting.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from tools import terraform

MODULE_DIR = terraform.ROOT / "terraform"
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration"
NOWHERE = "http://127.0.0.1:9"  # nothing listens: whatever reaches it fails
# How often the client reads the history in these tests (the default is 2 s).
CLIENT_POLL_SECONDS = "0.2"
# null_resource.main's address, which prefixes the provisioner's output lines in `terraform apply`.
RESOURCE = "module.migrations.null_resource.main"


def good_arguments() -> dict[str, Any]:
    """Valid values for every required variable, without AWS behind them."""
    return {
        "state_machine_arn": STATE_MACHINE_ARN,
        "ecs_cluster": "fleet",
        "ecs_service": "fleet",
        "task_definition": "fleet",
        "task_definition_revision": 42,
        "subnets": ["subnet-0a1b2c3d"],
        "security_groups": ["sg-0a1b2c3d"],
    }


class Root:
    """A working directory whose main.tf.json calls the module; runs Terraform commands in it."""

    def __init__(self, path: Path, data_dir: Path, endpoint_url: str) -> None:
        self.path, self._data_dir, self.endpoint_url = path, data_dir, endpoint_url
        shutil.copy(data_dir.parent / ".terraform.lock.hcl", path / ".terraform.lock.hcl")

    def write(self, arguments: dict[str, Any]) -> Root:
        """The module block's arguments, exactly as a user writes them (``${`` escaped: JSON strings are templates)."""
        write_root(self.path, arguments)
        return self

    def environment(self, extra: dict[str, str | None] | None = None) -> dict[str, str]:
        """What Terraform runs with: ``process_environment`` plus the offline CLI config and the shared
        data directory; ``extra`` last (None removes a key)."""
        env = process_environment(self.endpoint_url)
        env["TF_DATA_DIR"] = str(self._data_dir)
        return _updated(terraform.environment(env), extra)

    def run(
        self, *args: str, env: dict[str, str | None] | None = None, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """One Terraform command; stdout and stderr kept apart (Terraform writes errors to stderr)."""
        return subprocess.run(
            [*terraform.command(), *args],
            cwd=self.path,
            env=self.environment(env),
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def apply(self, *args: str, env: dict[str, str | None] | None = None, timeout: float = 120) -> Applied:
        completed = self.run("apply", "-auto-approve", "-input=false", "-no-color", *args, env=env, timeout=timeout)
        return Applied(completed.returncode, completed.stdout, completed.stderr)

    def popen(self, *args: str) -> subprocess.Popen:
        """Terraform in its own process group, as a shell runs a foreground job: Ctrl-C reaches the
        group, Terraform and the provisioner's process alike. stdout and stderr share one pipe."""
        return subprocess.Popen(
            [*terraform.command(), *args],
            cwd=self.path,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )

    @staticmethod
    def interrupt(process: subprocess.Popen) -> None:
        """Ctrl-C at the terminal: SIGINT to the whole foreground process group."""
        os.killpg(process.pid, signal.SIGINT)

    def outputs(self) -> dict[str, Any]:
        completed = self.run("output", "-json")
        assert completed.returncode == 0, completed.stderr
        return {name: output["value"] for name, output in json.loads(completed.stdout).items()}

    def resource(self) -> dict[str, Any] | None:
        """null_resource.main's instance as the state file holds it (``status``: "tainted" after a failed
        provisioner), or None. The file itself: ``terraform show -json`` would start the AWS provider."""
        state = self.path / "terraform.tfstate"
        resources = json.loads(state.read_text())["resources"] if state.is_file() else []
        found = [
            instance
            for r in resources
            if f"{r.get('module')}.{r['type']}.{r['name']}" == RESOURCE
            for instance in r["instances"]
        ]
        return found[0] if found else None


class Applied:
    """What ``terraform apply`` printed: ``terminal`` is both streams, as the operator reads them."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.terminal = stdout + stderr

    def provisioner_lines(self) -> list[str]:
        """The client's own lines, without Terraform's ``<address> (local-exec): `` prefix."""
        prefix = f"{RESOURCE} (local-exec): "
        return [line[len(prefix) :] for line in self.stdout.splitlines() if line.startswith(prefix)]


def process_environment(endpoint_url: str) -> dict[str, str]:
    """Ours without any AWS_* or TF_* setting, fake credentials and the emulator's endpoint, and the
    client's poll interval for tests."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "TF_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ENDPOINT_URL": endpoint_url,
            "PYTHONUNBUFFERED": "1",
            "FLEET_MIGRATION_CLIENT_POLL_SECONDS": CLIENT_POLL_SECONDS,
        }
    )
    return env


def _updated(env: dict[str, str], extra: dict[str, str | None] | None) -> dict[str, str]:
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def write_root(path: Path, arguments: dict[str, Any]) -> None:
    """main.tf.json: the module block with these arguments, and the module's outputs as the root's."""
    block = {"source": str(MODULE_DIR), **{k: _escape(v) for k, v in arguments.items()}}
    outputs = {name: {"value": f"${{module.migrations.{name}}}"} for name in _module_outputs()}
    document = {"provider": _QUIET_AWS_PROVIDER, "module": {"migrations": block}, "output": outputs}
    (path / "main.tf.json").write_text(json.dumps(document, indent=2))


# The module names hashicorp/aws (for modules/workflow, created only without state_machine_arn), so
# Terraform configures it on every plan: a provider that asks AWS nothing when nothing uses it.
_QUIET_AWS_PROVIDER = {
    "aws": {
        "region": "us-east-1",
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
    }
}


class Batch:
    """Many cases, one Terraform command: a root module with a ``module "<case>"`` block per case.

    Most of a plan's 3 s go to starting the AWS provider and reading its schema, once per command
    whatever the number of module blocks, so a table of cases is planned at once (and its outputs read
    from the saved plan). Each block lives in its own ``<case>.tf.json``: Terraform names that file in the
    diagnostic of a variable validation, which is how a diagnostic is traced back to its case. The
    source is a relative path, so ``init`` uses the module in place (an absolute one is copied once
    per block, without the statemachine/ that modules/workflow reads).
    """

    def __init__(
        self, path: Path, lock_file: Path, cases: dict[str, dict[str, Any]], outputs: Collection[str] = ()
    ) -> None:
        """``outputs``: the cases whose module outputs are also a root output named after the case."""
        self.path = path
        source = os.path.relpath(MODULE_DIR, path)
        (path / "providers.tf.json").write_text(json.dumps({"provider": _QUIET_AWS_PROVIDER}))
        for case, arguments in cases.items():
            document: dict[str, Any] = {
                "module": {case: {"source": source, **{k: _escape(v) for k, v in arguments.items()}}}
            }
            if case in outputs:
                document["output"] = {case: {"value": f"${{module.{case}}}"}}
            (path / f"{case}.tf.json").write_text(json.dumps(document, indent=2))
        shutil.copy(lock_file, path / ".terraform.lock.hcl")
        initialized = self.run("init", "-input=false", "-no-color")
        assert initialized.returncode == 0, initialized.stdout + initialized.stderr

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = terraform.environment(process_environment(NOWHERE))
        return subprocess.run(
            [*terraform.command(), *args],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def run_json(self, *args: str) -> tuple[int, list[dict[str, Any]]]:
        """The exit code and the machine-readable lines of ``terraform <args> -input=false -json`` (plan,
        or apply, whose plan runs first)."""
        completed = self.run(*args, "-input=false", "-json")
        return completed.returncode, [
            json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")
        ]


def errors(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The error diagnostics among ``terraform -json`` messages."""
    return [m["diagnostic"] for m in messages if m["type"] == "diagnostic" and m["diagnostic"]["severity"] == "error"]


def case_errors(messages: list[dict[str, Any]], case: str) -> list[dict[str, Any]]:
    """The errors Terraform traced to the arguments in ``<case>.tf.json``."""
    return [e for e in errors(messages) if e.get("range", {}).get("filename") == f"{case}.tf.json"]


def planned_addresses(messages: list[dict[str, Any]]) -> set[str]:
    """The resources a plan (``-json``) would change."""
    return {m["change"]["resource"]["addr"] for m in messages if m["type"] == "planned_change"}


def _escape(value: Any) -> Any:
    """JSON configuration strings are templates: a literal ``${`` or ``%{`` is written doubled."""
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list):
        return [_escape(item) for item in value]
    if isinstance(value, dict):
        return {key: _escape(item) for key, item in value.items()}
    return value


def _module_outputs() -> list[str]:
    text = (MODULE_DIR / "outputs.tf").read_text()
    return [line.split('"')[1] for line in text.splitlines() if line.startswith("output ")]


RECORDER_OUTPUT = "local-exec.json"
_RECORDER = """
import json, os, sys
with open(os.path.join(os.environ["FLEET_MIGRATION_TEST_RECORD_DIR"], "local-exec.json"), "w") as handle:
    json.dump({"argv": sys.argv, "env": dict(os.environ)}, handle)
"""


def record_local_exec(directory: Path) -> Path:
    """An executable that, given as the ``python`` variable, writes down what the local-exec ran (its
    argv and environment) into ``directory``/local-exec.json instead of running the client."""
    recorder = directory / "record-local-exec"
    recorder.write_text(
        f"#!{sys.executable}\n"
        + _RECORDER.replace('os.environ["FLEET_MIGRATION_TEST_RECORD_DIR"]', repr(str(directory)))
    )
    recorder.chmod(recorder.stat().st_mode | stat.S_IXUSR)
    return recorder


class LocalExec:
    """The module's local-exec as real Terraform ran it (recorded): the client's path and the
    environment the provisioner adds. ``run`` runs the client with it, without Terraform around it."""

    def __init__(self, root: Root, arguments: dict[str, Any]) -> None:
        recorder = record_local_exec(root.path)
        applied = root.write({**arguments, "python": str(recorder)}).apply()
        assert applied.returncode == 0, applied.terminal
        ran = json.loads((root.path / RECORDER_OUTPUT).read_text())
        given = root.environment()
        self.command = ran["argv"][1]
        self.environment = {k: v for k, v in ran["env"].items() if given.get(k) != v and k.startswith("FLEET_")}

    def run(
        self, endpoint_url: str, extra_env: dict[str, str | None] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        env = _updated({**process_environment(endpoint_url), **self.environment}, extra_env)
        return subprocess.run(
            [sys.executable, self.command],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
