"""Benchmarks that print tables (``make bench``): no assertions on time, only measurements.

- ``downtime``: time the Fleet service spends below its count, beyond what ECS itself takes, per phase,
  beside ``addon``, a model of Fleet's own Terraform addon's waits on the same timeline;
- ``history``: history events, state transitions and Lambda invocations per migration, extrapolated
  to long migrations, with their cost at list price (``cost``);
- ``coldstart``: a handler's import and first invocation in a fresh interpreter, beside boto3's, and
  the deployment package (``package``);
- ``client``: how long the Terraform module's client takes to exit after the execution closed.

Everything runs on the embedded AWS (``emulator``) at ``speed=1``, with ECS timings from ``scenario``.
"""

import sys
from pathlib import Path

# The steps' own modules (fleet_migration.*), as the emulator and the tests see them.
FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"
if str(FUNCTIONS) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS))
