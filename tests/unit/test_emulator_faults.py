"""The emulator's fault injection, which the workflow tests aim at exact calls."""

from __future__ import annotations

import pytest

from emulator.faults import Call, FaultError, Faults

UPDATE = Call("ecs", "UpdateService", {"service": "fleet"})
UPDATE_VULN = Call("ecs", "UpdateService", {"service": "fleet-vuln-processing"})


def outcomes(faults: Faults, calls: list[Call]) -> list[str]:
    result = []
    for call in calls:
        try:
            faults.check(call)
            result.append("ok")
        except FaultError as error:
            result.append(error.error_type)
    return result


def test_a_fault_fails_the_next_calls_then_lets_them_through():
    faults = Faults()
    faults.inject("ecs", "UpdateService", times=2)

    assert outcomes(faults, [UPDATE] * 3) == ["ThrottlingException", "ThrottlingException", "ok"]


def test_a_fault_can_wait_for_its_moment():
    faults = Faults()
    faults.inject("ecs", "UpdateService", code="AccessDeniedException", times=1, after=2)

    assert outcomes(faults, [UPDATE] * 4) == ["ok", "ok", "AccessDeniedException", "ok"]


def test_a_fault_can_pick_its_calls():
    faults = Faults()
    faults.inject("ecs", "UpdateService", times=None, when=lambda call: call.params["service"] == "fleet")

    assert outcomes(faults, [UPDATE_VULN, UPDATE, UPDATE_VULN, UPDATE]) == ["ok", "ThrottlingException", "ok",
                                                                           "ThrottlingException"]
    assert faults.hits[("ecs", "UpdateService")] == 2
    assert faults.calls[("ecs", "UpdateService")] == 4


def test_a_fault_on_one_action_leaves_the_others_alone():
    faults = Faults()
    faults.inject("ecs", "UpdateService", times=None)

    assert outcomes(faults, [Call("ecs", "DescribeServices")]) == ["ok"]


@pytest.mark.parametrize("times", [None, 1])
def test_clearing_removes_every_fault(times):
    faults = Faults()
    faults.inject("ecs", "UpdateService", times=times)
    faults.clear()

    assert outcomes(faults, [UPDATE]) == ["ok"]
