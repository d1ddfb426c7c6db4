"""Third-party servers for the real-software suite, each run as its own process group on 127.0.0.1,
and the way the tests drive loginprobe on them: as a user does, a TOML config and `loginprobe check`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.servers import cli_env, run_cli

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
# One check of one site: a returning visit's differential runs included, it takes 10-40 s here.
CHECK_TIMEOUT = 300.0
# The password of every test user; configs name its variable (password_env), as the README advises.
PASSWORD = "realworld-pass-7f3k"
PASSWORD_ENV = "REALWORLD_PASSWORD"


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (bound, then released, for a server to take)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    """Whether an HTTP server answers at `url` (any status counts)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@dataclass
class Service:
    """A server process the test started: its own process group, its output in a log file."""

    name: str
    argv: list[str]
    ready_url: str
    log: Path
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def origin(self) -> str:
        parts = urllib.parse.urlsplit(self.ready_url)
        return f"{parts.scheme}://{parts.netloc}"

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends its workers too
            )
        deadline = time.monotonic() + timeout
        while not answers(self.ready_url):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.name} did not answer {self.ready_url} in {timeout:.0f} s:\n{self.tail()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_group(proc)

    def restart(self, **env: str) -> None:
        """Stop, change the environment, start again on the same address."""
        self.stop()
        self.env.update(env)
        self.start()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """End a server's whole process group (SIGTERM, then SIGKILL); its leader was started in a new session."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def running(service: Service) -> Iterator[Service]:
    """Start the service; stop it (its whole process group) however the block ends."""
    try:
        service.start()
        yield service
    finally:
        service.stop()


def toml_value(value: Any) -> str:
    """A TOML literal for the few value types a site config uses (JSON's escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML literal for {value!r}")


def write_config(path: Path, site: dict[str, Any] | list[dict[str, Any]], profiles: Path, **top: Any) -> Path:
    """A loginprobe config with one site (or several: one check then serves them all, sharing the
    browser starts), the way a user writes it; sub-tables are nested dicts."""
    lines = [f"profiles_dir = {toml_value(str(profiles))}"]
    lines += [f"{key} = {toml_value(value)}" for key, value in top.items()]
    for one in [site] if isinstance(site, dict) else site:
        lines.append("\n[[sites]]")
        tables = {k: v for k, v in one.items() if isinstance(v, dict)}
        lines += [f"{key} = {toml_value(value)}" for key, value in one.items() if key not in tables]
        for table, values in tables.items():
            lines.append(f"[sites.{table}]")
            lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Checked:
    """One `loginprobe check`: its exit code, stderr and report.json."""

    code: int
    stderr: str
    report: dict[str, Any]

    @property
    def verdict(self) -> dict[str, Any]:
        (verdict,) = self.report["verdicts"]
        return verdict

    def site(self, name: str) -> Checked:
        """The same check seen through one of its sites: that site's verdict and runs alone."""
        report = dict(self.report)
        report["verdicts"] = [v for v in self.report["verdicts"] if v["site"] == name]
        report["runs"] = [r for r in self.report["runs"] if r["site"] == name]
        if len(report["verdicts"]) != 1:
            raise AssertionError(f"no one verdict for site {name!r} in this check:\n{self.stderr[-2000:]}")
        return Checked(self.code, self.stderr, report)

    @property
    def primary(self) -> str:
        return str(self.verdict["primary"])

    def runs(self, engine: str, mode: str) -> list[dict[str, Any]]:
        return [r for r in self.report["runs"] if r["engine"] == engine and r["mode"] == mode]

    def returning_run(self, engine: str) -> dict[str, Any]:
        """The persisted run of `engine` (no ablation, not through a proxy)."""
        (run,) = [
            r for r in self.runs(engine, "persisted") if r.get("ablation") is None and not r.get("via_proxy")
        ]
        return run

    def assert_returning_visit(self, engine: str, success: bool) -> None:
        """The persisted run was a returning visit that ended as expected; the fresh login worked."""
        (fresh,) = [r for r in self.runs(engine, "fresh") if not r.get("via_proxy")]
        assert fresh["outcome"]["success"], self.explain()
        run = self.returning_run(engine)
        assert run.get("returning_visit") is True, self.explain()
        assert run["outcome"]["success"] is success, self.explain()

    def assert_primary(self, engine: str, cause: str) -> None:
        """The verdict's primary cause is `cause`, and for a failure it was found in `engine`."""
        assert self.primary == cause, self.explain()
        if cause == "none":
            assert engine in self.verdict["engines_passing"], self.explain()
            return
        assert engine in self.verdict["engines_failing"], self.explain()
        found_in = {e for f in self.verdict["findings"] if f["cause"] == cause for e in f["engines"]}
        assert engine in found_in, self.explain()

    def explain(self) -> str:
        """What a failed assertion should show: the verdict and each run's outcome."""
        verdict = self.verdict
        runs = [
            f"  {r['run_id']}: success={r['outcome']['success']} status={r['outcome']['status']} "
            f"returning={r.get('returning_visit')} login_ran={r.get('login_ran')} {r['outcome']['reason']}"
            for r in self.report["runs"]
        ]
        findings = [f"  {f['cause']} {f['confidence']:.2f} {f['summary']}" for f in verdict["findings"]]
        head = f"verdict {verdict['primary']} ({verdict['confidence']:.2f}): {verdict['summary']}"
        return "\n".join([head, "runs:", *runs, "findings:", *findings, "stderr:", self.stderr[-2000:]])


def report_folders(output: Path) -> set[Path]:
    """The report folders under `output` (not the `latest` link to the newest)."""
    return {p for p in output.iterdir() if p.is_dir() and not p.is_symlink()} if output.exists() else set()


def check(
    config: Path,
    output: Path,
    engines: list[str],
    modes: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
) -> Checked:
    """`loginprobe check` on the config, as a subprocess (`env`: more variables, such as other secrets
    the config names); the report it wrote under `output`."""
    before = report_folders(output)
    args = ["check", "--config", str(config), "--output", str(output)]
    args += [arg for engine in engines for arg in ("--browser", engine)]
    args += [arg for mode in modes for arg in ("--mode", mode)]
    variables = cli_env(**{PASSWORD_ENV: PASSWORD, **(env or {})})
    result = run_cli(*args, cwd=cwd, env=variables, timeout=CHECK_TIMEOUT)
    if result.code not in (0, 1):
        raise AssertionError(f"loginprobe check exited {result.code}:\n{result.stderr}")
    written = sorted(report_folders(output) - before)
    if len(written) != 1 or not (written[0] / "report.json").is_file():
        raise AssertionError(f"loginprobe check exited {result.code}, no one report.json:\n{result.stderr}")
    report = json.loads((written[0] / "report.json").read_text(encoding="utf-8"))
    return Checked(result.code, result.stderr, report)


@dataclass
class Visits:
    """A site's first visit (which created the persisted profile) and, after the server changed, the
    returning user's check (a fresh login and the returning visit) in the same engines."""

    server: Service
    first: Checked
    returning: Checked

    def assert_first_visit_signed_in(self, engine: str) -> None:
        (run,) = self.first.runs(engine, "persisted")
        assert run["outcome"]["success"], self.first.explain()
        assert run.get("returning_visit") is False, self.first.explain()

    def assert_returning(self, engine: str, cause: str) -> None:
        """The returning visit in `engine` failed (or, for `none`, worked) and the verdict says `cause`."""
        self.returning.assert_returning_visit(engine, success=cause == "none")
        self.returning.assert_primary(engine, cause)


def visit_twice(
    server: Service, site: dict[str, Any], folder: Path, engines: list[str], change: Callable[[], None]
) -> Visits:
    """Check `site` once (the first visit creates the profile), `change` the server, check again."""
    config = write_config(folder / "loginprobe.toml", site, folder / "profiles")
    first = check(config, folder / "reports-first", engines, ["persisted"], folder)
    change()
    returning = check(config, folder / "reports-returning", engines, ["fresh", "persisted"], folder)
    return Visits(server, first, returning)
