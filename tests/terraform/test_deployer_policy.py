"""terraform/deployer-policy.json: the IAM of whoever runs `terraform apply` with the drop-in, ready to attach.

Every resource and data source type the drop-in and modules/workflow declare has the calls hashicorp/aws makes
for it listed in workflow_module_support.DEPLOYER_ACTIONS; the policy allows each of them and nothing else.
(test_workflow_module_terraform.py checks its resources against the ARNs of a real apply.)
"""

from __future__ import annotations

import json
import re

from workflow_module_support import DEPLOYER_ACTIONS, DEPLOYER_POLICY, DROP_IN, allows, deployer_policy


def declared_types() -> set[str]:
    """Every ``resource "TYPE"`` and ``data "TYPE"`` (as ``data.TYPE``) of the drop-in and its modules."""
    found = set()
    for path in DROP_IN.rglob("*.tf"):
        if "examples" in path.parts:
            continue
        text = path.read_text()
        found |= set(re.findall(r'^resource "([a-z_]+)"', text, re.MULTILINE))
        found |= {f"data.{kind}" for kind in re.findall(r'^\s*data "([a-z_]+)"', text, re.MULTILINE)}
    return found


def test_every_type_the_module_declares_has_the_actions_it_needs_listed():
    assert declared_types() - set(DEPLOYER_ACTIONS) == set()


def test_the_policy_allows_every_action_the_modules_resources_and_client_need():
    statements = deployer_policy()
    needed = {action for kind in declared_types() | {"client"} for action in DEPLOYER_ACTIONS[kind]}

    assert sorted(action for action in needed if not allows(statements, action)) == []


def test_the_policy_allows_no_action_beyond_them():
    needed = {action for actions in DEPLOYER_ACTIONS.values() for action in actions}
    granted = {
        action for statement in json.loads(DEPLOYER_POLICY.read_text())["Statement"] for action in statement["Action"]
    }

    assert sorted(granted - needed) == []
    assert not [action for action in granted if "*" in action]


def test_only_actions_iam_cannot_scope_apply_to_every_resource():
    # Service Authorization Reference: these take no resource ARN (or, for DescribeLogGroups, only "*").
    unscoped = {"ecs:DescribeTaskDefinition", "states:ValidateStateMachineDefinition", "logs:DescribeLogGroups"}
    unscoped |= {a for a in DEPLOYER_ACTIONS["aws_sfn_state_machine"] if a.startswith("logs:")}  # log delivery
    statements = json.loads(DEPLOYER_POLICY.read_text())["Statement"]

    assert {a for s in statements if s["Resource"] == "*" for a in s["Action"]} == unscoped


def test_roles_are_passed_only_to_lambda_and_step_functions():
    [statement] = [s for s in json.loads(DEPLOYER_POLICY.read_text())["Statement"] if "iam:PassRole" in s["Action"]]

    assert statement["Condition"] == {
        "StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com", "states.amazonaws.com"]}
    }
