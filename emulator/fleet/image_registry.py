"""Container registries as ECS sees them when a task starts: a tag names whatever was pushed last.

A task resolves each container's image reference when it starts and keeps that manifest digest for its life;
DescribeTasks reports it as ``containers[].imageDigest`` (Container, Amazon ECS API Reference: "The container
image manifest digest"). A tag pushed again later (``latest``, ``main``, a re-pushed release tag) names another
image from then on, for the tasks that start afterwards only.

Fleet's releases are the catalogue's (emulator/fleet/database.py): each has one digest, whichever registry serves
it (Docker Hub, quay.io, an ECR pull-through cache: a copied image keeps its manifest digest). A mutable tag of
Fleet's repository that was never pushed names the oldest release a seeded revision runs (``image_for_revision(1)``),
so a test can push it again to a newer one (``push``), which Fleet's tasks then run as a newer binary.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable

from emulator.fleet.database import FLEET_IMAGES, FLEET_REPOSITORY

# Docker Hub's own host names: ``fleetdm/fleet`` and ``docker.io/fleetdm/fleet`` are one repository.
_DOCKER_HUB_HOSTS = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")
_RELEASE_TAG = re.compile(r"^v\d+\.\d+\.\d+$")


def split_reference(reference: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference; no tag and no digest means ``latest``."""
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:  # a colon before the last slash is a registry's port
        name, tag = name[:colon], name[colon + 1 :]
    for host in _DOCKER_HUB_HOSTS:
        if name.startswith(host):
            name = name[len(host) :]
    if tag is None and not digest:
        tag = "latest"
    return name, tag, digest or None


def _digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def release_digest(release: str) -> str:
    """The digest of a catalogue release (``fleetdm/fleet:v4.60.0``), the same in every registry."""
    return _digest_of(release)


_RELEASES = {release_digest(image): image for image in FLEET_IMAGES}


def is_fleet_repository(repository: str) -> bool:
    """Fleet's own repository, or a copy of it in another registry (quay.io/fleetdm/fleet, an ECR pull-through
    cache's ``<prefix>/fleetdm/fleet``)."""
    return repository == FLEET_REPOSITORY or repository.endswith("/" + FLEET_REPOSITORY)


class ImageRegistry:
    """What each tag names over the emulator's clock."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._pushes: dict[tuple[str, str], list[tuple[float, str]]] = {}
        self._lock = threading.Lock()

    def resolve(self, reference: str | None, at: float | None = None) -> str | None:
        """The manifest digest ``reference`` names at ``at`` (now by default); None for no reference."""
        if not reference:
            return None
        repository, tag, digest = split_reference(reference)
        if digest:
            return digest
        assert tag is not None
        moment = self._now() if at is None else at
        with self._lock:
            pushed = [d for when, d in self._pushes.get((repository, tag), []) if when <= moment]
        if pushed:
            return pushed[-1]
        if is_fleet_repository(repository):
            # a release tag names the same image in every registry; a mutable one the oldest seeded release
            return release_digest(f"{FLEET_REPOSITORY}:{tag}" if _RELEASE_TAG.match(tag) else FLEET_IMAGES[1])
        return _digest_of(f"{repository}:{tag}")

    def push(self, reference: str, release: str | None = None) -> str:
        """Push ``release`` (a catalogue image such as ``fleetdm/fleet:v4.60.0``) under ``reference`` from now on;
        with none, the Fleet release after the one ``reference`` names now: a newer binary, with newer migrations.
        Tasks already started keep the digest they resolved. Returns the digest pushed."""
        if release is None:
            current = self.release_of(self.resolve(reference))
            if current is None or FLEET_IMAGES.index(current) + 1 >= len(FLEET_IMAGES):
                raise ValueError(f"{reference} names no Fleet release with a newer one after it; pass release=")
            release = FLEET_IMAGES[FLEET_IMAGES.index(current) + 1]
        if release not in FLEET_IMAGES:
            raise ValueError(f"{release} is not a Fleet release of the catalogue: one of {', '.join(FLEET_IMAGES)}")
        repository, tag, digest = split_reference(reference)
        if digest or tag is None:
            raise ValueError(f"{reference} names a digest: only a tag can be pushed again")
        pushed = release_digest(release)
        with self._lock:
            self._pushes.setdefault((repository, tag), []).append((self._now(), pushed))
        return pushed

    @staticmethod
    def release_of(digest: str | None) -> str | None:
        """The Fleet release whose image has this digest (its binary), or None: not a Fleet image we know."""
        return _RELEASES.get(digest or "")

    def binary(self, reference: str | None, at: float | None = None) -> str | None:
        """The Fleet release ``reference`` runs at ``at`` (``reference`` itself when it is not one we know)."""
        return self.release_of(self.resolve(reference, at)) or reference
