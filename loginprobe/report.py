"""The report: the versioned document written as report.json, and the only thing reports/ renders."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field

from loginprobe import __version__
from loginprobe.evidence import SCHEMA_VERSION, EngineStatus, Model, RunEvidence, SiteEvidence, SkippedRun
from loginprobe.verdict import Verdict


class Report(Model):
    """Everything one `loginprobe check` produced."""

    schema_version: str = SCHEMA_VERSION
    tool_version: str = __version__
    created_at: datetime
    sites: list[str]
    engines: list[EngineStatus]
    runs: list[RunEvidence] = Field(default_factory=list)
    skipped: list[SkippedRun] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)
    redacted: bool = True
    interrupted: bool = False  # Ctrl-C or a crash: what is here is what was captured
    missing: list[str] = Field(default_factory=list)  # runs that never finished, for a partial report
    # Sites that gave no HTTP response at all (refused, DNS, TLS, unsafe port): site -> one line. They get
    # no verdict, since there is no 401 to explain.
    unreachable: dict[str, str] = Field(default_factory=dict)

    def site_evidence(self, site: str) -> SiteEvidence:
        return SiteEvidence(site=site, runs=[r for r in self.runs if r.site == site])

    @classmethod
    def load(cls, folder: Path) -> Report:
        return cls.model_validate_json((folder / "report.json").read_text(encoding="utf-8"))

    def write(self, folder: Path) -> Path:
        path = folder / "report.json"
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        return path
