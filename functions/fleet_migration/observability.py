"""Powertools logger and metrics shared by every step (service name and namespace come from POWERTOOLS_* variables)."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="fleet-migration")
metrics = Metrics(namespace="FleetMigration", service="fleet-migration")

# Both the first step's payload and the state document carry the execution, so every log line of
# one migration shares its execution name.
CORRELATION_ID_PATH = "execution.name"
