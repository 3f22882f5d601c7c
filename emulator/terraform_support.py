"""What the Terraform AWS provider needs of the embedded AWS that moto does not answer, beyond Step Functions.

``terraform apply`` of terraform/modules/workflow (hashicorp/aws 5.x) makes a few calls moto 5.2.5
lacks or answers unlike AWS; ``install()`` adds them to moto's backends, so they hold in-process and
in server mode alike, and returns the ``Patches`` that takes them away again. The Step Functions calls it
makes (ValidateStateMachineDefinition, ListStateMachineVersions) are answered in
emulator/stepfunctions/state_machines.py, with Step Functions' other rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.iam.models import AWSManagedPolicy, iam_backends

from emulator.patching import Patches

# The AWS managed policies SAM attaches to the functions and the state machine, which the module
# attaches too. Every AWS account has them; moto loads none unless asked to load all 1,500 (a third
# of a second per emulator).
MANAGED_POLICIES = ("AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess")


@cache
def _managed_policy_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    every = json.loads(aws_managed_policies_data)
    return {name: every[name] for name in MANAGED_POLICIES}


def add_managed_policies(account_id: str) -> None:
    """Give the emulated account the AWS managed policies the module attaches (``arn:aws:iam::aws:policy/...``)."""
    backend = iam_backends[account_id]["global"]
    for name, data in _managed_policy_data().items():
        policy = AWSManagedPolicy.from_data(name, account_id, "us-east-1", data)
        backend.managed_policies.setdefault(policy.arn, policy)


# -- A function's LoggingConfig ----------------------------------------------------------------------
# moto 5.2.5 neither keeps nor returns it, so every plan after the first saw the module's JSON logging as
# missing and updated every function. AWS keeps it and returns it from GetFunction: "By default, Lambda
# functions send logs to a default log group named /aws/lambda/<function name>" (Lambda API Reference,
# LoggingConfig), in Text format unless JSON is chosen, and for JSON the application and system log levels
# are INFO unless set ("Configuring advanced logging controls for Lambda functions", Lambda Developer Guide).


def logging_config(function_name: str, given: dict[str, Any] | None) -> dict[str, str]:
    """The LoggingConfig AWS reports for a function created or updated with ``given``."""
    config = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}", **(given or {})}
    if config["LogFormat"] == "JSON":
        config = {"ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", **config}
    else:  # log levels apply to JSON logs only
        config.pop("ApplicationLogLevel", None)
        config.pop("SystemLogLevel", None)
    return config


def _init_function(original: Callable[..., None], function: LambdaFunction, *args: Any, **kwargs: Any) -> None:
    original(function, *args, **kwargs)
    spec = kwargs.get("spec", args[1] if len(args) > 1 else {})
    function.logging_config = logging_config(function.function_name, spec.get("LoggingConfig"))


def _function_configuration(
    original: Callable[..., dict[str, Any]], function: LambdaFunction, *args: Any, **kwargs: Any
) -> dict[str, Any]:
    configuration = original(function, *args, **kwargs)
    configuration["LoggingConfig"] = getattr(function, "logging_config", logging_config(function.function_name, None))
    return configuration


def _update_function_configuration(
    original: Callable[..., dict[str, Any]], function: LambdaFunction, updates: dict[str, Any]
) -> dict[str, Any]:
    if "LoggingConfig" in updates:
        function.logging_config = logging_config(function.function_name, updates["LoggingConfig"])
    return original(function, updates)


def install(account_id: str) -> Patches:
    """Answer the provider's calls in moto's Lambda functions and IAM backend; the ``Patches`` undoes them."""
    patches = Patches()
    patches.wrap(LambdaFunction, "__init__", _init_function)
    patches.wrap(LambdaFunction, "get_configuration", _function_configuration)
    patches.wrap(LambdaFunction, "update_configuration", _update_function_configuration)
    add_managed_policies(account_id)
    return patches
