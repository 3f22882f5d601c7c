"""Which image references name one image for good, and which Fleet configuration makes serving tasks prove nothing."""

from __future__ import annotations

import pytest

from fleet_migration import skip


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        ("fleetdm/fleet:v4.81.0", "a version tag"),
        ("fleetdm/fleet:4.81.0", "a version tag"),
        ("quay.io/fleetdm/fleet:v4.81.0", "a version tag"),
        ("registry.example.com:5000/fleetdm/fleet:v4.81.0", "a version tag"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/fleetdm/fleet:v4.81.0", "a version tag"),
        ("fleetdm/fleet@sha256:" + "a" * 64, "pinned by digest"),
        ("fleetdm/fleet:latest@sha256:" + "a" * 64, "pinned by digest"),
    ],
)
def test_a_digest_or_a_version_tag_names_one_image_for_good(reference, why):
    assert skip.immutability(reference) == why


@pytest.mark.parametrize(
    "reference",
    [
        "fleetdm/fleet",
        "fleetdm/fleet:latest",
        "fleetdm/fleet:main",
        "fleetdm/fleet:dev",
        "fleetdm/fleet:feature-branch",
        "fleetdm/fleet:4.81",
        "fleetdm/fleet:v4.81.0-rc.1",
        "registry.example.com:5000/fleetdm/fleet",
    ],
)
def test_other_tags_may_be_pushed_again(reference):
    assert skip.immutability(reference) is None


@pytest.mark.parametrize("value", ["true", "1", "t", "TRUE", "yes"])
def test_fleet_allowed_to_serve_on_missing_migrations_proves_nothing(value):
    container = {"environment": [{"name": "FLEET_UPGRADES_ALLOW_MISSING_MIGRATIONS", "value": value}]}
    assert skip.allows_missing_migrations(container)


@pytest.mark.parametrize("value", ["", "0", "false", "False", "f"])
def test_a_false_allow_missing_migrations_is_not_set(value):
    container = {"environment": [{"name": "FLEET_UPGRADES_ALLOW_MISSING_MIGRATIONS", "value": value}]}
    assert not skip.allows_missing_migrations(container)


def test_allow_missing_migrations_from_a_secret_counts_as_set_since_its_value_cannot_be_read():
    container = {"secrets": [{"name": "FLEET_UPGRADES_ALLOW_MISSING_MIGRATIONS", "valueFrom": "arn:aws:ssm:x"}]}
    assert skip.allows_missing_migrations(container)


def test_the_fleet_container_of_a_revision_of_another_family_is_its_first():
    vuln = {"containerDefinitions": [{"name": "fleet-vuln-processing"}, {"name": "sidecar"}]}
    fleet = {"containerDefinitions": [{"name": "sidecar"}, {"name": "fleet"}]}

    assert skip.fleet_container(vuln, "fleet") == {"name": "fleet-vuln-processing"}
    assert skip.fleet_container(fleet, "fleet") == {"name": "fleet"}
