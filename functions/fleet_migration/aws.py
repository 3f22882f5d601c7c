"""The one place AWS clients are made, and AWS throttling is recognised."""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from fleet_migration.errors import AwsThrottled

# Standard mode retries throttling, 5xx and connection/read timeouts with exponential backoff and jitter
# inside the step ("Retries", Boto3 documentation); what still fails surfaces as AwsThrottled (or the AWS
# error), which the state machine retries with its own backoff. The bounds keep a step inside its function
# timeout however AWS misbehaves, so a hung call never kills a step that changes something half-way:
#   one call, at worst: ATTEMPTS x (CONNECT_TIMEOUT + READ_TIMEOUT) + backoff after attempts 1 and 2
#   (random x 2^(n-1) seconds, at most 1 + 2)            = 3 x (2 + 5) + 3 = 24 s   (WORST_CALL_SECONDS)
# and template.yaml gives each function at least its most calls in one invocation x 24 s (the table there).
# AWS control-plane calls answer in well under a second; a read timeout is time without a byte, not the
# whole answer. Retried calls are safe: counts and bounds are set absolutely, RunTask carries a clientToken.
CONNECT_TIMEOUT = 2
READ_TIMEOUT = 5
ATTEMPTS = 3
WORST_CALL_SECONDS = ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + sum(2 ** (n - 1) for n in range(1, ATTEMPTS))
_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT,
)

THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "Rate exceeded"}
)

F = TypeVar("F", bound=Callable[..., Any])


# Parsing a service model takes a tenth of a second; every session shares the parsed models.
_LOADER = botocore.loaders.create_loader()


# "" holds the session, then one client per service; client.cache_clear() forgets them all.
_CACHE: dict[str, Any] = {}
_CACHE_LOCK = threading.Lock()  # making clients from one session is not thread-safe; the emulator runs steps in threads
_FROZEN = False


def client(service: str, region: str | None = None) -> Any:
    """A cached client: AWS_ENDPOINT_URL and the region come from the environment as usual
    (``region`` for one elsewhere: a container's awslogs region may not be the function's).

    botocore's own (a boto3 client is the same object), all from one session: importing boto3 and a
    session per client cost a step's cold start about 20 ms more per client (``make bench``).
    """
    key = service if region is None else f"{service}@{region}"
    with _CACHE_LOCK:
        if key not in _CACHE:
            if "" not in _CACHE:
                _freeze_what_is_loaded()
                session = botocore.session.get_session()
                session.register_component("data_loader", _LOADER)
                _CACHE[""] = session
            _CACHE[key] = _CACHE[""].create_client(service, region_name=region, config=_CONFIG)
        return _CACHE[key]


client.cache_clear = _CACHE.clear  # type: ignore[attr-defined]


def _freeze_what_is_loaded() -> None:
    """Once per process, before the first client: what is loaded by then (the step's code and its
    libraries) lives as long as the process, so the garbage collector need not scan it again.
    botocore allocates heavily while it reads a service model; those scans cost a cold start
    about 15 ms (``make bench``)."""
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.freeze()


def pages(call: Callable[..., dict[str, Any]], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of a ``nextToken`` listing (ECS, Step Functions). botocore's paginators would load
    one more model file on every cold start, about 10 ms."""
    while True:
        page = call(**kwargs)
        yield page
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def marker_pages(call: Callable[..., dict[str, Any]], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of an Elastic Load Balancing listing: it pages with ``Marker``/``NextMarker``, not ``nextToken``
    (DescribeListeners, DescribeRules, DescribeTargetGroups, DescribeLoadBalancers; ELB API Reference)."""
    while True:
        page = call(**kwargs)
        yield page
        if not page.get("NextMarker"):
            return
        kwargs["Marker"] = page["NextMarker"]


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def error_message(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Message", "")


def throttling_is_retried(func: F) -> F:
    """Re-raise throttling that outlived the SDK retries as ``AwsThrottled`` for the ASL ``Retry``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClientError as exc:
            if error_code(exc) in THROTTLING_CODES:
                raise AwsThrottled(
                    f"AWS throttled {func.__name__}; the step will be retried", aws_error=str(exc)
                ) from exc
            raise

    return wrapper  # type: ignore[return-value]
