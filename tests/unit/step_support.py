"""What the step tests share besides fixtures (conftest.py): the autoscaling states, the services, a caught error."""

from __future__ import annotations

import json

from emulator import SEEDED_SUSPENDED_STATE

HELD = {"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True, "ScheduledScalingSuspended": True}
FREE = SEEDED_SUSPENDED_STATE  # as seeded: scheduled scaling suspended by its owner, dynamic scaling on
SERVICES = ("fleet", "fleet-vuln-processing")


def caught(error: str, message: str, **details) -> dict:
    payload = json.dumps({"message": message, **details})
    return {"Error": error, "Cause": json.dumps({"errorType": error, "errorMessage": payload})}
