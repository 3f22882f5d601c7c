"""The load balancer's listener answers as an Application Load Balancer does: its rules in priority order, the
default rule last; a fixed response as configured; a forward answers 503 while the group has no healthy target."""

from __future__ import annotations

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
