"""report.json's JSON Schema: committed file in sync with the model, and produced reports valid against it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from loginprobe.report import Report
from loginprobe.reports import render_all
from loginprobe.reports.schema import SCHEMA_PATH, load_schema, schema, schema_text
from tests.reports.report_factory import make_report


def test_committed_schema_equals_the_generated_one() -> None:
    # If this fails: python -m loginprobe.reports.schema, and document the change in reports/SCHEMA.md.
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_produced_report_json_validates(report: Report, tmp_path: Path) -> None:
    render_all(report, tmp_path)
    document = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    assert Report.load(tmp_path) == report


def test_minimal_report_validates_and_a_broken_one_does_not(tmp_path: Path) -> None:
    minimal = make_report(runs=[], skipped=[], verdicts=[], sites=["solo"])
    validator = jsonschema.Draft202012Validator(load_schema())
    validator.validate(json.loads(minimal.model_dump_json()))
    broken = json.loads(minimal.model_dump_json())
    broken["engines"][0]["engine"] = "netscape"
    del broken["created_at"]
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_module_entry_point_writes_the_schema(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    subprocess.run(
        [sys.executable, "-m", "loginprobe.reports.schema", str(target)], check=True, capture_output=True
    )
    assert target.read_text(encoding="utf-8") == schema_text()
