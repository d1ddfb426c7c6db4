"""report.json/html/md, junit.xml, GitHub outputs and the terminal summary of a factory-built report."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from loginprobe.diagnose import diagnose
from loginprobe.errors import OutputError
from loginprobe.evidence import SiteEvidence
from loginprobe.report import Report
from loginprobe.reports import github_outputs, junit, load_report, render_all
from loginprobe.reports.github import error_annotations
from loginprobe.reports.markdown import markdown_summary
from loginprobe.reports.matrix import headline
from loginprobe.reports.terminal import engines_table, print_summary, summary_table
from loginprobe.verdict import Verdict
from tests.reports.report_factory import make_report


def test_render_all_writes_the_four_outputs(report: Report, tmp_path: Path) -> None:
    paths = render_all(report, tmp_path)
    assert [p.name for p in paths] == ["report.json", "report.html", "report.md", "junit.xml"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert load_report(tmp_path) == report


def test_load_report_refuses_a_folder_that_is_not_a_report(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not a loginprobe report"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text('{"hello": "world"}', encoding="utf-8")
    with pytest.raises(OutputError, match="not a loginprobe report"):
        load_report(tmp_path)


def test_junit_has_one_testcase_per_site_engine_mode(report: Report, tmp_path: Path) -> None:
    render_all(report, tmp_path)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    # shop: 3 engines x 2 modes; api: chromium and firefox fresh, webkit skipped in both modes.
    assert len(cases) == 10
    assert root.get("tests") == "10" and root.get("failures") == "3" and root.get("skipped") == "4"

    failing = cases[("loginprobe.shop", "chromium-persisted")]
    failure = failing.find("failure")
    assert failure is not None
    assert failure.get("type") == "stale-cookie"
    assert (failure.get("message") or "").startswith("stale-cookie: The persisted Chromium profile")
    props = {p.get("name"): p.get("value") for p in failing.iter("property")}
    # the property names the pytest plugin writes too
    assert props[junit.CAUSE] == props["loginprobe_cause"] == "stale-cookie"
    assert (props[junit.SUMMARY] or "").startswith("The persisted Chromium profile")
    assert props[junit.NEXT_STEP]
    assert props[junit.RUN_ID] == "shop-chromium-persisted"
    assert props[junit.TRACE] == "shop-chromium-persisted/trace.zip"

    assert cases[("loginprobe.shop", "chromium-fresh")].find("failure") is None
    skipped = cases[("loginprobe.api", "webkit-fresh")].find("skipped")
    assert skipped is not None and "Playwright's build" in (skipped.get("message") or "")


def test_junit_has_no_testcase_for_an_engine_nobody_asked_for(tmp_path: Path) -> None:
    # Given a check of Chromium alone, on a machine that also knows Firefox and (unavailable) WebKit
    full = make_report()
    report = make_report(runs=[r for r in full.runs if r.engine == "chromium"], skipped=[])
    render_all(report, tmp_path)
    names = {c.get("name", "") for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")}
    # Then junit.xml has Chromium's test cases only: no skipped ones for the engines not asked for
    assert names == {"chromium-fresh", "chromium-persisted"}


def test_markdown_has_verdict_matrix_findings_and_trace_commands(report: Report, tmp_path: Path) -> None:
    render_all(report, tmp_path)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# loginprobe: 2 of 2 sites failing")
    assert "- **shop: `stale-cookie`** (85%)" in text
    assert "next step: Refresh the token before calling the API." in text
    assert (
        "| shop | ✅ pass 200 | ❌ fail 401 | ✅ pass 200 | ✅ pass 200 | ➖ unavailable | ➖ unavailable |"
        in text
    )
    assert "webkit unavailable: WebKit exists only as Playwright's build" in text
    assert "playwright show-trace shop-chromium-persisted/trace.zip" in text
    assert "finding `stale-cookie` 85%" in text and "request #3" in text
    assert "may contain secrets" not in text


def test_markdown_and_html_warn_about_unredacted_and_interrupted_reports(tmp_path: Path) -> None:
    report = make_report(redacted=False, interrupted=True, missing=["api-firefox-fresh"])
    render_all(report, tmp_path)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "--no-redact: this report may contain secrets" in md
    assert "Interrupted" in md and "api-firefox-fresh" in md
    assert 'id="banner-unredacted">--no-redact: this report may contain secrets<' in page
    assert 'id="banner-interrupted"' in page


def test_html_escapes_everything_and_needs_no_network(tmp_path: Path) -> None:
    hostile = Verdict(
        site="shop",
        primary="unknown",
        confidence=0.2,
        summary='<script>alert("x")</script> & <b>',
        next_step="<i>",
    )
    report = make_report(verdicts=[hostile])
    render_all(report, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in page
    assert "<link" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert page.count("<script>") == 1  # the one inline script of the template


def test_github_outputs_only_under_actions(report: Report, tmp_path: Path) -> None:
    out = io.StringIO()
    github_outputs(report, {}, out)
    assert out.getvalue() == ""

    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n", encoding="utf-8")
    github_outputs(report, {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("::error title=loginprobe shop%3A stale-cookie::The persisted Chromium")
    assert lines[1].startswith("::error title=loginprobe api%3A expired-token::")
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("previous step\n## loginprobe: 2 of 2 sites failing")


def test_annotations_escape_newlines_and_percent() -> None:
    report = make_report(
        verdicts=[Verdict(site="shop", primary="unknown", confidence=0.1, summary="50%\nline two")]
    )
    line = error_annotations(report)[0]  # api fails too, without a verdict
    assert line == "::error title=loginprobe shop%3A unknown::50%25%0Aline two"


@pytest.mark.parametrize("width", [80, 160])
def test_terminal_summary_fits_and_says_each_verdict_once(report: Report, width: int) -> None:
    console = Console(record=True, width=width, color_system=None)
    print_summary(report, console)
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert all(line == line.rstrip() for line in lines)
    assert lines[0] == "loginprobe: 2 of 2 sites failing"
    assert "fail 401" in text and "pass 200" in text
    # WebKit ran nowhere: no column, one footnote
    assert "webkit" not in " ".join(lines[1:3])
    # Each engine heads its group of mode columns once, above its first mode
    assert lines[1].split() == ["chromium", "firefox"] and lines[2].split()[1:3] == ["fresh", "persisted"]
    assert sum(line.startswith("not run: webkit: WebKit exists only") for line in lines) == 1
    # Cause ids whole; each verdict once (its sentence too: the cause's generic text is not repeated)
    assert "…" not in text
    assert sum(line.startswith("shop: stale-cookie (85%)") for line in lines) == 1
    assert text.count("from an earlier") == 1
    assert "next step: Refresh the token before calling the API." in text
    assert summary_table(report, console).row_count == 2


def test_terminal_turns_to_one_row_per_engine_when_engines_do_not_fit(report: Report) -> None:
    console = Console(record=True, width=44, color_system=None)  # the wide table needs 50
    print_summary(report, console)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 44
    assert ["shop", "chromium", "pass", "200", "fail", "401"] in [line.split() for line in lines]
    assert ["firefox", "pass", "200", "pass", "200"] in [line.split() for line in lines]
    assert sum(line.startswith("shop: stale-cookie (85%)") for line in lines) == 1


def test_quiet_summary_is_one_line_per_failing_site(report: Report) -> None:
    console = Console(record=True, width=80, color_system=None)
    print_summary(report, console, quiet=True)
    lines = console.export_text().splitlines()
    assert [line.split(":")[:2] for line in lines] == [["shop", " stale-cookie"], ["api", " expired-token"]]
    assert lines[0].startswith("shop: stale-cookie: The persisted Chromium profile sent")


def test_engines_table_lists_install_hint(report: Report) -> None:
    console = Console(record=True, width=160, color_system=None)
    console.print(engines_table(report.engines))
    assert "install: playwright install webkit" in console.export_text()


def test_returning_visits_and_signing_in_again_are_shown(report: Report, tmp_path: Path) -> None:
    # Given a failing returning visit that never signed in, and a verdict that says whether a new
    # login fixes it.
    run = next(r for r in report.runs if not r.outcome.success)
    returning = run.model_copy(update={"returning_visit": True, "login_ran": False})
    verdict = report.verdicts[0].model_copy(
        update={"signing_in_again": "Does signing in again fix it? yes in chromium (relogin)."}
    )
    changed = report.model_copy(
        update={
            "runs": [returning if r is run else r for r in report.runs],
            "verdicts": [verdict, *report.verdicts[1:]],
        }
    )
    render_all(changed, tmp_path)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Does signing in again fix it? yes in chromium" in markdown
    assert "Does signing in again fix it? yes in chromium" in html
    assert "returning visit: the site did not ask to sign in" in html


def test_backticks_are_code_in_html_only(tmp_path: Path) -> None:
    # Given a next step that quotes a header between backticks (and text that looks like markup)
    base = make_report()
    step = "Send `Cache-Control: no-store` on <b>/account</b>; a lone ` stays."
    render_all(make_report(verdicts=[base.verdicts[0].model_copy(update={"next_step": step})]), tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    # Then the HTML escapes first and makes code of the pair, and Markdown keeps the backticks
    assert "Send <code>Cache-Control: no-store</code> on &lt;b&gt;/account&lt;/b&gt;; a lone ` stays." in page
    assert "Send `Cache-Control: no-store` on" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_a_site_no_run_checked_is_never_counted_as_passing(report: Report) -> None:
    # Given a check whose second site never ran (every engine skipped), diagnosed as such
    runs = [run for run in report.runs if run.site == "shop" and run.outcome.success]
    unchecked = diagnose(SiteEvidence(site="api", runs=[]))
    shop = report.verdicts[0].model_copy(update={"primary": "none", "engines_failing": []})
    partial = report.model_copy(update={"runs": runs, "verdicts": [shop, unchecked]})
    # Then every renderer's headline says the site was not checked, and none says all pass
    console = Console(record=True, width=80, color_system=None)
    print_summary(partial, console)
    first = console.export_text().splitlines()[0]
    assert first == "loginprobe: the checked site passes; 1 not checked (no run recorded)"
    assert markdown_summary(partial).startswith(f"# {first}")
    nothing = partial.model_copy(
        update={"runs": [], "verdicts": [unchecked, unchecked.model_copy(update={"site": "shop"})]}
    )
    assert headline(nothing) == "no run was recorded for any of the 2 sites"
