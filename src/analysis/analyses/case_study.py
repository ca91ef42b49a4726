"""Case study of one single adopter: synthetic control and synthetic DiD (steps of notebook 30).

Outcome series (one value per Pemda and month):

- ``log_routine_spending``: natural log of realised routine spending (sum of the WFA-affected
  categories, ``analysis.panels.budget.spending_panel`` category ``routine_total``), Rupiah in 2025 prices.
  Effects are in log points (× 100 ≈ percent).
- ``median_days``: median completion time of service requests submitted in the month, in days:
  the mean over service types of the Kaplan–Meier cell medians of ``analysis.panels.service.build_service_panel``,
  weighted by the requests submitted in each cell (cells whose median is not identified are left out).

Donor pool: Pemda that never adopted WFA in the data window (``analysis.panels.treatment.assign_treatment``
status ``never``), at the same level as the adopter: other provinces
for a province, other kabupaten/kota for a kabupaten or kota. Donors with a missing or non-finite
month are dropped (listed with the reason). Kab/kota inside an adopting province stay eligible
(possible spill-over; the weights table shows whether they matter).

Timing: the first treated month is the adopter's cohort (half-month rule). If WFA ended before the
end of the window (a trial such as Surakarta's), the post period is cut at the last month with WFA
in force: the estimate is the effect while WFA was on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.report.results_file import ResultEntry
from analysis.synth import (
    InSpacePlacebo,
    PlaceboSE,
    SyntheticControlResult,
    SyntheticDidResult,
    in_space_placebo,
    placebo_se,
    synthetic_control,
    synthetic_did,
)

OUTCOMES = ("median_days", "log_routine_spending")
OUTCOME_UNITS = {"median_days": "days", "log_routine_spending": "log points"}
#: Donor pools larger than this use seeded random placebo draws instead of every donor.
MAX_PLACEBO_ALL = 60


class CaseStudyError(AnalysisError, ValueError):
    """The requested case study cannot be built (the message says why)."""


@dataclass(frozen=True)
class CaseStudyData:
    """- ``panel``: long DataFrame ``region_code, period, value`` (treated unit and donors, balanced).
    - ``donors``: DataFrame ``region_code, name``; ``dropped``: DataFrame ``region_code, reason``.
    - ``treatment_start`` / ``last_post``: first and last month (``YYYY-MM``) of the post period.
    - ``status``: the adopter's ``assign_treatment`` status; ``pool_rule``: the donor rule, a code
      (``never_adopting_provinces`` / ``never_adopting_kabkota``); ``dropped.reason``: a code
      (``no_data`` / ``incomplete_series``).
    """

    region_code: str
    region_name: str
    level: str
    outcome: str
    unit: str
    treatment_start: str
    last_post: str
    status: str
    panel: pd.DataFrame
    donors: pd.DataFrame
    dropped: pd.DataFrame
    pool_rule: str


def is_province(level: str) -> bool:
    return str(level).lower() == "provinsi"


def monthly_outcome(dataset, outcome: str) -> pd.DataFrame:
    """``region_code, period, value`` for every Pemda and month (see the module doc for units)."""
    if outcome == "log_routine_spending":
        from analysis.panels.budget import ROUTINE_TOTAL, spending_panel

        panel = spending_panel(dataset.budget, frequency="month")
        routine = panel[panel["category"] == ROUTINE_TOTAL]
        return routine.rename(columns={"log_realized_real": "value"})[["region_code", "period", "value"]]
    if outcome == "median_days":
        from analysis.panels.service import build_service_panel

        cells = build_service_panel(dataset.table_path("service_requests"), extracted_at=dataset.extracted_at)
        cells = cells[np.isfinite(cells["median_days"]) & (cells["n_submitted"] > 0)]
        weighted = cells.assign(weighted=cells["median_days"] * cells["n_submitted"])
        grouped = weighted.groupby(["region_code", "month"], as_index=False)[["weighted", "n_submitted"]].sum()
        grouped["value"] = grouped["weighted"] / grouped["n_submitted"]
        return grouped.rename(columns={"month": "period"})[["region_code", "period", "value"]]
    raise CaseStudyError(f"outcome must be one of {', '.join(OUTCOMES)}; got {outcome!r}")


def adoption_status(dataset, periods) -> pd.DataFrame:
    """``assign_treatment`` over ``periods`` (one row per Pemda: cohort, status, dose)."""
    from analysis.panels.treatment import assign_treatment

    policies = dataset.policies
    months = sorted(pd.Series(list(periods)).astype(str).str.slice(0, 7).unique())
    return assign_treatment(policies, dataset.regions, periods=months, trial_handling="exclude")


def build_case_study_data(dataset, region_code: str, outcome: str, *, series: pd.DataFrame | None = None) -> CaseStudyData:
    """The adopter's series, its donor pool and its timing (rules in the module doc).

    ``series``: an already computed ``monthly_outcome`` (saves recomputing it)."""
    region_code = str(region_code)
    regions = dataset.regions.assign(region_code=dataset.regions["region_code"].astype(str))
    if region_code not in set(regions["region_code"]):
        raise CaseStudyError(f"region_code {region_code!r} is not in the regions table")
    region = regions.set_index("region_code").loc[region_code]
    series = monthly_outcome(dataset, outcome) if series is None else series
    series = series.assign(region_code=series["region_code"].astype(str))
    periods = sorted(series["period"].unique())
    status = adoption_status(dataset, periods).set_index("region_code")
    if region_code not in status.index or pd.isna(status.at[region_code, "cohort"]):
        raise CaseStudyError(f"{region['name']} ({region_code}) has no WFA policy in force in the data window")
    cohort = str(status.at[region_code, "cohort"])
    last = status.at[region_code, "last_treated"]
    last_post = str(last) if not pd.isna(last) and str(last) < periods[-1] else periods[-1]
    if cohort <= periods[0]:
        raise CaseStudyError(f"{region['name']} adopted in {cohort}, at the start of the data: no pre-period")
    province = is_province(region["level"])
    same_level = regions[regions["level"].map(is_province) == province]
    never = set(status.index[status["status"] == "never"])
    candidates = same_level[same_level["region_code"].isin(never) & (same_level["region_code"] != region_code)]
    window = series[series["period"] <= last_post]
    wide = window.pivot_table(index="region_code", columns="period", values="value", aggfunc="first")
    wide = wide.reindex(columns=[p for p in periods if p <= last_post])
    if region_code not in wide.index or not np.isfinite(wide.loc[region_code].to_numpy(dtype=float)).all():
        raise CaseStudyError(
            f"{region['name']} ({region_code}) lacks {outcome} in some month of the window; "
            "a synthetic control needs the adopter's full monthly series"
        )
    dropped, kept = [], []
    for code in candidates["region_code"]:
        if code not in wide.index:
            dropped.append((code, "no_data"))
        elif not np.isfinite(wide.loc[code].to_numpy(dtype=float)).all():
            dropped.append((code, "incomplete_series"))
        else:
            kept.append(code)
    if not kept:
        raise CaseStudyError(f"no never-adopter donor with a complete {outcome} series for {region['name']}")
    long = (wide.loc[kept + [region_code]].reset_index()
            .melt(id_vars="region_code", var_name="period", value_name="value"))
    names = regions.set_index("region_code")["name"]
    rule = "never_adopting_provinces" if province else "never_adopting_kabkota"
    return CaseStudyData(
        region_code=region_code, region_name=str(region["name"]), level=str(region["level"]),
        outcome=outcome, unit=OUTCOME_UNITS[outcome], treatment_start=cohort, last_post=last_post,
        status=str(status.at[region_code, "status"]), panel=long,
        donors=pd.DataFrame({"region_code": kept, "name": [names[c] for c in kept]}),
        dropped=pd.DataFrame(dropped, columns=["region_code", "reason"]), pool_rule=rule,
    )


@dataclass(frozen=True)
class CaseStudyResult:
    """SC (exact, outcome-only), its in-space placebo test, SDID and its placebo SE."""

    data: CaseStudyData
    sc: SyntheticControlResult
    placebo: InSpacePlacebo
    sdid: SyntheticDidResult
    sdid_se: PlaceboSE


def run_case_study(data: CaseStudyData, *, replications: int = 100, seed: int = 20260101) -> CaseStudyResult:
    """Fit both estimators and the placebo inference. The SDID placebo SE uses every donor once
    as pseudo-treated when there are at most ``MAX_PLACEBO_ALL`` donors, else ``replications``
    random draws from ``seed``."""
    setup = dict(outcome="value", unit="region_code", time="period", treated_unit=data.region_code,
                 treatment_start=data.treatment_start)
    sc = synthetic_control(data.panel, **setup)
    placebo = in_space_placebo(sc)
    sdid = synthetic_did(data.panel, **setup)
    if len(data.donors) <= MAX_PLACEBO_ALL:
        se = placebo_se(sdid, draws="all")
    else:
        se = placebo_se(sdid, draws="random", replications=replications, seed=seed)
    return CaseStudyResult(data=data, sc=sc, placebo=placebo, sdid=sdid, sdid_se=se)


def weights_table(result: CaseStudyResult, *, top: int = 10) -> pd.DataFrame:
    """Top donors by SC weight with their SDID weight: ``name, region_code, sc_weight, sdid_weight``."""
    names = result.data.donors.set_index("region_code")["name"]
    sc = result.sc.weights.set_index("donor")["weight"]
    sdid = result.sdid.unit_weights.set_index("donor")["weight"]
    table = pd.DataFrame({"name": [names[c] for c in sc.index], "region_code": sc.index,
                          "sc_weight": sc.to_numpy(), "sdid_weight": sdid.reindex(sc.index).to_numpy()})
    order = table.assign(key=np.maximum(table["sc_weight"], table["sdid_weight"])).sort_values("key", ascending=False)
    return order.drop(columns="key").head(top).reset_index(drop=True)


def result_entries(result: CaseStudyResult) -> list[ResultEntry]:
    """The headline numbers for ``results.json`` (labels are short English descriptions; pages
    take their words from the catalogue, ``result.<name>``)."""
    unit = result.data.unit
    se = result.sdid_se
    return [
        ResultEntry("sc_effect", result.sc.effect, unit=unit, label="Synthetic control: average effect after adoption"),
        ResultEntry("sdid_effect", result.sdid.estimate, se=se.se, ci_low=se.ci_low, ci_high=se.ci_high, unit=unit,
                    label="Synthetic DiD: average effect (placebo SE, 95% CI)"),
        ResultEntry("placebo_pvalue", result.placebo.p_value, unit="probability",
                    label="In-space placebo p-value (post/pre MSPE ratio rank)"),
        ResultEntry("pre_rmspe", result.sc.pre_rmspe, unit=unit, label="Pre-adoption fit of the synthetic control (RMSPE)"),
    ]


def results_extra(result: CaseStudyResult) -> dict[str, Any]:
    """Context recorded next to the headline numbers."""
    return {
        "region_code": result.data.region_code, "region_name": result.data.region_name,
        "outcome": result.data.outcome, "treatment_start": result.data.treatment_start,
        "last_post": result.data.last_post, "n_donors": len(result.data.donors),
        "n_dropped_donors": len(result.data.dropped), "donor_pool": result.data.pool_rule,
        "placebo_rank": result.placebo.rank, "placebo_units": len(result.placebo.ratios),
        "placebo_se_draws": result.sdid_se.draws, "placebo_se_replications": result.sdid_se.replications,
    }


def header_facts(data: CaseStudyData) -> dict:
    """The adopter, its WFA period (``period``: first and last month) and the donor pool
    (catalogue ``30.header``)."""
    return {"region_name": data.region_name, "region_code": data.region_code, "level": data.level.lower(),
            "period": (data.treatment_start, data.last_post), "status": data.status,
            "n_donors": len(data.donors), "pool_rule": data.pool_rule, "n_dropped": len(data.dropped)}


def conclusion_facts(result: CaseStudyResult) -> dict:
    """The numbers and codes of the plain-language conclusion (catalogue ``30.conclusion``):
    the WFA ``period`` (first and last month), ``sdid`` with its 95% placebo interval ``sdid_ci``,
    ``sc``, the ``outcome`` code (which sets the unit: days or log points), ``interval`` (``covers_zero`` / ``excludes_zero``), the placebo
    ``rank`` among ``n_units`` and its ``pvalue``, the donor rule."""
    d, se = result.data, result.sdid_se
    return {
        "region_name": d.region_name, "period": (d.treatment_start, d.last_post), "outcome": d.outcome,
        "sdid": result.sdid.estimate, "sdid_ci": (se.ci_low, se.ci_high), "sc": result.sc.effect,
        "interval": "covers_zero" if se.ci_low <= 0 <= se.ci_high else "excludes_zero",
        "rank": result.placebo.rank, "n_units": len(result.placebo.ratios), "pvalue": result.placebo.p_value,
        "pool_rule": d.pool_rule,
    }


def exhibit_facts(result: CaseStudyResult) -> dict:
    """The numbers of the exhibits' captions and alt texts (catalogue ``caption.30``, ``alt.30``)."""
    d = result.data
    top = result.sc.weights.iloc[0]
    return {
        "region_name": d.region_name, "outcome": d.outcome, "start": d.treatment_start,
        "pre_rmspe": result.sc.pre_rmspe, "effect": result.sc.effect, "n_donors": len(d.donors),
        "n_placebos": len(result.placebo.ratios) - 1, "rank": result.placebo.rank,
        "n_units": len(result.placebo.ratios),
        "top_donor": str(d.donors.set_index("region_code")["name"][top["donor"]]), "top_weight": float(top["weight"]),
    }
