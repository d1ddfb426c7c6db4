"""Parse every artifact of a report folder the way its readers do, and say what does not parse.

Readers: `json` for report.json and HARs, every line of every trace member (`*.trace`, `*.network`),
`xml.etree` for junit.xml (what CI's JUnit readers use), `html.parser` for report.html and Node's
own parser (`node --check`, the Node that ships with Playwright) for every inline script in it.
"""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from playwright._impl._driver import compute_driver_executable

from loginprobe.report import Report


class _Scripts(HTMLParser):
    """The inline scripts of an HTML document: (type attribute, source)."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[str, str]] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not dict(attrs).get("src"):
            self._open = dict(attrs).get("type") or ""
            self.scripts.append((self._open, ""))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            kind, source = self.scripts[-1]
            self.scripts[-1] = (kind, source + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def inline_scripts(text: str) -> list[tuple[str, str]]:
    parser = _Scripts()
    parser.feed(text)
    parser.close()
    return parser.scripts


def javascript_problem(source: str) -> str | None:
    """Node's syntax error for `source`, or None when it parses."""
    node = str(compute_driver_executable()[0])
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False, encoding="utf-8") as handle:
        handle.write(source)
    try:
        done = subprocess.run([node, "--check", handle.name], capture_output=True, text=True, timeout=60)
    finally:
        Path(handle.name).unlink()
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return next((line for line in lines if "Error" in line), lines[-1] if lines else "node refused it")


def html_problems(where: str, text: str) -> list[str]:
    problems = []
    for kind, source in inline_scripts(text):
        if "json" in kind:
            try:
                json.loads(source)
            except ValueError as exc:
                problems.append(f"{where}: inline JSON script: {exc}")
        elif source.strip() and (error := javascript_problem(source)):
            problems.append(f"{where}: inline script: {error}")
    return problems


def _trace_problems(where: str, blob: bytes) -> list[str]:
    problems = []
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        if archive.testzip() is not None:
            problems.append(f"{where}: a corrupt member")
        for name in archive.namelist():
            data = archive.read(name)
            if name.endswith((".trace", ".network")):
                for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
                    try:
                        if line.strip():
                            json.loads(line)
                    except ValueError as exc:
                        problems.append(f"{where}!{name} line {number}: {exc}")
            elif name.endswith((".json", ".stacks")):
                try:
                    json.loads(data)
                except ValueError as exc:
                    problems.append(f"{where}!{name}: {exc}")
    return problems


def artifact_problems(folder: Path) -> list[str]:
    """Every artifact under `folder` that its reader would refuse, one line each (empty: all parse)."""
    problems: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        where = str(path.relative_to(folder))
        suffix = path.suffix.lower()
        try:
            if path.name == "report.json":
                Report.model_validate_json(path.read_text(encoding="utf-8"))
            elif suffix in (".json", ".har"):
                json.loads(path.read_text(encoding="utf-8"))
            elif suffix == ".xml":
                ET.fromstring(path.read_bytes())
            elif suffix in (".html", ".htm"):
                problems += html_problems(where, path.read_text(encoding="utf-8"))
            elif suffix == ".zip":
                problems += _trace_problems(where, path.read_bytes())
        except (ValueError, ET.ParseError, zipfile.BadZipFile) as exc:
            problems.append(f"{where}: {str(exc).splitlines()[0]}")
    return problems


def artifact_kinds(folder: Path) -> set[str]:
    """Which kinds of artifact the folder holds (so a test knows its parse covered them)."""
    names = {p.name for p in folder.rglob("*") if p.is_file()}
    kinds = {name for name in ("report.json", "report.html", "junit.xml", "report.md") if name in names}
    kinds |= {suffix for suffix in (".har", ".zip") if any(n.endswith(suffix) for n in names)}
    return kinds
