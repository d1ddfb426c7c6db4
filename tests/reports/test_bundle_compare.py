"""The bug-report bundle and the comparison of two runs."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from rich.console import Console

from loginprobe.errors import OutputError
from loginprobe.evidence import Artifacts
from loginprobe.report import Report
from loginprobe.reports import render_all
from loginprobe.reports.bundle import write_bundle
from loginprobe.reports.compare import compare, compare_engines, comparison_markdown, print_comparison
from loginprobe.reports.redact import scan_for_secrets
from loginprobe.secrets import Redactor
from tests.reports.report_factory import form_run, make_report
from tests.reports.reports_site import SECRETS

RUN = "shop-chromium-fresh"


def _report_with_real_artifacts(folder: Path, *, redacted: bool = True) -> Report:
    run = form_run("shop", "chromium", "fresh", success=False).model_copy(
        update={
            "artifacts": Artifacts(
                trace=f"{RUN}/trace.zip", har=f"{RUN}/network.har", screenshot=f"{RUN}/failure.png"
            )
        }
    )
    report = make_report(runs=[run], redacted=redacted)
    render_all(report, folder)
    return report


@pytest.mark.browser
def test_bundle_holds_everything_and_no_secret(artifacts: Path, tmp_path: Path) -> None:
    # Given a report folder whose artifacts were never redacted (a crash between capture and redaction)
    _report_with_real_artifacts(artifacts)
    # When it is bundled
    path = write_bundle(artifacts, tmp_path / "out" / "bug.zip", redactor=Redactor(key_path=tmp_path / "key"))
    # Then the zip has the outputs and the artifacts, and the re-scan removed every secret
    names = zipfile.ZipFile(path).namelist()
    expected = ["report.json", "report.html", "report.md", "junit.xml"]
    expected += [f"{RUN}/trace.zip", f"{RUN}/network.har", f"{RUN}/failure.png"]
    assert names == [f"report/{name}" for name in expected]
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    shutil.copy(path, unpacked / "bug.zip")
    assert scan_for_secrets(unpacked, SECRETS) == []
    assert scan_for_secrets(artifacts, SECRETS) != []  # the report folder itself is left as it was


def test_bundle_refuses_unredacted_reports_and_non_reports(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not a loginprobe report"):
        write_bundle(tmp_path)
    folder = tmp_path / "run"
    folder.mkdir()
    _report_with_real_artifacts(folder, redacted=False)
    with pytest.raises(OutputError, match="--no-redact"):
        write_bundle(folder)
    path = write_bundle(folder, allow_unredacted=True)
    assert path == tmp_path / "run-bundle.zip"
    assert "run/report.md" in zipfile.ZipFile(path).namelist()


def test_bundle_renders_missing_outputs(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    make_report().write(folder)
    names = zipfile.ZipFile(write_bundle(folder, redactor=Redactor(key_path=tmp_path / "k"))).namelist()
    assert names == ["run/report.json", "run/report.html", "run/report.md", "run/junit.xml"]
    assert sorted(p.name for p in folder.iterdir()) == ["report.json"]


def test_compare_it_worked_yesterday() -> None:
    # Given yesterday's report where Chromium's persisted run passed, and today's where it fails
    yesterday = make_report(
        runs=[form_run("shop", "chromium", "persisted", success=True), *make_report().runs[2:]],
        verdicts=[
            v.model_copy(update={"primary": "none"}) if v.site == "shop" else v
            for v in make_report().verdicts
        ],
    )
    today = make_report()
    c = compare(yesterday, today)
    outcomes = {(x.where, x.what): x for x in c.of("outcome")}
    assert outcomes[("shop chromium/persisted", "outcome")].after.startswith("fail")
    assert [x.after for x in c.of("status")] == ["401"]
    assert [(x.before, x.after) for x in c.of("verdict")] == [("none", "stale-cookie")]
    assert not c.of("cookie")  # cookie values are not compared across reports
    assert "| shop | primary cause | none | stale-cookie |" in comparison_markdown(c)
    assert compare(today, today).identical


def test_compare_engines_and_engine_availability() -> None:
    report = make_report()
    c = compare_engines(report, "shop", "chromium", "firefox")
    headers = {x.what for x in c.of("header") if x.where == "shop fresh"}
    assert headers == {"added sec-gpc", "changed user-agent"}
    assert any(x.where == "shop persisted" and "value=" in x.before for x in c.of("cookie"))
    gone = make_report(
        engines=[
            e.model_copy(update={"available": False, "reason": "not found"}) if e.available else e
            for e in report.engines
        ]
    )
    engine_changes = compare(report, gone).of("engine")
    assert {x.where for x in engine_changes} == {"chromium", "firefox"}
    console = Console(record=True, width=200, color_system=None)
    print_comparison(c, console)
    assert "changed user-agent" in console.export_text()
