"""What `loginprobe check` does once its settings are built: progress on stderr while the runner works,
then the result on stdout (the summary, or the report JSON alone) and messages on stderr."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as Bar

from loginprobe import __version__

console = Console(stderr=False)
errors = Console(stderr=True)


def stderr_line(text: str) -> None:
    """One line on stderr: soft_wrap, because rich wraps at 80 columns when stderr is not a terminal."""
    errors.print(text, markup=False, highlight=False, soft_wrap=True)


class RunProgress:
    """Fed by the runner's lane threads: a transient bar in a terminal; elsewhere (CI logs) one line
    per finished run, so a long check never looks hung; nothing with --quiet."""

    def __init__(self, sites: list[str], total: int, *, quiet: bool) -> None:
        self.lines = not quiet and not errors.is_terminal
        self.bar = Bar(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
            disable=quiet or not errors.is_terminal,
        )
        self.task = self.bar.add_task("starting browsers", total=total)
        self.lock = threading.Lock()
        self.started: dict[str, float] = {}
        self.site_width = max((len(s) for s in sites), default=4)
        self.reruns_said = False

    def __call__(self, spec: Any, event: str, result: Any = None) -> None:
        with self.lock:
            if event == "start":
                self.started[spec.run_id] = time.monotonic()
                self.bar.update(self.task, description=spec.run_id)
                return
            self.bar.advance(self.task)
            if self.lines:
                if spec.ablation and not self.reruns_said:
                    # Said once, so that the extra lines of a failing login explain themselves.
                    stderr_line("re-runs of failing logins, each with one thing changed (named at the end):")
                    self.reruns_said = True
                stderr_line(self._finished(spec, result))

    def _finished(self, spec: Any, result: Any) -> str:
        """Site, engine, mode, status, seconds in aligned columns; what a re-run changed comes last."""
        evidence = getattr(result, "evidence", None)
        if evidence is not None:
            outcome = evidence.outcome
            state = "pass" if outcome.success else "fail"
            status = f"{state} {outcome.status:<3}" if outcome.status is not None else f"{state:<8}"
            seconds = max((evidence.finished_at - evidence.started_at).total_seconds(), 0.0)
        else:
            status = "skipped "
            seconds = max(time.monotonic() - self.started.get(spec.run_id, time.monotonic()), 0.0)
        columns = f"{spec.site.name:<{self.site_width}}  {spec.engine:<8}  {spec.mode:<9}"
        line = f"{columns}  {status}  {seconds:4.1f} s"
        changed = [*([spec.ablation] if spec.ablation else []), *(["via proxy"] if spec.via_proxy else [])]
        line = f"{line}  ({', '.join(changed)})" if changed else line
        skipped = getattr(result, "skipped", None) if evidence is None else None
        if skipped is None:
            return line
        # The reason goes below, wrapped to the log's width: a CI log is read at 80 columns.
        reason = textwrap.wrap(
            skipped.reason, max(errors.width, 40) - 4, break_long_words=False, break_on_hyphens=False
        )
        return "\n".join([line, *(f"    {part}" for part in reason)])


def start_line(settings: Any, runs: int, config: Path | None) -> str:
    sites = len(settings.sites)
    shown = (
        config.relative_to(Path.cwd()) if config is not None and config.is_relative_to(Path.cwd()) else config
    )
    where = f"; config {shown}" if shown is not None else ""
    engines, modes = ", ".join(settings.browsers), ", ".join(settings.modes)
    return (
        f"loginprobe {__version__}: {sites} site{'s' if sites != 1 else ''} in {engines} ({modes}): "
        f"{runs} run{'s' if runs != 1 else ''}{where}"
    )


@contextmanager
def live_progress(settings: Any, *, quiet: bool = False, config: Path | None = None) -> Iterator[RunProgress]:
    """A check's progress: the start line and one line per run without a TTY, else a transient bar."""
    from loginprobe.pipeline import runnable_plan

    planned = len(runnable_plan(settings))  # an empty plan is one line and exit 2, before any output
    live = RunProgress([s.name for s in settings.sites], planned, quiet=quiet)
    if live.lines:
        stderr_line(start_line(settings, planned, config))
    with live.bar:
        yield live


def run_and_report(settings: Any, *, quiet: bool, as_json: bool, config: Path | None) -> int:
    from loginprobe.pipeline import run_check
    from loginprobe.reports import github_outputs
    from loginprobe.reports.latest import point_latest
    from loginprobe.reports.terminal import print_summary

    stop = threading.Event()
    with live_progress(settings, quiet=quiet, config=config) as live:
        outcome = run_check(settings, progress=live, stop=stop)
    try:
        point_latest(outcome.folder)
    except OSError as exc:  # the report is written; only the shortcut to it is missing
        stderr_line(
            f"loginprobe: warning: no 'latest' link in {outcome.folder.parent}: {exc.strerror or exc}"
        )
    if as_json:
        sys.stdout.write(outcome.report.model_dump_json(indent=2) + "\n")
        sys.stdout.flush()
    else:
        print_summary(outcome.report, console, quiet=quiet)
    try:
        # Workflow commands are read from stderr too; with --json stdout holds the JSON alone.
        github_outputs(outcome.report, os.environ, sys.stderr if as_json else None)
    except OSError as exc:  # the report is written; a bad GITHUB_STEP_SUMMARY only loses the job summary
        stderr_line(f"loginprobe: warning: GitHub job summary not written: {exc.strerror or exc}")
    where = f"report: {outcome.folder / 'report.html'}"
    if as_json:
        stderr_line(where)
    else:
        console.print(where, markup=False, highlight=False, soft_wrap=True)
    if outcome.report.interrupted:
        stderr_line(f"loginprobe: interrupted: partial report in {outcome.folder}")
        return outcome.exit_code
    for line in outcome.infrastructure_errors:
        stderr_line(f"loginprobe: {line}")
    for line in outcome.unreachable:
        stderr_line(f"loginprobe: TargetUnreachable: {line}")
    return outcome.exit_code
