"""Benchmark: the same logins three ways, in one process run.

    .venv/bin/python bench/bench.py [--repeat N] [--browser chromium --browser firefox]

1. `minimal`: a hand-written Playwright script, sequential, launching each browser for each login
   (fresh context, then a persistent profile), with no capture and no diagnosis: the floor.
2. `loginprobe`: `loginprobe check` in-process with full capture (trace, HAR, CDP, snapshots,
   redaction, report rendering) and diagnosis.
3. `loginprobe-nocapture`: the same with capture off (no trace/HAR/screenshots).

The logins: the lab's form login, in each engine, fresh and persisted (a first visit creates the
profile, as it does for a new user). Prints wall time and peak memory (this process and every
browser/driver process under it) per variant, and the ratios the project tracks:
loginprobe / minimal (target <= 0.6), capture overhead (target < 15%), peak memory (< 1.5 GiB).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from playwright.sync_api import sync_playwright

from loginprobe.config.loading import load_settings
from loginprobe.config.settings import Site
from loginprobe.flows.browsers import discover
from loginprobe.lab.scenarios import SCENARIOS
from loginprobe.lab.server import Lab
from loginprobe.pipeline import run_check


class PeakMemory:
    """Samples the RSS of this process and all its descendants every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue  # a process that just ended has no memory to count
            self.peak = max(self.peak, total)
            self._stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def minimal(site: Site, engines: list[str]) -> None:
    """What a careful engineer would write by hand: same logins, one after the other."""
    password = site.credentials.password.get_secret_value() if site.credentials.password else ""
    with sync_playwright() as p:
        for engine in engines:
            _status, recipe = discover(p, engine)  # type: ignore[arg-type]
            assert recipe is not None
            options = recipe.launch_options()
            browser_type = getattr(p, engine)

            def login(page: object) -> None:
                page.goto(site.url)  # type: ignore[attr-defined]
                page.fill("#username", site.credentials.username or "")  # type: ignore[attr-defined]
                page.fill("#password", password)  # type: ignore[attr-defined]
                page.click("button[type=submit]")  # type: ignore[attr-defined]
                response = page.goto(site.target)  # type: ignore[attr-defined]
                assert response is not None and response.status == 200

            browser = browser_type.launch(**options)
            context = browser.new_context()
            login(context.new_page())
            context.close()
            browser.close()
            profile = tempfile.mkdtemp(prefix="bench-minimal-")
            context = browser_type.launch_persistent_context(profile, **options)
            login(context.pages[0] if context.pages else context.new_page())
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def with_loginprobe(site: Site, engines: list[str], capture: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-lp-"))
    try:
        settings = load_settings(
            None,
            sites=[site],
            browsers=engines,
            output=work / "reports",
            profiles_dir=work / "profiles",
            capture=capture,
        )
        outcome = run_check(settings)
        assert outcome.exit_code == 0, [r.outcome.reason for r in outcome.report.runs]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(fn: Callable[[], None], repeat: int) -> tuple[float, int]:
    times, peaks = [], []
    for _ in range(repeat):
        with PeakMemory() as memory:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        peaks.append(memory.peak)
    return statistics.median(times), max(peaks)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--browser", action="append", choices=["chromium", "firefox", "webkit"])
    args = parser.parse_args()
    engines = args.browser or ["chromium", "firefox"]
    with Lab() as lab:
        site = Site(name="bench", **SCENARIOS["control-form"].site(lab))
        results = {
            "minimal": measure(lambda: minimal(site, engines), args.repeat),
            "loginprobe": measure(lambda: with_loginprobe(site, engines, True), args.repeat),
            "loginprobe-nocapture": measure(lambda: with_loginprobe(site, engines, False), args.repeat),
        }
    print(f"logins: lab form login x {', '.join(engines)} x fresh, persisted; median of {args.repeat}")
    print(f"{'variant':<22}{'wall s':>8}{'peak MiB':>10}")
    for name, (wall, peak) in results.items():
        print(f"{name:<22}{wall:>8.2f}{peak / 2**20:>10.0f}")
    floor, full, bare = (results[k][0] for k in ("minimal", "loginprobe", "loginprobe-nocapture"))
    print(f"loginprobe / minimal      {full / floor:.2f}  (target <= 0.60)")
    print(f"capture overhead          {(full - bare) / bare:+.0%}  (target < 15%)")
    print(f"peak memory (loginprobe)  {results['loginprobe'][1] / 2**30:.2f} GiB  (target < 1.5 GiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
