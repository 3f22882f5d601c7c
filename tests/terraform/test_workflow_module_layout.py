"""terraform/modules/workflow keeps the standard module layout: every variable typed, described and,
where a wrong value is possible, validated; every input and output in its README; and the variables
are template.yaml's parameters."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from emulator.cloudformation import load_template
from tools import terraform
from workflow_module_support import WORKFLOW_MODULE

# template.yaml parameter -> module variable (the stack name is the module's `name`).
PARAMETERS = {
    "ClusterName": "cluster_name",
    "ServiceName": "service_name",
    "VulnServiceName": "vuln_service_name",
    "TaskDefinitionFamily": "task_definition_family",
    "VulnTaskDefinitionFamily": "vuln_task_definition_family",
    "TaskExecutionRoleArn": "task_execution_role_arn",
    "TaskRoleArn": "task_role_arn",
    "AllowedCommands": "allowed_commands",
    "EnableTrigger": "enable_trigger",
    "Subnets": "subnets",
    "SecurityGroups": "security_groups",
    "TriggerInputOverrides": "trigger_input_overrides",
    "TriggerPrincipalArns": "trigger_principal_arns",
    "AllowedImageRepositories": "allowed_image_repositories",
    "AlarmTopicArn": "alarm_topic_arn",
    "LogRetentionDays": "log_retention_days",
    "DbClusterIdentifier": "db_cluster_identifier",
    "DbInstanceIdentifier": "db_instance_identifier",
    "TaskLogGroupName": "task_log_group_name",
    "StateMachineName": "name",
    "LoadBalancerName": "load_balancer_name",
    "TargetGroupName": "target_group_name",
    "MaintenanceMessage": "maintenance_message",
    "ContainerName": "container_name",
    "MaxDesiredCount": "max_desired_count",
    "LogTailLines": "log_tail_lines",
    "StateMachineLogLevel": "state_machine_log_level",
    "StateMachineLogExecutionData": "state_machine_log_execution_data",
    "KmsKeyArn": "kms_key_arn",
}


def blocks(name: str, kind: str) -> dict[str, str]:
    """The text of each top-level ``<kind> "name" { ... }`` block of one file (terraform fmt keeps the layout)."""
    text = (WORKFLOW_MODULE / name).read_text()
    return {m.group(1): m.group(2) for m in re.finditer(rf'^{kind} "([^"]+)" {{\n(.*?)^}}', text, re.M | re.S)}


def strings(attribute: str, block: str) -> list[str]:
    """The values of ``attribute = "..."`` lines in a block, unescaped as Terraform reads them."""
    return [json.loads(f'"{m}"') for m in re.findall(rf'^\s*{attribute}\s*=\s*"((?:[^"\\]|\\.)*)"', block, re.M)]


VARIABLES = blocks("variables.tf", "variable")
# Where no value can be wrong: any bool, any tags.
NOTHING_TO_VALIDATE = {"tags"} | {
    name for name, block in VARIABLES.items() if re.search(r"^  type\s*=\s*bool$", block, re.M)
}


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_every_variable_is_typed_described_and_validated(name: str) -> None:
    variable = VARIABLES[name]

    assert re.search(r"^  type\s*=", variable, re.M) and len("".join(strings("description", variable))) > 20, name
    if name not in NOTHING_TO_VALIDATE:
        messages = strings("error_message", variable)
        assert messages and all(f"The {name} " in message for message in messages), name


def test_the_variables_are_the_template_parameters() -> None:
    assert sorted(load_template()["Parameters"]) == sorted(PARAMETERS)
    assert set(PARAMETERS.values()) <= set(VARIABLES)


def test_the_readme_documents_every_input_and_output() -> None:
    readme = (WORKFLOW_MODULE / "README.md").read_text()

    for name in [*VARIABLES, *blocks("outputs.tf", "output")]:
        assert re.search(rf"^\| `{name}` \|", readme, re.MULTILINE), f"{name} is not in a README table"


@pytest.mark.terraform
def test_terraform_fmt_leaves_the_module_as_it_is() -> None:
    result = subprocess.run(
        [*terraform.command(), "fmt", "-check", "-diff", "-no-color", str(WORKFLOW_MODULE)],
        env=terraform.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout
