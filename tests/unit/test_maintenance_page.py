"""The maintenance page's body (the deployment's) and what the page puts over Fleet's forwards."""

from __future__ import annotations

import pytest

from fleet_migration import deployment, outage
from fleet_migration.models import KeepAlive, MaintenancePage, PageSwap

FLEET = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/fleet/1"
JSON_WITHOUT_ERROR = ['{"message": "Fleet is being upgraded"}', "[]", '"upgrading"', "42", "true", '{"error": null}']
SAFE = [deployment.DEFAULT_MAINTENANCE_MESSAGE, "Fleet is being upgraded.", '{"error": "Fleet is being upgraded"}']


@pytest.mark.parametrize("body", JSON_WITHOUT_ERROR)
def test_a_body_that_parses_as_json_without_an_error_key_is_refused_because_osquery_would_take_it(body):
    assert "buffered logs" in deployment.maintenance_message_problem(body)


@pytest.mark.parametrize("body", SAFE)
def test_html_plain_text_and_json_with_an_error_key_are_served(body):
    assert deployment.maintenance_message_problem(body) is None


def test_a_body_beyond_what_a_fixed_response_carries_is_refused():
    assert "1 to 1024" in deployment.maintenance_message_problem("x" * 1025)
    assert "1 to 1024" in deployment.maintenance_message_problem("")


def test_html_is_served_as_html_and_anything_else_as_plain_text():
    assert deployment.content_type("<p>down</p>") == "text/html"
    assert deployment.content_type("down") == "text/plain"


def test_the_page_replaces_the_forward_where_it_was_and_keeps_an_authentication_before_it():
    authenticate = {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {"Issuer": "https://id"}}
    actions = [authenticate, {"Type": "forward", "Order": 2, "TargetGroupArn": FLEET}]

    assert outage.page_actions(actions, "<p>down</p>") == [
        authenticate,
        {
            "Type": "fixed-response",
            "Order": 2,
            "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/html", "MessageBody": "<p>down</p>"},
        },
    ]


def test_the_commands_by_hand_put_each_forward_back_remove_the_tags_and_delete_the_keep_alive_rule():
    listener = "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/fleet/1/2"
    page = MaintenancePage(
        swaps=[
            PageSwap(listener_arn=listener, actions=[{"Type": "forward", "TargetGroupArn": FLEET}]),
            PageSwap(
                listener_arn=listener, rule_arn=f"{listener}/3", actions=[{"Type": "forward", "TargetGroupArn": FLEET}]
            ),
        ],
        keep_alive=[KeepAlive(listener_arn=listener, priority=50000, target_group_arn=FLEET, rule_arn=f"{listener}/4")],
    )

    commands = outage.manual_commands(page)

    assert [c.split()[2] for c in commands] == [
        "modify-listener",
        "remove-tags",
        "modify-rule",
        "remove-tags",
        "delete-rule",
    ]
    assert FLEET in commands[0] and f"{listener}/4" in commands[-1]
