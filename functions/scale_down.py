"""Step: hold autoscaling and scale the services down to capacity_during_migration."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import drain, redrive
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration = drain.scale_down(Migration.model_validate(redrive.state_document(event)))
    logger.info("Scaled down", capacity_during_migration=migration.input.capacity_during_migration)
    return migration.dump()
