"""The JSON Schema of report.json, generated from `Report` (`python -m loginprobe.reports.schema`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from loginprobe.evidence import SCHEMA_VERSION
from loginprobe.report import Report

SCHEMA_PATH = Path(__file__).parent / "schema" / "report.schema.json"
SCHEMA_ID = "https://loginprobe.invalid/schema/report.schema.json"


def schema() -> dict[str, Any]:
    """The schema of report.json as `Report.model_dump_json` writes it (serialization mode)."""
    generated = Report.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "$comment": f"Generated from loginprobe.report.Report; schema_version {SCHEMA_VERSION}. Do not edit.",
        **generated,
    }


def schema_text() -> str:
    """The schema as the committed file holds it (stable key order, trailing newline)."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Regenerate the committed schema file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    return path


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """The committed schema (what consumers of report.json validate against)."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def main(argv: list[str] | None = None) -> int:
    """Write the schema to the path given, or to the committed location."""
    args = sys.argv[1:] if argv is None else argv
    target = write_schema(Path(args[0]) if args else SCHEMA_PATH)
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
