"""Fleet's world: the deployment seeded as fleetdm/fleet's Terraform builds it, and Fleet itself.

- deployment.py: ``FleetDeployment`` and ``seed_fleet``.
- database.py: Fleet's schema and its ordered migrations; process.py: what ``fleet serve`` and
  ``fleet prepare db`` do with it.
- load_balancer.py: the Application Load Balancer fleet-terraform puts in front of Fleet.
- image_registry.py: what Fleet's image tags name as tasks start.
"""

from emulator.fleet.deployment import (
    DROP,
    EC2_CAPACITY_PROVIDER,
    SEEDED_SUSPENDED_STATE,
    FleetDeployment,
    image_for_revision,
    register_vuln_revision,
    seed_fleet,
)

__all__ = [
    "DROP",
    "EC2_CAPACITY_PROVIDER",
    "SEEDED_SUSPENDED_STATE",
    "FleetDeployment",
    "image_for_revision",
    "register_vuln_revision",
    "seed_fleet",
]
