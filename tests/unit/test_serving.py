"""Which revision serves Fleet, read from ECS's description of the service and its tasks."""

from __future__ import annotations

from datetime import UTC, datetime

from fleet_migration import serving

OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:1"
NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/fleet:2"


def task(definition: str, last: str = "RUNNING", desired: str = "RUNNING", **extra) -> dict:
    return {"taskDefinitionArn": definition, "lastStatus": last, "desiredStatus": desired, **extra}


def crashed(definition: str, exit_code: int = 1, deployment: str = "ecs-svc/new") -> dict:
    return task(
        definition,
        "STOPPED",
        "STOPPED",
        stopCode="EssentialContainerExited",
        containers=[{"name": "fleet", "exitCode": exit_code}],
        startedBy=deployment,
    )


def service(definition: str, *deployments: dict) -> dict:
    return {"taskDefinition": definition, "deployments": list(deployments)}


PRIMARY = {"id": "ecs-svc/new", "status": "PRIMARY", "taskDefinition": NEW, "failedTasks": 0}
REPLACED = {"id": "ecs-svc/old", "status": "ACTIVE", "taskDefinition": OLD, "failedTasks": 0}


def test_the_running_tasks_revision_serves():
    assert serving.serving_task_definition(service(OLD), [task(OLD), task(OLD)]) == OLD


def test_in_a_rollout_whose_new_tasks_crash_the_old_revision_serves():
    # GIVEN Fleet's Terraform moved the service to the new revision, whose tasks exit 1 (missing migrations)
    tasks = [task(OLD), task(OLD), task(NEW), crashed(NEW)]  # one new task is up for a moment before it exits

    assert serving.serving_task_definition(service(NEW, PRIMARY, REPLACED), tasks) == OLD


def test_a_deployment_reporting_failed_tasks_does_not_serve():
    failing = {**PRIMARY, "failedTasks": 2}

    assert serving.serving_task_definition(service(NEW, failing, REPLACED), [task(OLD), task(NEW)]) == OLD


def test_in_a_rollout_whose_new_tasks_have_not_failed_yet_the_revision_it_replaces_served():
    assert serving.serving_task_definition(service(NEW, PRIMARY, REPLACED), [task(OLD), task(OLD), task(NEW)]) == OLD


def test_when_the_new_tasks_replaced_the_old_ones_and_then_crashed_the_replaced_revision_served():
    # GIVEN a service with no load balancer: ECS stopped its old task once a new one was RUNNING, which then exited,
    # and the deployment it replaced is gone with its last task
    stopped = task(
        OLD, "STOPPED", "STOPPED", stopCode="ServiceSchedulerInitiated", startedAt=datetime(2026, 1, 1, tzinfo=UTC)
    )
    tasks = [stopped, crashed(NEW), task(NEW)]

    assert serving.serving_task_definition(service(NEW, PRIMARY), tasks) == OLD


def test_a_first_deploy_whose_tasks_crash_has_no_serving_revision():
    assert serving.serving_task_definition(service(NEW, PRIMARY), [crashed(NEW), task(NEW)]) is None


def test_once_a_rollout_replaced_every_old_task_the_new_revision_serves():
    assert serving.serving_task_definition(service(NEW, PRIMARY), [task(NEW), task(NEW)]) == NEW


def test_nothing_serves_on_a_first_deploy_or_while_every_task_crashes():
    first_deploy = service(NEW, PRIMARY)

    assert serving.serving_task_definition(first_deploy, []) is None
    # a task of the crash loop is RUNNING for the moment before it exits too
    assert serving.serving_task_definition(first_deploy, [crashed(NEW), crashed(NEW), task(NEW)]) is None


def test_an_older_deployments_crashes_from_before_its_migration_are_not_held_against_it():
    # GIVEN revision 2's first tasks crashed while its migration was missing; the migration ran and revision 2's
    # tasks have served since; now revision 3 rolls out and crashes (ECS still lists revision 2's stopped tasks)
    rev2, rev3 = NEW, NEW.replace(":2", ":3")
    serving_deployment = {"id": "ecs-svc/rev2", "status": "ACTIVE", "taskDefinition": rev2, "failedTasks": 0}
    rolling_out = {"id": "ecs-svc/rev3", "status": "PRIMARY", "taskDefinition": rev3, "failedTasks": 0}
    tasks = [task(rev2), task(rev2), crashed(rev2, deployment="ecs-svc/rev2"), crashed(rev3, deployment="ecs-svc/rev3")]

    assert serving.serving_task_definition(service(rev3, rolling_out, serving_deployment), tasks) == rev2


def test_a_task_being_stopped_does_not_serve():
    assert serving.serving_task_definition(service(NEW), [task(OLD, "RUNNING", "STOPPED")]) is None


def test_a_task_stopped_by_the_scheduler_is_not_a_failure():
    scaled_in = task(
        OLD, "STOPPED", "STOPPED", stopCode="ServiceSchedulerInitiated", containers=[{"name": "fleet", "exitCode": 137}]
    )

    assert serving.has_failed(scaled_in) is False
    assert serving.serving_task_definition(service(OLD), [task(OLD), scaled_in]) == OLD


def test_a_task_that_failed_to_start_is_a_failure():
    assert serving.has_failed(task(NEW, "STOPPED", "STOPPED", stopCode="TaskFailedToStart"))


def test_revision_names_read_as_family_colon_revision():
    assert serving.revision_name(OLD) == "fleet:1"
    assert serving.revision_name(None) is None


def test_only_tasks_created_since_the_scale_up_count_as_crashes():
    before, after = datetime(2026, 1, 1, 12, 0, tzinfo=UTC), datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
    since = datetime(2026, 1, 1, 12, 1, tzinfo=UTC).timestamp()
    old_crash, new_crash = crashed(NEW) | {"createdAt": before}, crashed(NEW) | {"createdAt": after}

    assert serving.crashed_since([old_crash, new_crash], since) == [new_crash]


def test_a_task_created_in_the_millisecond_of_the_scale_up_counts_though_ecs_reports_no_finer_time():
    # GIVEN the scale-up began 0.4 ms into a millisecond, and ECS created the task 0.2 ms later
    since = datetime(2026, 1, 1, 12, 1, 0, 400, tzinfo=UTC).timestamp()
    # WHEN ECS reports its creation time, truncated to the millisecond
    reported = crashed(NEW) | {"createdAt": datetime(2026, 1, 1, 12, 1, tzinfo=UTC)}

    # THEN it is a crash since the scale-up
    assert serving.crashed_since([reported], since) == [reported]


def test_a_task_ip_is_its_network_interfaces_private_address():
    described = {
        "attachments": [
            {
                "type": "ElasticNetworkInterface",
                "details": [
                    {"name": "subnetId", "value": "subnet-1"},
                    {"name": "privateIPv4Address", "value": "10.10.1.7"},
                ],
            }
        ]
    }

    assert serving.task_ip(described) == "10.10.1.7"
    assert serving.task_ip({}) is None


def test_a_task_the_scheduler_replaced_is_not_counted_against_stability_but_one_failing_health_checks_is():
    since = datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()
    later = datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    described = {"desiredCount": 1, "taskDefinition": NEW, "loadBalancers": []}
    replaced = task(
        OLD,
        "STOPPED",
        "STOPPED",
        stopCode="ServiceSchedulerInitiated",
        createdAt=later,
        stoppedReason="Task replaced by deployment ecs-svc/2",
    )
    unhealthy = task(
        NEW,
        "STOPPED",
        "STOPPED",
        stopCode="ServiceSchedulerInitiated",
        createdAt=later,
        stoppedReason="Task failed ELB health checks in (target-group fleet)",
    )

    assert serving.not_yet_serving(described, [task(NEW), replaced], 1, since, set()) == []
    assert serving.not_yet_serving(described, [task(NEW), unhealthy], 1, since, set()) == [
        "1 task(s) started since the scale-up stopped"
    ]


# -- which target a task is in its service's target groups -------------------------------------------------------

BALANCER = {"targetGroupArn": "arn:aws:elasticloadbalancing:tg/fleet", "containerName": "fleet", "containerPort": 8080}
INSTANCE_ARN = "arn:aws:ecs:us-east-1:123456789012:container-instance/fleet/0a1b"
INSTANCES = {INSTANCE_ARN: "i-0123456789abcdef0"}


def bridge_task(host_port: int | None, container: str = "fleet", container_port: int = 8080) -> dict:
    bindings = [] if host_port is None else [{"containerPort": container_port, "hostPort": host_port}]
    return task(NEW, containerInstanceArn=INSTANCE_ARN, containers=[{"name": container, "networkBindings": bindings}])


def test_an_awsvpc_tasks_target_is_its_address_on_the_container_port():
    awsvpc = task(
        NEW,
        containerInstanceArn=INSTANCE_ARN,  # awsvpc on EC2: the interface, not the instance, is the target
        attachments=[
            {"type": "ElasticNetworkInterface", "details": [{"name": "privateIPv4Address", "value": "10.0.1.7"}]}
        ],
    )

    assert serving.task_target(awsvpc, BALANCER, INSTANCES) == ("10.0.1.7", 8080)


def test_a_bridge_tasks_target_is_its_instance_and_the_host_port_bound_to_the_container_port():
    assert serving.task_target(bridge_task(32771), BALANCER, INSTANCES) == ("i-0123456789abcdef0", 32771)


def test_two_bridge_tasks_on_one_instance_are_two_targets():
    first, second = bridge_task(32768), bridge_task(32769)

    assert serving.task_target(first, BALANCER, INSTANCES) != serving.task_target(second, BALANCER, INSTANCES)


def test_a_bridge_task_has_no_target_before_its_port_is_bound_nor_for_another_container_or_port():
    assert serving.task_target(bridge_task(None), BALANCER, INSTANCES) is None
    assert serving.task_target(bridge_task(32768, container="sidecar"), BALANCER, INSTANCES) is None
    assert serving.task_target(bridge_task(32768, container_port=9090), BALANCER, INSTANCES) is None


def test_a_bridge_task_on_an_instance_not_described_has_no_target():
    assert serving.task_target(bridge_task(32768), BALANCER, {}) is None


def test_the_services_tasks_count_healthy_by_their_instance_targets(emu):
    # GIVEN Fleet on EC2 with bridge networking: both tasks on one container instance, two ports
    fleet = emu.seed_fleet(network_mode="bridge")
    ecs = emu.client("ecs")
    (described,) = ecs.describe_services(cluster=fleet.cluster, services=[fleet.service])["services"]
    arns = ecs.list_tasks(cluster=fleet.cluster, serviceName=fleet.service)["taskArns"]
    tasks = ecs.describe_tasks(cluster=fleet.cluster, tasks=arns)["tasks"]

    # THEN they serve: each is healthy as (instance id, host port)
    assert serving.not_yet_serving(described, tasks, 2, 0.0, set()) == []
    # AND a task stopping (draining) is no longer counted
    ecs.stop_task(cluster=fleet.cluster, task=arns[0])
    assert serving.not_yet_serving(described, tasks, 2, 0.0, set()) == [
        f"1 of 2 healthy in target group {fleet.target_group_arn.rsplit(':', 1)[-1]}"
    ]
