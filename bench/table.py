"""Plain-text (or Markdown) tables, right-aligned numbers."""

from __future__ import annotations

from collections.abc import Sequence


def render(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    markdown: bool = False,
    notes: Sequence[str] = (),
) -> str:
    cells = [[str(h) for h in headers]] + [[_text(c) for c in row] for row in rows]
    if markdown:
        lines = [
            f"**{title}**",
            "",
            "| " + " | ".join(cells[0]) + " |",
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    else:
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

        def line(row: list[str]) -> str:
            return "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )

        lines = [title, line(cells[0]), "  ".join("-" * w for w in widths)] + [line(row) for row in cells[1:]]
    lines += [f"  {note}" for note in notes]
    return "\n".join(lines) + "\n"


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def seconds(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
