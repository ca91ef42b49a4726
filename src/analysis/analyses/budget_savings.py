"""Notebook ``20_budget_savings`` as one call: load the budget tables, build the panel, estimate
every category with and without the TKD adjustment, the savings and the projection
(:func:`run_budget_analysis`), and the machine-readable results.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.analyses.projection import Projection, project_annual_savings
from analysis.analyses.savings import DEFAULT_DRAWS, DEFAULT_SEED, Savings, savings_in_rupiah, truth_savings_over_cells
from analysis.analyses.spending_effect import (
    estimate_spending_effect,
    other_estimator_event_studies,
    placebo_joint_test,
    truth_over_cells,
)
from analysis.data import load
from analysis.notes import Note
from analysis.texts.numbers import pct_change
from analysis.panels.budget import (
    PLACEBO_CATEGORIES,
    ROUTINE_CATEGORIES,
    ROUTINE_TOTAL,
    adoption_table,
    cohorts_for_estimation,
    spending_panel,
    tkd_covariates,
)
from analysis.paths import POLICIES_CSV
from analysis.report.results_file import ResultEntry


@dataclass(frozen=True)
class BudgetAnalysis:
    """Everything notebook ``20_budget_savings`` shows. Rupiah are real, ``price_base_year`` prices.

    ``effects``: category -> adjusted (if ``adjust_for_tkd``) CS effect, for every routine and
    placebo category and ``routine_total``; ``unadjusted``: the same without covariates (only
    when ``adjust_for_tkd``; else equal to ``effects``); ``comparison``: one row per category x
    adjusted with the ATTs (and ``truth`` on synthetic data); ``savings``: from the routine
    categories; ``projection``; ``truth``: truth.json's ``budget`` block (plus
    ``savings_idr_over_estimated_cells``, the true savings over the cells of ``savings``) or None.
    """

    parameters: dict
    panel: pd.DataFrame
    units: pd.DataFrame
    excluded: pd.DataFrame
    regions: pd.DataFrame
    covariates: pd.DataFrame
    effects: dict
    unadjusted: dict
    comparison: pd.DataFrame
    savings: Savings
    projection: Projection
    truth: dict | None


def run_budget_analysis(
    data_dir,
    *,
    frequency: str = "quarter",
    adjust_for_tkd: bool = True,
    price_base_year: int = 2025,
    projection_days_per_week: float = 1.0,
    projection_province: str = "",
    control: str = "notyettreated",
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> BudgetAnalysis:
    """Load ``regions``, ``policies``, ``budget``, ``transfers`` of ``data_dir``, build the panel,
    estimate every category with and without the TKD adjustment, the savings and the projection
    (``base_year = price_base_year``; every Pemda in the data, or with ``projection_province``
    (a province code such as ``"32"``) the province government and its kabupaten/kota)."""
    dataset = load(data_dir)
    regions, policies = dataset.regions, dataset.policies
    budget = dataset.table("budget", required=True)
    transfers = dataset.table("transfers", required=True)
    panel = spending_panel(budget, frequency=frequency, price_base_year=price_base_year)
    adoption = adoption_table(policies, regions, periods=budget["period"])
    units, excluded = cohorts_for_estimation(adoption, panel, frequency=frequency)
    covariates = tkd_covariates(transfers, regions)
    truth_cells = dataset.truth_cells("budget")
    truth = (dataset.truth or {}).get("budget") if truth_cells is not None else None
    categories = [ROUTINE_TOTAL, *ROUTINE_CATEGORIES, *PLACEBO_CATEGORIES]
    effects, unadjusted, rows = {}, {}, []
    for category in categories:
        effects[category] = estimate_spending_effect(
            panel, units, covariates, category=category, adjust_for_tkd=adjust_for_tkd, control=control
        )
        unadjusted[category] = (
            estimate_spending_effect(panel, units, covariates, category=category, adjust_for_tkd=False, control=control)
            if adjust_for_tkd else effects[category]
        )
        for effect in {id(e): e for e in (effects[category], unadjusted[category])}.values():
            row = effect.as_row()
            if truth_cells is not None:
                row["truth"] = truth_over_cells(truth_cells, effect)
            rows.append(row)
    routine = {c: effects[c] for c in ROUTINE_CATEGORIES}
    savings = savings_in_rupiah(routine, n_draws=n_draws, seed=seed)
    if truth_cells is not None:
        truth = {**truth, "savings_idr_over_estimated_cells": truth_savings_over_cells(truth_cells, savings)}
    region_codes, scope = None, "all Pemda in the data"
    if projection_province:
        in_province = regions["province_code"].astype(str) == str(projection_province)
        region_codes = list(regions.loc[in_province, "region_code"].astype(str))
        if not region_codes:
            raise ValueError(f"projection_province {projection_province!r}: no Pemda with that province_code")
        scope = f"province {projection_province}"
    projection = project_annual_savings(
        routine, panel, days_per_week=projection_days_per_week, base_year=price_base_year,
        region_codes=region_codes, scope=scope, n_draws=n_draws, seed=seed,
    )
    parameters = {
        "frequency": frequency, "adjust_for_tkd": adjust_for_tkd, "price_base_year": price_base_year,
        "projection_days_per_week": projection_days_per_week, "projection_province": projection_province,
        "control": control,
        "n_draws": n_draws, "seed": seed,
    }
    return BudgetAnalysis(parameters, panel, units, excluded, regions, covariates, effects, unadjusted,
                          pd.DataFrame(rows), savings, projection, truth)


def registry_region_codes() -> set[str]:
    """Region codes of the real adopters in the bundled policy registry
    (``data/reference/policies.csv``)."""
    return set(pd.read_csv(POLICIES_CSV, dtype={"region_code": str})["region_code"])


def savings_by_pemda(analysis: BudgetAnalysis, *, registry_only: bool = False) -> pd.DataFrame:
    """Per adopter: ``region_code, name, cohort, wfa_days_per_week, n_periods, savings_idr,
    ci_low, ci_high, savings_per_capita_idr`` and ``savings_per_asn_idr`` (only if the regions
    table has ``asn_count``; otherwise skipped). ``registry_only``: only the Pemda of the bundled
    policy registry (the real 2025-2026 adopters)."""
    table = analysis.savings.summarise(["region_code"])
    if registry_only:
        table = table[table["region_code"].isin(registry_region_codes())]
    info = analysis.units[["region_code", "cohort", "wfa_days_per_week"]]
    regions = analysis.regions.assign(region_code=analysis.regions["region_code"].astype(str))
    keep = ["region_code", "name", "population"] + (["asn_count"] if "asn_count" in regions.columns else [])
    table = table.merge(info, on="region_code", how="left").merge(regions[keep], on="region_code", how="left")
    table["savings_per_capita_idr"] = table["savings_idr"] / table["population"]
    columns = ["region_code", "name", "cohort", "wfa_days_per_week", "n_periods", "savings_idr", "ci_low",
               "ci_high", "savings_per_capita_idr"]
    if "asn_count" in table.columns:
        table["savings_per_asn_idr"] = table["savings_idr"] / table["asn_count"]
        columns.append("savings_per_asn_idr")
    return table[columns].sort_values("savings_idr", ascending=False).reset_index(drop=True)


def conclusion_facts(analysis: BudgetAnalysis) -> dict:
    """The numbers and codes of the plain-language conclusion (catalogue ``20.conclusion``).

    ``att`` / ``att_ci``: the headline CS ATT on log routine spending (log points), the same as a
    percent change ``pct`` / ``pct_ci`` (100·(exp(x) − 1)) and ``direction`` (``down`` / ``up``); ``adjustment``: ``adjusted`` or ``unadjusted`` for the TKD
    cut; ``att_unadjusted`` / ``pct_unadjusted``; ``n_treated``; ``savings`` / ``savings_ci`` over the observed
    period and ``savings_per_year`` per adopter (Rupiah of ``base_year`` prices);
    ``projection_pemda``, ``projection_days``, ``projection`` / ``projection_ci`` per year and
    ``projection_range`` (``observed`` / ``extrapolated``); ``placebo`` (``null`` when every
    placebo category's 95% CI covers zero, else ``effect``)."""
    headline = analysis.effects[ROUTINE_TOTAL]
    naive = analysis.unadjusted[ROUTINE_TOTAL]
    total = analysis.savings.total()
    per_year = analysis.savings.per_adopter_year()
    proj = analysis.projection
    placebo = [analysis.effects[c] for c in PLACEBO_CATEGORIES]
    return {
        "att": headline.att, "att_ci": (headline.ci_low, headline.ci_high),
        "pct": pct_change(headline.att), "pct_ci": (pct_change(headline.ci_low), pct_change(headline.ci_high)),
        "pct_unadjusted": pct_change(naive.att),
        "direction": "down" if headline.att < 0 else "up",
        "adjustment": "adjusted" if headline.adjusted else "unadjusted",
        "att_unadjusted": naive.att, "n_treated": headline.n_treated,
        "savings": total["savings_idr"], "savings_ci": (total["ci_low"], total["ci_high"]),
        "savings_per_year": per_year["savings_idr"], "base_year": str(analysis.parameters["price_base_year"]),
        "projection_pemda": proj.n_pemda, "projection_days": proj.days_per_week,
        "projection": proj.savings_idr, "projection_ci": (proj.ci_low, proj.ci_high),
        "projection_range": "extrapolated" if proj.extrapolated else "observed",
        "placebo": "null" if all(e.ci_low <= 0 <= e.ci_high for e in placebo) else "effect",
    }


def sample_table(analysis: BudgetAnalysis) -> pd.DataFrame:
    """The estimation sample: adopters per cohort (``cohort, n_pemda``)."""
    treated = analysis.units[analysis.units["cohort_time"] > 0]
    return treated.groupby("cohort").size().rename("n_pemda").reset_index()


def excluded_table(analysis: BudgetAnalysis) -> pd.DataFrame:
    """The adopters left out of the staggered sample, by name: ``name, region_code, reason, note``."""
    names = analysis.regions.assign(region_code=analysis.regions["region_code"].astype(str)).set_index("region_code")["name"]
    table = analysis.excluded.assign(name=analysis.excluded["region_code"].astype(str).map(names))
    return table[["name", "region_code", "reason", "note"]]


def not_estimated_table(analysis: BudgetAnalysis) -> pd.DataFrame:
    """Adopters whose cohort the estimator could not estimate, per category: ``category, name,
    region_code`` (empty when every cohort was estimated)."""
    names = analysis.regions.assign(region_code=analysis.regions["region_code"].astype(str)).set_index("region_code")["name"]
    rows = [(category, names.get(str(code), str(code)), str(code))
            for category, effect in analysis.effects.items() for code in effect.adopters_not_estimated]
    return pd.DataFrame(rows, columns=["category", "name", "region_code"])


def truth_facts(analysis: BudgetAnalysis) -> dict:
    """The simulation's true savings (synthetic data only; catalogue ``20.truth``): ``truth``
    (``known`` / ``unknown``), ``over_cells`` (over the estimated cells), ``total`` (over every
    treated month) and ``by_category`` (DataFrame ``category, savings_idr``)."""
    truth = analysis.truth or {}
    cells, total = truth.get("savings_idr_over_estimated_cells"), truth.get("savings_idr_total")
    by_category = pd.DataFrame(list((truth.get("savings_idr_by_category") or {}).items()),
                               columns=["category", "savings_idr"])
    known = cells is not None or total is not None
    return {"truth": "known" if known else "unknown", "over_cells": cells, "total": total, "by_category": by_category}


def projection_facts(analysis: BudgetAnalysis) -> dict:
    """Scope and dose of the projection (catalogue ``20.projection_scope``): ``scope``
    (``province`` / ``all``), ``province``, ``n_pemda``, ``days``, ``observed_days`` (sequence)
    and ``projection_range`` (``observed`` / ``extrapolated``)."""
    proj, province = analysis.projection, analysis.parameters["projection_province"]
    return {"scope": "province" if province else "all", "province": str(province), "n_pemda": proj.n_pemda,
            "days": proj.days_per_week, "observed_days": list(proj.observed_doses),
            "projection_range": "extrapolated" if proj.extrapolated else "observed"}


#: Names under which :func:`analysis.analyses.spending_effect.other_estimator_event_studies`
#: returns its estimators → estimator codes (``label.estimator.<code>``).
_OTHER_ESTIMATORS = {"Sun-Abraham": "sun_abraham", "Imputation (BJS)": "imputation"}


def event_study_series(analysis: BudgetAnalysis, category: str) -> tuple[dict[str, pd.DataFrame], float | None, list[Note]]:
    """The event studies of ``category`` for the overlay figure: ``({estimator code: table},
    truth, failures)``. Codes: ``cs_adjusted`` / ``cs_unadjusted`` (CS with and without the TKD
    adjustment; both when ``adjust_for_tkd``), ``sun_abraham``, ``imputation``. ``truth``: the true
    mean effect over the headline estimate's cells (synthetic data) or None. ``failures``: one
    ``estimator_failed`` note per estimator that could not run."""
    head = analysis.effects[category]
    studies = {"cs_adjusted" if head.adjusted else "cs_unadjusted": head.event_study}
    if head.adjusted:
        studies["cs_unadjusted"] = analysis.unadjusted[category].event_study
    others = other_estimator_event_studies(analysis.panel, analysis.units, analysis.covariates, category=category,
                                           adjust_for_tkd=analysis.parameters["adjust_for_tkd"])
    studies.update({_OTHER_ESTIMATORS.get(name, name): study for name, study in others.items() if name != "errors"})
    errors = others.get("errors", pd.DataFrame(columns=["estimator", "error"]))
    failures = [Note("estimator_failed", {"estimator": _OTHER_ESTIMATORS.get(name, name), "error": error})
                for name, error in errors.itertuples(index=False, name=None)]
    rows = analysis.comparison[(analysis.comparison["category"] == category)
                               & (analysis.comparison["adjusted"] == head.adjusted)]
    truth = float(rows["truth"].iloc[0]) if "truth" in rows and len(rows) else None
    return studies, truth, failures


def comparison_table(analysis: BudgetAnalysis) -> pd.DataFrame:
    """The CS estimates by category, with and without the TKD adjustment, as the notebook shows
    them: ``category, adjusted, att, ci_low, ci_high`` (log points), ``truth`` (synthetic data),
    ``n_treated, pretrend_pvalue``."""
    columns = [c for c in ("category", "adjusted", "att", "ci_low", "ci_high", "truth", "n_treated", "pretrend_pvalue")
               if c in analysis.comparison.columns]
    return analysis.comparison[columns].reset_index(drop=True)


def result_entries(analysis: BudgetAnalysis) -> list:
    """The ``results.json`` entries of notebook 20."""
    head, naive = analysis.effects[ROUTINE_TOTAL], analysis.unadjusted[ROUTINE_TOTAL]
    total, per_year, proj = analysis.savings.total(), analysis.savings.per_adopter_year(), analysis.projection
    base = analysis.parameters["price_base_year"]
    entries = [
        ResultEntry("att_log_routine_spending", head.att, head.se, head.ci_low, head.ci_high, "log points",
                    "CS ATT on log routine spending" + (" (TKD-adjusted)" if head.adjusted else "")),
        ResultEntry("att_log_routine_spending_unadjusted", naive.att, naive.se, naive.ci_low, naive.ci_high,
                    "log points", "CS ATT on log routine spending without the TKD adjustment"),
        ResultEntry("savings_idr_total", total["savings_idr"], total["se"], total["ci_low"], total["ci_high"],
                    "IDR", f"savings of all adopters over the observed post-adoption periods ({base} prices)"),
        ResultEntry("savings_idr_per_adopter_year", per_year["savings_idr"], per_year["se"], per_year["ci_low"],
                    per_year["ci_high"], "IDR", f"savings per adopter per year ({base} prices)"),
        ResultEntry("projection_idr_per_year", proj.savings_idr, proj.se, proj.ci_low, proj.ci_high, "IDR",
                    f"projected savings per year, {proj.n_pemda} Pemda, {proj.days_per_week:g} WFA day(s)/week"),
    ]
    for category in (*ROUTINE_CATEGORIES, *PLACEBO_CATEGORIES):
        e = analysis.effects[category]
        entries.append(ResultEntry(f"att_log_{category}", e.att, e.se, e.ci_low, e.ci_high, "log points",
                                   f"CS ATT on log {category} spending"))
    return entries


def result_extra(analysis: BudgetAnalysis) -> dict:
    """Machine-readable detail for ``results.json`` ``extra``: the comparison table (every
    category, adjusted and unadjusted, with the truth over the estimator's own cells on synthetic
    data), savings by category (their sum is ``savings_idr_total``), the sample exclusions, the
    projection's assumptions and the joint placebo test (:func:`placebo_joint_test`)."""
    by_category = analysis.savings.summarise(["category"])
    return {
        "comparison": analysis.comparison.to_dict(orient="records"),
        "savings_by_category": by_category[["category", "savings_idr", "ci_low", "ci_high"]].to_dict(orient="records"),
        "excluded_pemda": analysis.excluded.to_dict(orient="records"),
        "savings_ci_method": analysis.savings.method,
        "projection": {
            "n_pemda": analysis.projection.n_pemda, "scope": analysis.projection.scope,
            "days_per_week": analysis.projection.days_per_week,
            "observed_doses": list(analysis.projection.observed_doses),
            "extrapolated": analysis.projection.extrapolated, "assumptions": list(analysis.projection.assumptions),
        },
        "truth_json_budget": analysis.truth,
        "placebo_joint_test": placebo_joint_test(analysis.effects),
    }
