"""Step: look once whether the services reached their desired count."""

from aws_lambda_powertools.metrics import MetricUnit

from fleet_migration import scale_up
from fleet_migration.models import Migration
from fleet_migration.observability import logger, metrics
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> Migration:
    migration = scale_up.check_stable(migration)
    logger.info(
        "Stability checked", done=migration.require("stabilize").done, waiting_for=migration.require("stabilize").detail
    )
    if migration.result:
        metrics.add_metric(name="MigrationsSucceeded", unit=MetricUnit.Count, value=1)
    return migration
