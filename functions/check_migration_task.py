"""Step: look once at the migration task; fail with the reason when it did not succeed."""

from aws_lambda_powertools.metrics import MetricUnit

from fleet_migration import migration_task, polling
from fleet_migration.models import Migration
from fleet_migration.observability import logger, metrics
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> Migration:
    migration = migration_task.check(migration)
    task = migration.require("task")
    logger.info("Migration task polled", task_arn=task.arn, last_status=task.last_status)
    if task.done:
        metrics.add_metric(name="MigrationTaskSeconds", unit=MetricUnit.Seconds, value=task.wait.age(polling.now()))
    return migration
