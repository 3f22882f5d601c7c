"""Step: start the one-off migration task from the new revision."""

from fleet_migration import migration_task
from fleet_migration.models import Migration
from fleet_migration.observability import logger
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> Migration:
    migration = migration_task.run(migration)
    logger.info("Migration task started", task_arn=migration.require("task").arn)
    return migration
