"""Step: before rolling back, stop every migration task of the execution and look once whether it is STOPPED."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import redrive, rollback
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration = rollback.stop_migration_tasks(Migration.model_validate(redrive.state_document(event)))
    logger.info(
        "Migration tasks stopping",
        done=migration.require("stopping").done,
        waiting_for=migration.require("stopping").detail,
    )
    return migration.dump()
