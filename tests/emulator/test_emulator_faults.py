"""The emulator's fault injection, which the workflow tests aim at exact calls."""

from __future__ import annotations

import json

import pytest

from emulator.faults import Call, FaultError, Faults
from emulator.lambda_runtime import SANDBOX_TIMEDOUT

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

    assert outcomes(faults, [UPDATE_VULN, UPDATE, UPDATE_VULN, UPDATE]) == [
        "ok",
        "ThrottlingException",
        "ok",
        "ThrottlingException",
    ]
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


# -- a function that times out (emulator/lambda_runtime.py) --------------------------------------------


def test_a_timed_out_invocation_ran_its_handler_and_answers_as_lambda_does_for_a_timeout(emu):
    # GIVEN the second invocation of the check is to time out
    emu.lambdas.time_out("CheckStableFunction", times=1, after=1)
    calls = []
    emu.lambdas._handlers["CheckStableFunction"] = lambda event, context: calls.append(event) or {"ok": True}

    answers = []
    for _ in range(3):
        headers: dict[str, str] = {}
        body = json.loads(emu.lambdas.invoke("CheckStableFunction", "arn", json.dumps({}), headers))
        answers.append((headers.get("x-amz-function-error"), sorted(body)))

    # THEN the handler ran every time, but the second answer is lost: an unhandled error without errorType
    assert len(calls) == 3
    assert answers == [(None, ["ok"]), ("Unhandled", ["errorMessage"]), (None, ["ok"])]
    assert emu.lambdas.timed_out["CheckStableFunction"] == 1


def test_a_timeout_reported_as_sandbox_timedout_ran_its_handler_and_names_the_error(emu):
    emu.lambdas.time_out("CheckStableFunction", times=None, error_type=SANDBOX_TIMEDOUT)
    calls = []
    emu.lambdas._handlers["CheckStableFunction"] = lambda event, context: calls.append(event) or {"ok": True}

    answers = []
    for _ in range(2):
        headers: dict[str, str] = {}
        body = json.loads(emu.lambdas.invoke("CheckStableFunction", "arn", json.dumps({}), headers))
        answers.append(
            (headers.get("x-amz-function-error"), body["errorType"], "Task timed out" in body["errorMessage"])
        )

    # THEN the handler ran each time, and each answer is the runtime's timeout, whose errorType names the error
    assert len(calls) == 2
    assert answers == [("Unhandled", "Sandbox.Timedout", True)] * 2
    assert emu.lambdas.timed_out["CheckStableFunction"] == 2


def test_an_action_after_return_runs_once_after_the_chosen_invocation_returned(emu):
    seen = []
    emu.lambdas._handlers["CheckStableFunction"] = lambda event, context: seen.append("handler") or {"ok": True}
    emu.lambdas.after_return("CheckStableFunction", lambda: seen.append("action"), after=1)

    for _ in range(3):
        emu.lambdas.invoke("CheckStableFunction", "arn", json.dumps({}), {})

    assert seen == ["handler", "handler", "action", "handler"]
