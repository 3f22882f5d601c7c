"""The emulator parses each definition once and shares it: executions still keep their own state."""

from __future__ import annotations

from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from emulator import Emulator

RUN_TASK_RETRY_ATTEMPTS = 3  # the Lambda.* retrier of "Run the migration task" (statemachine/migration.asl.json)


def test_a_definition_is_parsed_once_and_every_component_has_its_heap_key_before_it_is_shared(aws: Emulator):
    definition = aws.client("stepfunctions").describe_state_machine(stateMachineArn=aws.state_machine_arn)["definition"]

    program, _ = AmazonStateLanguageParser.parse(definition)

    assert AmazonStateLanguageParser.parse(definition)[0] is program
    states = program.states.states
    assert states and all(vars(state).get(f"_{EvalComponent.__name__}__heap_key") for state in states.values())


def test_each_execution_of_a_shared_definition_gets_every_retry_attempt_of_its_own(aws: Emulator, fast_input):
    for name in ("fleet-fleet-r2", "fleet-fleet-r2-again"):
        # as many throttled invocations as the retrier allows: one more attempt each would fail the execution
        aws.faults.inject(
            "lambda",
            "Invoke",
            code="TooManyRequestsException",
            times=RUN_TASK_RETRY_ATTEMPTS,
            when=lambda call: call.params["FunctionName"] == "RunTaskFunction",
        )

        run = aws.run(fast_input(), name=name)

        assert run.status == "SUCCEEDED", (run.error, run.cause)
