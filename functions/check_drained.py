"""Step: look once whether the services have drained."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import drain, redrive
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration = drain.check_drained(Migration.model_validate(redrive.state_document(event)))
    logger.info("Drain checked", done=migration.require("drain").done, waiting_for=migration.require("drain").detail)
    return migration.dump()
