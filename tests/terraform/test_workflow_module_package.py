"""The committed Lambda packages of terraform/modules/workflow are functions/ and its pinned dependencies.

No network and no Terraform: the zips are read as Lambda would read them.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from tools import package

EM_AARCH64 = 183  # ELF e_machine of arm64 (Lambda's arm64 architecture runs Graviton)


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_functions_zip_is_exactly_the_functions_directory() -> None:
    committed, expected = entries(package.FUNCTIONS_ZIP), package.code_entries()

    assert sorted(set(expected) - set(committed)) == [], "missing from functions.zip: run `make package`"
    assert sorted(set(committed) - set(expected)) == [], "gone from functions/: run `make package`"
    assert sorted(name for name in expected if committed[name] != expected[name]) == [], (
        "changed since functions.zip was built: run `make package` and commit it"
    )


def test_the_drift_check_notices_a_changed_handler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN functions/ with one handler edited after the last `make package`
    functions = tmp_path / "functions"
    shutil.copytree(package.FUNCTIONS, functions, ignore=shutil.ignore_patterns("__pycache__"))
    (functions / "check_migration_task.py").write_text(
        (functions / "check_migration_task.py").read_text() + "\n# edited\n"
    )
    monkeypatch.setattr(package, "FUNCTIONS", functions)

    # THEN the committed package no longer counts as current
    assert package.code_current() is False


def test_dependencies_zip_carries_the_pinned_requirements() -> None:
    with zipfile.ZipFile(package.DEPENDENCIES_ZIP) as archive:
        versions = package.zip_versions(archive)

    pins = package.pinned_requirements()
    assert {name: versions.get(name) for name in pins} == pins, "run `make package` after changing the pins"
    # pydantic's compiled core is the exact version pydantic requires (a mismatch fails at import).
    assert "pydantic-core" in versions


def test_dependencies_are_a_layer_built_for_python312_on_arm64() -> None:
    with zipfile.ZipFile(package.DEPENDENCIES_ZIP) as archive:
        names = archive.namelist()
        compiled = [name for name in names if name.endswith(".so")]
        machines = {name: int.from_bytes(archive.read(name)[18:20], "little") for name in compiled}

    # A layer's Python packages live under python/, which Lambda puts on sys.path.
    assert all(name.startswith("python/") for name in names)
    assert compiled and all(".cpython-312-aarch64-linux-gnu.so" in name for name in compiled), compiled
    assert set(machines.values()) == {EM_AARCH64}, machines
    # boto3 comes with the Lambda Python runtime, as with `sam build`.
    assert not any(name.startswith(("python/boto3/", "python/botocore/")) for name in names)


@pytest.mark.parametrize("path", [package.FUNCTIONS_ZIP, package.DEPENDENCIES_ZIP], ids=lambda p: p.name)
def test_packages_are_deterministic(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()

    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert {info.date_time for info in infos} == {package.FIXED_TIME}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


def test_a_rebuilt_functions_zip_has_the_same_entries_in_the_same_order() -> None:
    rebuilt = zipfile.ZipFile(io.BytesIO(package.deterministic_zip(package.code_entries())))

    with zipfile.ZipFile(package.FUNCTIONS_ZIP) as committed:
        assert [(i.filename, i.CRC, i.date_time) for i in rebuilt.infolist()] == [
            (i.filename, i.CRC, i.date_time) for i in committed.infolist()
        ]
