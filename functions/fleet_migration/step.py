"""The shape every step's handler shares, in one place: Powertools' logger and metrics around it, the redrive guard,
the event parsed into its model, and the model dumped back into the state document.

A handler is then its phase call and what it logs::

    @step(Migration)
    def lambda_handler(migration: Migration) -> Migration:
        migration = scale_down.scale_down(migration)
        logger.info("Scaled down", ...)
        return migration

and template.yaml still names ``<handler>.lambda_handler``, called by Lambda as ``lambda_handler(event, context)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from fleet_migration import redrive
from fleet_migration.models import Migration
from fleet_migration.observability import CORRELATION_ID_PATH, logger, metrics

Parsed = TypeVar("Parsed", bound=BaseModel)
Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def step(
    parse: type[Parsed], guard_redrive: bool = True
) -> Callable[[Callable[[Parsed], Migration | dict[str, Any]]], Handler]:
    """Make ``run(parsed) -> Migration | dict`` a Lambda handler ``(event, context) -> dict``; ``parse``: the model
    of the event (``Migration``, the state document, for every step but the first).

    ``guard_redrive``: refuse a redriven execution (redrive.py) before the event is even parsed; only the first step,
    which the state machine hands the execution input rather than a state document, goes without it.
    """

    def decorate(run: Callable[[Parsed], Migration | dict[str, Any]]) -> Handler:
        @logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH)
        @metrics.log_metrics
        def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            document = redrive.state_document(event) if guard_redrive else event
            result = run(parse.model_validate(document))
            return result.dump() if isinstance(result, Migration) else result

        lambda_handler.__doc__ = run.__doc__
        return lambda_handler

    return decorate
