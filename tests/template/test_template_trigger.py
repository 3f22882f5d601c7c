"""The EventBridge trigger: the rule's event pattern and the Lambda behind it, on the emulator.

A CloudTrail ``RegisterTaskDefinition`` event for the configured family starts the first attempt of the
new revision's migration under the deterministic execution name (docs/execution-names.md); the same event again,
or an event after a Terraform run for the same revision, starts nothing, whatever that execution's status
(a late event never reruns a failed migration); a Terraform run after the event joins it; a failed call or
another family starts nothing, neither in the rule nor in the Lambda.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import events_backends

from emulator import Emulator, FleetDeployment
from fleet_migration.errors import InvalidInput
from fleet_migration.executions import execution_name, start_or_join
from fleet_migration.task_definitions import COPY_OF_TAG, EXECUTION_TAG
from template_support import (
    ACCOUNT,
    PARAMETERS,
    REGION,
    Resolver,
    as_list,
    function_arn,
    inline_statements,
    load_template,
    translate,
)

EVENT = json.loads((Path(__file__).parent / "events" / "register_task_definition.json").read_text())
SETTINGS = (
    "STATE_MACHINE_ARN",
    "ECS_CLUSTER",
    "ECS_SERVICE",
    "VULN_SERVICE",
    "TASK_DEFINITION_FAMILY",
    "SUBNETS",
    "SECURITY_GROUPS",
    "INPUT_OVERRIDES",
    "TRIGGER_PRINCIPAL_ARNS",
)
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/deploy"  # the event's sessionIssuer


def registered(revision: int = 2, family: str = "fleet") -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    definition = event["detail"]["responseElements"]["taskDefinition"]
    definition.update(
        family=family,
        revision=revision,
        taskDefinitionArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}",
    )
    event["detail"]["requestParameters"]["family"] = family
    return event


def registered_by(role: str, revision: int = 2) -> dict[str, Any]:
    event = registered(revision=revision)
    event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = role
    return event


ROLLBACK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/fleet-migration-RollbackFunctionRole-1A2B3C4D"


def copy_registered(revision: int = 3, copy_of: int = 1, role: str = ROLLBACK_ROLE) -> dict[str, Any]:
    """CloudTrail's record of the rollback registering a deregistered revision again: the tags it gave are in
    requestParameters (as the call's own parameters), the caller is the rollback function's role."""
    event = registered_by(role, revision=revision)
    event["detail"]["requestParameters"]["tags"] = [
        {"key": "team", "value": "fleet"},
        {"key": COPY_OF_TAG, "value": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/fleet:{copy_of}"},
        {"key": EXECUTION_TAG, "value": "fleet-fleet-r2"},
    ]
    return event


def failed_call() -> dict[str, Any]:
    """CloudTrail's record of a RegisterTaskDefinition that AWS refused: errorCode set, no response."""
    event = copy.deepcopy(EVENT)
    event["detail"].update(
        errorCode="ClientException",
        errorMessage="Container.image repository should not be null or empty.",
        responseElements=None,
    )
    return event


@pytest.fixture
def trigger(aws: Emulator, fleet: FleetDeployment, monkeypatch: pytest.MonkeyPatch):
    """Invoke the deployed TriggerFunction the way EventBridge does; its settings are the stack's."""
    monkeypatch.setenv("STATE_MACHINE_ARN", aws.state_machine_arn)
    monkeypatch.setenv("ECS_CLUSTER", fleet.cluster)
    monkeypatch.setenv("ECS_SERVICE", fleet.service)
    monkeypatch.setenv("VULN_SERVICE", fleet.vuln_service or "")
    monkeypatch.setenv("TASK_DEFINITION_FAMILY", fleet.task_definition)
    monkeypatch.setenv("SUBNETS", ",".join(fleet.subnets))
    monkeypatch.setenv("SECURITY_GROUPS", ",".join(fleet.security_groups))
    monkeypatch.setenv("INPUT_OVERRIDES", json.dumps({"poll_interval_seconds": 1}))
    monkeypatch.setenv("TRIGGER_PRINCIPAL_ARNS", DEPLOY_ROLE)

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        headers: dict[str, str] = {}
        answer = json.loads(
            aws.lambdas.invoke("TriggerFunction", function_arn("TriggerFunction"), json.dumps(event), headers)
        )
        if headers.get("x-amz-function-error"):
            raise AssertionError(f"the trigger failed: {answer['errorType']}: {answer['errorMessage']}")
        return answer

    return invoke


def executions(aws: Emulator) -> list[dict[str, Any]]:
    return aws.client("stepfunctions").list_executions(stateMachineArn=aws.state_machine_arn)["executions"]


# -- the Lambda --------------------------------------------------------------------------------------


def test_a_new_revision_starts_its_migration_under_the_deterministic_name(aws, fleet, trigger) -> None:
    # WHEN CloudTrail reports revision 2 of the family
    answer = trigger(registered(revision=fleet.latest_revision))

    # THEN the migration of revision 2 starts, named as Terraform would name it
    assert answer["action"] == "started"
    assert (
        answer["execution_name"]
        == execution_name(fleet.cluster, fleet.service, fleet.latest_revision)
        == "fleet-fleet-r2"
    )
    described = aws.client("stepfunctions").describe_execution(executionArn=answer["execution_arn"])
    assert json.loads(described["input"]) == {
        "ecs_cluster": "fleet",
        "ecs_service": "fleet",
        "vuln_service": "fleet-vuln-processing",
        "task_definition": "fleet",
        "task_definition_revision": 2,
        "subnets": fleet.subnets,
        "security_groups": fleet.security_groups,
        "poll_interval_seconds": 1,
    }
    run = aws.wait(answer["execution_arn"])
    assert run.status == "SUCCEEDED", run.cause
    assert run.output["task_definition"].endswith(":task-definition/fleet:2")


def test_the_same_event_twice_makes_one_execution(aws, fleet, trigger) -> None:
    first = trigger(registered())
    second = trigger(registered())

    assert first["action"] == "started"
    assert (second["action"], second["status"]) == ("skipped", "RUNNING")
    assert second["execution_arn"] == first["execution_arn"]
    assert "already exists (RUNNING)" in second["reason"]
    assert aws.wait(first["execution_arn"]).status == "SUCCEEDED"
    assert len(executions(aws)) == 1
    # and once it succeeded, the event again still starts nothing
    assert (trigger(registered())["action"], trigger(registered())["status"]) == ("skipped", "SUCCEEDED")
    assert len(executions(aws)) == 1


def test_a_late_event_after_a_failed_attempt_starts_nothing(aws, fleet, trigger):
    # GIVEN Terraform's attempt for the revision failed and rolled back
    sfn = aws.client("stepfunctions")
    aws.next_migration(exit_code=3)
    failed = start_or_join(
        sfn,
        aws.state_machine_arn,
        json.dumps(fleet.migration_input(poll_interval_seconds=5)),
        fleet.cluster,
        fleet.service,
        fleet.latest_revision,
    )
    assert aws.wait(failed.execution_arn).error == "MigrationFailed"
    before = aws.service_state(fleet.cluster, fleet.service)

    # WHEN CloudTrail's event for that revision arrives late
    answer = trigger(registered(revision=fleet.latest_revision))

    # THEN the trigger starts no second attempt, says why, and Fleet is left alone
    assert (answer["action"], answer["status"], answer["execution_name"]) == ("skipped", "FAILED", failed.name)
    assert "only the first attempt" in answer["reason"] and "terraform apply" in answer["reason"]
    assert [e["name"] for e in executions(aws)] == [failed.name]
    assert aws.service_state(fleet.cluster, fleet.service) == before
    assert len(aws.ecs_sim.run_task_calls) == 1


def test_an_event_after_a_later_attempt_starts_nothing(aws, fleet, trigger):
    # GIVEN attempt 1 failed and a person's attempt 2 is running
    sfn = aws.client("stepfunctions")
    aws.next_migration(exit_code=3)
    document = json.dumps(fleet.migration_input(poll_interval_seconds=5))
    first = start_or_join(sfn, aws.state_machine_arn, document, fleet.cluster, fleet.service, fleet.latest_revision)
    assert aws.wait(first.execution_arn).status == "FAILED"
    second = start_or_join(sfn, aws.state_machine_arn, document, fleet.cluster, fleet.service, fleet.latest_revision)
    assert second.name == f"{first.name}-a2"

    answer = trigger(registered(revision=fleet.latest_revision))

    assert answer["action"] == "skipped"
    assert aws.wait(second.execution_arn).status == "SUCCEEDED"
    assert sorted(e["name"] for e in executions(aws)) == [first.name, second.name]


def test_the_event_and_a_terraform_run_for_the_same_revision_make_one_execution(aws, fleet, trigger) -> None:
    sfn = aws.client("stepfunctions")
    terraform_input = json.dumps(fleet.migration_input(poll_interval_seconds=5))

    started = trigger(registered())
    joined = start_or_join(
        sfn, aws.state_machine_arn, terraform_input, fleet.cluster, fleet.service, fleet.latest_revision
    )
    assert started["action"] == "started"

    assert joined.action in ("joined", "succeeded")
    assert joined.execution_arn == started["execution_arn"]
    assert aws.wait(started["execution_arn"]).status == "SUCCEEDED"
    assert len(executions(aws)) == 1


def test_a_terraform_run_then_the_event_make_one_execution(aws, fleet, trigger) -> None:
    sfn = aws.client("stepfunctions")
    terraform_input = json.dumps(fleet.migration_input(poll_interval_seconds=5))

    started = start_or_join(
        sfn, aws.state_machine_arn, terraform_input, fleet.cluster, fleet.service, fleet.latest_revision
    )
    answer = trigger(registered())

    assert started.action == "started"
    assert answer["action"] == "skipped"
    assert answer["execution_arn"] == started.execution_arn
    assert aws.wait(started.execution_arn).status == "SUCCEEDED"
    assert len(executions(aws)) == 1


def test_a_failed_registration_starts_nothing(aws, fleet, trigger) -> None:
    answer = trigger(failed_call())

    assert answer["action"] == "ignored"
    assert "ClientException" in answer["reason"]
    assert executions(aws) == []


def test_another_family_starts_nothing(aws, fleet, trigger) -> None:
    answer = trigger(registered(family="osquery-perf"))

    assert answer == {"action": "ignored", "reason": "family 'osquery-perf' is not 'fleet'"}
    assert executions(aws) == []


def test_another_api_call_starts_nothing(aws, fleet, trigger) -> None:
    event = registered()
    event["detail"]["eventName"] = "DeregisterTaskDefinition"

    assert trigger(event)["action"] == "ignored"
    assert executions(aws) == []


def test_a_registration_by_a_principal_the_deployment_does_not_list_starts_nothing(aws, fleet, trigger) -> None:
    # GIVEN someone with ecs:RegisterTaskDefinition but not Fleet's deploy role registers a revision
    answer = trigger(registered_by(f"arn:aws:iam::{ACCOUNT}:role/developer"))

    assert answer["action"] == "ignored"
    assert "role/developer" in answer["reason"] and "TriggerPrincipalArns" in answer["reason"]
    assert executions(aws) == []


def test_with_no_principal_listed_the_trigger_is_off(aws, fleet, trigger, monkeypatch) -> None:
    monkeypatch.setenv("TRIGGER_PRINCIPAL_ARNS", "")

    answer = trigger(registered())

    assert answer["action"] == "ignored" and "the trigger is off" in answer["reason"]
    assert executions(aws) == []


@pytest.mark.parametrize(("key", "value"), [("account", "210987654321"), ("region", "eu-west-1")])
def test_a_registration_in_another_account_or_region_starts_nothing(aws, fleet, trigger, key, value) -> None:
    # GIVEN a central event bus forwarding another account's (or region's) events
    event = registered()
    event[key] = value

    answer = trigger(event)

    assert answer["action"] == "ignored" and value in answer["reason"]
    assert executions(aws) == []


def test_the_rollbacks_own_copy_never_starts_a_migration(aws, fleet, trigger, monkeypatch) -> None:
    # GIVEN even a deployment that lists the rollback's role among its principals
    monkeypatch.setenv("TRIGGER_PRINCIPAL_ARNS", f"{DEPLOY_ROLE},{ROLLBACK_ROLE}")

    # WHEN CloudTrail reports the rollback's registration of fleet:1 again as fleet:3
    answer = trigger(copy_registered(revision=3, copy_of=1))

    # THEN nothing starts: the workflow never migrates its own registrations
    assert answer["action"] == "ignored"
    assert COPY_OF_TAG in answer["reason"] and "fleet:1" in answer["reason"]
    assert executions(aws) == []


def test_an_execution_under_the_revisions_name_that_migrates_something_else_is_not_taken_for_it(
    aws, fleet, trigger
) -> None:
    # GIVEN someone with states:StartExecution started the revision's name with a harmless input (revision 1)
    squatter = aws.run(
        fleet.migration_input(task_definition_revision=1, poll_interval_seconds=5), name="fleet-fleet-r2"
    )
    assert squatter.status == "FAILED"  # the describe step refuses a name that is not its input's

    # WHEN CloudTrail reports revision 2
    answer = trigger(registered(revision=2))

    # THEN the trigger starts nothing and says why
    assert answer["action"] == "foreign"
    assert "fleet:1" in answer["reason"] and "fleet-fleet-r2" in answer["reason"]
    assert [e["name"] for e in executions(aws)] == ["fleet-fleet-r2"]


def test_a_misconfigured_stack_fails_loudly_and_starts_nothing(aws, fleet, trigger, monkeypatch) -> None:
    # GIVEN the stack was deployed with EnableTrigger but without subnets
    monkeypatch.setenv("SUBNETS", "")

    # WHEN a revision is registered THEN the function fails (its alarm fires) naming the field
    headers: dict[str, str] = {}
    answer = json.loads(
        aws.lambdas.invoke("TriggerFunction", function_arn("TriggerFunction"), json.dumps(registered()), headers)
    )
    assert headers["x-amz-function-error"] == "Unhandled"
    assert answer["errorType"] == InvalidInput.__name__
    assert "subnets" in answer["errorMessage"]
    assert executions(aws) == []


@pytest.mark.parametrize("field", ["ecs_cluster", "ecs_service", "task_definition", "task_definition_revision"])
def test_overrides_cannot_change_what_the_permissions_are_scoped_to(field: str) -> None:
    import trigger as module

    environment = {name: "x" for name in SETTINGS} | {"INPUT_OVERRIDES": json.dumps({field: "other"})}
    with pytest.raises(ValueError, match=field):
        module.TriggerSettings.from_environment(environment)


def test_the_template_gives_the_function_every_setting_it_reads() -> None:
    import trigger as module

    template = load_template()
    variables = template["Resources"]["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    assert set(variables) == set(SETTINGS)
    environment = Resolver(template, {**PARAMETERS, "TriggerInputOverrides": '{"assign_public_ip": true}'}).resolve(
        variables
    )
    settings = module.TriggerSettings.from_environment(environment)
    assert settings.state_machine_arn == Resolver(template).state_machine_arn
    assert (settings.cluster, settings.service, settings.vuln_service, settings.family) == (
        "fleet",
        "fleet",
        "fleet-vuln-processing",
        "fleet",
    )
    assert settings.subnets == PARAMETERS["Subnets"].split(",")
    assert settings.security_groups == PARAMETERS["SecurityGroups"].split(",")
    assert module.migration_input(settings, 7)["assign_public_ip"] is True


# -- failures are never silently dropped ----------------------------------------------------------------


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate()


def test_a_failed_invocation_goes_to_an_encrypted_queue_after_deliberate_retries(translated) -> None:
    config = translated["Resources"]["TriggerFunctionEventInvokeConfig"]["Properties"]
    assert config["MaximumRetryAttempts"] == 2
    assert 180 < config["MaximumEventAgeInSeconds"] <= 3600  # room for Lambda's two retries (about 1 and 2 min)
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["TriggerFailedEventsQueue", "Arn"]
    }
    queue = Resolver(translated).resolve(translated["Resources"]["TriggerFailedEventsQueue"]["Properties"])
    assert queue["SqsManagedSseEnabled"] is True


def test_the_failed_events_queue_keeps_whole_cloudtrail_records_four_days_not_fourteen(translated) -> None:
    # Each message carries the registration's request parameters (a task definition's plain-text environment):
    # long enough to see the alarm and replay over a weekend, no longer.
    assert translated["Resources"]["TriggerFailedEventsQueue"]["Properties"]["MessageRetentionPeriod"] == 4 * 86400


def test_an_event_eventbridge_cannot_deliver_goes_to_the_same_queue_and_only_the_rule_may_send(translated) -> None:
    rule = translated["Resources"]["TriggerFunctionNewRevision"]["Properties"]
    assert rule["Targets"][0]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["TriggerFailedEventsQueue", "Arn"]}
    statements = translated["Resources"]["TriggerFailedEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statements == [
        {
            "Sid": "UndeliveredTriggerEvents",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["TriggerFailedEventsQueue", "Arn"]},
            "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["TriggerFunctionNewRevision", "Arn"]}}},
        }
    ]


def test_the_trigger_may_send_to_its_queue_and_nowhere_else(translated) -> None:
    statements = inline_statements(translated["Resources"]["TriggerFunctionRole"])
    sending = [s for s in statements if "sqs:SendMessage" in as_list(s["Action"])]
    assert sending == [
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": ["TriggerFailedEventsQueue", "Arn"]},
        }
    ]


def test_the_trigger_alarm_covers_errors_and_events_waiting_in_the_queue(translated) -> None:
    alarm = translated["Resources"]["TriggerErrorsAlarm"]["Properties"]
    metrics = {m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert set(metrics) == {"Errors", "ApproximateNumberOfMessagesVisible"}
    queued = metrics["ApproximateNumberOfMessagesVisible"]["Metric"]["Dimensions"]
    assert queued == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["TriggerFailedEventsQueue", "QueueName"]}}]
    expression = next(m for m in alarm["Metrics"] if m.get("ReturnData"))["Expression"]
    assert expression == "FILL(errors, 0) + FILL(waiting, 0)"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


# -- the rule ----------------------------------------------------------------------------------------


@pytest.fixture
def rule(aws: Emulator):
    """The template's rule for TaskDefinitionFamily=fleet, put on the emulated EventBridge (which checks its syntax)."""
    template = load_template()
    pattern = template["Resources"]["TriggerFunction"]["Properties"]["Events"]["NewRevision"]["Properties"]["Pattern"]
    resolved = Resolver(template, PARAMETERS).resolve(pattern)
    aws.client("events").put_rule(Name="fleet-migration-new-revision", EventPattern=json.dumps(resolved))
    return events_backends[ACCOUNT][REGION].describe_rule("fleet-migration-new-revision", None)


def test_the_rule_matches_a_successful_registration_of_the_family(rule) -> None:
    assert rule.event_pattern.matches_event(registered())


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (failed_call(), "a failed call (errorCode present)"),
        (registered(family="osquery-perf"), "another family"),
        ({**registered(), "source": "aws.ec2"}, "another source"),
        ({**registered(), "detail-type": "ECS Task State Change"}, "another detail type"),
    ],
)
def test_the_rule_ignores(rule, event: dict[str, Any], why: str) -> None:
    assert not rule.event_pattern.matches_event(event), why


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (registered_by(f"arn:aws:iam::{ACCOUNT}:role/developer"), "a principal the deployment does not list"),
        (copy_registered(), "the rollback's own copy, registered by its role"),
        ({**registered(), "account": "210987654321"}, "another account"),
        ({**registered(), "region": "eu-west-1"}, "another region"),
    ],
    ids=["unlisted-principal", "rollback-copy", "other-account", "other-region"],
)
def test_the_rule_matches_only_this_account_region_and_the_listed_principals(rule, event, why) -> None:
    assert not rule.event_pattern.matches_event(event), why


def test_the_rule_with_no_principal_listed_matches_nothing(aws) -> None:
    template = load_template()
    pattern = template["Resources"]["TriggerFunction"]["Properties"]["Events"]["NewRevision"]["Properties"]["Pattern"]
    # An empty CommaDelimitedList is [""]
    resolved = Resolver(template, {**PARAMETERS, "TriggerPrincipalArns": ""}).resolve(pattern)
    aws.client("events").put_rule(Name="no-principal", EventPattern=json.dumps(resolved))
    rule = events_backends[ACCOUNT][REGION].describe_rule("no-principal", None)

    assert not rule.event_pattern.matches_event(registered())


def test_the_rule_ignores_other_api_calls(rule) -> None:
    event = registered()
    event["detail"]["eventName"] = "DeregisterTaskDefinition"
    assert not rule.event_pattern.matches_event(event)
