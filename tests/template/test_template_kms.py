"""An optional customer managed KMS key (KmsKeyArn) encrypts the log groups and the trigger's failed-events queue.

Empty (the default), AWS owned keys encrypt them, as before. AWS::Serverless::StateMachine has no
EncryptionConfiguration (the SAM translator passes only its own properties through), so with SAM the state machine's
execution history stays under Step Functions' AWS owned key; the Terraform module sets it (kms_key_arn).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from template_support import PARAMETERS, Resolver, load_template, translate
from test_template_translation import _lint

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ENCRYPTED = {**PARAMETERS, "KmsKeyArn": KEY}


@pytest.fixture(scope="module")
def with_key() -> dict[str, Any]:
    return translate(parameters=ENCRYPTED)


def resources(translated: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    return Resolver(translated, parameters).resolve(translated["Resources"])


def test_with_a_key_both_log_groups_and_the_failed_events_queue_use_it(with_key) -> None:
    resolved = resources(with_key, ENCRYPTED)

    assert resolved["StateMachineLogGroup"]["Properties"]["KmsKeyId"] == KEY
    assert resolved["FunctionsLogGroup"]["Properties"]["KmsKeyId"] == KEY
    queue = resolved["TriggerFailedEventsQueue"]["Properties"]
    assert queue["KmsMasterKeyId"] == KEY
    # SSE-SQS and SSE-KMS exclude each other (CreateQueue, Amazon SQS API Reference).
    assert "SqsManagedSseEnabled" not in queue


def test_without_a_key_aws_owned_keys_encrypt_them_as_before() -> None:
    translated = translate()
    resolved = resources(translated, PARAMETERS)

    assert "KmsKeyId" not in resolved["StateMachineLogGroup"]["Properties"]
    assert "KmsKeyId" not in resolved["FunctionsLogGroup"]["Properties"]
    queue = resolved["TriggerFailedEventsQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in queue


def test_cfn_lint_reports_no_errors_on_the_translated_template_with_a_key(with_key) -> None:
    assert _lint(json.dumps(with_key, indent=1)) == []


def test_the_key_adds_no_statement_to_any_role(with_key) -> None:
    # What the key allows is the key policy's, the operator's (docs/deploying-with-sam.md): the roles stay as they are.
    plain = translate()
    assert json.dumps(with_key, sort_keys=True).count('"kms:') == json.dumps(plain, sort_keys=True).count('"kms:')


@pytest.mark.parametrize(
    "value",
    ["alias/fleet", "arn:aws:kms:us-east-1:123456789012:alias/fleet", "1234abcd-12ab-34cd-56ef-1234567890ab", "*"],
)
def test_the_parameter_takes_a_key_arn_only(value: str) -> None:
    # CloudWatch Logs' KmsKeyId must be a key ARN (AssociateKmsKey, Amazon CloudWatch Logs API Reference).
    pattern = load_template()["Parameters"]["KmsKeyArn"]["AllowedPattern"]

    assert re.fullmatch(pattern, value) is None
    assert re.fullmatch(pattern, KEY) and re.fullmatch(pattern, "")
