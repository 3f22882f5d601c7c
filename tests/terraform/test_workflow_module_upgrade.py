"""The next Fleet upgrade after the drop-in deployed the workflow, through real Terraform and hashicorp/aws.

Fleet's example gives its migrations block ``depends_on = [module.fleet]``, and Terraform then defers every
data source inside the block (nested modules included) to apply time whenever module "fleet" has changes:
on every upgrade. A root module like Fleet's (a stand-in module "fleet" whose task definition revision,
like aws_ecs_task_definition's, is unknown until applied) applies revision 2, workflow and migration, then
plans revision 3: the plan must replace the migration's null_resource and change nothing else of the
drop-in, whether the cluster is given by ARN (as Fleet's example passes aws_ecs_service.cluster) or by name.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator, FleetDeployment, ServiceBehaviour, TaskOutcome
from workflow_module_support import DROP_IN, checked, provider_block, requires_aws_provider, run

# Real Terraform and the AWS provider: the slow lane (make test), never make test-fast.
pytestmark = [requires_aws_provider, pytest.mark.terraform, pytest.mark.xdist_group("workflow-module-upgrade")]

# What module.fleet.byo-vpc.byo-db.byo-ecs.task_definition.revision is in a plan that registers a new revision:
# unknown until applied (the stand-in's output is unknown whenever its input changes).
FLEET_STAND_IN = """variable "revision" {
  type = number
}

resource "terraform_data" "task_definition" {
  input = var.revision
}

output "revision" {
  value = terraform_data.task_definition.output
}
"""


def fleet_root(directory: Path, endpoint_url: str, fleet: FleetDeployment, cluster: str) -> None:
    (directory / "fleet").mkdir(parents=True)
    (directory / "fleet" / "main.tf").write_text(FLEET_STAND_IN)
    source = os.path.relpath(DROP_IN, directory)
    (directory / "main.tf").write_text(
        provider_block(endpoint_url)
        + f'''
variable "revision" {{
  type = number
}}

module "fleet" {{
  source   = "./fleet"
  revision = var.revision
}}

module "migrations" {{
  source                   = "{source}"
  ecs_cluster              = "{cluster}"
  task_definition          = "{fleet.task_definition}"
  task_definition_revision = module.fleet.revision
  subnets                  = {json.dumps(fleet.subnets)}
  security_groups          = {json.dumps(fleet.security_groups)}
  ecs_service              = "{fleet.service}"
  desired_count            = 2
  min_capacity             = 2
  max_capacity             = 10

  vuln_service          = "{fleet.vuln_service}"
  python                = "{sys.executable}"
  poll_interval_seconds = 1

  depends_on = [
    module.fleet,
  ]
}}
'''
    )


@dataclass
class Upgrade:
    applied: Any  # the first apply (revision 2)
    plan: dict[str, Any]  # `terraform show -json` of the plan for revision 3


def changed(plan: dict[str, Any], under: str) -> list[dict[str, Any]]:
    """The managed resources under a module address that the plan would change."""
    return [
        change
        for change in plan["resource_changes"]
        if change["address"].startswith(f"{under}.")
        and change["mode"] == "managed"
        and change["change"]["actions"] != ["no-op"]
    ]


def changes(plan: dict[str, Any], under: str) -> dict[str, list[str]]:
    """The managed resources under a module address that the plan would change, with their actions."""
    return {change["address"]: change["change"]["actions"] for change in changed(plan, under)}


def why(plan: dict[str, Any], under: str) -> dict[str, list[str]]:
    """Per changed resource, the attributes that differ or are unknown: what a failure shows."""
    found = {}
    for change in changed(plan, under):
        before, after = change["change"].get("before") or {}, change["change"].get("after") or {}
        unknown = change["change"].get("after_unknown") or {}
        found[change["address"]] = sorted(
            {key for key in {*before, *after} if before.get(key) != after.get(key)}
            | {k for k, v in unknown.items() if v}
        )
    return found


@pytest.fixture(scope="module", params=["cluster ARN", "cluster name"])
def upgrade(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgrade]:
    with Emulator(speed=5, server=True) as aws:
        aws.ecs_sim.default_service = ServiceBehaviour(start_seconds=0.2, stop_seconds=0.2)
        aws.ecs_sim.default_migration = TaskOutcome(start_seconds=0.1, run_seconds=0.3)
        fleet = aws.seed_fleet(revisions=3)
        cluster = fleet.cluster
        if request.param == "cluster ARN":
            cluster = aws.client("ecs").describe_clusters(clusters=[cluster])["clusters"][0]["clusterArn"]
        directory = tmp_path_factory.mktemp("fleet-upgrade")
        fleet_root(directory, aws.endpoint_url, fleet, cluster)

        def terraform(*args: str) -> Any:
            return checked(run(directory, *args, "-input=false", "-no-color", endpoint_url=aws.endpoint_url))

        checked(run(directory, "init", "-input=false", "-no-color", endpoint_url=aws.endpoint_url))
        applied = terraform("apply", "-auto-approve", "-var=revision=2")
        terraform("plan", "-var=revision=3", "-out=upgrade.tfplan")
        shown = checked(run(directory, "show", "-json", "upgrade.tfplan", endpoint_url=aws.endpoint_url))
        yield Upgrade(applied, json.loads(shown.stdout))


def test_the_first_apply_deploys_the_workflow_and_migrates(upgrade: Upgrade) -> None:
    assert "fleet-migration: SUCCEEDED" in upgrade.applied.stdout


def test_the_plan_of_the_next_revision_replaces_the_migration_and_nothing_else(upgrade: Upgrade) -> None:
    assert changes(upgrade.plan, "module.migrations") == {
        "module.migrations.null_resource.main": ["delete", "create"],
    }, why(upgrade.plan, "module.migrations")


def test_the_plan_of_the_next_revision_still_shows_the_fleet_upgrade(upgrade: Upgrade) -> None:
    # The stand-in does change: the quiet plan above is not a plan where module "fleet" had nothing to do.
    assert changes(upgrade.plan, "module.fleet") == {"module.fleet.terraform_data.task_definition": ["update"]}
