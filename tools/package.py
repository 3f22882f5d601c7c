"""Build the Lambda packages the Terraform workflow module deploys (``make package``).

    python tools/package.py            # functions.zip from functions/; dependencies.zip when the pins changed
    python tools/package.py --check    # exit 1 when a committed package differs from what this would build

Two deterministic zips, committed under terraform/modules/workflow/package/ so that a Terraform user
needs no build step and no provider beyond hashicorp/aws (no hashicorp/archive):

- ``functions.zip``: every file of functions/ (the same ``CodeUri`` SAM deploys), without bytecode.
- ``dependencies.zip``: a Lambda layer (``python/...``) of functions/requirements.txt resolved for the
  functions' runtime and architecture (python3.12, arm64) from PyPI's binary wheels, unpacked as pip
  would install them. Downloaded only when its pins change.

Deterministic: entries sorted, every timestamp 1980-01-01, mode 0644, so the same inputs give the same
entries whoever builds them (tests/terraform/test_workflow_module_package.py fails when they drift).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
PACKAGE_DIR = ROOT / "terraform" / "modules" / "workflow" / "package"
FUNCTIONS_ZIP = PACKAGE_DIR / "functions.zip"
DEPENDENCIES_ZIP = PACKAGE_DIR / "dependencies.zip"
# template.yaml's Globals: Runtime python3.12, Architectures [arm64].
PIP_PLATFORM = [
    "--platform",
    "manylinux2014_aarch64",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
    "--abi",
    "cp312",
    "--only-binary=:all:",
]
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say


def code_entries() -> dict[str, bytes]:
    """functions/ as SAM's CodeUri ships it, less what Python writes at run time."""
    entries = {}
    for path in sorted(FUNCTIONS.rglob("*")):
        relative = path.relative_to(FUNCTIONS)
        if path.is_dir() or "__pycache__" in relative.parts or path.suffix == ".pyc":
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        entries[relative.as_posix()] = path.read_bytes()
    return entries


def pinned_requirements() -> dict[str, str]:
    """functions/requirements.txt as {canonical name: version}; every line must pin with ==."""
    pins = {}
    for line in (FUNCTIONS / "requirements.txt").read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        name, separator, version = text.partition("==")
        if not separator:
            raise SystemExit(
                f"functions/requirements.txt: pin {text!r} with == so every deployment ships the same code"
            )
        pins[canonical(name)] = version.strip()
    return pins


def canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def zip_versions(archive: zipfile.ZipFile) -> dict[str, str]:
    """{canonical name: version} of the distributions unpacked in a layer zip (its *.dist-info folders)."""
    versions = {}
    for name in archive.namelist():
        parts = name.split("/")
        if len(parts) == 3 and parts[1].endswith(".dist-info") and parts[2] == "METADATA":
            distribution, _, version = parts[1].removesuffix(".dist-info").rpartition("-")
            versions[canonical(distribution)] = version
    return versions


def deterministic_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3  # Unix, so the mode above is read as one
            archive.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()


def dependency_entries(wheel_dir: Path) -> dict[str, bytes]:
    """The wheels unpacked under python/ (a layer's site-packages), as pip installs them."""
    entries = {}
    for wheel in sorted(wheel_dir.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.endswith(("/", ".pyc")) or "__pycache__" in member:
                    continue
                target = member
                top, _, rest = member.partition("/")
                if top.endswith(".data"):
                    # purelib/platlib go to site-packages, as pip installs them; scripts, headers and data
                    # go outside it, where Lambda never imports from.
                    scheme, _, target = rest.partition("/")
                    if scheme not in ("purelib", "platlib"):
                        continue
                entries[f"python/{target}"] = archive.read(member)
    return entries


def download(pins: dict[str, str], wheel_dir: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-cache-dir",
        *PIP_PLATFORM,
        "--dest",
        str(wheel_dir),
        *[f"{name}=={version}" for name, version in pins.items()],
    ]
    subprocess.run(command, check=True)


def dependencies_current() -> bool:
    if not DEPENDENCIES_ZIP.is_file():
        return False
    with zipfile.ZipFile(DEPENDENCIES_ZIP) as archive:
        versions = zip_versions(archive)
    return all(versions.get(name) == version for name, version in pinned_requirements().items())


def code_current() -> bool:
    if not FUNCTIONS_ZIP.is_file():
        return False
    with zipfile.ZipFile(FUNCTIONS_ZIP) as archive:
        committed = {name: archive.read(name) for name in archive.namelist()}
    return committed == code_entries()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report whether the committed packages are current")
    args = parser.parse_args(argv)
    if args.check:
        stale = [
            path.name
            for path, current in ((FUNCTIONS_ZIP, code_current()), (DEPENDENCIES_ZIP, dependencies_current()))
            if not current
        ]
        for name in stale:
            print(f"{name} differs from functions/: run `make package` and commit it", file=sys.stderr)
        return 1 if stale else 0
    PACKAGE_DIR.mkdir(parents=True, exist_ok=True)
    FUNCTIONS_ZIP.write_bytes(deterministic_zip(code_entries()))
    print(f"{FUNCTIONS_ZIP.relative_to(ROOT)}: {FUNCTIONS_ZIP.stat().st_size:,} bytes")
    if dependencies_current():
        print(f"{DEPENDENCIES_ZIP.relative_to(ROOT)}: current ({DEPENDENCIES_ZIP.stat().st_size:,} bytes)")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        download(pinned_requirements(), Path(scratch))
        DEPENDENCIES_ZIP.write_bytes(deterministic_zip(dependency_entries(Path(scratch))))
    print(f"{DEPENDENCIES_ZIP.relative_to(ROOT)}: {DEPENDENCIES_ZIP.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
