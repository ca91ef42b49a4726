"""The policy brief for Komisi II (notebook ``90_policy_brief``): facts computed from other
reports' ``results.json``, never typed. The words are in the catalogue (``90.*``).

Inputs are read with :func:`load_report_input`, which says *why* a report is unusable (missing,
failed, no results) instead of raising, so the brief always renders and states what it lacks.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.notes import Note

SERVICE_HEADLINE = "att_log_median_days"
SLA_HEADLINE = "att_sla_share"
SPENDING_HEADLINE = "att_log_routine_spending"
SPENDING_UNADJUSTED = "att_log_routine_spending_unadjusted"
SAVINGS_PER_ADOPTER_YEAR = "savings_idr_per_adopter_year"
PROJECTION = "projection_idr_per_year"

#: the brief's three risks: (split name in results.json, groups at risk, comparison groups)
RISKS = {
    "digital_readiness": ("spbe_band", {"kurang", "cukup"}, {"baik", "sangat baik", "sangat_baik", "memuaskan"}),
    "performance_management": ("ekinerja", {"false"}, {"true"}),
    "coordination": ("units", {"cross"}, {"single"}),
}

@dataclass(frozen=True)
class ReportInput:
    """One input report: its entries by name (empty if unusable) and why it is unusable."""

    slug: str
    entries: dict[str, dict] = field(default_factory=dict)
    problem: str | None = None  # None | "missing" | "failed" | "no_results"

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
    return ReportInput(slug, entries, None if entries else "no_results")


def missing_inputs(inputs: list[ReportInput]) -> list[Note]:
    """One ``report_unavailable`` note per unusable input report (``slug``, ``problem``)."""
    return [Note("report_unavailable", {"slug": i.slug, "problem": i.problem}) for i in inputs if not i.usable]


def log_to_pct(value: float | None) -> float | None:
    """A log-point effect as a percent change: ``100 * (exp(x) - 1)``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return 100.0 * math.expm1(value)


#: The headline measures in the brief's order: (input, entry name).
HEADLINE_MEASURES = (("service", SERVICE_HEADLINE), ("service", SLA_HEADLINE), ("budget", SPENDING_HEADLINE),
                     ("budget", SPENDING_UNADJUSTED), ("budget", SAVINGS_PER_ADOPTER_YEAR), ("budget", PROJECTION))


def headline_table(service: ReportInput, budget: ReportInput) -> pd.DataFrame:
    """The brief's headline numbers, one row per available entry: ``measure`` (the entry name),
    ``estimate, ci_low, ci_high`` and ``kind``, the number format of the row: log-point effects as
    percent changes (``pctchange1``), the SLA share in percentage points (``spp1``; a share given
    as 0-1 is scaled to points), Rupiah (``idr``)."""
    rows = []
    sources = {"service": service, "budget": budget}
    for source, name in HEADLINE_MEASURES:
        entry = sources[source].entries.get(name)
        if entry is None:
            continue
        values = [entry.get(k) for k in ("estimate", "ci_low", "ci_high")]
        if name.startswith("att_log"):
            kind = "pctchange1"
        elif name.endswith("share"):
            scale = 100.0 if abs(values[0] or 0) <= 1 else 1.0
            values = [None if v is None else v * scale for v in values]
            kind = "spp1"
        else:
            kind = "idr"
        rows.append((name, *values, kind))
    return pd.DataFrame(rows, columns=["measure", "estimate", "ci_low", "ci_high", "kind"])


def _group_entries(service: ReportInput, split: str) -> dict[str, dict]:
    prefix = f"{SERVICE_HEADLINE}__{split}__"
    return {name[len(prefix):].lower(): e for name, e in service.entries.items() if name.startswith(prefix)}


def assess_risks(service: ReportInput) -> pd.DataFrame:
    """For each risk: ``risk, split, at_risk_effect, comparison_effect, verdict`` where verdict is
    ``supported`` (the at-risk group's effect is positive — slower services — with a 95% CI above
    zero and larger than the comparison group's), ``not_supported`` or ``no_evidence`` (entries
    absent)."""
    rows = []
    for risk, (split, at_risk, comparison) in RISKS.items():
        groups = _group_entries(service, split)
        # Sparse bands are merged upstream ("Kurang–Cukup"): a group belongs to a side when all
        # of its parts do.
        risk_entries = [e for g, e in groups.items() if set(g.split("–")) <= at_risk]
        comparison_entries = [e for g, e in groups.items() if set(g.split("–")) <= comparison]
        if not risk_entries or not comparison_entries:
            rows.append((risk, split, None, None, None, "no_evidence"))
            continue
        risk_effect = max(e["estimate"] for e in risk_entries if e.get("estimate") is not None)
        risk_low = min(e["ci_low"] for e in risk_entries if e.get("ci_low") is not None)
        comparison_effect = max(e["estimate"] for e in comparison_entries if e.get("estimate") is not None)
        supported = risk_low > 0 and risk_effect > comparison_effect
        rows.append((risk, split, risk_effect, risk_low, comparison_effect, "supported" if supported else "not_supported"))
    return pd.DataFrame(
        rows, columns=["risk", "split", "at_risk_effect", "at_risk_ci_low", "comparison_effect", "verdict"]
    )


def risk_table(risks: pd.DataFrame) -> pd.DataFrame:
    """The columns of :func:`assess_risks` the brief shows: ``risk, at_risk_effect,
    comparison_effect, verdict`` (effects in log points; shown as percent changes)."""
    return risks[["risk", "at_risk_effect", "comparison_effect", "verdict"]].reset_index(drop=True)


def brief_facts(service: ReportInput, budget: ReportInput, risks: pd.DataFrame, context: dict) -> dict:
    """The numbers and codes of the brief's paragraphs (catalogue ``90.findings``,
    ``90.implications``, ``90.caveats``).

    Findings: ``service`` / ``spending`` / ``saving`` (``shown`` when the entry exists, else
    ``absent``); the service effect as a percent change of the median completion time
    (``service_pct``, ``service_pct_ci``, ``service_direction``: ``longer`` / ``shorter``); the
    spending effect likewise (``spending_pct``, ``spending_pct_ci``, ``spending_direction``:
    ``down`` / ``up``); ``saving_per_year`` (Rupiah). Implications: the verdict code of each risk,
    ``digital``, ``performance``, ``coordination`` (``supported``, ``not_supported``,
    ``no_evidence``). Caveats: ``n_adopters``, ``n_trials``, ``first_adoption`` (``context``:
    :func:`adoption_context`)."""
    s = service.entries.get(SERVICE_HEADLINE) or {}
    b = budget.entries.get(SPENDING_HEADLINE) or {}
    saving = budget.entries.get(SAVINGS_PER_ADOPTER_YEAR) or {}
    verdicts = dict(zip(risks["risk"], risks["verdict"]))
    service_pct, spending_pct = log_to_pct(s.get("estimate")), log_to_pct(b.get("estimate"))
    return {
        "service": "shown" if s else "absent", "service_pct": service_pct,
        "service_pct_ci": (log_to_pct(s.get("ci_low")), log_to_pct(s.get("ci_high"))),
        "service_direction": "longer" if (service_pct or 0) > 0 else "shorter",
        "spending": "shown" if b else "absent", "spending_pct": spending_pct,
        "spending_pct_ci": (log_to_pct(b.get("ci_low")), log_to_pct(b.get("ci_high"))),
        "spending_direction": "down" if (spending_pct or 0) < 0 else "up",
        "saving": "shown" if saving else "absent", "saving_per_year": saving.get("estimate"),
        "digital": verdicts.get("digital_readiness") or "no_evidence",
        "performance": verdicts.get("performance_management") or "no_evidence",
        "coordination": verdicts.get("coordination") or "no_evidence",
        "n_adopters": context.get("n_adopters", 0), "n_trials": context.get("n_trials", 0),
        "first_adoption": context.get("first_adoption"),
    }


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
    1 = supported, 0 = not supported, None = no evidence)."""
    from analysis.report.results_file import ResultEntry

    value = {"supported": 1.0, "not_supported": 0.0}
    return [
        ResultEntry(f"risk_{row.risk}", value.get(row.verdict), unit="indicator", label=f"{row.risk}: {row.verdict}")
        for row in risks.itertuples(index=False)
    ]
