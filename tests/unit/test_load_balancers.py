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


def rule(listener: str, priority: int, action: dict | None = None) -> str:
    return boto3.client("elbv2").create_rule(
        ListenerArn=listener,
        Priority=priority,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [f"/api{priority}/*"]}}],
        Actions=[action or {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Rules"][0]["RuleArn"]


def test_a_target_groups_delay_reads_and_writes_the_deregistration_attribute(front):
    assert load_balancers.deregistration_delay(front["fleet"]) == 300  # Elastic Load Balancing's default

    load_balancers.set_deregistration_delay(front["fleet"], 5)

    assert load_balancers.deregistration_delay(front["fleet"]) == 5
    assert load_balancers.deregistration_delay(front["other"]) == 300


def test_every_rule_is_read_across_pages(front):
    # moto answers DescribeRules 50 at a time, with NextMarker
    for priority in range(1, 61):
        rule(front["listener"], priority)

    assert len(load_balancers.rules(front["listener"])) == 61  # and the default rule


def test_a_forward_names_its_target_group_or_each_of_its_weighted_ones(front):
    weighted = {
        "Type": "forward",
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": front["fleet"]}, {"TargetGroupArn": front["other"]}]},
    }

    assert load_balancers.forwarded_groups({"Type": "forward", "TargetGroupArn": front["fleet"]}) == {front["fleet"]}
    assert load_balancers.forwarded_groups(weighted) == {front["fleet"], front["other"]}
    assert load_balancers.forwarded_groups({"Type": "fixed-response"}) == set()


def test_a_rules_actions_change_with_modify_rule_and_a_listeners_default_with_modify_listener(front):
    arn = rule(front["listener"], 1, {"Type": "forward", "TargetGroupArn": front["fleet"]})
    page = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503", "MessageBody": "down"}}]

    load_balancers.set_actions(front["listener"], arn, page)
    load_balancers.set_actions(front["listener"], None, page)

    found = {r["RuleArn"]: r for r in load_balancers.rules(front["listener"])}
    assert found[arn]["Actions"][0]["Type"] == "fixed-response"
    assert load_balancers.listener(front["listener"])["DefaultActions"][0]["Type"] == "fixed-response"


def test_a_tag_is_added_read_and_removed(front):
    load_balancers.tag(front["listener"], load_balancers.PAGE_TAG, "arn:aws:states:us-east-1:1:execution:m:e")

    assert load_balancers.tags([front["listener"]])[front["listener"]] == {
        load_balancers.PAGE_TAG: "arn:aws:states:us-east-1:1:execution:m:e"
    }
    load_balancers.untag(front["listener"], load_balancers.PAGE_TAG)
    assert load_balancers.tags([front["listener"]])[front["listener"]] == {}
