"""Step: start the database snapshot after the drain; the migration task may run as soon as RDS accepted it."""

from fleet_migration import snapshot
from fleet_migration.models import Migration
from fleet_migration.observability import logger
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> Migration:
    migration = snapshot.take(migration)
    if migration.snapshot:
        logger.info(
            "Snapshot started",
            snapshot=migration.snapshot.snapshot_identifier,
            status=migration.snapshot.status,
            restore_time=migration.snapshot.restore_time,
        )
    return migration
