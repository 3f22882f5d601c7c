"""The emulated Step Functions can be eventually consistent after StartExecution, as AWS documents
DescribeExecution to be ("The results are best effort and may not reflect very recent updates")."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def code_of(call, **kwargs) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"]


def test_a_new_execution_reads_as_missing_for_a_while_then_as_itself(emu):
    emu.execution_visibility.delay_seconds = 5
    sfn = emu.client("stepfunctions")

    arn = emu.start({"ecs_cluster": "nowhere"}, name="just-started")

    assert code_of(sfn.describe_execution, executionArn=arn) == "ExecutionDoesNotExist"
    assert code_of(sfn.get_execution_history, executionArn=arn) == "ExecutionDoesNotExist"
    emu.clock.advance(5)
    assert sfn.describe_execution(executionArn=arn)["name"] == "just-started"
    assert emu.wait(arn).status == "FAILED"  # it ran all the while: the input is invalid
    assert [call for _, call in emu.execution_visibility.hidden_reads] == [
        "describe_execution",
        "get_execution_history",
    ]


def test_by_default_a_new_execution_is_visible_at_once(emu):
    arn = emu.start({"ecs_cluster": "nowhere"}, name="seen-at-once")

    assert emu.client("stepfunctions").describe_execution(executionArn=arn)["name"] == "seen-at-once"
    emu.wait(arn)
