"""samconfig.toml's comments send the reader to documents: each one exists, and so does the section it names."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_document_samconfig_points_at_exists_with_the_section_it_names() -> None:
    comments = " ".join(
        line.lstrip("# ") for line in (ROOT / "samconfig.toml").read_text().splitlines() if line.startswith("#")
    )
    pointers = re.findall(r"([\w./-]+\.md)(?:,? \(?\"([^\"]+)\")?", comments)

    assert pointers
    for path, section in pointers:
        document = ROOT / path
        assert document.is_file(), path
        if section:
            headings = [line.lstrip("# ").strip() for line in document.read_text().splitlines() if line.startswith("#")]
            assert section in headings, (path, section)
