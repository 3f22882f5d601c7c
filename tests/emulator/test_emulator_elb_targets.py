"""The Fleet target group follows the service's tasks as ECS and ELB document: registered by ENI address as a task
runs, ``initial`` then ``healthy`` after healthy threshold x interval, ``draining`` for the deregistration delay
in force when ECS deregisters a task it stops, and the task stops only then."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator import FLEET_TARGET_GROUP, Emulator, TargetGroupSettings

# FAST_TARGET_GROUP (an Emulator's default): healthy 2 x 5 s after RUNNING, 5 s of draining
HEALTHY_AFTER, DRAIN = 10, 5


def health(emu: Emulator, group_arn: str) -> dict[str, str]:
    found = emu.client("elbv2").describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in found}


def tasks(emu: Emulator, status: str = "RUNNING") -> list[dict]:
    ecs = emu.client("ecs")
    arns = ecs.list_tasks(cluster="fleet", serviceName="fleet", desiredStatus=status)["taskArns"]
    return ecs.describe_tasks(cluster="fleet", tasks=arns)["tasks"] if arns else []


def ip_of(task: dict) -> str:
    details = task["attachments"][0]["details"]
    return next(d["value"] for d in details if d["name"] == "privateIPv4Address")


def scale(emu: Emulator, count: int) -> None:
    emu.client("ecs").update_service(cluster="fleet", service="fleet", desiredCount=count)


def let_time_pass(emu: Emulator, seconds: float, step: float = 1.0) -> None:
    for _ in range(int(seconds / step)):
        emu.clock.advance(step)  # the scheduler acts at each step (an advance ends with the ECS simulator's tick)


@pytest.mark.fleet(target_group=FLEET_TARGET_GROUP)
def test_the_target_group_is_fleets_own(emu, deployment):
    elbv2 = emu.client("elbv2")
    (group,) = elbv2.describe_target_groups(TargetGroupArns=[deployment.target_group_arn])["TargetGroups"]
    attributes = {
        a["Key"]: a["Value"]
        for a in elbv2.describe_target_group_attributes(TargetGroupArn=deployment.target_group_arn)["Attributes"]
    }

    assert (group["Protocol"], group["TargetType"], group["HealthCheckPath"], group["Matcher"]["HttpCode"]) == (
        "HTTP",
        "ip",
        "/healthz",
        "200",
    )
    assert (
        group["HealthCheckIntervalSeconds"],
        group["HealthCheckTimeoutSeconds"],
        group["HealthyThresholdCount"],
        group["UnhealthyThresholdCount"],
    ) == (15, 10, 5, 5)
    assert attributes["deregistration_delay.timeout_seconds"] == "300"


@pytest.mark.parametrize(
    "wrong",
    [
        {"interval": 4},
        {"timeout": 1},
        {"healthy_threshold": 11},
        {"unhealthy_threshold": 1},
        {"deregistration_delay": 3601},
        {"interval": 5, "timeout": 5},
    ],
)
def test_settings_elb_would_refuse_are_refused(wrong):
    with pytest.raises(ValueError):
        TargetGroupSettings(**wrong)


def test_the_seeded_tasks_are_registered_by_their_eni_address_and_healthy(emu, deployment):
    assert health(emu, deployment.target_group_arn) == {ip_of(t): "healthy" for t in tasks(emu)}


def test_a_new_task_is_initial_once_running_then_healthy_after_threshold_times_interval(emu, deployment):
    before = set(health(emu, deployment.target_group_arn))
    scale(emu, 3)
    emu.clock.advance(1.5)
    (new,) = [ip_of(t) for t in tasks(emu) if ip_of(t) not in before]

    assert health(emu, deployment.target_group_arn)[new] == "initial"
    emu.clock.advance(HEALTHY_AFTER - 1)
    assert health(emu, deployment.target_group_arn)[new] == "initial"
    emu.clock.advance(1)
    assert health(emu, deployment.target_group_arn)[new] == "healthy"


def test_a_task_ecs_stops_drains_for_the_delay_while_deactivating_then_stops(emu, deployment):
    scale(emu, 1)
    (stopping,) = [t for t in tasks(emu, "STOPPED")]

    assert (stopping["desiredStatus"], stopping["lastStatus"]) == ("STOPPED", "DEACTIVATING")
    assert health(emu, deployment.target_group_arn)[ip_of(stopping)] == "draining"
    emu.clock.advance(DRAIN + 1.5)  # the delay, then the stop itself
    assert (
        emu.client("ecs").describe_tasks(cluster="fleet", tasks=[stopping["taskArn"]])["tasks"][0]["lastStatus"]
        == "STOPPED"
    )
    assert ip_of(stopping) not in health(emu, deployment.target_group_arn)


def test_a_stop_task_deregisters_the_task_first(emu, deployment):
    task = tasks(emu)[0]
    emu.client("ecs").stop_task(cluster="fleet", task=task["taskArn"])

    assert health(emu, deployment.target_group_arn)[ip_of(task)] == "draining"
    assert (
        emu.client("ecs").describe_tasks(cluster="fleet", tasks=[task["taskArn"]])["tasks"][0]["lastStatus"]
        == "DEACTIVATING"
    )


def test_a_new_deregistration_delay_applies_to_later_deregistrations_only(emu, deployment):
    scale(emu, 1)
    (first,) = tasks(emu, "STOPPED")
    emu.client("elbv2").modify_target_group_attributes(
        TargetGroupArn=deployment.target_group_arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "60"}],
    )
    scale(emu, 0)
    (second,) = [t for t in tasks(emu, "STOPPED") if t["taskArn"] != first["taskArn"]]
    emu.clock.advance(DRAIN + 1.5)

    described = {t["taskArn"]: t["lastStatus"] for t in tasks(emu, "STOPPED")}
    assert (described[first["taskArn"]], described[second["taskArn"]]) == ("STOPPED", "DEACTIVATING")
    assert health(emu, deployment.target_group_arn) == {ip_of(second): "draining"}


@pytest.mark.fleet(service_revision=2)
def test_a_rolling_deployment_stops_an_old_task_only_once_a_new_one_is_healthy(emu, deployment):
    old = {t["taskArn"] for t in tasks(emu)}
    emu.deploy_revision(1)  # an older Fleet: it serves on this schema
    let_time_pass(emu, HEALTHY_AFTER)  # new tasks RUNNING, not yet healthy

    assert {t["taskArn"] for t in tasks(emu) if t["taskArn"] in old} == old
    let_time_pass(emu, 2)
    assert not {t["taskArn"] for t in tasks(emu)} & old  # healthy replacements: the old ones are told to stop
    assert emu.elb.healthy_count(deployment.target_group_arn) >= 2


def test_behind_a_load_balancer_a_task_that_exits_before_healthy_is_a_failed_task(emu, deployment):
    emu.service_behaviour("fleet").circuit_breaker = True
    emu.deploy_revision(2)  # its Fleet runs a second, then exits: missing migrations
    let_time_pass(emu, 6)

    primary = emu.client("ecs").describe_services(cluster="fleet", services=["fleet"])["services"][0]["deployments"][0]
    assert primary["failedTasks"] >= 3 and primary["rolloutState"] == "FAILED"


def test_an_address_the_group_does_not_know_is_unused(emu, deployment):
    found = emu.client("elbv2").describe_target_health(
        TargetGroupArn=deployment.target_group_arn, Targets=[{"Id": "10.10.9.9", "Port": 8080}]
    )
    (description,) = found["TargetHealthDescriptions"]
    assert (description["TargetHealth"]["State"], description["TargetHealth"]["Reason"]) == (
        "unused",
        "Target.NotRegistered",
    )


def test_the_history_of_healthy_targets_shows_when_the_group_had_none(emu, deployment):
    emu.clock.advance(1)  # Fleet has served a while
    scale(emu, 0)
    emu.clock.advance(DRAIN + 2)
    scale(emu, 2)
    let_time_pass(emu, 1 + HEALTHY_AFTER + 1)

    counts = [count for _, count in emu.elb.healthy_history(deployment.target_group_arn)]
    assert counts == [2, 0, 2]
    (gone, _), (back, _) = emu.elb.healthy_history(deployment.target_group_arn)[1:]
    # no healthy target from the scale-down until a new task has started (1 s) and passed its checks
    assert back - gone == pytest.approx(DRAIN + 2 + 1 + HEALTHY_AFTER, abs=0.1)


# -- ModifyTargetGroup's health check (ELB API Reference; botocore itself refuses values out of range) ------------


@pytest.mark.parametrize(
    "changes",
    [
        {"HealthCheckIntervalSeconds": 5},  # Fleet's 10 s timeout stays
        {"HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 5},
    ],
)
def test_modify_target_group_refuses_a_timeout_not_below_the_interval(emu, changes):
    fleet = emu.seed_fleet(target_group=FLEET_TARGET_GROUP)
    with pytest.raises(ClientError) as caught:
        emu.client("elbv2").modify_target_group(TargetGroupArn=fleet.target_group_arn, **changes)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "must be smaller than the interval" in caught.value.response["Error"]["Message"]


def test_modify_target_group_takes_a_faster_check_with_its_timeout_below_the_interval(emu):
    fleet = emu.seed_fleet(target_group=FLEET_TARGET_GROUP)
    elbv2 = emu.client("elbv2")

    elbv2.modify_target_group(
        TargetGroupArn=fleet.target_group_arn,
        HealthCheckIntervalSeconds=5,
        HealthCheckTimeoutSeconds=4,
        HealthyThresholdCount=2,
    )

    group = elbv2.describe_target_groups(TargetGroupArns=[fleet.target_group_arn])["TargetGroups"][0]
    assert (
        group["HealthCheckIntervalSeconds"],
        group["HealthCheckTimeoutSeconds"],
        group["HealthyThresholdCount"],
    ) == (
        5,
        4,
        2,
    )
