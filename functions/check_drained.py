"""Step: look once whether the services have drained."""

from fleet_migration import scale_down
from fleet_migration.models import Migration
from fleet_migration.observability import logger
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> Migration:
    migration = scale_down.check_drained(migration)
    logger.info("Drain checked", done=migration.require("drain").done, waiting_for=migration.require("drain").detail)
    return migration
