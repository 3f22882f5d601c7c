"""Two workflows in one account: IAM role names are unique per account, not per region, so the same workflow
name deployed in a second region (or for a second Fleet) must not reuse a role name; and the module plans on
hashicorp/aws without a deprecation warning (the region is read as the aws_region data source's `id`, which
5.x and 6.x both have; `name` is deprecated in 6.x, `region` absent from 5.x).

Real Terraform and the real AWS provider plan two ``module "workflow"`` blocks, one per region, against the
embedded AWS (which answers the data sources).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from emulator import Emulator
from workflow_module_support import (
    WORKFLOW_MODULE,
    checked,
    module_resources,
    provider_block,
    requires_aws_provider,
    run,
)

pytestmark = requires_aws_provider
ROLE_NAME_LIMIT = 64  # IAM User Guide, "IAM and AWS STS quotas": role names
EXECUTION_ROLE = "arn:aws:iam::123456789012:role/fleet-execution"


def workflow(label: str, source: str, name: str, providers: str = "", service: str = "fleet") -> str:
    return f'''
module "{label}" {{
  source                  = "{source}"
  {providers}
  name                    = "{name}"
  service_name            = "{service}"
  task_execution_role_arn = "{EXECUTION_ROLE}"
  task_role_arn           = ""
}}
'''


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], str]]:
    """(the plan as JSON, what ``terraform plan`` printed) for a root with the same workflow name in two
    regions and a second Fleet's workflow in the first, whose name is as long as the module allows."""
    with Emulator(server=True) as aws:
        directory = tmp_path_factory.mktemp("two-workflows")
        source = os.path.relpath(WORKFLOW_MODULE, directory)
        long_name = "x" * 40
        (directory / "main.tf").write_text(
            provider_block(aws.endpoint_url, "us-east-1")
            + provider_block(aws.endpoint_url, "eu-west-1", alias="west")
            + workflow("east", source, "fleet-migration")
            + workflow("west", source, "fleet-migration", providers="providers = { aws = aws.west }")
            + workflow("second_fleet", source, long_name, service="fleet-staging")
        )
        endpoint = aws.endpoint_url or ""
        checked(run(directory, "init", "-input=false", "-no-color", endpoint_url=endpoint))
        plan = checked(run(directory, "plan", "-input=false", "-no-color", "-out=tfplan", endpoint_url=endpoint))
        shown = checked(run(directory, "show", "-json", "tfplan", endpoint_url=endpoint))
        yield json.loads(shown.stdout), plan.stdout + plan.stderr


def role_names(document: dict[str, Any], module: str) -> list[str]:
    return [
        resource.values["name"]
        for resource in module_resources(document, f"module.{module}")
        if resource.type == "aws_iam_role"
    ]


def test_the_same_workflow_in_two_regions_and_a_second_fleet_share_no_role_name(planned):
    document, _ = planned
    names = {module: role_names(document, module) for module in ("east", "west", "second_fleet")}

    # a role per function, and the state machine's: as many in each workflow
    assert len({len(found) for found in names.values()}) == 1 and len(names["east"]) > 5, names
    every = [name for found in names.values() for name in found]
    assert len(set(every)) == len(every), "two roles share a name"
    assert max(len(name) for name in every) <= ROLE_NAME_LIMIT
    assert all(re.fullmatch(r"[\w+=,.@-]+", name) for name in every)


def test_the_plan_warns_of_no_deprecated_attribute(planned):
    _, printed = planned

    assert "Warning" not in printed and "deprecated" not in printed.lower(), printed


def test_the_region_is_read_as_an_attribute_both_provider_majors_have():
    main = (WORKFLOW_MODULE / "main.tf").read_text()

    assert "data.aws_region.current.name" not in main and "data.aws_region.current.region" not in main
    assert "data.aws_region.current.id" in main


def test_versions_document_the_tested_provider_range():
    for versions in (WORKFLOW_MODULE / "versions.tf", WORKFLOW_MODULE.parents[1] / "versions.tf"):
        text = versions.read_text()
        assert "5.100.0" in text and "6.x" in text, versions
