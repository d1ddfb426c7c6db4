"""Every lab scenario in WebKitGTK over WebDriver, the README accuracy table's webkit column.

WebKit shows less than Chromium and Firefox (no Cookie or Set-Cookie headers, no challenge headers), so
each row must be either the cause the scenario was built to have, or an `unknown` whose verdict names
what WebKit could not observe (`loginprobe.accuracy.NEEDS`), never a guess. Apart from the every-scenario
check (tests/scenario_check.py) because that check's engine tests read headers WebKit cannot show.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loginprobe.accuracy import ALL_SCENARIOS, NEEDS, Row, markdown_table
from loginprobe.evidence import Engine, EngineStatus
from tests.scenario_check import check_every_scenario

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TRANSPLANT_SKIP = "ablation only-"  # only-cookies / only-storage: Playwright storage state


@pytest.fixture(scope="module")
def webkit_rows(
    tmp_path_factory: pytest.TempPathFactory, engine_status: dict[Engine, EngineStatus]
) -> Iterator[dict[str, Row]]:
    status = engine_status["webkit"]
    if not status.available:
        pytest.skip(f"webkit unavailable: {status.reason}")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("webkit-cwd"))
        base: Path = tmp_path_factory.mktemp("every-scenario-webkit")
        # The full matrix, as `python -m loginprobe.accuracy` runs it: a flapping node shows only when
        # several runs meet both nodes, and WebKit is the only engine here.
        with check_every_scenario(base, full_matrix=True, engines=["webkit"]) as checked:
            # WebKit really ran: every scenario has WebKit runs of its own, and the only runs skipped are
            # the storage transplants WebDriver cannot do (the README says so), each with that reason
            runs = [run for outcome in checked.outcomes for run in outcome.report.runs]
            skipped = [s for outcome in checked.outcomes for s in outcome.report.skipped]
            assert {run.engine for run in runs} == {"webkit"}
            assert {run.site for run in runs if run.ablation is None} == set(ALL_SCENARIOS)
            unexpected = [s for s in skipped if not s.reason.startswith(TRANSPLANT_SKIP)]
            assert not unexpected, [f"{s.site}/{s.mode}: {s.reason}" for s in unexpected]
            print("\n" + markdown_table(list(checked.rows.values())))
            yield checked.rows


@pytest.mark.parametrize("scenario", list(ALL_SCENARIOS))
def test_webkit_diagnoses_or_says_what_it_cannot_see(webkit_rows: dict[str, Row], scenario: str) -> None:
    row = webkit_rows[scenario]
    expected = ALL_SCENARIOS[scenario].cause
    if scenario in NEEDS:
        # Then the verdict is an honest unknown that names what WebKit could not observe
        assert row.diagnosed in (expected, "unknown"), row.summary
        if row.diagnosed == "unknown":
            assert row.blind == ["webkit"] and "could not observe" in row.summary, row.summary
    else:
        assert row.diagnosed == expected, f"{scenario}: {row.diagnosed}\nsummary: {row.summary}\n{row.report}"
    assert row.correct
