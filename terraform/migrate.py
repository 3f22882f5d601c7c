#!/usr/bin/env python3
"""Start (or join) the fleet-migration execution for a task definition revision and follow it.

The Terraform module's null_resource runs this file with its values in the environment; people can
run it by hand with the same values as flags (``--help``). It needs Python 3.9+ and, to call AWS, boto3
or else the AWS CLI on PATH (what Fleet's addon needed), nothing else. The code is in ``migrate_client/`` beside this file (its docstring maps it); ``executions.py``
is a byte-identical copy of functions/fleet_migration/executions.py, so Terraform, the EventBridge
trigger and a person all land on the same execution for a revision.

While the execution runs it prints one line per step as the execution enters and leaves states, the
migration container's own log lines as they arrive, a line at least every 30 s while a wait goes
on, then a verdict. It never stops the execution: interrupted, it says how to follow it.
"""

import os
import sys

# The package and executions.py beside this file, whatever the working directory Terraform runs in.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_client.run import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
