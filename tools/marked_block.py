"""A generated block of a document, between two marker comments: found, compared and rewritten the same way by
every tool that generates one (the state machine diagram, the step map, the permissions table)."""

from __future__ import annotations

import sys
from pathlib import Path


def between(text: str, begin: str, end: str) -> str | None:
    """The block, markers included, or None when the markers are missing or out of order."""
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        return None
    return text[start : stop + len(end)]


def check_or_write(document: Path, begin: str, end: str, wanted: str, *, what: str, tool: str, write: bool) -> int:
    """Compare the document's block with ``wanted`` (exit status 1 when it differs), or rewrite it."""
    text = document.read_text()
    name = f"{document.parent.name}/{document.name}"
    current = between(text, begin, end)
    if current is None:
        print(f"{name} has no {what} markers; add {begin!r} and {end!r} where it goes", file=sys.stderr)
        return 1
    if not write:
        if current != wanted:
            print(f"{name}'s {what} is out of date: run python tools/{tool} --write", file=sys.stderr)
            return 1
        print(f"{name}'s {what} is up to date")
        return 0
    if current != wanted:
        document.write_text(text.replace(current, wanted))
        print(f"{name}'s {what} rewritten")
    return 0
