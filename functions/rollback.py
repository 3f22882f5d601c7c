"""Step: restore everything captured before the scale-down, and report the original error."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import redrive, rollback
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    failure = rollback.restore(Migration.model_validate(redrive.state_document(event)))
    logger.warning("Rolled back", error=failure["error"])
    metrics.add_metric(name="Rollbacks", unit=MetricUnit.Count, value=1)
    return {"failure": failure}
