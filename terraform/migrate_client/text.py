"""How the client writes times, durations, JSON it was handed, and console links."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .settings import Settings


def elapsed(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s"


def stamp(seconds: float) -> str:
    """The time column every progress line starts with."""
    return f"[{elapsed(seconds):>9}]"


def clock(moment: Any) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(moment, datetime) else "?"


def duration(described: dict[str, Any]) -> float:
    start, stop = described.get("startDate"), described.get("stopDate")
    if not isinstance(start, datetime):
        return 0.0
    end = stop if isinstance(stop, datetime) else datetime.now(timezone.utc)
    return (end - start).total_seconds()


def loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return text


def console_url(settings: Settings, execution_arn: str) -> str:
    if settings.partition == "aws-cn":
        host = "https://console.amazonaws.cn"
    elif settings.partition == "aws-us-gov":
        host = "https://console.amazonaws-us-gov.com"
    else:
        host = f"https://{settings.region}.console.aws.amazon.com"
    return f"{host}/states/home?region={settings.region}#/v2/executions/details/{execution_arn}"


# C0 and C1 control characters and DEL, except tab: a log line or a cause may carry terminal escapes (ESC [ ...)
# that rewrite what the reader sees, or a carriage return that hides what came before it on the line.
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F, *range(0x80, 0xA0))}


def printable(text: str) -> str:
    """Text as it is safe to print to a terminal or a CI log: control characters shown as escapes, and no line
    that starts with ``::``, which GitHub Actions reads as a workflow command ("Workflow commands for GitHub
    Actions": ``::add-mask::``, ``::stop-commands::``, ...): the migration container's log lines and the cause
    are someone else's text."""
    lines = []
    for line in text.split("\n"):
        line = line.translate(_CONTROL)
        if line.lstrip().startswith("::"):
            indent = len(line) - len(line.lstrip())
            line = line[:indent] + ": :" + line[indent + 2 :]
        lines.append(line)
    return "\n".join(lines)
