"""Step: hold autoscaling and scale the services down to capacity_during_migration."""

from fleet_migration import scale_down
from fleet_migration.models import Migration
from fleet_migration.observability import logger
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> Migration:
    migration = scale_down.scale_down(migration)
    logger.info("Scaled down", capacity_during_migration=migration.input.capacity_during_migration)
    return migration
