"""Step: validate the input, check every resource exists and capture what rollback restores."""

from aws_lambda_powertools.metrics import MetricUnit

from fleet_migration import describe
from fleet_migration.models import DescribeRequest, Migration
from fleet_migration.observability import logger, metrics
from fleet_migration.step import step


# The first step gets the execution input, not a state document: nothing to guard against a redrive yet.
@step(DescribeRequest, guard_redrive=False)
def lambda_handler(request: DescribeRequest) -> Migration:
    migration = describe.describe(request)
    logger.info(
        "Migration planned",
        services=[s.name for s in migration.services],
        task_definition=migration.task_definition_arn,
    )
    metrics.add_metric(name="MigrationsStarted", unit=MetricUnit.Count, value=1)
    return migration
