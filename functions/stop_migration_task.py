"""Step: before rolling back, stop every migration task of the execution and look once whether it is STOPPED."""

from fleet_migration import rollback
from fleet_migration.models import Migration
from fleet_migration.observability import logger
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> Migration:
    migration = rollback.stop_migration_tasks(migration)
    logger.info(
        "Migration tasks stopping",
        done=migration.require("stopping").done,
        waiting_for=migration.require("stopping").detail,
    )
    return migration
