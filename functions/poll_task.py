"""Step: look once at the migration task; fail with the reason when it did not succeed."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from fleet_migration import migration_task, polling, redrive
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    migration = migration_task.poll(Migration.model_validate(redrive.state_document(event)))
    task = migration.require("task")
    logger.info("Migration task polled", task_arn=task.arn, last_status=task.last_status)
    if task.done:
        metrics.add_metric(name="MigrationTaskSeconds", unit=MetricUnit.Seconds, value=task.wait.age(polling.now()))
    return migration.dump()
