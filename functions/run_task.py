"""Step: start the one-off migration task from the new revision."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import migration_task, redrive
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration = migration_task.run(Migration.model_validate(redrive.state_document(event)))
    logger.info("Migration task started", task_arn=migration.require("task").arn)
    return migration.dump()
