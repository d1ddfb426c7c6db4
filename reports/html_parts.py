"""The small pieces every part of report.html is made of: escaping, inline code, anchors, tables."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from html import escape
from urllib.parse import quote

_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def esc(value: object) -> str:
    """HTML-escape anything (quotes too, so it is safe inside attributes)."""
    return escape("" if value is None else str(value), quote=True)


def prose(value: object) -> str:
    """Escaped text whose `backtick` pairs become <code> (HTML only: report.md keeps the backticks)."""
    return _INLINE_CODE.sub(r"<code>\1</code>", esc(value))


def anchor(*parts: object) -> str:
    """A stable element id from a run id (and exchange id)."""
    return "-".join(re.sub(r"[^A-Za-z0-9_.-]", "_", str(part)) for part in parts)


def run_anchor(run_id: str) -> str:
    """The id of a run's section."""
    return anchor("run", run_id)


def exchange_anchor(run_id: str, exchange_id: int) -> str:
    """The id of one timeline row."""
    return anchor("ex", run_id, exchange_id)


def href(path: str) -> str:
    """A relative link to an artifact inside the report folder."""
    return esc(quote(path))


def stamp(value: datetime | None) -> str:
    """A UTC time as the report shows it, or a dash."""
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "—"


def percent(value: float) -> str:
    """A confidence as a whole percentage."""
    return f"{round(value * 100)}%"


def table(head: Iterable[str], rows: Iterable[str], cls: str = "") -> str:
    """A table with a header row, in its own scrolling box."""
    heads = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "\n".join(rows)
    markup = f'<table class="{esc(cls)}"><thead><tr>{heads}</tr></thead><tbody>\n{body}\n</tbody></table>'
    return scrolling(markup)


def scrolling(markup: str) -> str:
    """A table in a box of its own that scrolls sideways, so a wide one never widens a phone's page."""
    return f'<div class="scroll">{markup}</div>'
