"""The policy brief for Komisi II (notebook ``90_policy_brief``): facts computed from other
reports' ``results.json``, never typed. The words are in the catalogue (``90.*``).

Inputs are read with :func:`load_report_input`, which says *why* a report is unusable (missing,
failed, no results) instead of raising, so the brief always renders and states what it lacks.

The page itself is built by :mod:`analysis.analyses.brief_page` (key messages, table, diagnostics,
provenance), its verdict words by the rule in :mod:`analysis.analyses.brief_rules`, its numbers by
:mod:`analysis.analyses.brief_numbers` (formatted by the entry's unit, traceable to the entry) and
its context from the dataset by :mod:`analysis.analyses.brief_context`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.notes import Note


@dataclass(frozen=True)
class ReportInput:
    """One input report: its entries by name (empty if unusable) and why it is unusable."""

    slug: str
    entries: dict[str, dict] = field(default_factory=dict)
    problem: str | None = None  # None | "missing" | "failed" | "no_results"
    extra: dict = field(default_factory=dict)  # the report's ``extra`` facts (e.g. the placebo test)

    @property
    def usable(self) -> bool:
        return self.problem is None


def load_report_input(reports_dir: str | Path, slug: str) -> ReportInput:
    """Read ``reports_dir/slug/results.json``, honouring the build's ``build-status.json``."""
    directory = Path(reports_dir) / slug
    status_file = directory / "build-status.json"
    if status_file.exists():
        try:
            if json.loads(status_file.read_text(encoding="utf-8")).get("status") == "failed":
                return ReportInput(slug, problem="failed")
        except ValueError:
            return ReportInput(slug, problem="failed")
    results_file = directory / "results.json"
    if not results_file.exists():
        return ReportInput(slug, problem="missing" if not directory.exists() else "no_results")
    try:
        document = json.loads(results_file.read_text(encoding="utf-8"))
    except ValueError:
        return ReportInput(slug, problem="no_results")
    entries = {e["name"]: e for e in document.get("results", []) if "name" in e}
    extra = document.get("extra") if isinstance(document.get("extra"), dict) else {}
    return ReportInput(slug, entries, None if entries else "no_results", extra)


def missing_inputs(inputs: list[ReportInput]) -> list[Note]:
    """One ``report_unavailable`` note per unusable input report (``slug``, ``problem``)."""
    return [Note("report_unavailable", {"slug": i.slug, "problem": i.problem}) for i in inputs if not i.usable]




def adoption_context(policies: pd.DataFrame | None) -> dict:
    """``n_adopters``, ``n_trials`` (adopters whose every adoption is a trial), ``first_adoption``."""
    if policies is None or policies.empty:
        return {"n_adopters": 0, "n_trials": 0, "first_adoption": None}
    trial = policies.groupby("region_code")["is_trial"].all()
    return {
        "n_adopters": int(policies["region_code"].nunique()),
        "n_trials": int(trial.sum()),
        "first_adoption": str(pd.Timestamp(policies["start_date"].min()).date()),
    }


def result_entries(risks: pd.DataFrame) -> list:
    """The brief's machine-readable results: one verdict per risk (``unit="indicator"``:
    1 = supported, 0 = not supported or the opposite direction, None = anything weaker: not
    clear, indicated with caveats, no evidence)."""
    from analysis.report.results_file import ResultEntry

    value = {"supported": 1.0, "not_supported": 0.0, "contrary": 0.0}
    return [
        ResultEntry(f"risk_{row.risk}", value.get(row.verdict), unit="indicator", label=f"{row.risk}: {row.verdict}")
        for row in risks.itertuples(index=False)
    ]
