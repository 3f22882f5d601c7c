"""The load balancer calls: target groups' deregistration delay, the listeners in front of Fleet, maintenance rules."""

from __future__ import annotations

import boto3
import pytest

from fleet_migration import load_balancers

pytestmark = pytest.mark.usefixtures("moto_aws")


@pytest.fixture
def front() -> dict[str, str]:
    """An ALB with a target group for Fleet and one for something else, and a listener forwarding to Fleet's."""
    ec2, elb = boto3.client("ec2"), boto3.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in ((1, "a"), (2, "b"))
    ]
    balancer = elb.create_load_balancer(Name="fleet", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    fleet, other = (
        elb.create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", HealthCheckPath="/healthz"
        )["TargetGroups"][0]["TargetGroupArn"]
        for name in ("fleet", "other")
    )
    listener = elb.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": fleet}],
    )["Listeners"][0]["ListenerArn"]
    return {"fleet": fleet, "other": other, "listener": listener}


def rule(listener: str, priority: int, tags: list[dict[str, str]] | None = None) -> str:
    return boto3.client("elbv2").create_rule(
        ListenerArn=listener,
        Priority=priority,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
        **({"Tags": tags} if tags else {}),
    )["Rules"][0]["RuleArn"]


def test_a_target_groups_delay_reads_and_writes_the_deregistration_attribute(front):
    assert load_balancers.deregistration_delay(front["fleet"]) == 300  # Elastic Load Balancing's default

    load_balancers.set_deregistration_delay(front["fleet"], 5)

    assert load_balancers.deregistration_delay(front["fleet"]) == 5
    assert load_balancers.deregistration_delay(front["other"]) == 300


def test_the_listeners_forwarding_to_fleets_target_group_are_found_with_their_rules(front):
    found = load_balancers.listeners_forwarding_to([front["fleet"]])

    assert list(found) == [front["listener"]]
    assert [r["IsDefault"] for r in found[front["listener"]]] == [True]
    assert load_balancers.listeners_forwarding_to([front["other"]]) == {}


def test_the_maintenance_rule_goes_before_every_other_rule(front):
    rule(front["listener"], 10)
    rule(front["listener"], 4)
    rules = load_balancers.listeners_forwarding_to([front["fleet"]])[front["listener"]]

    assert load_balancers.free_priority(rules, ignoring=[]) == 3


def test_a_listener_with_a_rule_at_priority_one_has_no_room_before_it(front):
    first = rule(front["listener"], 1)
    rules = load_balancers.listeners_forwarding_to([front["fleet"]])[front["listener"]]

    assert load_balancers.free_priority(rules, ignoring=[]) is None
    assert load_balancers.free_priority(rules, ignoring=[first]) == 1  # a leftover about to be deleted frees it


def test_a_maintenance_rule_answers_every_request_with_503_and_is_tagged_with_its_execution(front):
    arn = load_balancers.add_maintenance_rule(front["listener"], 1, "<p>Upgrading</p>", "fleet-fleet-r3")

    elb = boto3.client("elbv2")
    (created,) = [r for r in elb.describe_rules(ListenerArn=front["listener"])["Rules"] if r["RuleArn"] == arn]
    assert created["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["*"]}}]
    assert created["Actions"][0]["FixedResponseConfig"] == {
        "StatusCode": "503",
        "ContentType": "text/html",
        "MessageBody": "<p>Upgrading</p>",
    }
    assert load_balancers.rules_of_execution(front["listener"], "fleet-fleet-r3") == [arn]


def test_a_plain_text_message_is_served_as_text(front):
    arn = load_balancers.add_maintenance_rule(front["listener"], 1, "Fleet is being upgraded.", "e")

    (created,) = [
        r for r in boto3.client("elbv2").describe_rules(ListenerArn=front["listener"])["Rules"] if r["RuleArn"] == arn
    ]
    assert created["Actions"][0]["FixedResponseConfig"]["ContentType"] == "text/plain"


def test_adding_the_maintenance_rule_again_finds_the_one_the_first_call_made(front):
    first = load_balancers.add_maintenance_rule(front["listener"], 1, "down", "fleet-fleet-r3")

    assert load_balancers.add_maintenance_rule(front["listener"], 1, "down", "fleet-fleet-r3") == first


def test_a_priority_taken_by_someone_elses_rule_is_an_error(front):
    rule(front["listener"], 1)

    with pytest.raises(Exception, match="PriorityInUse"):
        load_balancers.add_maintenance_rule(front["listener"], 1, "down", "fleet-fleet-r3")


def test_rules_another_execution_left_are_found_by_their_tag_and_ours_and_others_are_not(front):
    left = rule(front["listener"], 1, [{"Key": load_balancers.EXECUTION_TAG, "Value": "fleet-fleet-r2"}])
    rule(front["listener"], 2, [{"Key": "team", "Value": "fleet"}])
    rule(front["listener"], 3, [{"Key": load_balancers.EXECUTION_TAG, "Value": "fleet-fleet-r3"}])
    rules = load_balancers.listeners_forwarding_to([front["fleet"]])[front["listener"]]

    assert load_balancers.rules_left_by_earlier_executions(rules, "fleet-fleet-r3") == [left]
