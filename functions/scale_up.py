"""Step: scale the services back up and restore autoscaling."""

from fleet_migration import scale_up
from fleet_migration.models import Migration
from fleet_migration.observability import logger
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> Migration:
    migration = scale_up.scale_up(migration)
    logger.info("Scaled up", services={s.name: s.target_desired_count for s in migration.services})
    return migration
