"""Step: look once whether the services reached their desired count."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import redrive, stabilize
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration = stabilize.check_stable(Migration.model_validate(redrive.state_document(event)))
    logger.info(
        "Stability checked", done=migration.require("stabilize").done, waiting_for=migration.require("stabilize").detail
    )
    if migration.result:
        metrics.add_metric(name="MigrationsSucceeded", unit=MetricUnit.Count, value=1)
    return migration.dump()
