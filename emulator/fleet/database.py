"""Fleet's database as Fleet's own binaries see it: a schema level, and what each image's binary expects.

Fleet's rules (fleetdm/fleet, cmd/fleet/serve.go and cmd/fleet/prepare.go, via server/datastore/mysql's
MigrationStatus):
- ``fleet serve`` checks the schema as it starts. When the database lacks migrations its binary knows
  (``SomeMigrationsCompleted``/``NoMigrationsCompleted``) it prints a banner naming them and saying to run
  ``fleet prepare db``, and exits 1 (unless ``upgrades.allow_missing_migrations``). When the database has
  migrations the binary does not know (``UnknownMigrations``: an older binary after an upgrade) it warns and
  serves (it refuses only in dev mode).
- ``fleet prepare db`` applies the missing migrations one by one, in order, and prints "Migrations
  completed."; with nothing missing it prints "Migrations already completed. Nothing to do."; a migration that
  fails leaves those before it applied, and the command exits 1.
- Fleet's fork of goose (server/goose/migration.go) runs each migration in its own transaction and, with
  ``--no-prompt``, prints one line per migration through Go's standard logger, *before* running it:
  ``2024/11/20 10:00:00 [2024-11-10] Add Team Identifier ...`` (the date of the version's first 8 digits, the
  file's name with spaces put between its words). A migration that fails ends the run with
  ``log.Fatalf("FAIL %s (%v), quitting migration.")`` (exit 1): the migrations printed before it are
  committed, the one printed last is not.

Fleet numbers migrations by timestamp and applies them in order, so a level (how many are applied) says
which. The catalogue below maps image tags to the migrations their binary knows; an image it does not know is
not Fleet as far as the emulator can tell, and nothing checks it. The versions are Fleet's own (server/datastore/
mysql/migrations/tables); the words after each version are ours, written from what the migration does, since
only the printed format matters to a reader of the lines (the index we read has no file for 20250310124014).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Each release's new table migrations, in release order (the timestamps are of the shape Fleet uses).
_RELEASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("v4.57.0", ("20240829165448", "20240829165605", "20240829165715")),
    ("v4.58.0", ("20240905105135", "20240905140514", "20240905200000", "20241002104104")),
    ("v4.59.0", ("20241110152839", "20241116233322", "20241121111624")),
    ("v4.60.0", ("20241209164540", "20241210140021", "20241219180042")),
    ("v4.61.0", ("20250109150150", "20250121094045", "20250124194347")),
    ("v4.62.0", ("20250127162751", "20250213104005", "20250214205657")),
    ("v4.63.0", ("20250226000000", "20250226153445", "20250304162702")),
    ("v4.64.0", ("20250310124014", "20250318165922", "20250320132525")),
)
# version -> the rest of its file name (``<version>_<Name>.go``)
NAMES: dict[str, str] = {
    "20240829165448": "AddABMTokensTable",
    "20240829165605": "AddVPPTokensTable",
    "20240829165715": "AddUniqueTeamToVPPTokens",
    "20240905105135": "AddAutoIncrementToMDMProfiles",
    "20240905140514": "AddURLToSoftwareInstallers",
    "20240905200000": "AddUninstallToSoftwareInstallers",
    "20241002104104": "UpdateUninstallScriptForPkg",
    "20241110152839": "AddTeamIdentifierToHostSoftwareInstalledPaths",
    "20241116233322": "AddSlotKeyToHostDiskEncryptionKeys",
    "20241121111624": "AddPKICertificatesTable",
    "20241209164540": "AddSecretVariablesTable",
    "20241210140021": "AddErrorsToCronStats",
    "20241219180042": "LengthenSoftwareInstallerURL",
    "20250109150150": "QuitAppsInMaintainedAppInstallScripts",
    "20250121094045": "AddHostDiskEncryptionKeysArchive",
    "20250124194347": "AddUniqueIdentifierToSoftwareTitles",
    "20250127162751": "AddUpcomingActivitiesTable",
    "20250213104005": "AddAndroidEnterprisesTable",
    "20250214205657": "AddIndexToSoftwareCVE",
    "20250226000000": "AddHostCertificatesTable",
    "20250226153445": "AddUsersDeletedTable",
    "20250304162702": "AddCAConfigAssetsTable",
    "20250310124014": "Migration",
    "20250318165922": "AddChecksumToWindowsProfiles",
    "20250320132525": "AddAuthorIDToLabels",
}
FLEET_REPOSITORY = "fleetdm/fleet"
# Every migration the newest binary knows, in the order Fleet applies them.
MIGRATIONS: tuple[str, ...] = tuple(m for _, ms in _RELEASES for m in ms)
# image -> how many migrations its binary knows
CATALOGUE: dict[str, int] = {}
_known = 0
for _tag, _migrations in _RELEASES:
    _known += len(_migrations)
    CATALOGUE[f"{FLEET_REPOSITORY}:{_tag}"] = _known
FLEET_IMAGES: tuple[str, ...] = tuple(CATALOGUE)

_BANNER = "#" * 80


def missing_migrations_banner(missing: list[str]) -> list[str]:
    """What ``fleet serve`` prints before exiting 1 on a database that lacks migrations (serve.go, word for word;
    ``fleet`` is its ``os.Args[0]`` as the image's command runs it)."""
    return [
        _BANNER,
        "# WARNING:",
        "#   Your Fleet database is missing required migrations. This is likely to cause",
        "#   errors in Fleet.",
        "#",
        f"#   Missing migrations: tables=[{' '.join(missing)}], data=[].",
        "#",
        "#   Run `fleet prepare db` to perform migrations.",
        "#",
        "#   To run the server without performing migrations:",
        "#     - Set environment variable FLEET_UPGRADES_ALLOW_MISSING_MIGRATIONS=1, or,",
        "#     - Set config updates.allow_missing_migrations to true, or,",
        "#     - Use command line argument --upgrades_allow_missing_migrations=true",
        _BANNER,
    ]


def unknown_migrations_banner(unknown: list[str]) -> list[str]:
    """What an older ``fleet serve`` prints on a database with migrations it does not know, before serving anyway
    (serve.go, word for word; only dev mode exits)."""
    return [
        _BANNER,
        "# WARNING:",
        "#   Your Fleet database has unrecognized migrations. This could happen when",
        "#   running an older version of Fleet on a newer migrated database.",
        "#",
        f"#   Unknown migrations: tables=[{' '.join(unknown)}], data=[].",
        _BANNER,
    ]


def file_name(version: str) -> str:
    """The migration's Go file, as goose's FAIL line names it."""
    return f"{version}_{NAMES.get(version, 'Migration')}.go"


def _logged(at: float, text: str) -> str:
    """A line of Go's standard logger (flags LstdFlags: local time, UTC in Fleet's container)."""
    return time.strftime("%Y/%m/%d %H:%M:%S ", time.gmtime(at)) + text


def goose_line(version: str, at: float) -> str:
    """What Fleet's goose prints as it starts a migration: ``[<date>] <Name With Spaces>`` (parseNameAndDate)."""
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", NAMES.get(version, "Migration"))
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name)
    return _logged(at, f"[{version[:4]}-{version[4:6]}-{version[6:8]}] {name}")


def goose_failure(version: str, error: str, at: float) -> str:
    """goose's last words when a migration fails (log.Fatalf, exit 1)."""
    return _logged(at, f"FAIL {file_name(version)} ({error}), quitting migration.")


def level_of(image: str | None) -> int | None:
    """How many migrations the binary in ``image`` knows; None when the image is not a Fleet release we know."""
    return CATALOGUE.get(image or "")


@dataclass
class _Step:
    """The schema reaches ``level`` at ``at``, if the task applying it still runs then."""

    at: float
    level: int
    alive: Callable[[float], bool]


class FleetDatabase:
    """One Fleet database: its schema level over the emulator's clock.

    Migration tasks schedule their steps ahead (each applied as its line prints); a step counts once the clock
    passes it and only if the task was still alive then, so a migration stopped mid-way leaves the schema
    mid-way, as MySQL does with Fleet's one-transaction-per-migration runs.
    """

    def __init__(self, now: Callable[[], float], level: int = 0) -> None:
        self._now = now
        self._base = level
        self._steps: list[_Step] = []
        self._lock = threading.Lock()

    def level_at(self, at: float) -> int:
        with self._lock:
            reached = [s.level for s in self._steps if s.at <= at and s.alive(s.at)]
        return max([self._base, *reached])

    @property
    def level(self) -> int:
        """How many migrations are applied now."""
        return self.level_at(self._now())

    @staticmethod
    def level_of(image: str | None) -> int | None:
        return level_of(image)

    def reset(self, level: int) -> None:
        """The database as seeded: ``level`` migrations applied, nothing scheduled."""
        with self._lock:
            self._base, self._steps = level, []

    def unknown_to(self, image: str | None, at: float | None = None) -> list[str]:
        """The migrations applied that ``image``'s binary does not know (an older Fleet on a newer schema)."""
        known = level_of(image)
        if known is None:
            return []
        return list(MIGRATIONS[known : self.level_at(self._now() if at is None else at)])

    def missing_for(self, image: str | None, at: float | None = None) -> list[str]:
        """The migrations ``image``'s binary knows that the schema lacks (none for an image that is not Fleet)."""
        known = level_of(image)
        if known is None:
            return []
        return list(MIGRATIONS[self.level_at(self._now() if at is None else at) : known])

    def schedule(self, at: float, level: int, alive: Callable[[float], bool]) -> None:
        """A migration task applies migrations up to ``level`` at ``at`` (if it still runs then)."""
        with self._lock:
            self._steps.append(_Step(at, level, alive))
