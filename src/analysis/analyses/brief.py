"""The policy brief for Komisi II (notebook ``90_policy_brief``): facts computed from other
reports' ``results.json``, never typed. The words are in the catalogue (``90.*``).

Inputs are read with :func:`load_report_input`, which says *why* a report is unusable (missing,
failed, no results) instead of raising, so the brief always renders and states what it lacks.

The page itself is built by :mod:`analysis.analyses.brief_page` (key messages, table, diagnostics,
provenance), its verdict words by the rule in :mod:`analysis.analyses.brief_rules`, its numbers by
:mod:`analysis.analyses.brief_numbers` (formatted by the entry's unit, traceable to the entry) and
its context from the dataset by :mod:`analysis.analyses.brief_context`. :func:`headline_table` and
:func:`brief_facts` remain for callers of the earlier brief.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.analyses.heterogeneity import risk_verdicts
from analysis.notes import Note

SERVICE_HEADLINE = "att_log_median_days"
SERVICE_HEADLINE_REQUESTS = "att_log_median_days_request_weighted"
SLA_HEADLINE = "att_sla_share"
SPENDING_HEADLINE = "att_log_routine_spending"
SPENDING_UNADJUSTED = "att_log_routine_spending_unadjusted"
SAVINGS_PER_ADOPTER_YEAR = "savings_idr_per_adopter_year"
DIFFERENCE_PREFIX = "diff_log_median_days__"
PROJECTION = "projection_idr_per_year"

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


def log_to_pct(value: float | None) -> float | None:
    """A log-point effect as a percent change: ``100 * (exp(x) - 1)``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return 100.0 * math.expm1(value)


#: The headline measures in the brief's order: (input, entry name).
HEADLINE_MEASURES = (("service", SERVICE_HEADLINE), ("service", SERVICE_HEADLINE_REQUESTS), ("service", SLA_HEADLINE),
                     ("budget", SPENDING_HEADLINE),
                     ("budget", SPENDING_UNADJUSTED), ("budget", SAVINGS_PER_ADOPTER_YEAR), ("budget", PROJECTION))


#: How the brief shows an entry, by its results.json ``unit`` (see analysis.texts.numbers kinds).
UNIT_KINDS = {"log points": "pctchange1", "percentage points": "spp1", "IDR": "idr"}


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
        kind = UNIT_KINDS.get(entry.get("unit"))
        if kind is None:
            raise ValueError(f"{sources[source].slug}: entry {name!r} has unit {entry.get('unit')!r}; "
                             f"the brief shows only {sorted(UNIT_KINDS)}")
        rows.append((name, *values, kind))
    return pd.DataFrame(rows, columns=["measure", "estimate", "ci_low", "ci_high", "kind"])


def headline_adopters(service: ReportInput) -> pd.DataFrame:
    """The real (registry) adopters and whether the service headline includes them, from its
    ``results.json`` sample: ``region_code, included, reason`` (a code of
    ``analysis.analyses.service_sample.EXCLUSION_REASONS``; None when included). Empty when the
    entry or its sample is absent."""
    sample = (service.entries.get(SERVICE_HEADLINE) or {}).get("sample") or {}
    rows = [(code, True, None) for code in sample.get("real_adopters_included", [])]
    rows += [(e["region_code"], False, e.get("reason")) for e in sample.get("excluded", []) if e.get("real_adopter")]
    frame = pd.DataFrame(rows, columns=["region_code", "included", "reason"], dtype=object)
    return frame.sort_values("region_code", kind="stable").reset_index(drop=True)


def split_tests(service: ReportInput) -> pd.DataFrame:
    """The heterogeneity split tests recorded in the service report's ``results.json``
    (``diff_log_median_days__<split>`` entries, with the side ATTs when present), in the form
    :func:`analysis.analyses.heterogeneity.risk_verdicts` takes."""
    rows = []
    for name, entry in service.entries.items():
        if not name.startswith(DIFFERENCE_PREFIX):
            continue
        split = name[len(DIFFERENCE_PREFIX):]
        details = (entry.get("inference") or {}).get("details") or {}
        side = {s: (service.entries.get(f"{SERVICE_HEADLINE}__{split}__{s}") or {}).get("estimate")
                for s in ("at_risk", "comparison")}
        rows.append({"split": split, "difference": _number(entry.get("estimate")),
                     "ci_low": _number(entry.get("ci_low")), "ci_high": _number(entry.get("ci_high")),
                     "pvalue": _number((entry.get("inference") or {}).get("pvalue")),
                     "pvalue_holm": _number(details.get("pvalue_holm")),
                     "at_risk_att": _number(side["at_risk"]), "comparison_att": _number(side["comparison"])})
    return pd.DataFrame(rows)


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def assess_risks(service: ReportInput) -> pd.DataFrame:
    """For each risk of the brief: ``risk, split, at_risk_effect, comparison_effect, difference,
    pvalue_holm, verdict``, the verdict from the Holm-adjusted difference test of its split only
    (the rule: :func:`analysis.analyses.heterogeneity.risk_verdicts`; ``no_evidence`` when the
    test is absent). A group's own interval plays no part."""
    verdicts = risk_verdicts(split_tests(service))
    return verdicts.rename(columns={"at_risk_att": "at_risk_effect", "comparison_att": "comparison_effect"})[
        ["risk", "split", "at_risk_effect", "comparison_effect", "difference", "ci_low", "ci_high", "pvalue",
         "pvalue_holm", "verdict"]]


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
    1 = supported, 0 = not supported or the opposite direction, None = anything weaker: not
    clear, indicated with caveats, no evidence)."""
    from analysis.report.results_file import ResultEntry

    value = {"supported": 1.0, "not_supported": 0.0, "contrary": 0.0}
    return [
        ResultEntry(f"risk_{row.risk}", value.get(row.verdict), unit="indicator", label=f"{row.risk}: {row.verdict}")
        for row in risks.itertuples(index=False)
    ]
