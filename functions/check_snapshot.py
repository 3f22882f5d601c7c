"""Step: after Fleet serves again, look once whether the database snapshot is available; say it when it is not."""

from aws_lambda_powertools.metrics import MetricUnit

from fleet_migration import polling, snapshot
from fleet_migration.models import Migration
from fleet_migration.observability import logger, metrics
from fleet_migration.step import step


@step(Migration)
def lambda_handler(migration: Migration) -> Migration:
    migration = snapshot.check(migration)
    taken = migration.snapshot
    if taken:
        logger.info("Snapshot polled", snapshot=taken.snapshot_identifier, status=taken.status)
        if taken.wait is not None and taken.wait.done:
            if taken.status == "available":
                metrics.add_metric(name="SnapshotSeconds", unit=MetricUnit.Seconds, value=taken.wait.age(polling.now()))
            else:
                # The execution succeeds (Fleet is migrated and serves) without the recovery point it asked for
                logger.error("No snapshot recovery point", snapshot=taken.snapshot_identifier, status=taken.status)
                metrics.add_metric(name="SnapshotNotAvailable", unit=MetricUnit.Count, value=1)
    return migration
