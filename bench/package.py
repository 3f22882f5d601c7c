"""The deployment package: functions/ plus the distributions functions/requirements.txt pulls in.

Read from this virtualenv's installed distributions (their RECORD files), so it needs no network;
``sam build`` would install the same versions (for arm64: pydantic-core's binary differs a little).
boto3 comes with the Lambda Python runtime and is not packaged; the cold-start benchmark puts it
next to the package, as the runtime does.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
RUNTIME_PROVIDED = ["boto3"]  # the Lambda Python runtime ships boto3 (and so botocore, s3transfer, ...)


@dataclass
class Package:
    code_bytes: int
    dependency_bytes: int
    zipped_bytes: int
    distributions: list[str]

    @property
    def unzipped_bytes(self) -> int:
        return self.code_bytes + self.dependency_bytes


def requirements() -> list[str]:
    lines = (FUNCTIONS / "requirements.txt").read_text().splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def closure(names: list[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions these requirements need, transitively (extras left out)."""
    found: dict[str, metadata.Distribution] = {}
    todo = [Requirement(name) for name in names]
    while todo:
        requirement = todo.pop()
        key = canonicalize_name(requirement.name)
        if key in found:
            continue
        dist = metadata.distribution(requirement.name)
        found[key] = dist
        for text in dist.requires or []:
            needed = Requirement(text)
            if needed.marker is None or needed.marker.evaluate({"extra": ""}):
                todo.append(needed)
    return found


def _files(dist: metadata.Distribution) -> list[tuple[str, Path]]:
    """(path inside site-packages, absolute path) of a distribution's files, without bytecode or scripts."""
    result = []
    for file in dist.files or []:
        parts = Path(file).parts
        if parts[0] == ".." or "__pycache__" in parts or file.suffix == ".pyc":
            continue
        result.append((str(file), Path(dist.locate_file(file))))
    return result


def _code_files() -> list[tuple[str, Path]]:
    return sorted(
        (str(p.relative_to(FUNCTIONS)), p)
        for p in FUNCTIONS.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def measure() -> Package:
    dists = closure(requirements())
    code = _code_files()
    deps = [entry for dist in dists.values() for entry in _files(dist)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in code + deps:
            archive.write(path, name)
    return Package(
        code_bytes=sum(p.stat().st_size for _, p in code),
        dependency_bytes=sum(p.stat().st_size for _, p in deps),
        zipped_bytes=len(buffer.getvalue()),
        distributions=sorted(f"{d.metadata['Name']} {d.version}" for d in dists.values()),
    )


def lambda_like_path() -> tuple[tempfile.TemporaryDirectory, list[str]]:
    """A directory holding (links to) only the packaged distributions and the runtime's boto3, and the
    sys.path a fresh interpreter needs to see what a Lambda function sees: the code, then that directory."""
    holder = tempfile.TemporaryDirectory(prefix="fleet-migration-bench-")
    target = Path(holder.name)
    dists = {**closure(RUNTIME_PROVIDED), **closure(requirements())}
    for dist in dists.values():
        tops = {Path(file).parts[0] for file in dist.files or [] if Path(file).parts[0] != ".."}
        for top in tops:
            source = Path(dist.locate_file(top))
            link = target / top
            if source.exists() and not link.exists():
                os.symlink(source, link)
    return holder, [str(FUNCTIONS), str(target)]
