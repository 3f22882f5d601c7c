"""Step: restore everything captured before the scale-down, and report the original error."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from fleet_migration import rollback
from fleet_migration.models import Migration
from fleet_migration.observability import logger, metrics
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> dict[str, Any]:
    failure = rollback.restore(migration)
    logger.warning("Rolled back", error=failure["error"])
    metrics.add_metric(name="Rollbacks", unit=MetricUnit.Count, value=1)
    return {"failure": failure}
