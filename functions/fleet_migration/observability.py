"""Powertools logger and metrics shared by every step.

Their names come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE, which template.yaml's Globals
and modules/workflow set for every function; the defaults only serve code run outside Lambda (the unit tests).
"""

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "fleet-migration")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "FleetMigration")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# Both the first step's payload and the state document carry the execution, so every log line of
# one migration shares its execution name.
CORRELATION_ID_PATH = "execution.name"
