"""Step: start the database snapshot after the drain; the migration task may run as soon as RDS accepted it."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import redrive, snapshot
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration = snapshot.take(Migration.model_validate(redrive.state_document(event)))
    if migration.snapshot:
        logger.info(
            "Snapshot started",
            snapshot=migration.snapshot.snapshot_identifier,
            status=migration.snapshot.status,
            restore_time=migration.snapshot.restore_time,
        )
    return migration.dump()
