"""What to run and how to group it: run specs, and lanes (one thread and Playwright driver each)
balanced over the workers by estimated work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from loginprobe.config.settings import Site
from loginprobe.evidence import Ablation, Engine, Mode

TRANSPLANTS: tuple[Ablation, ...] = ("only-cookies", "only-storage")
SIGN_IN_AGAIN: tuple[Ablation, ...] = ("relogin", "no-cookies")  # differential runs that log in


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run to perform."""

    site: Site
    engine: Engine
    mode: Mode
    ablation: Ablation | None = None
    via_proxy: bool = False

    @property
    def run_id(self) -> str:
        parts = [self.site.name, self.engine, self.mode]
        if self.ablation:
            parts.append(self.ablation)
        if self.via_proxy:
            parts.append("proxy")
        return "-".join(parts)

    @property
    def shares_browser(self) -> bool:
        """Runs in a plain context of the lane's one browser (not a persistent profile)."""
        return self.mode != "persisted" or self.ablation in TRANSPLANTS


@dataclass(slots=True)
class Lane:
    """Runs that share one thread and Playwright driver (and, for plain contexts, one browser)."""

    engine: Engine
    persistent: bool
    specs: list[RunSpec] = field(default_factory=list)


# Rough seconds per run and per browser launch on a 2-core machine, only to balance lanes: a
# persisted run includes its own launch (Firefox's costs several seconds of CPU), a fresh one reuses
# its lane's browser.
RUN_SECONDS: dict[tuple[Engine, bool], float] = {
    ("chromium", False): 1.5,
    ("chromium", True): 3.0,
    ("firefox", False): 2.0,
    ("firefox", True): 8.0,
    ("webkit", False): 1.5,
    ("webkit", True): 3.0,
}
LAUNCH_SECONDS: dict[Engine, float] = {"chromium": 0.5, "firefox": 4.5, "webkit": 1.0}
SPLIT_ABOVE_SHARE = 1.2  # split a lane estimated longer than this multiple of its fair share ...
SPLIT_MIN_RUNS = 4  # ... when it holds at least this many runs


def estimate(lane: Lane) -> float:
    runs = sum(RUN_SECONDS.get((lane.engine, not spec.shares_browser), 3.0) for spec in lane.specs)
    shared = any(spec.shares_browser for spec in lane.specs)
    return runs + (LAUNCH_SECONDS.get(lane.engine, 1.0) if shared else 0.0)


def plan_lanes(specs: Iterable[RunSpec], workers: int) -> list[Lane]:
    """Group specs into lanes (one thread and driver each), balanced over the workers.

    1. One lane per engine and kind (a shared browser for fresh contexts, or own profiles).
    2. More lanes than workers: an engine's lanes become one, shortest first (the pool could not
       run them at once anyway; one driver less). Shared-browser runs go first in it, so the
       lane closes that browser before its own launches.
    3. Split the longest lane while a worker would otherwise idle, or while a long lane (several
       runs) exceeds its share of the estimated work: a persistent lane costs one more driver,
       a shared one one more browser launch.
    4. Longest first, so the pool does not end waiting on one lane (Firefox's persisted runs).
    """
    lanes: dict[tuple[Engine, bool], Lane] = {}
    for spec in specs:
        key = (spec.engine, not spec.shares_browser)
        lanes.setdefault(key, Lane(spec.engine, not spec.shares_browser)).specs.append(spec)
    result = list(lanes.values())
    workers = max(workers, 1)
    while len(result) > workers:
        pairs = [(a, b) for i, a in enumerate(result) for b in result[i + 1 :] if a.engine == b.engine]
        if not pairs:
            break
        a, b = min(pairs, key=lambda pair: estimate(pair[0]) + estimate(pair[1]))
        a.specs = sorted([*a.specs, *b.specs], key=lambda spec: not spec.shares_browser)
        a.persistent = a.persistent and b.persistent
        result.remove(b)
    share = sum(map(estimate, result)) / workers
    for _ in range(64):
        longest = max(result, key=estimate, default=None)
        if longest is None or len(longest.specs) < 2:
            break
        too_long = len(longest.specs) >= SPLIT_MIN_RUNS and estimate(longest) > share * SPLIT_ABOVE_SHARE
        if len(result) >= workers and not too_long:
            break
        half = len(longest.specs) // 2
        tail = longest.specs[half:]
        result.append(Lane(longest.engine, all(not s.shares_browser for s in tail), tail))
        del longest.specs[half:]
        longest.persistent = all(not s.shares_browser for s in longest.specs)
    result.sort(key=estimate, reverse=True)
    return result
