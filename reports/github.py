"""GitHub Actions: `::error` annotations per failing site and a Markdown job summary."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

from loginprobe.report import Report
from loginprobe.reports.markdown import markdown_summary
from loginprobe.reports.matrix import failing_sites, verdict_for


def _data(value: str) -> str:
    """Escape a workflow command's message (GitHub's `escapeData`)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    """Escape a workflow command's property value (GitHub's `escapeProperty`)."""
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def error_annotations(report: Report) -> list[str]:
    """One `::error` line per failing site."""
    lines = []
    for site in failing_sites(report):
        verdict = verdict_for(report, site)
        cause = verdict.primary if verdict else "unknown"
        summary = verdict.summary if verdict else "the login failed; no verdict was produced"
        if verdict and verdict.next_step:
            summary += f" Next step: {verdict.next_step}"
        lines.append(f"::error title={_property(f'loginprobe {site}: {cause}')}::{_data(summary)}")
    return lines


def github_outputs(report: Report, env: Mapping[str, str], out: TextIO | None = None) -> None:
    """Under GitHub Actions, print annotations and append the job summary; elsewhere do nothing."""
    if not env.get("GITHUB_ACTIONS"):
        return
    stream = out or sys.stdout
    for line in error_annotations(report):
        print(line, file=stream)
    summary_file = env.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown_summary(report, heading="##") + "\n")
