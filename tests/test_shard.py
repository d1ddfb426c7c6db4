"""`--shard i/n`: the shards of a check partition its site x engine pairs exactly (plan level, no browser)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loginprobe.config.loading import load_settings
from loginprobe.config.settings import Settings
from loginprobe.errors import ConfigError
from loginprobe.evidence import ENGINES
from loginprobe.pipeline import plan


def _sites(count: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"site-{n:02d}",
            "url": f"http://127.0.0.1:8080/app{n}/login",
            "flow": "form",
            "credentials": {"username": "alice", "password": "not-a-real-secret"},
        }
        for n in range(count)
    ]


def _settings(sites: int, browsers: list[str], proxy: bool, shard: str | None = None) -> Settings:
    return load_settings(
        None,
        sites=_sites(sites),
        browsers=browsers,
        modes=["fresh", "persisted"],
        proxy="http://127.0.0.1:3128" if proxy else None,
        shard=shard,
    )


def _shards(sites: int, browsers: list[str], proxy: bool, total: int) -> list[list[Any]]:
    # One validated settings object; each shard is a copy of it with only `shard` changed.
    base = _settings(sites, browsers, proxy, f"1/{total}")
    return [plan(base.model_copy(update={"shard": f"{i}/{total}"})) for i in range(1, total + 1)]


@pytest.mark.parametrize("total", [1, 2, 3, 4, 7, 20])
@pytest.mark.parametrize("proxy", [False, True])
def test_shards_partition_the_runs(total: int, proxy: bool) -> None:
    # Given 5 sites in every engine, with fresh and persisted runs (and proxied twins)
    everything = plan(_settings(5, list(ENGINES), proxy))
    # When the check is split into `total` shards
    shards = _shards(5, list(ENGINES), proxy, total)
    # Then every run is in exactly one shard, and nothing else is
    ids = Counter(spec.run_id for shard in shards for spec in shard)
    assert set(ids) == {spec.run_id for spec in everything}
    assert all(count == 1 for count in ids.values()), [run for run, count in ids.items() if count > 1]


@pytest.mark.parametrize("total", [2, 4, 6])
def test_a_site_engine_pair_stays_in_one_shard(total: int) -> None:
    # A pair's runs share a browser launch and a persisted profile: splitting them would lose both.
    shards = _shards(4, list(ENGINES), proxy=True, total=total)
    owner: dict[tuple[str, str], int] = {}
    for index, shard in enumerate(shards):
        for spec in shard:
            assert owner.setdefault((spec.site.name, spec.engine), index) == index


def test_shards_are_balanced_by_pairs() -> None:
    shards = _shards(5, list(ENGINES), proxy=False, total=4)  # 15 pairs over 4 shards
    pairs = [len({(s.site.name, s.engine) for s in shard}) for shard in shards]
    assert sorted(pairs) == [3, 4, 4, 4]


def test_the_order_of_sites_does_not_change_the_shards() -> None:
    # Every CI job must compute the same split, however its config lists the sites.
    forward = load_settings(None, sites=_sites(6), browsers=["chromium", "firefox"], shard="2/3")
    backward = load_settings(None, sites=_sites(6)[::-1], browsers=["firefox", "chromium"], shard="2/3")
    assert {s.run_id for s in plan(forward)} == {s.run_id for s in plan(backward)}


@settings(max_examples=40, deadline=None)
@given(
    sites=st.integers(min_value=1, max_value=8),
    browsers=st.lists(st.sampled_from(ENGINES), min_size=1, max_size=3, unique=True),
    proxy=st.booleans(),
    total=st.integers(min_value=1, max_value=12),
)
def test_partition_property(sites: int, browsers: list[str], proxy: bool, total: int) -> None:
    everything = sorted(spec.run_id for spec in plan(_settings(sites, browsers, proxy)))
    sharded = sorted(spec.run_id for shard in _shards(sites, browsers, proxy, total) for spec in shard)
    assert sharded == everything


@pytest.mark.parametrize("shard", ["0/3", "4/3", "1/0", "2", "a/b", "1/2/3"])
def test_an_invalid_shard_is_a_config_error(shard: str) -> None:
    with pytest.raises(ConfigError, match="shard"):
        _settings(2, ["chromium"], proxy=False, shard=shard)


def test_the_example_config_shards_like_the_example_workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    # config/examples/lab-like.toml split in 3, as .github/workflows/loginprobe-example.yml runs it
    for name in ("LAB_PASSWORD", "LAB_TOKEN", "LAB_API_KEY"):
        monkeypatch.setenv(name, f"example-{name.lower()}")
    config = Path(__file__).parents[1] / "config" / "examples" / "lab-like.toml"
    base = load_settings(config, shard="1/3")
    everything = plan(base.model_copy(update={"shard": None}))
    shards = [plan(base.model_copy(update={"shard": f"{i}/3"})) for i in (1, 2, 3)]
    assert all(shards), "every job of the example matrix has work"
    assert sorted(s.run_id for shard in shards for s in shard) == sorted(s.run_id for s in everything)
