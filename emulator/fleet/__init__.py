"""Fleet's world: the deployment seeded as fleetdm/fleet's Terraform builds it, and Fleet itself.

- seeding.py: ``seed_fleet``, from a typed ``FleetSpec`` (network, roles, cluster, revisions, services,
  autoscaling, load balancer, databases) applied one small function per part.
- deployment.py: ``FleetDeployment``, what a test drives once seeded.
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
)
from emulator.fleet.seeding import FleetSpec, fleet_spec, seed, seed_fleet

__all__ = [
    "DROP",
    "EC2_CAPACITY_PROVIDER",
    "SEEDED_SUSPENDED_STATE",
    "FleetDeployment",
    "FleetSpec",
    "fleet_spec",
    "seed",
    "image_for_revision",
    "register_vuln_revision",
    "seed_fleet",
]
