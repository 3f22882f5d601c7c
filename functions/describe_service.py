"""Step: validate the input, check every resource exists and capture what rollback restores."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import plan
from fleet_migration.models import DescribeRequest
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration = plan.plan(DescribeRequest.model_validate(event))
    logger.info(
        "Migration planned",
        services=[s.name for s in migration.services],
        task_definition=migration.task_definition_arn,
    )
    metrics.add_metric(name="MigrationsStarted", unit=MetricUnit.Count, value=1)
    return migration.dump()
