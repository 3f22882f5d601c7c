"""docs/permissions.md's table of what each step may do is generated from template.yaml and must not drift."""

from __future__ import annotations

import sys

from template_support import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import permissions_doc  # noqa: E402


def test_the_permissions_table_matches_the_templates_statements() -> None:
    found = permissions_doc.current_block(permissions_doc.DOCUMENT.read_text())
    assert found is not None, "docs/permissions.md lost the markers of its 'What each step may do' table"
    assert found == permissions_doc.document_block(), (
        "docs/permissions.md's table is out of date: run .venv/bin/python tools/permissions_doc.py --write"
    )


def test_a_conditional_resource_reads_as_the_resource_and_its_condition() -> None:
    resource = {"Fn::If": ["HasTaskRole", {"Ref": "TaskRoleArn"}, {"Ref": "AWS::NoValue"}]}

    assert permissions_doc.words(resource) == "`${TaskRoleArn}` (if `HasTaskRole`)"


def test_the_stacks_own_partition_region_and_account_read_as_placeholders() -> None:
    arn = {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterName}"}

    assert permissions_doc.words(arn) == "`arn:<partition>:ecs:<region>:<account>:cluster/${ClusterName}`"
