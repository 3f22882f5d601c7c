"""Embedded AWS for the demo, the benchmark and the tests (see core.Emulator).

One module (or package) per AWS service, each rule beside the AWS documentation sentence it enforces:
``ecs/`` (requests.py: what ECS refuses; simulator.py: tasks and services over time), ``elb.py``, ``rds.py``,
``logs.py`` (CloudWatch Logs, the awslogs driver), ``lambda_runtime.py``, ``stepfunctions/``,
``cloudformation.py`` (template.yaml as CloudFormation reads it). Fleet's own world is ``fleet/``; ``core.py``
puts them together on one ``clock.py``, each patching moto through ``patching.Patches``.
"""

import sys

from emulator.core import Emulator, ExecutionRun
from emulator.ecs import ServiceBehaviour, TaskOutcome
from emulator.fleet import DROP, EC2_CAPACITY_PROVIDER, SEEDED_SUSPENDED_STATE, FleetDeployment
from emulator.fleet.load_balancer import FAST_TARGET_GROUP, FLEET_TARGET_GROUP, TargetGroupSettings

__all__ = [
    "DROP",
    "EC2_CAPACITY_PROVIDER",
    "FAST_TARGET_GROUP",
    "FLEET_TARGET_GROUP",
    "SEEDED_SUSPENDED_STATE",
    "Emulator",
    "ExecutionRun",
    "FleetDeployment",
    "ServiceBehaviour",
    "TargetGroupSettings",
    "TaskOutcome",
]

# The module paths from before the emulator was arranged by AWS service, still importable for code written
# against them (another branch, an older test): each names the module that holds what it held.
MOVED_MODULES = {
    "emulator.template": "emulator.cloudformation",
    "emulator.ecs_simulator": "emulator.ecs",
    "emulator.ecs_requests": "emulator.ecs.requests",
    "emulator.service_rules": "emulator.ecs.requests",
    "emulator.fargate": "emulator.ecs.requests",
    "emulator.container_memory": "emulator.ecs.requests",
    "emulator.elb_simulator": "emulator.elb",
    "emulator.rds_simulator": "emulator.rds",
    "emulator.awslogs": "emulator.logs",
    "emulator.sfn_visibility": "emulator.stepfunctions.visibility",
    "emulator.redrive": "emulator.stepfunctions.redrive",
    "emulator.interpreter_cache": "emulator.stepfunctions.interpreter_cache",
    "emulator.fleet_database": "emulator.fleet.database",
    "emulator.fleet_process": "emulator.fleet.process",
    "emulator.fleet_load_balancer": "emulator.fleet.load_balancer",
    "emulator.image_registry": "emulator.fleet.image_registry",
}
for _old, _new in MOVED_MODULES.items():  # all imported above, through core
    sys.modules.setdefault(_old, sys.modules[_new])
    setattr(sys.modules[__name__], _old.rsplit(".", 1)[1], sys.modules[_new])
