"""The one entry point: parse, build settings, call the pipeline, render. Thin on purpose.

Exit codes: 0 every login succeeded, 1 at least one login failed, 2 usage or config error,
3 infrastructure error (no browser, target unreachable, output not writable).

Streams: stdout carries the result (the summary, or with --json the report JSON and nothing else);
stderr carries progress (a bar in a terminal, one line per finished run elsewhere) and messages.

The commands live here; loginprobe/cli_flags.py turns flags into settings, loginprobe/cli_run.py runs a
check with its progress and prints the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from loginprobe import __version__
from loginprobe.cli_flags import parse_pairs, pick_sites, site_from_flags
from loginprobe.cli_run import console, live_progress, run_and_report, stderr_line
from loginprobe.errors import ConfigError, LoginprobeError
from loginprobe.evidence import ENGINES, FLOW_KINDS, MODES

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    # Help as wide as the terminal allows (click stops at 80 otherwise).
    context_settings={"max_content_width": 120},
    help="Drive real browsers through a site's login and explain why it ends in 401 Unauthorized.",
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        help="TOML file with [[sites]] and options (default: ./loginprobe.toml, else [tool.loginprobe] "
        "in ./pyproject.toml).",
    ),
]
BrowserOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--browser",
        "-b",
        metavar="ENGINE",
        help=f"Engine to run (repeatable): {', '.join(ENGINES)}. Default: all three.",
    ),
]
ModeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mode",
        "-m",
        metavar="MODE",
        help=f"Context mode (repeatable): {', '.join(MODES)}. Default: fresh and persisted.",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="DIR",
        help="Folder for run reports, one sub-folder per run (default ./loginprobe-report).",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-w",
        metavar="N",
        help="Browser lanes running at once (default: one per CPU core, 2 to 8).",
    ),
]
RunArg = Annotated[
    Path,
    typer.Argument(metavar="RUN", help="A run folder: loginprobe-report/<run>, or loginprobe-report/latest."),
]


def _fail(exc: LoginprobeError) -> typer.Exit:
    stderr_line(f"loginprobe: {type(exc).__name__}: {exc.message}")
    return typer.Exit(exc.exit_code)


def _version_callback(value: bool) -> None:
    if value:
        version()
        raise typer.Exit(0)


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Drive real browsers through a site's login and explain why it ends in 401 Unauthorized."""


@app.command()
def check(
    config: ConfigOpt = None,
    site: Annotated[
        list[str] | None,
        typer.Option("--site", "-s", metavar="NAME", help="Only this site of the config (repeatable)."),
    ] = None,
    url: Annotated[
        str | None, typer.Option(metavar="URL", help="Start URL of a single site (instead of a config).")
    ] = None,
    flow: Annotated[
        str | None, typer.Option(metavar="FLOW", help=f"Flow of --url: {', '.join(FLOW_KINDS)}.")
    ] = None,
    protected_url: Annotated[
        str | None, typer.Option(metavar="URL", help="URL whose status decides success.")
    ] = None,
    username: Annotated[str | None, typer.Option(metavar="NAME", help="Username for --url.")] = None,
    password_env: Annotated[
        str | None, typer.Option(metavar="VAR", help="Name of the env variable holding the password.")
    ] = None,
    token_env: Annotated[
        str | None, typer.Option(metavar="VAR", help="Name of the env variable holding the bearer token.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(metavar="VAR", help="Name of the env variable holding the API key.")
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="Python file defining login(page, site), for --flow script."),
    ] = None,
    name: Annotated[
        str | None, typer.Option(metavar="NAME", help="Name of the --url site in reports.")
    ] = None,
    browser: BrowserOpt = None,
    mode: ModeOpt = None,
    output: OutputOpt = None,
    workers: WorkersOpt = None,
    timeout: Annotated[
        float | None, typer.Option(metavar="SECONDS", help="Seconds a login may take (default 30).")
    ] = None,
    proxy: Annotated[
        str | None, typer.Option(metavar="URL", help="Also run every login through this proxy and compare.")
    ] = None,
    connect: Annotated[
        list[str] | None,
        typer.Option(metavar="ENGINE=WS_URL", help="Run an engine on a Playwright server (repeatable)."),
    ] = None,
    executable: Annotated[
        list[str] | None, typer.Option(metavar="ENGINE=PATH", help="Browser binary to use (repeatable).")
    ] = None,
    shard: Annotated[
        str | None, typer.Option(metavar="I/N", help="Run only this shard of site x engine pairs.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report JSON on stdout (and nothing else there).")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress and no table: one line per failing site."),
    ] = False,
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
    from loginprobe.config.loading import discover_config, load_settings

    try:
        found = discover_config(Path.cwd()) if config is None else None
        settings = load_settings(
            config or found,
            label="--config" if config is not None else "config",  # an error names where the file came from
            sites=site_from_flags(
                url, flow, protected_url, username, password_env, token_env, api_key_env, script, name
            ),
            browsers=browser,
            modes=mode,
            output=output,
            workers=workers,
            timeout=timeout,
            proxy=proxy,
            connect=parse_pairs(connect, "--connect"),
            executables=parse_pairs(executable, "--executable"),
            shard=shard,
            headless=False if headed else None,
            ignore_https_errors=True if ignore_https_errors else None,
            redact=False if no_redact else None,
            ablate=False if no_ablate else None,
            capture=False if no_capture else None,
            update_profile=True if update_profile else None,
        )
        settings = pick_sites(settings, site)
        code = run_and_report(settings, quiet=quiet, as_json=as_json, config=found)
    except LoginprobeError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:  # before the runs started or while rendering (the runs keep a partial report)
        stderr_line("loginprobe: interrupted before the report was complete")
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


def _wrapped(title: str, names: list[str]) -> str:
    import textwrap

    lines = textwrap.wrap(", ".join(names), width=74, break_on_hyphens=False)
    # "\b" keeps click from re-wrapping the paragraph (it would split names at their hyphens).
    return "\b\n" + title + "\n" + "\n".join(f"  {line}" for line in lines)


def _scenario_epilog() -> str:
    """Every lab scenario name, and the demo's default set."""
    from loginprobe.demo import DEMO_SCENARIOS
    from loginprobe.lab.scenarios import SCENARIOS

    return (
        _wrapped("Scenarios (--scenario NAME):", list(SCENARIOS))
        + "\n\n"
        + _wrapped("Without --scenario:", list(DEMO_SCENARIOS))
    )


class _DemoCommand(TyperCommand):
    """`demo --help` lists the scenarios, read only when help is shown (loginprobe.demo is slow to import)."""

    # typer vendors click privately (typer._click): its Context and HelpFormatter have no public names.
    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        self.epilog = _scenario_epilog()
        super().format_epilog(ctx, formatter)


@app.command(cls=_DemoCommand)
def demo(
    browser: BrowserOpt = None,
    output: OutputOpt = None,
    workers: WorkersOpt = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME", help="Lab scenario to include (repeatable; the names are listed below)."
        ),
    ] = None,
) -> None:
    """Start the embedded lab site and check a set of its logins, healthy and broken, in every engine."""
    from loginprobe.demo import run_demo

    try:
        code = run_demo(
            browsers=browser,
            output=output,
            workers=workers,
            scenarios=scenario,
            console=console,
            live=live_progress,
        )
    except LoginprobeError as exc:
        raise _fail(exc) from None
    raise typer.Exit(code)


def _report_folder(run: Path) -> Path:
    """`run` when it holds report.json; otherwise a ConfigError (exit 2) that points at the run folders."""
    from loginprobe.reports.latest import run_folders

    if (run / "report.json").is_file():
        return run
    if not run.is_dir():
        raise ConfigError(f"{run}: no such folder (give a run folder, such as loginprobe-report/latest)")
    runs = run_folders(run)
    if runs:
        newest = runs[-1]
        shortcut = run / "latest"
        pick = shortcut if (shortcut / "report.json").is_file() else newest
        raise ConfigError(
            f"{run} is not a run folder (no report.json) but holds {len(runs)} run"
            f"{'s' if len(runs) != 1 else ''}: give one, such as {pick}"
        )
    raise ConfigError(
        f"{run} is not a run folder (no report.json): give a folder such as loginprobe-report/<run>"
    )


@app.command()
def report(run: RunArg) -> None:
    """Re-render the outputs of a run folder from its report.json and artifacts."""
    from loginprobe.reports import load_report, render_all
    from loginprobe.reports.terminal import print_summary

    try:
        folder = _report_folder(run)
        loaded = load_report(folder)
        render_all(loaded, folder)
    except LoginprobeError as exc:
        raise _fail(exc) from None
    print_summary(loaded, console)
    console.print(f"report: {folder / 'report.html'}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def bundle(
    run: RunArg,
    dest: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="PATH", help="Zip file to write.")
    ] = None,
) -> None:
    """Write one redacted zip with everything a bug report needs."""
    from loginprobe.reports.bundle import write_bundle

    try:
        path = write_bundle(_report_folder(run), dest)
    except LoginprobeError as exc:
        raise _fail(exc) from None
    console.print(f"bundle: {path}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(metavar="RUN_A", help="The earlier (or reference) run folder.")],
    run_b: Annotated[Path, typer.Argument(metavar="RUN_B", help="The later run folder.")],
    markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown instead of a table.")] = False,
) -> None:
    """Show what changed between two runs: engines, modes, status, cookies, headers, verdict."""
    from loginprobe.reports import load_report
    from loginprobe.reports.compare import compare as compare_reports
    from loginprobe.reports.compare import comparison_markdown, print_comparison

    try:
        comparison = compare_reports(load_report(_report_folder(run_a)), load_report(_report_folder(run_b)))
    except LoginprobeError as exc:
        raise _fail(exc) from None
    if markdown:
        # Plain write: rich would wrap at the terminal's (or 80) columns and break the table rows.
        sys.stdout.write(comparison_markdown(comparison))
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
        stderr_line("loginprobe: interrupted")
        sys.exit(130)
