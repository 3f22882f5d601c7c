"""Snapshots that take time, on top of moto's RDS.

moto makes every snapshot "available" the moment it is created. In RDS a manual snapshot is
"creating" for minutes (its size decides), then "available", or "failed" (CreateDBSnapshot and
CreateDBClusterSnapshot return at once with Status "creating"; RDS User Guide, "Creating a DB snapshot"):
here each new snapshot, of a DB cluster or of a DB instance, follows a ``SnapshotOutcome`` on the
emulator's clock (how long it copies, whether it fails then; ``creating_seconds`` 0 with ``fails``: RDS
answers the create with a failed snapshot). ``status_at`` gives a snapshot's timeline.

moto checks CreateDBSnapshot's identifier but not CreateDBClusterSnapshot's; the emulator enforces
the documented rule for both (RDS API Reference, CreateDBClusterSnapshot: 1 to 63 letters, digits or
hyphens, the first a letter, no two consecutive hyphens, not ending in one; CreateDBSnapshot: 1 to 255).
It also refuses a snapshot of a cluster or instance that is not "available" (the same pages' errors
InvalidDBClusterStateFault and InvalidDBInstanceState), which moto allows; and, as the RDS API Reference
says of DescribeDBClusterSnapshots and DescribeDBSnapshots, the database's identifier "can't be used in
conjunction with" the snapshot's: a describe that names both is InvalidParameterCombination (moto answers it).
"""

from __future__ import annotations

import functools
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from moto.rds.exceptions import (
    InvalidDBClusterStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
)
from moto.rds.models import RDSBackend

from emulator.clock import Clock
from emulator.patching import Patches

_IDENTIFIER = {
    "cluster": re.compile(r"(?!.*--)[A-Za-z][A-Za-z0-9-]{0,62}(?<!-)"),
    "instance": re.compile(r"(?!.*--)[A-Za-z][A-Za-z0-9-]{0,254}(?<!-)"),
}


@dataclass
class SnapshotOutcome:
    """How the next snapshot behaves: seconds "creating", then "available" (or "failed")."""

    creating_seconds: float = 2.0
    fails: bool = False


@dataclass
class _SimSnapshot:
    snapshot: Any
    created: float
    outcome: SnapshotOutcome
    identifier: str = ""

    def status(self, at: float) -> tuple[str, int]:
        """(Status, PercentProgress) at a moment."""
        seconds = self.outcome.creating_seconds
        if at >= self.created + seconds:
            return ("failed", 0) if self.outcome.fails else ("available", 100)
        return "creating", int(100 * (at - self.created) / seconds) if seconds > 0 else 0


@dataclass
class RdsSimulator:
    clock: Clock
    default: SnapshotOutcome = field(default_factory=SnapshotOutcome)
    outcomes: deque[SnapshotOutcome] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: list[_SimSnapshot] = []
        # (clock time, call, snapshot identifier) of every snapshot created; read-only (tests, the benchmark)
        self.call_log: list[tuple[float, str, str]] = []

    def next_snapshot(self, outcome: SnapshotOutcome) -> None:
        self.outcomes.append(outcome)

    def status_at(self, identifier: str, at: float) -> str:
        """The status RDS gave (or gives) the snapshot ``identifier`` at clock time ``at``: the timeline a test
        compares with other calls' times (``call_log``, the ECS simulator's)."""
        with self._lock:
            sim = next(s for s in self._snapshots if s.identifier == identifier)
        return "none" if at < sim.created else sim.status(at)[0]

    def tick(self) -> None:
        """Write each snapshot's state at this moment into moto's objects, so moto's responses show it."""
        at = self.clock.now()
        with self._lock:
            for sim in self._snapshots:
                sim.snapshot.status, progress = sim.status(at)
                sim.snapshot.percent_progress = progress

    def _track(self, snapshot: Any, call: str, identifier: str) -> None:
        with self._lock:
            outcome = self.outcomes.popleft() if self.outcomes else self.default
            self._snapshots.append(_SimSnapshot(snapshot, self.clock.now(), outcome, identifier))
            self.call_log.append((self.clock.now(), call, identifier))
        self.tick()

    # -- the moto methods patched (_PATCHES), each given moto's original first ----------------------------------
    def install(self) -> Patches:
        """Snapshots take time and follow ``SnapshotOutcome``; the returned ``Patches`` puts moto's back on exit."""
        patches = Patches()
        for name, method, *bound in _PATCHES:
            patches.wrap(RDSBackend, name, functools.partial(getattr(self, method), *bound))
        return patches

    def _create_snapshot(
        self, call: str, kind: str, original: Any, backend: RDSBackend, *args: Any, **kwargs: Any
    ) -> Any:
        """CreateDBClusterSnapshot (``kind`` "cluster") or CreateDBSnapshot ("instance"): the identifier rule, the
        database's state, then a snapshot that takes time (``_track``)."""
        instance = kind == "instance"
        identifier = kwargs.get(("db_cluster_snapshot_identifier", "db_snapshot_identifier")[instance])
        if identifier is None:
            identifier = args[1]
        manual = kwargs.get("snapshot_type", args[2] if len(args) > 2 else "manual") == "manual"
        # automated snapshots are RDS's own, named "rds:<id>-<time>"
        if manual and not _IDENTIFIER[kind].fullmatch(identifier):
            raise InvalidParameterValue(
                f"The parameter {('DBClusterSnapshotIdentifier', 'DBSnapshotIdentifier')[instance]}"
                f" is not a valid identifier: {identifier}"
            )
        source = kwargs.get(("db_cluster_identifier", "db_instance_identifier")[instance], args[0] if args else None)
        database = (backend.databases if instance else backend.clusters).get(source)
        if manual and database is not None and database.status != "available":
            if not instance:
                raise InvalidDBClusterStateFault(f"DbCluster {source} is in {database.status} state, not available.")
            raise RDSClientError("InvalidDBInstanceState", f"DB instance {source} is {database.status}, not available.")
        snapshot = original(backend, *args, **kwargs)
        if manual:
            self._track(snapshot, call, identifier)
        return snapshot

    def _describe_snapshots(
        self, database: str, snapshot: str, original: Any, backend: RDSBackend, *args: Any, **kwargs: Any
    ) -> Any:
        """DescribeDBClusterSnapshots or DescribeDBSnapshots: not both identifiers ("can't be used in conjunction
        with"), and the snapshots' state at this moment of the clock."""
        # moto's signature: (database identifier, snapshot identifier, ...), by position or keyword
        named = [kwargs.get(key, args[i] if len(args) > i else None) for i, key in enumerate(_DESCRIBE_KEYS[snapshot])]
        if all(named):
            raise InvalidParameterCombination(
                f"{database} can't be used in conjunction with {snapshot}: give one of them"
            )
        self.tick()
        return original(backend, *args, **kwargs)


# moto's keyword arguments for the database and the snapshot identifiers of each describe call
_DESCRIBE_KEYS = {
    "DBClusterSnapshotIdentifier": ("db_cluster_identifier", "db_snapshot_identifier"),
    "DBSnapshotIdentifier": ("db_instance_identifier", "db_snapshot_identifier"),
}
# (RDSBackend method, RdsSimulator method, its leading arguments): what ``RdsSimulator.install`` patches.
_PATCHES = (
    ("create_db_cluster_snapshot", "_create_snapshot", "CreateDBClusterSnapshot", "cluster"),
    ("create_db_snapshot", "_create_snapshot", "CreateDBSnapshot", "instance"),
    ("describe_db_cluster_snapshots", "_describe_snapshots", "DBClusterIdentifier", "DBClusterSnapshotIdentifier"),
    ("describe_db_snapshots", "_describe_snapshots", "DBInstanceIdentifier", "DBSnapshotIdentifier"),
)
