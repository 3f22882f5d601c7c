"""``aws.pages`` follows ``nextToken`` the way botocore's paginators do, without loading their models."""

from __future__ import annotations

from fleet_migration.aws import pages


def test_pages_follows_next_token_until_the_last_page():
    # GIVEN a listing of three pages
    answers = {
        None: {"taskArns": ["a"], "nextToken": "t1"},
        "t1": {"taskArns": ["b"], "nextToken": "t2"},
        "t2": {"taskArns": ["c"]},
    }
    calls = []

    def list_tasks(**kwargs):
        calls.append(kwargs)
        return answers[kwargs.get("nextToken")]

    # WHEN every page is read
    found = [arn for page in pages(list_tasks, cluster="fleet") for arn in page["taskArns"]]

    # THEN each call carries the arguments and the previous page's token
    assert found == ["a", "b", "c"]
    assert calls == [
        {"cluster": "fleet"},
        {"cluster": "fleet", "nextToken": "t1"},
        {"cluster": "fleet", "nextToken": "t2"},
    ]
