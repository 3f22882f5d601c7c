"""What the embedded AWS answers for the Terraform AWS provider (emulator/terraform_support.py,
emulator/stepfunctions/state_machines.py) and how it
runs functions that Terraform, not template.yaml, created (emulator/lambda_runtime.py)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from emulator import Emulator
from emulator.cloudformation import read_application, render_definition

ROLE = "arn:aws:iam::123456789012:role/fleet-migration"


def asl() -> str:
    application = read_application()
    return render_definition(
        application.state_machine,
        {
            logical_id: f"arn:aws:lambda:us-east-1:123456789012:function:{logical_id}"
            for logical_id in application.functions
        },
    )


def test_validate_state_machine_definition_accepts_the_workflow(aws: Emulator) -> None:
    answer = aws.client("stepfunctions").validate_state_machine_definition(definition=asl(), type="STANDARD")

    assert (answer["result"], answer["diagnostics"]) == ("OK", [])


def test_validate_state_machine_definition_refuses_a_dangling_next(aws: Emulator) -> None:
    # moto's parser accepts it; AWS refuses it with MISSING_TRANSITION_TARGET.
    definition = json.loads(asl())
    definition["States"]["Scale the services down"]["Next"] = "A state nobody wrote"

    answer = aws.client("stepfunctions").validate_state_machine_definition(definition=json.dumps(definition))

    assert answer["result"] == "FAIL"
    assert [(d["severity"], d["code"]) for d in answer["diagnostics"]] == [("ERROR", "MISSING_TRANSITION_TARGET")]
    assert "A state nobody wrote" in answer["diagnostics"][0]["message"]


@pytest.mark.parametrize(
    ("definition", "code"),
    [
        ("{not json", "INVALID_JSON_DESCRIPTION"),
        (json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}), "MISSING_END_STATE"),
        (
            json.dumps({"StartAt": "A", "States": {"A": {"Type": "NoSuchType", "End": True}}}),
            "SCHEMA_VALIDATION_FAILED",
        ),
    ],
)
def test_validate_state_machine_definition_names_what_is_wrong(aws: Emulator, definition: str, code: str) -> None:
    answer = aws.client("stepfunctions").validate_state_machine_definition(definition=definition)

    assert answer["result"] == "FAIL"
    assert code in [d["code"] for d in answer["diagnostics"]]


def test_list_state_machine_versions_lists_published_versions_newest_first(aws: Emulator) -> None:
    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(name="versioned", definition=asl(), roleArn=ROLE, publish=True)["stateMachineArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=asl(), publish=True)

    versions = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]

    assert [v["stateMachineVersionArn"] for v in versions] == [f"{arn}:2", f"{arn}:1"]


def test_list_state_machine_versions_of_an_unknown_state_machine_is_not_found(aws: Emulator) -> None:
    sfn = aws.client("stepfunctions")

    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.list_state_machine_versions(stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:none")


def test_the_aws_managed_policies_the_module_attaches_exist(aws: Emulator) -> None:
    iam = aws.client("iam")
    iam.create_role(RoleName="step", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))

    for arn in (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    ):
        iam.attach_role_policy(RoleName="step", PolicyArn=arn)

    assert len(iam.list_attached_role_policies(RoleName="step")["AttachedPolicies"]) == 2


def _create_function(aws: Emulator, name: str, handler: str) -> None:
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("README", "code runs in-process from functions/")
    aws.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler=handler, Code={"ZipFile": package.getvalue()}
    )


def _invoke(aws: Emulator, name: str, event: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    answer = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    return answer.get("FunctionError"), json.loads(answer["Payload"].read())


def test_a_function_created_outside_the_template_runs_the_handler_it_names(aws: Emulator) -> None:
    _create_function(aws, "fleet-tf-migration-describe-service", "describe_service.lambda_handler")

    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:fleet-tf-migration"
    error, payload = _invoke(
        aws,
        "fleet-tf-migration-describe-service",
        {
            "input": {"ecs_cluster": "fleet"},
            "execution": {
                "id": f"{machine.replace(':stateMachine:', ':execution:')}:x",
                "name": "x",
                "state_machine_arn": machine,
                "start_time": "2026-12-01T00:00:00Z",
            },
        },
    )

    # describe_service ran (our handler, not moto's echo) and refused the incomplete input as it should.
    assert (error, payload["errorType"]) == ("Unhandled", "InvalidInput")
    assert aws.lambdas.invocations["DescribeServiceFunction"] == 1


def test_a_function_whose_handler_is_not_in_the_template_fails_as_the_runtime_does(aws: Emulator) -> None:
    _create_function(aws, "stray", "nowhere.lambda_handler")

    error, payload = _invoke(aws, "stray", {})

    assert (error, payload["errorType"]) == ("Unhandled", "Runtime.ImportModuleError")
    assert "nowhere.lambda_handler" in payload["errorMessage"]


def test_a_function_reports_the_json_logging_it_was_created_with_and_aws_defaults(aws: Emulator) -> None:
    # GIVEN a function created with JSON logs into a shared group, as the module creates each step
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("README", "code runs in-process from functions/")
    aws.client("lambda").create_function(
        FunctionName="logged",
        Runtime="python3.12",
        Role=ROLE,
        Handler="describe_service.lambda_handler",
        Code={"ZipFile": package.getvalue()},
        LoggingConfig={"LogFormat": "JSON", "LogGroup": "/aws/lambda/fleet-migration-steps"},
    )

    # WHEN the provider reads it back, THEN it finds what it set, with AWS's INFO levels for JSON logs
    assert aws.client("lambda").get_function(FunctionName="logged")["Configuration"]["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": "/aws/lambda/fleet-migration-steps",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }


def test_a_function_created_without_logging_config_logs_text_to_its_own_group(aws: Emulator) -> None:
    _create_function(aws, "plain", "describe_service.lambda_handler")

    assert aws.client("lambda").get_function_configuration(FunctionName="plain")["LoggingConfig"] == {
        "LogFormat": "Text",
        "LogGroup": "/aws/lambda/plain",
    }


def test_updating_a_functions_logging_config_is_kept(aws: Emulator) -> None:
    _create_function(aws, "changed", "describe_service.lambda_handler")

    aws.client("lambda").update_function_configuration(
        FunctionName="changed", LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"}
    )

    assert aws.client("lambda").get_function(FunctionName="changed")["Configuration"]["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": "/aws/lambda/changed",
        "ApplicationLogLevel": "WARN",
        "SystemLogLevel": "INFO",
    }
