"""The one entry point: parse, build settings, call the pipeline, render. Thin on purpose.

Exit codes: 0 every login succeeded, 1 at least one login failed, 2 usage or config error,
3 infrastructure error (no browser, target unreachable, output not writable).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from loginprobe import __version__
from loginprobe.errors import ConfigError, LoginprobeError
from loginprobe.evidence import ENGINES, FLOW_KINDS, MODES

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Drive real browsers through a site's login and explain why it ends in 401 Unauthorized.",
)
console = Console(stderr=False)
errors = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML file with [[sites]] and options.")
]
BrowserOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--browser", "-b", help=f"Engine to run (repeatable): {', '.join(ENGINES)}. Default: all three."
    ),
]
ModeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mode", "-m", help=f"Context mode (repeatable): {', '.join(MODES)}. Default: fresh and persisted."
    ),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Folder for reports (default ./reports).")
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", "-w", help="Browser lanes running at once (default: one per CPU core, 2 to 8)."
    ),
]


def _line(text: str) -> None:
    """One line on stderr: soft_wrap, because rich wraps at 80 columns when stderr is not a terminal."""
    errors.print(text, markup=False, highlight=False, soft_wrap=True)


def _fail(exc: LoginprobeError) -> typer.Exit:
    _line(f"loginprobe: {type(exc).__name__}: {exc.message}")
    return typer.Exit(exc.exit_code)


def _parse_pairs(values: list[str] | None, flag: str) -> dict[str, str] | None:
    if not values:
        return None
    pairs = {}
    for value in values:
        engine, sep, rest = value.partition("=")
        if not sep or engine not in ENGINES:
            raise ConfigError(
                f"{flag}: expected ENGINE=VALUE with ENGINE one of {', '.join(ENGINES)}, got {value!r}"
            )
        pairs[engine] = rest
    return pairs


def _site_from_flags(
    url: str | None,
    flow: str | None,
    protected_url: str | None,
    username: str | None,
    password_env: str | None,
    token_env: str | None,
    api_key_env: str | None,
    script: Path | None,
    name: str | None,
) -> list[dict[str, Any]] | None:
    if url is None:
        if any(
            v is not None
            for v in (flow, protected_url, username, password_env, token_env, api_key_env, script)
        ):
            raise ConfigError(
                "--flow, --protected-url and the credential flags describe a site: give --url too"
            )
        return None
    credentials = {
        key: value
        for key, value in {
            "username": username,
            "password_env": password_env,
            "token_env": token_env,
            "api_key_env": api_key_env,
        }.items()
        if value is not None
    }
    site: dict[str, Any] = {
        "name": name or "site",
        "url": url,
        "flow": flow or "form",
        "credentials": credentials,
    }
    if protected_url:
        site["protected_url"] = protected_url
    if script:
        site["script"] = script
    return [site]


class _LiveProgress:
    """A rich progress bar fed by the runner's lane threads."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
            disable=not enabled,
        )
        self.task = self.progress.add_task("starting browsers", total=total)
        self.lock = threading.Lock()

    def __call__(self, spec: Any, event: str, result: Any = None) -> None:
        with self.lock:
            if event == "start":
                self.progress.update(self.task, description=f"{spec.run_id}")
            else:
                self.progress.advance(self.task)


def _run(settings: Any) -> int:
    from loginprobe.pipeline import run_check, runnable_plan
    from loginprobe.reports import github_outputs
    from loginprobe.reports.terminal import print_summary

    live = _LiveProgress(len(runnable_plan(settings)), enabled=errors.is_terminal)  # empty: one line, exit 2
    stop = threading.Event()
    with live.progress:
        outcome = run_check(settings, progress=live, stop=stop)
    print_summary(outcome.report, console)
    try:
        github_outputs(outcome.report, os.environ)
    except OSError as exc:  # the report is written; a bad GITHUB_STEP_SUMMARY only loses the job summary
        _line(f"loginprobe: warning: GitHub job summary not written: {exc.strerror or exc}")
    console.print(f"report: {outcome.folder / 'report.html'}", highlight=False, soft_wrap=True)
    if outcome.report.interrupted:
        _line(f"loginprobe: interrupted: partial report in {outcome.folder}")
        return outcome.exit_code
    for line in outcome.infrastructure_errors:
        _line(f"loginprobe: {line}")
    for line in outcome.unreachable:
        _line(f"loginprobe: TargetUnreachable: {line}")
    return outcome.exit_code


@app.command()
def check(
    config: ConfigOpt = None,
    url: Annotated[str | None, typer.Option(help="Start URL of a single site (instead of --config).")] = None,
    flow: Annotated[str | None, typer.Option(help=f"Flow of --url: {', '.join(FLOW_KINDS)}.")] = None,
    protected_url: Annotated[str | None, typer.Option(help="URL whose status decides success.")] = None,
    username: Annotated[str | None, typer.Option(help="Username for --url.")] = None,
    password_env: Annotated[
        str | None, typer.Option(help="Name of the env variable holding the password.")
    ] = None,
    token_env: Annotated[
        str | None, typer.Option(help="Name of the env variable holding the bearer token.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Name of the env variable holding the API key.")
    ] = None,
    script: Annotated[
        Path | None, typer.Option(help="Python file defining login(page, site), for --flow script.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name of the --url site in reports.")] = None,
    browser: BrowserOpt = None,
    mode: ModeOpt = None,
    output: OutputOpt = None,
    workers: WorkersOpt = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds a login may take (default 30).")] = None,
    proxy: Annotated[
        str | None, typer.Option(help="Also run every login through this proxy and compare.")
    ] = None,
    connect: Annotated[
        list[str] | None, typer.Option(help="ENGINE=ws://... run an engine on a Playwright server.")
    ] = None,
    executable: Annotated[list[str] | None, typer.Option(help="ENGINE=PATH browser binary to use.")] = None,
    shard: Annotated[
        str | None, typer.Option(help="i/n: run only this shard of site x engine pairs.")
    ] = None,
    headed: Annotated[bool, typer.Option("--headed", help="Show the browser windows.")] = False,
    ignore_https_errors: Annotated[
        bool, typer.Option("--ignore-https-errors", help="Accept bad TLS certificates.")
    ] = False,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Keep secrets in artifacts (local debugging only).")
    ] = False,
    no_ablate: Annotated[bool, typer.Option("--no-ablate", help="Skip differential re-runs.")] = False,
    no_capture: Annotated[
        bool, typer.Option("--no-capture", help="No trace/HAR/screenshot (benchmarking).")
    ] = False,
    update_profile: Annotated[
        bool, typer.Option("--update-profile", help="Write the persisted run back to the profile.")
    ] = False,
) -> None:
    """Run each site's login in every browser and mode, diagnose failures, write a report."""
    from loginprobe.config.settings import load_settings

    try:
        settings = load_settings(
            config,
            sites=_site_from_flags(
                url, flow, protected_url, username, password_env, token_env, api_key_env, script, name
            ),
            browsers=browser,
            modes=mode,
            output=output,
            workers=workers,
            timeout=timeout,
            proxy=proxy,
            connect=_parse_pairs(connect, "--connect"),
            executables=_parse_pairs(executable, "--executable"),
            shard=shard,
            headless=False if headed else None,
            ignore_https_errors=True if ignore_https_errors else None,
            redact=False if no_redact else None,
            ablate=False if no_ablate else None,
            capture=False if no_capture else None,
            update_profile=True if update_profile else None,
        )
        code = _run(settings)
    except LoginprobeError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:  # before the runs started or while rendering (the runs keep a partial report)
        _line("loginprobe: interrupted before the report was complete")
        raise typer.Exit(130) from None
    raise typer.Exit(code)


@app.command()
def browsers(
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON (for CI scripts).")] = False,
) -> None:
    """Show which engines can run here, how they are launched, and how to install a missing one."""
    from playwright.sync_api import sync_playwright

    from loginprobe.flows.browsers import discover_all
    from loginprobe.reports.terminal import engines_table

    with sync_playwright() as playwright:
        rows = discover_all(playwright)
    if as_json:
        print(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
    else:
        console.print(engines_table(rows))
    raise typer.Exit(0 if any(row.available for row in rows) else 3)


@app.command()
def demo(
    browser: BrowserOpt = None,
    output: OutputOpt = None,
    workers: WorkersOpt = None,
    scenario: Annotated[list[str] | None, typer.Option(help="Lab scenario to include (repeatable).")] = None,
) -> None:
    """Start the embedded lab site and check a set of its logins, healthy and broken, in every engine."""
    from loginprobe.demo import run_demo

    try:
        code = run_demo(browsers=browser, output=output, workers=workers, scenarios=scenario, console=console)
    except LoginprobeError as exc:
        raise _fail(exc) from None
    raise typer.Exit(code)


@app.command()
def report(run: Annotated[Path, typer.Argument(help="A report folder.")]) -> None:
    """Re-render the outputs of a report folder from its report.json and artifacts."""
    from loginprobe.reports import load_report, render_all
    from loginprobe.reports.terminal import print_summary

    try:
        loaded = load_report(run)
        render_all(loaded, run)
    except LoginprobeError as exc:
        raise _fail(exc) from None
    print_summary(loaded, console)
    console.print(f"report: {run / 'report.html'}", highlight=False)


@app.command()
def bundle(
    run: Annotated[Path, typer.Argument(help="A report folder.")],
    dest: Annotated[Path | None, typer.Option("--output", "-o", help="Zip file to write.")] = None,
) -> None:
    """Write one redacted zip with everything a bug report needs."""
    from loginprobe.reports.bundle import write_bundle

    try:
        path = write_bundle(run, dest)
    except LoginprobeError as exc:
        raise _fail(exc) from None
    console.print(f"bundle: {path}", highlight=False)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="The earlier (or reference) report folder.")],
    run_b: Annotated[Path, typer.Argument(help="The later report folder.")],
    markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown instead of a table.")] = False,
) -> None:
    """Show what changed between two runs: engines, modes, status, cookies, headers, verdict."""
    from loginprobe.reports import load_report
    from loginprobe.reports.compare import compare as compare_reports
    from loginprobe.reports.compare import comparison_markdown, print_comparison

    try:
        comparison = compare_reports(load_report(run_a), load_report(run_b))
    except LoginprobeError as exc:
        raise _fail(exc) from None
    if markdown:
        console.print(comparison_markdown(comparison), markup=False, highlight=False)
    else:
        print_comparison(comparison, console)


@app.command()
def version() -> None:
    """Print loginprobe's and Playwright's versions."""
    from importlib.metadata import version as dist_version

    console.print(f"loginprobe {__version__}, playwright {dist_version('playwright')}", highlight=False)


def main() -> None:
    """Console script: run the CLI; a usage error exits 2, never with a traceback."""
    try:
        app()
    except KeyboardInterrupt:  # outside the runs (start-up, rendering): nothing partial to keep
        _line("loginprobe: interrupted")
        sys.exit(130)
