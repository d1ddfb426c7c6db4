"""How the runner spreads runs over its workers (no browser: planning only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loginprobe.config.loading import load_settings
from loginprobe.config.settings import Site
from loginprobe.flows.lanes import estimate as _estimate
from loginprobe.flows.runner import Runner
from loginprobe.pipeline import plan
from loginprobe.secrets import Redactor


def _lanes(sites: int, workers: int, tmp_path: Path) -> tuple[list[str], list]:
    settings = load_settings(
        None,
        sites=[Site(name=f"s{n}", url=f"http://127.0.0.1:{8000 + n}/login") for n in range(sites)],
        browsers=["chromium", "firefox"],
        workers=workers,
        output=tmp_path / "reports",
    )
    specs = plan(settings)
    runner = Runner(settings, Redactor(key_path=tmp_path / "key"), tmp_path)
    try:
        return [s.run_id for s in specs], runner._lanes(specs)
    finally:
        runner.cleanup()


@pytest.mark.parametrize(("sites", "workers"), [(1, 4), (2, 1), (31, 4), (31, 8), (5, 2)])
def test_every_run_is_in_exactly_one_lane_of_one_engine_and_kind(
    sites: int, workers: int, tmp_path: Path
) -> None:
    ids, lanes = _lanes(sites, workers, tmp_path)
    laned = [spec.run_id for lane in lanes for spec in lane.specs]
    assert sorted(laned) == sorted(ids)
    for lane in lanes:
        assert lane.specs
        assert {spec.engine for spec in lane.specs} == {lane.engine}
        if lane.persistent:
            assert all(not spec.shares_browser for spec in lane.specs)
        # Shared-browser runs come first, so the lane can close that browser before its launches
        kinds = [not spec.shares_browser for spec in lane.specs]
        assert kinds == sorted(kinds)


def test_a_long_persisted_lane_is_split_and_lanes_start_longest_first(tmp_path: Path) -> None:
    # Given many sites: Firefox's persisted runs (a launch each) would otherwise be one long tail
    _, lanes = _lanes(31, 4, tmp_path)
    firefox_persisted = [lane for lane in lanes if lane.engine == "firefox" and lane.persistent]
    assert len(firefox_persisted) >= 2
    estimates = [_estimate(lane) for lane in lanes]
    assert estimates == sorted(estimates, reverse=True)
    # No lane is left much longer than an even share of the work
    share = sum(estimates) / 4
    assert max(estimates) <= share * 1.2


def test_one_site_keeps_one_lane_per_engine_and_kind(tmp_path: Path) -> None:
    _, lanes = _lanes(1, 4, tmp_path)
    assert sorted((lane.engine, lane.persistent) for lane in lanes) == [
        ("chromium", False),
        ("chromium", True),
        ("firefox", False),
        ("firefox", True),
    ]


def test_with_one_worker_per_engine_each_engine_gets_one_lane_fresh_runs_first(tmp_path: Path) -> None:
    # Given two cores' worth of workers and one site (the benchmark's shape)
    _, lanes = _lanes(1, 2, tmp_path)
    # Then each engine runs in one lane (one driver), its shared-browser run before its own launch
    assert sorted(lane.engine for lane in lanes) == ["chromium", "firefox"]
    for lane in lanes:
        assert [spec.mode for spec in lane.specs] == ["fresh", "persisted"]


def test_default_workers_follow_the_cores() -> None:
    from loginprobe.config.settings import default_workers

    assert 2 <= default_workers() <= 8
