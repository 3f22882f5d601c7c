"""The load balancer's listener answers as an Application Load Balancer does: its rules in priority order, the
default rule last; a fixed response as configured; a forward answers 503 while the group has no healthy target."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator import Emulator, FleetDeployment

MAINTENANCE = {
    "Type": "fixed-response",
    "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain", "MessageBody": "Fleet is being upgraded"},
}


def add_rule(emu: Emulator, fleet: FleetDeployment, priority: int, pattern: str, action: dict) -> None:
    emu.client("elbv2").create_rule(
        ListenerArn=fleet.listener_arn,
        Priority=priority,
        Actions=[action],
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [pattern]}}],
    )


def test_a_forward_to_a_group_with_a_healthy_target_is_served(emu, deployment):
    status, _, body = emu.elb.answer(deployment.listener_arn)

    assert (status, body) == (200, "Fleet")


def test_a_forward_to_a_group_without_a_healthy_target_answers_503(emu, deployment):
    emu.client("ecs").update_service(cluster="fleet", service="fleet", desiredCount=0)

    status, content_type, _ = emu.elb.answer(deployment.listener_arn)
    assert (status, content_type) == (503, "text/html")


def test_a_fixed_response_rule_answers_with_its_status_type_and_body(emu, deployment):
    add_rule(emu, deployment, 1, "/*", MAINTENANCE)

    assert emu.elb.answer(deployment.listener_arn) == (503, "text/plain", "Fleet is being upgraded")


def test_the_rule_with_the_lowest_priority_number_answers_first(emu, deployment):
    add_rule(
        emu,
        deployment,
        20,
        "/*",
        {**MAINTENANCE, "FixedResponseConfig": {**MAINTENANCE["FixedResponseConfig"], "MessageBody": "second"}},
    )
    add_rule(emu, deployment, 10, "/*", MAINTENANCE)

    assert emu.elb.answer(deployment.listener_arn)[2] == "Fleet is being upgraded"


def test_a_rule_whose_path_does_not_match_leaves_the_request_to_the_next(emu, deployment):
    add_rule(emu, deployment, 1, "/api/*", MAINTENANCE)

    assert emu.elb.answer(deployment.listener_arn, path="/healthz")[0] == 200
    assert emu.elb.answer(deployment.listener_arn, path="/api/v1/fleet/hosts")[0] == 503


def condition_rule(emu: Emulator, fleet: FleetDeployment, priority: int, condition: dict, body: str) -> None:
    emu.client("elbv2").create_rule(
        ListenerArn=fleet.listener_arn,
        Priority=priority,
        Conditions=[condition],
        Actions=[{**MAINTENANCE, "FixedResponseConfig": {**MAINTENANCE["FixedResponseConfig"], "MessageBody": body}}],
    )


def test_a_rule_answers_only_requests_matching_its_host_source_ip_method_header_and_query(emu, deployment):
    condition_rule(
        emu, deployment, 1, {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.other.example"]}}, "host"
    )
    condition_rule(emu, deployment, 2, {"Field": "source-ip", "SourceIpConfig": {"Values": ["192.0.2.0/24"]}}, "ip")
    condition_rule(
        emu, deployment, 3, {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["PUT"]}}, "method"
    )
    condition_rule(
        emu,
        deployment,
        4,
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["blue"]}},
        "header",
    )
    condition_rule(
        emu,
        deployment,
        5,
        {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "v", "Value": "2"}]}},
        "query",
    )
    ask = emu.elb.answer

    assert ask(deployment.listener_arn, host="App.Other.Example")[2] == "host"  # hosts are not case sensitive
    assert ask(deployment.listener_arn, source_ip="192.0.2.77")[2] == "ip"
    assert ask(deployment.listener_arn, method="PUT")[2] == "method"
    assert ask(deployment.listener_arn, headers={"x-env": "BLUE"})[2] == "header"
    assert ask(deployment.listener_arn, query={"v": "2"})[2] == "query"
    assert ask(deployment.listener_arn, source_ip="198.51.100.1", method="GET") == (200, "text/html", "Fleet")


def test_targets_of_a_group_no_listener_forwards_to_are_unused(emu, deployment):
    elbv2 = emu.client("elbv2")
    elbv2.modify_listener(ListenerArn=deployment.listener_arn, DefaultActions=[MAINTENANCE])

    health = elbv2.describe_target_health(TargetGroupArn=deployment.target_group_arn)["TargetHealthDescriptions"]
    assert {(h["TargetHealth"]["State"], h["TargetHealth"]["Reason"]) for h in health} == {
        ("unused", "Target.NotInUse")
    }


def test_modify_rule_refuses_the_default_rule(emu, deployment):
    elbv2 = emu.client("elbv2")
    (default,) = [r for r in elbv2.describe_rules(ListenerArn=deployment.listener_arn)["Rules"] if r["IsDefault"]]

    with pytest.raises(ClientError, match="OperationNotPermitted"):
        elbv2.modify_rule(RuleArn=default["RuleArn"], Actions=[MAINTENANCE])


def test_a_load_balancer_takes_at_most_100_rules(emu, deployment):
    for priority in range(1, 101):
        add_rule(emu, deployment, priority, f"/app{priority}/*", MAINTENANCE)

    with pytest.raises(ClientError, match="TooManyRules"):
        add_rule(emu, deployment, 101, "/one-more/*", MAINTENANCE)


def test_a_fixed_response_body_is_at_most_1024_characters(emu, deployment):
    too_long = {**MAINTENANCE, "FixedResponseConfig": {**MAINTENANCE["FixedResponseConfig"], "MessageBody": "x" * 1025}}

    with pytest.raises(ClientError, match="1024"):
        add_rule(emu, deployment, 1, "/*", too_long)


def test_describe_calls_answer_one_page_at_a_time_with_a_next_marker(emu, deployment):
    for priority in range(1, 4):
        add_rule(emu, deployment, priority, f"/app{priority}/*", MAINTENANCE)
    emu.elb.page_size = 2
    elbv2 = emu.client("elbv2")

    first = elbv2.describe_rules(ListenerArn=deployment.listener_arn)
    second = elbv2.describe_rules(ListenerArn=deployment.listener_arn, Marker=first["NextMarker"])

    assert len(first["Rules"]) == 2 and len(second["Rules"]) == 2 and "NextMarker" not in second
    assert elbv2.describe_listeners(LoadBalancerArn=deployment.load_balancer_arn, PageSize=1)["Listeners"]
    with pytest.raises(ClientError, match="PageSize"):
        elbv2.describe_target_groups(PageSize=401)
