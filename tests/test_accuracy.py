"""Every lab scenario (and the extra probes) diagnosed in real browsers as it was built: the primary
cause from evidence only, `none` for the controls, and verdicts a developer can act on.

The suite's one check of every scenario (tests/scenario_check.py): one check for all direct scenarios
plus one per proxy scenario, as `python -m loginprobe.accuracy` runs them.
"""

from __future__ import annotations

import re

import pytest

from loginprobe.accuracy import ALL_SCENARIOS, Row, markdown_table
from tests.scenario_check import ScenarioCheck

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def accuracy(every_scenario: ScenarioCheck) -> dict[str, Row]:
    print("\n" + markdown_table(list(every_scenario.rows.values())))
    return every_scenario.rows


@pytest.mark.parametrize("scenario", list(ALL_SCENARIOS))
def test_primary_cause(accuracy: dict[str, Row], scenario: str) -> None:
    row = accuracy[scenario]
    expected = ALL_SCENARIOS[scenario].cause
    assert row.diagnosed == expected, (
        f"{scenario}: expected {expected}, diagnosed {row.diagnosed} (per engine {row.per_engine})\n"
        f"summary: {row.summary}\nreport: {row.report}"
    )


# Internal words a developer reading a verdict should never meet.
JARGON = re.compile(
    r"\bNone\b|\['|'\]|run-\d|exchange_id|served_from|_[a-z]+_[a-z]+\b|fresh session session|nonce=",
)


@pytest.mark.parametrize("scenario", list(ALL_SCENARIOS))
def test_verdict_reads_well(accuracy: dict[str, Row], scenario: str) -> None:
    row = accuracy[scenario]
    assert row.summary.strip() and row.next_step.strip()
    for text in (row.summary, row.next_step):
        assert not JARGON.search(text), f"{scenario}: {JARGON.search(text)} in {text!r}"
    if row.diagnosed != "none":
        # A failure's summary points at the concrete request that shows it.
        assert re.search(r"https?://", row.summary), row.summary
