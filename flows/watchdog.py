"""Bounded runs: the processes loginprobe started, a watchdog per run, and a ceiling per check.

Every lane thread starts its own Playwright driver (a child process), which starts the browsers. A call
of the sync API waits on that driver; when a browser stops answering (a page's `fetch()` held by an
authentication prompt nobody can see, a script that never settles), the call waits forever, whatever
its timeout. The only way out that works on every platform is the one a user has: end the browser.
So the driver of each lane is tracked as a `psutil.Process` the moment it starts, and:

- a run that outlives its budget (its timeout plus a grace) has its lane's browsers killed, which makes
  the pending call fail at once; if the lane is still stuck after `KILL_GRACE_S`, its driver goes too;
- Ctrl-C kills the browsers of every lane (the lanes then report their runs as interrupted);
- a whole check has a ceiling computed from its plan (`ceiling`), after which every browser is killed.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil
from playwright.sync_api import Playwright, sync_playwright

# A run may take its timeout for the flow and again for the protected answer, plus settling and the
# close: the grace is the larger of this and the timeout itself.
RUN_GRACE_MIN_S = 15.0
# A browser launch (a persisted run launches its own profile; the lane's shared browser is launched
# before its first run): Firefox's start costs seconds of CPU, more on a loaded 2-core machine.
LAUNCH_S = 30.0
# Starting a lane's driver, discovering its engine and launching its shared browser.
LANE_START_S = 15.0 + LAUNCH_S
# After the browsers are killed, how long a lane gets to notice before its driver is killed too.
KILL_GRACE_S = 10.0


def run_budget(timeout_s: float, launches: bool = False) -> float:
    """Seconds one run may take before the watchdog ends it: its timeout plus a grace (and a launch
    when the run starts its own browser)."""
    return timeout_s + max(RUN_GRACE_MIN_S, timeout_s) + (LAUNCH_S if launches else 0.0)


def lane_budget(runs: int, timeout_s: float) -> float:
    """Seconds a lane of `runs` runs may take: its start plus each run's budget (and its kill grace),
    each counted as if it launched its own browser (a shared browser killed by the watchdog is
    launched again for the next run)."""
    return LANE_START_S + runs * (run_budget(timeout_s, launches=True) + KILL_GRACE_S)


def ceiling(lane_runs: Iterable[int], workers: int, timeout_s: float) -> float:
    """The longest a batch of lanes may take on `workers` threads.

    The pool hands a lane to whichever worker is free (list scheduling), which never takes longer than
    the total work spread over the workers plus the longest single lane (Graham, 1966).
    """
    budgets = [lane_budget(n, timeout_s) for n in lane_runs if n > 0]
    if not budgets:
        return 0.0
    return sum(budgets) / max(workers, 1) + max(budgets) + KILL_GRACE_S


def _kill(processes: Iterable[psutil.Process]) -> int:
    killed = 0
    for proc in processes:
        try:
            proc.kill()
            killed += 1
        except psutil.Error:
            continue  # it ended on its own meanwhile, or is no longer ours to signal
    return killed


@dataclass(slots=True)
class Driver:
    """One lane's Playwright driver process, and the browsers under it."""

    process: psutil.Process | None

    def browsers(self) -> list[psutil.Process]:
        """Every process the driver started (browsers and their helpers), deepest first."""
        if self.process is None:
            return []
        try:
            return list(reversed(self.process.children(recursive=True)))
        except psutil.Error:
            return []

    def kill_browsers(self) -> int:
        return _kill(self.browsers())

    def kill(self) -> int:
        """The browsers, then the driver itself (the lane's sync API calls then fail)."""
        killed = self.kill_browsers()
        return killed + (_kill([self.process]) if self.process is not None else 0)


def _driver_pid(manager: Any) -> int | None:
    # Playwright keeps the driver's asyncio subprocess on its pipe transport; nothing public exposes it.
    try:
        return int(manager._connection._transport._proc.pid)
    except (AttributeError, TypeError, ValueError):
        return None


@dataclass(slots=True)
class _Watch:
    """One run under the watchdog."""

    driver: Driver
    label: str
    deadline: float
    fired: bool = False
    done: bool = False


@dataclass(slots=True)
class Processes:
    """The drivers loginprobe started (one per lane) and the watchdog over the runs in them."""

    _drivers: list[Driver] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Condition = field(init=False)
    _watches: list[tuple[float, int, _Watch]] = field(default_factory=list)
    _counter: int = 0
    _thread: threading.Thread | None = None
    _closed: bool = False

    def __post_init__(self) -> None:
        self._wake = threading.Condition(self._lock)

    # -- drivers ----------------------------------------------------------------------------
    @contextmanager
    def playwright(self) -> Iterator[tuple[Playwright, Driver]]:
        """`sync_playwright()` for this lane thread, with its driver process tracked."""
        manager = sync_playwright()
        playwright = manager.__enter__()
        pid = _driver_pid(manager)
        try:
            process = psutil.Process(pid) if pid is not None else None
        except psutil.Error:
            process = None
        driver = Driver(process)
        with self._lock:
            self._drivers.append(driver)
        try:
            yield playwright, driver
        finally:
            with self._lock:
                self._drivers.remove(driver)
            manager.__exit__(None, None, None)

    def kill_all_browsers(self) -> int:
        """Kill every browser of every lane, from any thread (Ctrl-C, the check's ceiling)."""
        with self._lock:
            drivers = list(self._drivers)
        return sum(driver.kill_browsers() for driver in drivers)

    def kill_all(self) -> int:
        """Kill every browser and driver (lanes still stuck after the browsers went)."""
        with self._lock:
            drivers = list(self._drivers)
        return sum(driver.kill() for driver in drivers)

    # -- the watchdog -----------------------------------------------------------------------
    @contextmanager
    def watch(self, driver: Driver, seconds: float, label: str) -> Iterator[_Watch]:
        """Bound what runs inside to `seconds`: past it, the lane's browsers are killed."""
        watch = _Watch(driver, label, time.monotonic() + seconds)
        with self._wake:
            self._counter += 1
            heapq.heappush(self._watches, (watch.deadline, self._counter, watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()
        try:
            yield watch
        finally:
            with self._wake:
                watch.done = True
                self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()

    def _loop(self) -> None:
        with self._wake:
            while not self._closed:
                while self._watches and self._watches[0][2].done:
                    heapq.heappop(self._watches)
                if not self._watches:
                    self._wake.wait()
                    continue
                deadline, _, watch = self._watches[0]
                now = time.monotonic()
                if now < deadline:
                    self._wake.wait(deadline - now)
                    continue
                heapq.heappop(self._watches)
                if watch.fired:
                    # Still stuck a grace after its browsers went: the driver itself no longer answers.
                    watch.driver.kill()
                    continue
                watch.fired = True
                watch.driver.kill_browsers()
                self._counter += 1
                heapq.heappush(self._watches, (now + KILL_GRACE_S, self._counter, watch))
