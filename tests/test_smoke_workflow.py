"""The whole workflow on the embedded AWS: one success, one failing migration."""


def test_successful_migration_restores_the_services_and_reports_the_task(aws, fleet, fast_input):
    before = aws.service_state("fleet", "fleet")

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "SUCCEEDED", run.cause
    assert run.output["exit_code"] == 0
    assert run.output["task_arn"].startswith("arn:aws:ecs:")
    assert "Run the migration task" in run.states_entered
    assert aws.service_state("fleet", "fleet") == before


def test_failing_migration_fails_with_the_exit_code_and_rolls_back(aws, fleet, fast_input):
    before = aws.service_state("fleet", "fleet")
    aws.next_migration(exit_code=3)

    run = aws.run(fast_input(), name="fleet-fleet-r2")

    assert run.status == "FAILED"
    assert run.error == "MigrationFailed"
    assert run.cause["exit_code"] == 3
    assert run.cause["rolled_back"] is True
    assert aws.service_state("fleet", "fleet") == before
