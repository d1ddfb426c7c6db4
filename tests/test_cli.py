"""Usage and config errors: exit 2, one line on stderr naming the field, never a traceback.

Each case runs the real `loginprobe` console script; all of them start at once (a module fixture),
since each is a short process start and nothing here reaches a browser.

Over 400 lines: every usage and config error of the CLI, started together by one module fixture.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from loginprobe.errors import ConfigError
from loginprobe.evidence import Engine, EngineStatus
from tests.conftest import require_engine
from tests.faults.servers import LOGINPROBE, CliResult, cli_env, kill_tree, run_cli
from tests.reports.report_factory import make_report

# name -> (TOML file content or None, extra arguments, the one line expected on stderr)
CASES: dict[str, tuple[str | None, list[str], str]] = {
    "bad-toml": (
        '[[sites]\nname = "a"\n',
        [],
        "--config: {config} is not valid TOML: Expected ']]' at the end of an array declaration "
        "(at line 1, column 8)",
    ),
    "unknown-field": (
        '[[sites]]\nname = "a"\nurl = "http://127.0.0.1/"\ncolour = "red"\n',
        [],
        "invalid setting sites.0.colour: Extra inputs are not permitted (got 'red')",
    ),
    "unknown-top-level-field": (
        "retries = 3\n",
        [],
        "invalid setting retries: Extra inputs are not permitted (got 3)",
    ),
    "invalid-value": (
        'workers = "many"\n',
        ["--url", "http://127.0.0.1/"],
        "invalid setting workers: Input should be a valid integer, unable to parse string as an integer "
        "(got 'many')",
    ),
    "invalid-url": (
        '[[sites]]\nname = "a"\nurl = "ftp://files/"\n',
        [],
        "invalid setting sites.0.url: 'ftp://files/' is not an http(s) URL",
    ),
    "missing-password-env": (
        '[[sites]]\nname = "a"\nurl = "http://127.0.0.1/"\n[sites.credentials]\nusername = "u"\n'
        'password_env = "LOGINPROBE_TEST_UNSET_PASSWORD"\n',
        [],
        "invalid setting sites.0.credentials: password_env names the environment variable "
        "'LOGINPROBE_TEST_UNSET_PASSWORD', which is not set (nor in .env)",
    ),
    "missing-password-env-flag": (
        None,
        ["--url", "http://127.0.0.1/", "--password-env", "LOGINPROBE_TEST_UNSET_PASSWORD"],
        "invalid setting sites.0.credentials: password_env names the environment variable "
        "'LOGINPROBE_TEST_UNSET_PASSWORD', which is not set (nor in .env)",
    ),
    "bad-browser": (
        None,
        ["--url", "http://127.0.0.1/", "-b", "netscape"],
        "invalid setting browsers.0: Input should be 'chromium', 'firefox' or 'webkit' (got 'netscape')",
    ),
    "bad-shard": (
        None,
        ["--url", "http://127.0.0.1/", "--shard", "3/2"],
        "invalid setting shard: '3/2' is not i/n with 1 <= i <= n",
    ),
    "bad-executable-engine": (
        None,
        ["--url", "http://127.0.0.1/", "--executable", "chrome=/usr/bin/chromium"],
        "--executable: expected ENGINE=VALUE with ENGINE one of chromium, firefox, webkit, "
        "got 'chrome=/usr/bin/chromium'",
    ),
    "config-not-a-file": (
        None,
        ["-c", "nowhere.toml"],
        "--config: 'nowhere.toml' is not a file",
    ),
    "flow-without-url": (
        None,
        ["--flow", "form"],
        "--flow, --protected-url and the credential flags describe a site: give --url too",
    ),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def results(folder: Path) -> dict[str, CliResult]:
    """Every case's result; the environment is the clean one of a user without LOGINPROBE_* set."""
    env = cli_env(COLUMNS="80")  # rich wraps at 80 columns: a one-line message must not wrap

    def one(name: str) -> CliResult:
        content, extra, _ = CASES[name]
        args = ["check", "-o", str(folder / name / "reports"), *extra]
        if content is not None:
            (folder / f"{name}.toml").write_text(content, encoding="utf-8")
            args += ["-c", f"{name}.toml"]
        return run_cli(*args, cwd=folder, env=env)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(one, CASES), strict=True))


@pytest.mark.parametrize("name", CASES)
def test_config_error_is_one_line_exit_2(name: str, results: dict[str, CliResult], folder: Path) -> None:
    result = results[name]
    expected = CASES[name][2].format(config=f"{name}.toml")

    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.lines == [f"loginprobe: ConfigError: {expected}"]
    assert result.stdout == ""
    assert not (folder / name).exists()  # settings are checked before anything is written


# -- settings: where the config comes from, and the environment against .env --------------------------

SITE_TOML = '[[{table}sites]]\nname = "{name}"\nurl = "http://127.0.0.1:9/login"\n'


def test_config_discovery_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from loginprobe.config.loading import discover_config, load_settings

    monkeypatch.chdir(tmp_path)
    # Nothing there: no file, and library callers (no `discover`) never read one.
    assert discover_config(tmp_path) is None
    # A pyproject.toml without [tool.loginprobe] is not a loginprobe config.
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n', encoding="utf-8")
    assert discover_config(tmp_path) is None
    # With the table, it is found and read.
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\n[tool.loginprobe]\ntimeout = 7\n'
        + SITE_TOML.format(table="tool.loginprobe.", name="py"),
        encoding="utf-8",
    )
    assert discover_config(tmp_path) == tmp_path / "pyproject.toml"
    settings = load_settings(discover=tmp_path)
    assert [s.name for s in settings.sites] == ["py"] and settings.timeout == 7
    assert load_settings().sites == []
    # loginprobe.toml beats pyproject.toml ...
    (tmp_path / "loginprobe.toml").write_text(SITE_TOML.format(table="", name="own"), encoding="utf-8")
    assert [s.name for s in load_settings(discover=tmp_path).sites] == ["own"]
    # ... and --config beats both.
    (tmp_path / "other.toml").write_text(SITE_TOML.format(table="", name="given"), encoding="utf-8")
    assert [s.name for s in load_settings(Path("other.toml"), discover=tmp_path).sites] == ["given"]
    # --config pyproject.toml reads its table, and says so when there is none.
    assert [s.name for s in load_settings(Path("pyproject.toml")).sites] == ["py"]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"has no \[tool.loginprobe\] table"):
        load_settings(Path("empty/pyproject.toml"))


def test_real_environment_beats_dotenv_and_env_names_resolve_from_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loginprobe.config.loading import load_settings

    monkeypatch.chdir(tmp_path)
    # Given a .env with a setting and two secrets (not LOGINPROBE_ names: they must not be refused)
    (tmp_path / ".env").write_text(
        "LOGINPROBE_TIMEOUT=12\nSHOP_PASSWORD=from-dotenv\nSHOP_TOKEN=token-from-dotenv\n", encoding="utf-8"
    )
    site = {
        "name": "shop",
        "url": "http://127.0.0.1:9/login",
        "credentials": {"username": "u", "password_env": "SHOP_PASSWORD", "token_env": "SHOP_TOKEN"},
    }
    # .env alone
    settings = load_settings(sites=[site])
    assert settings.timeout == 12
    credentials = settings.sites[0].credentials
    assert credentials.password is not None and credentials.password.get_secret_value() == "from-dotenv"
    # The real environment wins over .env, for settings and for *_env names alike
    monkeypatch.setenv("LOGINPROBE_TIMEOUT", "20")
    monkeypatch.setenv("SHOP_PASSWORD", "from-environment")
    settings = load_settings(sites=[site])
    assert settings.timeout == 20
    credentials = settings.sites[0].credentials
    assert credentials.password is not None and credentials.password.get_secret_value() == "from-environment"
    assert credentials.token is not None and credentials.token.get_secret_value() == "token-from-dotenv"
    # Flags beat both
    assert load_settings(sites=[site], timeout=3).timeout == 3


# -- version, help ---------------------------------------------------------------------------------


def test_version_flag_and_command(tmp_path: Path) -> None:
    from loginprobe import __version__

    flag, command = run_cli("--version", cwd=tmp_path), run_cli("version", cwd=tmp_path)
    assert flag.code == command.code == 0
    assert flag.stdout == command.stdout
    assert flag.stdout.startswith(f"loginprobe {__version__}, playwright 1.64.")


def test_help_has_readable_placeholders_and_demo_lists_scenarios(tmp_path: Path) -> None:
    from loginprobe.lab.scenarios import SCENARIOS

    check = run_cli("check", "--help", cwd=tmp_path, env=cli_env(COLUMNS="80"))
    assert check.code == 0
    assert "<" not in check.stdout, check.stdout  # no <list[str]>, <str>, <path>
    for placeholder in ("--browser ENGINE", "--mode MODE", "--url URL", "--config PATH", "--site NAME"):
        assert placeholder in check.stdout
    demo = run_cli("demo", "--help", cwd=tmp_path, env=cli_env(COLUMNS="80"))
    assert demo.code == 0
    words = set(re.findall(r"[a-z0-9-]+", demo.stdout))
    assert set(SCENARIOS) <= words  # every name whole (never split at a hyphen)
    assert max(len(line) for line in demo.stdout.splitlines()) <= 80


# -- report, bundle, compare on a folder that is not a run -------------------------------------------


def test_report_bundle_compare_on_the_output_folder_exit_2_with_a_hint(tmp_path: Path) -> None:

    from loginprobe.reports import render_all
    from loginprobe.reports.latest import point_latest

    output = tmp_path / "loginprobe-report"
    run = output / "20250314T093000Z-2-sites"
    render_all(make_report(), run)
    point_latest(run)
    for args in (["report", str(output)], ["bundle", str(output)], ["compare", str(output), str(run)]):
        result = run_cli(*args, cwd=tmp_path)
        assert result.code == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.lines == [
            f"loginprobe: ConfigError: {output} is not a run folder (no report.json) but holds 1 run: "
            f"give one, such as {output / 'latest'}"
        ]
    missing = run_cli("report", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.code == 2 and "no such folder" in missing.stderr
    # The latest link itself is a run folder.
    assert run_cli("report", str(output / "latest"), cwd=tmp_path).code == 0


def test_compare_markdown_is_never_wrapped(tmp_path: Path) -> None:
    from loginprobe.reports import render_all
    from tests.reports.report_factory import ENGINES

    # Given two runs whose WebKit reasons differ by a sentence far wider than 80 columns
    long_reason = "WebKit could not start here, " * 5
    later = [*ENGINES[:2], ENGINES[2].model_copy(update={"reason": long_reason})]
    a, b = tmp_path / "a", tmp_path / "b"
    render_all(make_report(), a)
    render_all(make_report(engines=later), b)
    # When compared as Markdown in an 80-column CI log
    result = run_cli("compare", str(a), str(b), "--markdown", cwd=tmp_path, env=cli_env(COLUMNS="80"))
    # Then every table row stays whole on one line
    assert result.code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert len(rows) > 2
    assert all(line.endswith("|") for line in rows), result.stdout
    assert any(long_reason.strip() in line and len(line) > 80 for line in rows), result.stdout


# -- a real check, as a newcomer's first run reads in a CI log and in a terminal -----------------------

NO_FIREFOX = "/nonexistent/firefox"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass
class TtyResult:
    code: int
    stdout: str  # what the terminal showed on stdout, escape codes removed
    stderr: str


def run_in_terminal(*args: str, cwd: Path, columns: int, timeout: float = 180) -> TtyResult:
    """`loginprobe <args>` with stdout and stderr each on a pseudo-terminal `columns` wide."""
    env = cli_env(COLUMNS=str(columns), TERM="xterm")
    ptys = [pty.openpty(), pty.openpty()]
    for _, child in ptys:
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        [str(LOGINPROBE), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=ptys[0][1],
        stderr=ptys[1][1],
    )
    for _, child in ptys:
        os.close(child)
    chunks: dict[int, list[bytes]] = {parent: [] for parent, _ in ptys}
    open_fds = set(chunks)
    deadline = time.monotonic() + timeout
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_fds), [], [], 1.0)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its end
                data = b""
            if data:
                chunks[fd].append(data)
            else:
                open_fds.discard(fd)
    if open_fds:
        kill_tree(proc.pid)
        raise AssertionError(f"loginprobe {' '.join(args)} hung in a terminal")
    code = proc.wait(timeout=30)
    for parent, _ in ptys:
        os.close(parent)
    text = [ANSI.sub("", b"".join(chunks[p]).decode()).replace("\r\n", "\n") for p, _ in ptys]
    return TtyResult(code, text[0], text[1])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project folder whose pyproject.toml has a [tool.loginprobe] table naming a healthy and a broken
    lab login, passwords in its .env (by name, as password_env), and Firefox asked for at a path where
    there is none (an engine asked for that cannot run, on any machine)."""
    from loginprobe.lab.scenarios import SCENARIOS
    from loginprobe.lab.server import Lab

    folder = tmp_path_factory.mktemp("project")
    with Lab() as healthy, Lab() as broken:
        broken.apply(**SCENARIOS["invalid-credentials"].probe)
        lines = ['[project]\nname = "app"\n', "[tool.loginprobe]", 'browsers = ["chromium", "firefox"]']
        lines += ['modes = ["fresh"]', "ablate = false", 'output = "ci-reports"']
        lines += [f'executables = {{ firefox = "{NO_FIREFOX}" }}', ""]
        dotenv = []
        for name, lab, scenario in (
            ("healthy", healthy, "control-form"),
            ("broken", broken, "invalid-credentials"),
        ):
            site = SCENARIOS[scenario].site(lab)
            variable = f"{name.upper()}_PASSWORD"
            dotenv.append(f"{variable}={site['credentials']['password']}")
            lines += ["[[tool.loginprobe.sites]]", f'name = "{name}"', f'url = "{site["url"]}"']
            lines += [f'protected_url = "{site["protected_url"]}"', 'flow = "form"']
            lines += [
                "[tool.loginprobe.sites.credentials]",
                f'username = "{site["credentials"]["username"]}"',
            ]
            lines += [f'password_env = "{variable}"', ""]
        (folder / "pyproject.toml").write_text("\n".join(lines), encoding="utf-8")
        (folder / ".env").write_text("\n".join(dotenv) + "\n", encoding="utf-8")
        yield folder


@pytest.fixture(scope="module")
def checks(project: Path, engine_status: dict[Engine, EngineStatus]) -> dict[str, CliResult | TtyResult]:
    """Four real checks of the project (Chromium), two at a time: a CI log at 80 and at 160 columns,
    a terminal at 160 columns picking one site, and --json; plus --quiet."""
    require_engine(engine_status, "chromium")
    runs: dict[str, Callable[[], CliResult | TtyResult]] = {
        "ci-80": lambda: run_cli("check", cwd=project, env=cli_env(COLUMNS="80"), timeout=180),
        "json": lambda: run_cli("check", "--json", cwd=project, env=cli_env(COLUMNS="80"), timeout=180),
        "tty-160": lambda: run_in_terminal("check", "--site", "broken", cwd=project, columns=160),
        "quiet": lambda: run_cli("check", "-q", cwd=project, env=cli_env(COLUMNS="80"), timeout=180),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(fn) for name, fn in runs.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.browser
def test_ci_log_at_80_columns_reads_cleanly(
    checks: dict[str, CliResult | TtyResult], project: Path, engine_status: dict[Engine, EngineStatus]
) -> None:
    result = checks["ci-80"]
    assert result.code == 1, result.stderr  # a login failed
    # Progress: a start line, then one line per finished run (site, engine, mode, status, seconds)
    progress = result.stderr.splitlines()
    assert progress[0].startswith("loginprobe 0.") and "config pyproject.toml" in progress[0], progress
    finished = [line.split() for line in progress[1:] if line.split()[:1] in (["healthy"], ["broken"])]
    assert sorted([*f[:4], f[-1]] for f in finished) == [
        ["broken", "chromium", "fresh", "fail", "s"],
        ["healthy", "chromium", "fresh", "pass", "s"],
    ], progress
    assert all(re.fullmatch(r"\d+\.\d", f[-2]) for f in finished), progress
    # The summary fits 80 columns, with only the engine that ran as a column
    out = result.stdout.splitlines()
    assert max(len(line) for line in out) <= 80, result.stdout
    assert all(line == line.rstrip() for line in out), result.stdout  # no trailing blanks in the log
    assert out[0] == "loginprobe: 1 of 2 sites failing"
    header = " ".join(out[1:3])
    assert "chromium" in header and "firefox" not in header
    # Cause ids are never cut, and each verdict is said once
    assert "invalid-credentials" in result.stdout and "…" not in result.stdout
    broken = next(line for line in out if line.startswith("broken: "))
    assert broken.startswith("broken: invalid-credentials (")
    assert result.stdout.count("broken: ") == 1
    summary = out[out.index(broken) + 1].strip()
    assert result.stdout.count(summary) == 1
    # Firefox, asked for and missing, is one footnote (the only mention of it)
    assert sum("firefox" in line for line in out) == 1
    start = next(n for n, line in enumerate(out) if line.startswith("not run: "))
    assert " ".join(out[start : start + 2]).startswith(
        f"not run: firefox: the configured executable {NO_FIREFOX} does not exist"
    )
    # The run landed in the configured output folder, with a latest link to it
    assert out[-1].startswith("report: ci-reports/") and out[-1].endswith("/report.html")
    assert (project / "ci-reports" / "latest" / "report.json").is_file()


@pytest.mark.browser
def test_terminal_at_160_columns_shows_a_bar_and_the_picked_site(
    checks: dict[str, CliResult | TtyResult],
) -> None:
    result = checks["tty-160"]
    assert result.code == 1, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "loginprobe: the site is failing"
    assert max(len(line) for line in out) <= 160
    assert "healthy" not in result.stdout  # --site broken
    # The table is wide here: site, the engine's mode, and the cause id on one row
    row = next(line for line in out if line.startswith("broken "))
    assert row.split()[:2] == ["broken", "fail"]
    assert "invalid-credentials" in row
    # In a terminal, progress is a bar (cleared at the end), not one line per run
    assert "chromium  fresh" not in result.stderr


@pytest.mark.browser
def test_json_prints_the_report_and_nothing_else_on_stdout(checks: dict[str, CliResult | TtyResult]) -> None:
    result = checks["json"]
    assert result.code == 1
    document = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert document["sites"] == ["healthy", "broken"]
    assert {v["site"]: v["primary"] for v in document["verdicts"]} == {
        "healthy": "none",
        "broken": "invalid-credentials",
    }
    assert "report: " in result.stderr and "broken" in result.stderr  # path and progress went to stderr


@pytest.mark.browser
def test_quiet_prints_one_line_per_failing_site(checks: dict[str, CliResult | TtyResult]) -> None:
    result = checks["quiet"]
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    assert lines[0].startswith("broken: invalid-credentials: ")
    assert lines[1].startswith("report: ")
    assert result.stderr == ""


@pytest.mark.browser
@pytest.mark.parametrize(("columns", "terminal"), [(80, True), (160, False)])
def test_report_summary_fits_the_terminal(
    checks: dict[str, CliResult | TtyResult], project: Path, columns: int, terminal: bool
) -> None:
    # The same summary, re-rendered from the CI run's folder, at the other widths and terminal kinds
    latest = project / "ci-reports" / "latest"
    if terminal:
        result: CliResult | TtyResult = run_in_terminal("report", str(latest), cwd=project, columns=columns)
    else:
        result = run_cli("report", str(latest), cwd=project, env=cli_env(COLUMNS=str(columns)))
    assert result.code == 0, result.stderr
    out = result.stdout.splitlines()
    assert max(len(line) for line in out) <= columns
    assert "invalid-credentials" in result.stdout and "…" not in result.stdout
    assert sum(line.startswith("broken: ") for line in out) == 1


@pytest.mark.browser
def test_demo_ci_log_at_80_columns(tmp_path: Path, engine_status: dict[Engine, EngineStatus]) -> None:
    require_engine(engine_status, "chromium")
    # Given a newcomer's first demo in a CI log (no terminal, 80 columns): a healthy and a broken login
    scenarios = ("--scenario", "control-form", "--scenario", "stale-cookie-session-lost")
    result = run_cli(
        "demo", "--browser", "chromium", *scenarios, cwd=tmp_path, env=cli_env(COLUMNS="80"), timeout=300
    )
    assert result.code == 0, result.stderr
    # Then every line fits 80 columns, nothing is cut and no line ends in blanks
    lines = result.stdout.splitlines() + result.stderr.splitlines()
    assert all(len(line) <= 80 and line == line.rstrip() and "…" not in line for line in lines), lines
    # ... progress shows as the runs finish, re-runs said to be re-runs once, each naming what changed
    progress = result.stderr.splitlines()
    assert progress[0].startswith("loginprobe 0.") and "2 sites in chromium" in progress[0], progress
    assert sum(line.startswith("re-runs of failing logins") for line in progress) == 1, progress
    reruns = progress[progress.index(next(p for p in progress if p.startswith("re-runs"))) + 1 :]
    assert reruns and all(re.search(r"\d s  \([a-z-]+\)$", line) for line in reruns), reruns
    # ... each verdict is said once, and the scenario list names expected and diagnosed causes uncut
    out = result.stdout
    assert out.count("stale-cookie-session-lost: stale-cookie (") == 2, out  # verdict, then the list
    assert "ok stale-cookie-session-lost: stale-cookie (failing in chromium)\n" in out, out
    assert "ok control-form: none\n" in out, out
    # ... and the browser work before the first progress line says what it is
    assert "seeding the returning browsers of 1 site (their earlier visit) first\n" in out, out
    # ... and the report embeds the failing run's screenshot
    [page] = (tmp_path / "loginprobe-report").glob("*/report.html")
    assert 'src="data:image/jpeg;base64,' in page.read_text(encoding="utf-8")
