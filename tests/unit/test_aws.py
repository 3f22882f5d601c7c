"""AWS throttling that outlives the SDK's retries becomes AwsThrottled for the state machine's Retry."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from fleet_migration.aws import THROTTLING_CODES, throttling_is_retried
from fleet_migration.errors import AwsThrottled


def failing_with(code: str):
    @throttling_is_retried
    def describe_services() -> None:
        raise ClientError({"Error": {"Code": code, "Message": "no"}}, "DescribeServices")

    return describe_services


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_throttling_surfaces_as_aws_throttled(code):
    with pytest.raises(AwsThrottled, match="describe_services"):
        failing_with(code)()


def test_other_aws_errors_pass_through_unchanged():
    with pytest.raises(ClientError, match="AccessDenied"):
        failing_with("AccessDeniedException")()
