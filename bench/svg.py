"""Draw a recorded outage timeline (bench/timeline.py ``record``, saved as JSON by ``--only outage``) as an SVG.

The SVG is a pure function of the JSON, so docs/performance/ keeps both and a test draws each committed JSON
again and compares (a change to this file shows as drift without running the benchmark again):

    .venv/bin/python -m bench.svg --write   # draw docs/performance/outage-*.svg again from their JSON
    .venv/bin/python -m bench.svg --check   # exit 1 if a committed SVG is not what its JSON draws
"""

from __future__ import annotations

import argparse
import json
import sys
from html import escape
from pathlib import Path
from typing import Any

FIGURES = Path(__file__).resolve().parent.parent / "docs" / "performance"
WIDTH, LEFT, RIGHT = 920, 170, 20
ROW, BAR = 22, 14
COLOURS = {
    "fleet": "#4caf50",
    "page": "#ffb300",
    "no target": "#e53935",
    "healthy": "#1e88e5",
    "drain": "#8d6e63",
    "snapshot": "#7e57c2",
    "task start": "#90a4ae",
    "migration": "#546e7a",
    "start + checks": "#26a69a",
    "workflow": "#bdbdbd",
}
ANSWER_LABELS = {"fleet": "Fleet", "page": "maintenance page", "no target": "503, no healthy target"}


def render(timeline: dict[str, Any]) -> str:
    """The SVG of one run: what a client got, healthy targets, the phases, on a shared axis of ``axis`` seconds."""
    axis = float(timeline["axis"])
    plot = WIDTH - LEFT - RIGHT

    def x(seconds: float) -> str:
        return f"{LEFT + plot * max(0.0, min(seconds, axis)) / axis:.1f}"

    def width(start: float, end: float) -> str:
        return f"{plot * max(0.0, min(end, axis) - max(start, 0.0)) / axis:.1f}"

    rows: list[tuple[str, list[str]]] = []
    end = float(timeline["end"])
    answers = timeline["answers"]
    bars = []
    for index, (start, kind) in enumerate(answers):
        stop = answers[index + 1][0] if index + 1 < len(answers) else end
        bars.append((start, stop, kind, ANSWER_LABELS[kind]))
    rows.append(
        ("a client gets", [_bar(x(s), width(s, e), COLOURS[k], f"{t}: {s:.1f} to {e:.1f} s") for s, e, k, t in bars])
    )
    rows.append(("healthy targets", _steps(timeline["healthy"], end, x)))
    for name, start, stop in timeline["phases"]:
        rows.append(
            (name, [_bar(x(start), width(start, stop), COLOURS.get(name, "#9e9e9e"), f"{name}: {stop - start:.1f} s")])
        )
    if timeline.get("workflow"):
        start, stop = timeline["workflow"]
        label = "the addon's script" if timeline["slug"] == "addon" else "the execution"
        rows.append(
            (label, [_bar(x(start), width(start, stop), COLOURS["workflow"], f"{label}: {start:.1f} to {stop:.1f} s")])
        )

    top = 44
    height = top + ROW * len(rows) + 56
    outage = timeline.get("outage")
    headline = (
        f"outage a client sees: {outage[1] - outage[0]:.1f} s ({outage[0]:.1f} to {outage[1]:.1f} s)"
        if outage
        else "outage a client sees: 0 s"
    )
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="sans-serif" font-size="12">',
        f"<title>{escape(timeline['name'])}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="8" y="18" font-weight="bold">{escape(timeline["name"])}</text>',
        f'<text x="8" y="34">{escape(headline)}</text>',
    ]
    if outage:
        lines.append(
            f'<rect x="{x(outage[0])}" y="{top - 4}" width="{width(outage[0], outage[1])}" '
            f'height="{ROW * len(rows) + 4}" fill="#e53935" fill-opacity="0.08"/>'
        )
    for index, (label, shapes) in enumerate(rows):
        y = top + ROW * index
        lines.append(f'<text x="8" y="{y + BAR - 2}">{escape(label)}</text>')
        lines.append(f'<g transform="translate(0,{y})">' + "".join(shapes) + "</g>")
    base = top + ROW * len(rows) + 4
    lines.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#616161"/>')
    step = 60 if axis > 300 else 30 if axis > 120 else 10
    tick = 0
    while tick <= axis:
        lines.append(f'<line x1="{x(tick)}" y1="{base}" x2="{x(tick)}" y2="{base + 4}" stroke="#616161"/>')
        lines.append(f'<text x="{x(tick)}" y="{base + 16}" text-anchor="middle">{tick}</text>')
        tick += step
    settings = "; ".join(f"from {at:.1f} s {text}" for at, text in timeline["settings"])
    lines.append(
        f'<text x="{LEFT}" y="{base + 32}">seconds since the run began. Target group: {escape(settings)}</text>'
    )
    legend = " ".join(
        f'<rect x="{LEFT + 150 * i}" y="{base + 40}" width="10" height="10" fill="{COLOURS[k]}"/>'
        f'<text x="{LEFT + 150 * i + 14}" y="{base + 49}">{escape(ANSWER_LABELS[k])}</text>'
        for i, k in enumerate(ANSWER_LABELS)
    )
    lines.append(legend)
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def _bar(x: str, width: str, colour: str, title: str) -> str:
    return f'<rect x="{x}" y="0" width="{width}" height="{BAR}" fill="{colour}"><title>{escape(title)}</title></rect>'


def _steps(healthy: list[list[float]], end: float, x: Any) -> list[str]:
    """Healthy targets as a filled step line, the row's height standing for the most the run had (at least 1)."""
    most = max([1] + [int(count) for _, count in healthy])
    points = []
    for index, (at, count) in enumerate(healthy):
        stop = healthy[index + 1][0] if index + 1 < len(healthy) else end
        y = f"{BAR - BAR * int(count) / most:.1f}"
        points += [f"{x(at)},{y}", f"{x(stop)},{y}"]
    if not points:
        return []
    first, last = points[0].split(",")[0], points[-1].split(",")[0]
    shape = f"{first},{BAR} " + " ".join(points) + f" {last},{BAR}"
    labels = "".join(
        f'<text x="{x(at)}" y="{BAR - 2}" dx="2" font-size="9">{int(count)}</text>'
        for index, (at, count) in enumerate(healthy)
        if index == 0 or healthy[index - 1][1] != count
    )
    return [f'<polygon points="{shape}" fill="{COLOURS["healthy"]}" fill-opacity="0.5"/>', labels]


def figure_pairs(folder: Path = FIGURES) -> list[tuple[Path, Path]]:
    return [(path, path.with_suffix(".svg")) for path in sorted(folder.glob("outage-*.json"))]


def write(timeline: dict[str, Any], folder: Path = FIGURES) -> Path:
    """Save the JSON and its SVG side by side; the SVG's path."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"outage-{timeline['slug']}"
    stem.with_suffix(".json").write_text(json.dumps(timeline, indent=1) + "\n")
    stem.with_suffix(".svg").write_text(render(timeline))
    return stem.with_suffix(".svg")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.svg", description=__doc__)
    parser.add_argument("--write", action="store_true", help="draw every SVG again from its JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if an SVG differs from what its JSON draws")
    parser.add_argument("--folder", type=Path, default=FIGURES)
    args = parser.parse_args(argv)
    stale = []
    for source, drawn in figure_pairs(args.folder):
        expected = render(json.loads(source.read_text()))
        if not drawn.exists() or drawn.read_text() != expected:
            stale.append(drawn)
            if args.write:
                drawn.write_text(expected)
    if args.check and stale:
        print("stale: " + ", ".join(str(p) for p in stale) + " (run python -m bench.svg --write)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
