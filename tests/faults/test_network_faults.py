"""What the target does wrong at the network level: each fault is one clear line and the right exit code.

Exit codes (loginprobe/cli.py): 1 a login failed, 3 the site could not be reached at all.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.faults.report_access import only_report, outcome_reasons
from tests.faults.servers import (
    FaultSite,
    closed_port,
    fault_server,
    run_cli,
    self_signed_context,
    start_cli,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("chromium")]

# One cheap run per fault: Chromium, a fresh context, no differential re-runs.
ONE_RUN = ["--flow", "basic", "-b", "chromium", "-m", "fresh", "--no-ablate"]


def check(url: str, output: Path, *extra: str) -> list[str]:
    return ["check", "--url", url, *ONE_RUN, "-o", str(output), *extra]


def test_closed_port_is_unreachable_naming_the_site(tmp_path: Path, output: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/account"

    result = run_cli(*check(url, output, "--name", "shop"), cwd=tmp_path)

    assert result.code == 3, result.stderr
    assert result.messages == [
        f"loginprobe: TargetUnreachable: shop: {url} gave no HTTP response in any browser: "
        "the connection was refused (net::ERR_CONNECTION_REFUSED)"
    ]
    # The evidence of the refused request is still written; there is no 401, so no cause verdict.
    _, report = only_report(output)
    assert report["runs"][0]["exchanges"][0]["failure"] == "net::ERR_CONNECTION_REFUSED"
    assert report["verdicts"] == []
    assert list(report["unreachable"]) == ["shop"]


def test_dns_failure_is_unreachable_without_a_cause_verdict(tmp_path: Path, output: Path) -> None:
    # `.invalid` never resolves (RFC 6761 §6.4), with or without a network.
    result = run_cli(*check("http://login.example.invalid/", output), cwd=tmp_path)

    assert result.code == 3
    assert result.messages == [
        "loginprobe: TargetUnreachable: site: http://login.example.invalid/ gave no HTTP response in any "
        "browser: the host name does not resolve (net::ERR_NAME_NOT_RESOLVED)"
    ]
    _, report = only_report(output)
    assert report["verdicts"] == []  # not wrong-url: nothing answered, so there is no 401 to explain
    assert "does not resolve" in report["unreachable"]["site"]


def test_unsafe_port_is_unreachable(tmp_path: Path, output: Path) -> None:
    # Port 6000 (X11) is on the port list browsers refuse to connect to (Fetch standard, "bad port").
    result = run_cli(*check("http://127.0.0.1:6000/", output), cwd=tmp_path)

    assert result.code == 3
    assert result.messages == [
        "loginprobe: TargetUnreachable: site: http://127.0.0.1:6000/ gave no HTTP response in any browser: "
        "the browser refuses to connect to an unsafe port (net::ERR_UNSAFE_PORT)"
    ]
    _, report = only_report(output)
    assert report["verdicts"] == []


def test_self_signed_certificate_is_named_and_ignore_https_errors_passes(tmp_path: Path) -> None:
    tls = self_signed_context(tmp_path)
    with fault_server(tls) as (origin, _):
        refused = run_cli(*check(f"{origin}/ok", tmp_path / "strict"), cwd=tmp_path)
        accepted = run_cli(
            *check(f"{origin}/ok", tmp_path / "lenient", "--ignore-https-errors"), cwd=tmp_path
        )

    assert refused.code == 3
    assert refused.messages == [
        f"loginprobe: TargetUnreachable: site: {origin}/ok gave no HTTP response in any browser: "
        "the TLS connection failed (net::ERR_CERT_AUTHORITY_INVALID) "
        "(a certificate problem: --ignore-https-errors accepts it)"
    ]
    assert accepted.code == 0, accepted.stdout + accepted.stderr
    assert accepted.messages == []


def test_hung_server_fails_the_login_within_the_timeout(
    tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    origin, _ = server

    result = run_cli(*check(f"{origin}/slow", output, "--timeout", "2"), cwd=tmp_path)

    # The server is there (it accepted the connection): the login failed, loginprobe did its job.
    assert result.code == 1, result.stderr
    assert result.messages == []
    _, report = only_report(output)
    assert outcome_reasons(report) == {
        "site-chromium-fresh": f"GET {origin}/slow got no response: timed out: no answer within 2 s"
    }


def test_redirect_loop_is_a_clear_failure(
    tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    origin, _ = server

    result = run_cli(*check(f"{origin}/loop", output), cwd=tmp_path)

    assert result.code == 1
    assert result.messages == []
    _, report = only_report(output)
    assert outcome_reasons(report) == {
        "site-chromium-fresh": f"GET {origin}/loop was redirected 19 times until the browser gave up "
        "(net::ERR_TOO_MANY_REDIRECTS)"
    }
    # The verdict names the loop as the site's own (checks/redirects.py), whatever the width it wraps at
    assert report["verdicts"][0]["primary"] == "server-misconfiguration"
    assert f"{origin}/loop in chromium/fresh was redirected 19 times" in " ".join(result.stdout.split())


def test_huge_page_completes_without_holding_it_in_memory(
    tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    origin, _ = server
    peak = 0
    done = threading.Event()

    def sample(pid: int) -> None:
        nonlocal peak
        process = psutil.Process(pid)
        while not done.is_set():
            try:
                peak = max(peak, process.memory_info().rss)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)

    # Given a protected page whose body is 50 MB
    proc = start_cli(*check(f"{origin}/huge", output), cwd=tmp_path)
    sampler = threading.Thread(target=sample, args=(proc.pid,), daemon=True)
    sampler.start()
    out, err = proc.communicate(timeout=120)
    done.set()
    sampler.join()

    # Then the login succeeds, loginprobe's own process never held the body, nor did the report
    assert proc.returncode == 0, out + err
    assert "Traceback" not in err
    assert peak < 400 * 2**20, f"loginprobe peaked at {peak / 2**20:.0f} MiB"
    folder, report = only_report(output)
    assert report["runs"][0]["outcome"]["status"] == 200
    written = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    assert written < 10 * 2**20, f"the report folder holds {written / 2**20:.0f} MiB"


def test_malformed_challenges_cookies_and_tokens_are_recorded_best_effort(
    tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    origin, _ = server

    result = run_cli(*check(f"{origin}/malformed", output), cwd=tmp_path)

    assert result.code == 1
    assert "Traceback" not in result.stderr
    _, report = only_report(output)
    exchange = report["runs"][0]["exchanges"][0]
    assert exchange["status"] == 401
    assert [c["scheme"] for c in exchange["challenges"]] == ["Bearer", "Basic"]
    # `=novalue` has no name and `session` no `=`: both are ignored (RFC 6265 §5.2); the third is kept.
    assert [c["name"] for c in exchange["set_cookies"]] == ["token"]
    assert report["verdicts"][0]["primary"] == "missing-credentials"
