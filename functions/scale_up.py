"""Step: scale the services back up and restore autoscaling."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import redrive, stabilize
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration = stabilize.scale_up(Migration.model_validate(redrive.state_document(event)))
    logger.info("Scaled up", services={s.name: s.target_desired_count for s in migration.services})
    return migration.dump()
