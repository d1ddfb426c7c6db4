"""Nothing hangs: challenges a flow cannot answer, bodies that stall, flows that never return.

Each check runs as a real CLI subprocess; its subprocess timeout is the check's own ceiling (computed
from its plan, as the runner does) plus the CLI's start-up, so a hang fails the test instead of
holding up the suite, and no test measures how fast anything was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loginprobe.flows import watchdog
from tests.faults.report_access import only_report
from tests.faults.servers import FaultSite, cli_env, run_cli
from tests.faults.third_party import httpbin, nginx_auth_basic

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("chromium")]

TIMEOUT_S = 3.0
CLI_START_S = 60.0  # importing, discovering browsers and writing the report, on a loaded machine


def within_ceiling(runs_per_lane: list[int], workers: int = 1) -> float:
    """The subprocess timeout for a check of this plan: its ceiling plus the CLI's start-up."""
    return watchdog.ceiling(runs_per_lane, workers, TIMEOUT_S) + CLI_START_S


def bearer_check(url: str, output: Path, *extra: str) -> list[str]:
    return [
        "check", "--url", url, "--flow", "bearer", "-b", "chromium", "-m", "fresh", "--no-ablate",
        "--timeout", str(TIMEOUT_S), "-w", "1", "-o", str(output), *extra,
    ]  # fmt: skip


def protected(report: dict[str, object], run_id: str) -> dict[str, object]:
    """The protected exchange of a run, as the report recorded it."""
    run = next(r for r in report["runs"] if r["run_id"] == run_id)  # type: ignore[attr-defined]
    index = run["outcome"]["protected_exchange"]
    assert index is not None, run["outcome"]
    return next(ex for ex in run["exchanges"] if ex["id"] == index)  # type: ignore[no-any-return]


def test_basic_challenge_to_a_bearer_fetch_is_recorded_not_hung(
    tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    # Given a protected URL that answers 401 with a Basic challenge, and a bearer token configured:
    # Chromium's fetch() without http_credentials used to wait forever for a login prompt
    origin, _ = server
    env_token = {"FAULT_TOKEN": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}
    result = run_cli(
        *bearer_check(f"{origin}/basic-challenge", output, "--token-env", "FAULT_TOKEN"),
        cwd=tmp_path,
        env=cli_env(**env_token),
        timeout=within_ceiling([1]),
    )

    # Then the check ends, the 401 and its challenge are evidence, and the cause is named
    assert result.code == 1, result.stdout + result.stderr
    _, report = only_report(output)
    exchange = protected(report, "site-chromium-fresh")
    assert exchange["status"] == 401
    assert [c["scheme"] for c in exchange["challenges"]] == ["Basic"]  # type: ignore[index]
    assert report["verdicts"][0]["primary"] == "wrong-auth-scheme"


def test_stalled_body_of_a_fetched_api_ends_within_the_timeout(
    tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    # Given an API that sends its headers and the first bytes of its body, then nothing
    origin, _ = server

    result = run_cli(*bearer_check(f"{origin}/stall", output), cwd=tmp_path, timeout=within_ceiling([1]))

    # Then the run is recorded with the status it got, and the check ends
    assert result.code in (0, 1), result.stdout + result.stderr
    _, report = only_report(output)
    assert [r["run_id"] for r in report["runs"]] == ["site-chromium-fresh"]
    assert protected(report, "site-chromium-fresh")["status"] == 200


def test_a_flow_that_never_returns_is_killed_and_the_next_run_goes_on(
    tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    # Given a user script whose page call never returns (no Playwright timeout bounds evaluate), and a
    # second site after it in the same lane
    origin, _ = server
    script = tmp_path / "never.py"
    script.write_text(
        "def login(page, site):\n"
        "    page.goto(site.url)\n"
        "    page.evaluate('new Promise(() => {})')  # a promise that never settles\n",
        encoding="utf-8",
    )
    config = tmp_path / "sites.toml"
    config.write_text(
        f'[[sites]]\nname = "hung"\nurl = "{origin}/ok"\nflow = "script"\nscript = "{script}"\n\n'
        f'[[sites]]\nname = "done"\nurl = "{origin}/ok"\nflow = "basic"\n',
        encoding="utf-8",
    )
    args = [
        "check", "-c", str(config), "-b", "chromium", "-m", "fresh", "--no-ablate", "-w", "1",
        "--timeout", str(TIMEOUT_S), "-o", str(output),
    ]  # fmt: skip

    result = run_cli(*args, cwd=tmp_path, timeout=within_ceiling([2]))

    # Then the hung run is recorded as timed out (its browser was killed by the watchdog), the next
    # site's login still runs in a new browser, and the report is written
    assert result.code == 3, result.stdout + result.stderr
    _, report = only_report(output)
    assert [(r["run_id"], r["outcome"]["success"]) for r in report["runs"]] == [("done-chromium-fresh", True)]
    budget = watchdog.run_budget(TIMEOUT_S)
    assert [(s["site"], s["reason"]) for s in report["skipped"]] == [
        (
            "hung",
            f"timed out: the run did not end within {budget:g} s (its timeout of {TIMEOUT_S:g} s plus a "
            "grace); loginprobe killed its browser",
        )
    ]
    assert report["missing"] == []


# -- real third-party servers --------------------------------------------------------------------


@pytest.mark.parametrize("server_kind", ["httpbin", "nginx"])
@pytest.mark.parametrize("token", [True, False], ids=["bearer-sent", "no-token"])
def test_third_party_basic_challenge_to_a_bearer_fetch_is_diagnosed(
    server_kind: str, token: bool, tmp_path: Path, output: Path
) -> None:
    # Given a real server whose API asks for Basic: httpbin's /basic-auth/user/passwd under gunicorn,
    # or nginx auth_basic; the flow sends a bearer token (or none), which cannot answer a Basic challenge
    serve, path = (
        (httpbin, "/basic-auth/user/passwd")
        if server_kind == "httpbin"
        else (nginx_auth_basic, "/api/items.json")
    )
    extra = ["--token-env", "FAULT_TOKEN"] if token else []
    env = cli_env(FAULT_TOKEN="eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
    with serve(tmp_path) as origin:
        result = run_cli(
            *bearer_check(f"{origin}{path}", output, *extra),
            cwd=tmp_path,
            env=env,
            timeout=within_ceiling([1]),
        )

    # Then the check ends, the 401 with its Basic challenge is evidence, and the cause is named
    assert result.code == 1, result.stdout + result.stderr
    _, report = only_report(output)
    exchange = protected(report, "site-chromium-fresh")
    assert exchange["status"] == 401
    assert [c["scheme"] for c in exchange["challenges"]] == ["Basic"]  # type: ignore[index]
    assert report["verdicts"][0]["primary"] == ("wrong-auth-scheme" if token else "missing-credentials")
