"""An Emulator leaves moto (and the modules it patches) exactly as it found them, even when entering it fails."""

from __future__ import annotations

import os
from typing import Any

import pytest
from moto.core.models import MockAWS
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse

from emulator import Emulator
from emulator.elb import ElbSimulator
from emulator.patching import Patches

ABSENT = object()


def record_what_is_patched(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[Any, str], Any]:
    """(owner, attribute) -> what the owner itself held there before the first patch of it."""
    found: dict[tuple[Any, str], Any] = {}
    replace = Patches.replace

    def spy(patches: Patches, owner: Any, name: str, value: Any) -> None:
        found.setdefault((owner, name), vars(owner).get(name, ABSENT))
        replace(patches, owner, name, value)

    monkeypatch.setattr(Patches, "replace", spy)
    return found


def changed(found: dict[tuple[Any, str], Any]) -> list[tuple[Any, str]]:
    return [(owner, name) for (owner, name), value in found.items() if vars(owner).get(name, ABSENT) is not value]


def test_after_exit_every_patched_attribute_is_the_original_object_again(monkeypatch: pytest.MonkeyPatch):
    # GIVEN every attribute an emulator patches, as it was before
    found = record_what_is_patched(monkeypatch)
    region = os.environ.get("AWS_REGION")

    # WHEN an emulator comes and goes
    with Emulator():
        during = changed(found)

    # THEN each was patched while it ran, and is the very object it was again
    assert {(EC2ContainerServiceBackend, "stop_task"), (EC2ContainerServiceResponse, "run_task")} <= set(found)
    assert set(during) == set(found)
    assert changed(found) == []
    assert os.environ.get("AWS_REGION") == region
    assert MockAWS._nested_count == 0


def test_a_component_failing_to_install_undoes_what_was_installed_before_it(monkeypatch: pytest.MonkeyPatch):
    # GIVEN the load balancer (installed after most components) fails to install
    found = record_what_is_patched(monkeypatch)
    region = os.environ.get("AWS_REGION")

    def broken(self: ElbSimulator) -> Patches:
        raise RuntimeError("ELB install failed")

    monkeypatch.setattr(ElbSimulator, "install", broken)

    # WHEN an emulator is entered
    with pytest.raises(RuntimeError, match="ELB install failed"):
        Emulator().__enter__()

    # THEN what was installed before it is undone: moto's classes, moto's mock, the environment
    assert (EC2ContainerServiceBackend, "stop_task") in found
    assert changed(found) == []
    assert os.environ.get("AWS_REGION") == region
    assert MockAWS._nested_count == 0


def test_a_wrapped_staticmethod_stays_static_and_gets_the_original_first() -> None:
    class Parser:
        @staticmethod
        def parse(text: str) -> str:
            return text.upper()

    with Patches() as patches:
        patches.wrap(Parser, "parse", lambda original, text: f"cached {original(text)}")
        assert Parser.parse("asl") == Parser().parse("asl") == "cached ASL"
    assert Parser.parse("asl") == "ASL"
    assert isinstance(vars(Parser)["parse"], staticmethod)
