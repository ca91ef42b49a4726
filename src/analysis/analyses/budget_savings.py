"""Notebook ``20_budget_savings`` as one call: load the budget tables, build the monthly panel,
estimate every category with and without the TKD adjustment, the savings and the projection
(:func:`run_budget_analysis`); which real adopters the headline holds (:func:`real_adopters`);
the truth of every headline's own estimand on synthetic data. The ``results.json`` entries
(:func:`result_entries`, :func:`result_extra`) are built by :mod:`analysis.analyses.budget_results`.

Robust to real inputs: a category absent from the data, or left without any adopter, is skipped
with a :class:`~analysis.notes.Note` (``category_absent``, ``category_no_adopter``) and the rest
runs; covariates that are constant or collinear are dropped with a note (see
:func:`analysis.analyses.spending_effect.screen_covariates`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.analyses.budget_results import result_entries, result_extra
from analysis.analyses.projection import Projection, project_annual_savings
from analysis.analyses.savings import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    Savings,
    savings_in_rupiah,
)
from analysis.analyses.spending_effect import (
    CONTROLS,
    NoAdopterError,
    SpendingEffect,
    estimate_spending_effect,
    other_estimator_event_studies,
    placebo_joint_test,
)
from analysis.data import load
from analysis.did.propensity_reuse import reused_propensity_fits
from analysis.errors import DataContractError
from analysis.notes import Note
from analysis.panels.budget import (
    FREQUENCIES,
    PLACEBO_CATEGORIES,
    ROUTINE_CATEGORIES,
    ROUTINE_TOTAL,
    adoption_table,
    cohorts_for_estimation,
    spending_panel,
    tkd_covariates,
    wfa_exposure,
)
from analysis.panels.treatment import real_adopter_codes
from analysis.simulate.truth import (
    budget_att_truth,
    budget_savings_truth,
    projection_truth,
)
from analysis.texts.numbers import pct_change

#: Every category estimated, headline first.
CATEGORIES = (ROUTINE_TOTAL, *ROUTINE_CATEGORIES, *PLACEBO_CATEGORIES)

__all__ = ["BudgetAnalysis", "conclusion_facts", "real_adopters", "result_entries", "result_extra",
           "run_budget_analysis", "savings_by_pemda"]

@dataclass(frozen=True)
class BudgetAnalysis:
    """Everything notebook ``20_budget_savings`` shows. Rupiah are real, ``price_base_year`` prices.

    ``effects``: category -> adjusted (if ``adjust_for_tkd``) CS effect, for ``routine_total``
    and every routine and placebo category present in the data; ``unadjusted``: the same without
    covariates (of ``unadjusted_categories``; the same objects as ``effects`` when not
    ``adjust_for_tkd``); ``comparison``: one
    row per category x adjusted with the ATTs (and ``truth``, over the estimate's own cells, on
    synthetic data); ``savings``: from the routine categories; ``projection``; ``excluded``:
    Pemda with WFA left out of the staggered sample (``region_code, reason, cohort,
    last_treated``); ``exposure``: dose and share in force per Pemda x period
    (:func:`analysis.panels.budget.wfa_exposure`); ``real_adopters``: :func:`real_adopters`;
    ``placebo``: :func:`~analysis.analyses.spending_effect.placebo_joint_test` or None when no
    placebo category is present; ``notes``: facts for the reader (codes);
    ``truth``: truth.json's ``budget`` block plus ``savings_idr_over_estimated_cells``, or None;
    ``estimand_truth``: the truth of each headline entry's own estimand (by entry name), or empty.
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
    exposure: pd.DataFrame | None = None
    real_adopters: pd.DataFrame | None = None
    placebo: dict | None = None
    notes: tuple[Note, ...] = ()
    estimand_truth: dict = field(default_factory=dict)


def run_budget_analysis(
    data_dir,
    *,
    frequency: str = "month",
    adjust_for_tkd: bool = True,
    price_base_year: int = 2025,
    projection_days_per_week: float = 1.0,
    projection_province: str = "",
    control: str = "not_yet",
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    categories: tuple[str, ...] = CATEGORIES,
    unadjusted_categories: tuple[str, ...] | None = None,
) -> BudgetAnalysis:
    """Load ``regions``, ``policies``, ``budget``, ``transfers`` of ``data_dir``, build the panel,
    estimate every category with and without the TKD adjustment, the savings and the projection
    (``base_year = price_base_year``; every Pemda in the data, or with ``projection_province``
    (a province code such as ``"32"``) the province government and its kabupaten/kota).

    ``frequency``: ``month`` (default: a cohort starts in the month WFA does) or ``quarter`` (a
    robustness view: cohort = first fully treated quarter, the partly treated quarter left out
    of the comparisons). ``control``: ``not_yet`` or ``never``. ``categories``: those estimated
    (``routine_total`` first; the savings and the projection use the routine ones among them);
    ``unadjusted_categories``: those also estimated without the TKD adjustment (None = all of
    ``categories``); a shorter list saves time (the Monte Carlo in ``benchmarks/``).
    """
    if not categories or categories[0] != ROUTINE_TOTAL:
        raise ValueError(f"categories must start with {ROUTINE_TOTAL!r}, got {categories!r}")
    unknown = set(categories) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}; expected some of {list(CATEGORIES)}")
    twins = set(categories if unadjusted_categories is None else unadjusted_categories) | {ROUTINE_TOTAL}
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {FREQUENCIES}, got {frequency!r}")
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {CONTROLS}, got {control!r}")
    dataset = load(data_dir)
    regions, policies = dataset.regions, dataset.policies
    budget = dataset.table("budget", required=True)
    transfers = dataset.table("transfers", required=True)
    panel = spending_panel(budget, frequency=frequency, price_base_year=price_base_year)
    present = set(panel["category"].unique())  # unique() first: a Python loop over ~0.5 M rows otherwise
    if ROUTINE_TOTAL not in present:
        raise DataContractError(f"budget table: no routine spending category {list(ROUTINE_CATEGORIES)} in the data")
    adoption = adoption_table(policies, regions, periods=budget["period"])
    units, excluded = cohorts_for_estimation(adoption, panel, frequency=frequency)
    exposure = wfa_exposure(policies, regions, periods=budget["period"], frequency=frequency)
    covariates = tkd_covariates(transfers, regions)

    effects, unadjusted, notes = {}, {}, []
    # every category, adjusted or not, has the same Pemda and covariates: each distinct
    # propensity logit is fitted once for all of them (122 fits instead of 1,332; same bits)
    with reused_propensity_fits():
        for category in categories:
            if category not in present:
                notes.append(Note("category_absent", {"category": category}))
                continue
            options = dict(category=category, control=control, exposure=exposure)
            try:
                effects[category] = estimate_spending_effect(panel, units, covariates, adjust_for_tkd=adjust_for_tkd, **options)
                if not adjust_for_tkd:
                    unadjusted[category] = effects[category]
                elif category in twins:
                    unadjusted[category] = estimate_spending_effect(panel, units, covariates, adjust_for_tkd=False, **options)
            except NoAdopterError:
                if category == ROUTINE_TOTAL:
                    raise
                effects.pop(category, None)
                notes.append(Note("category_no_adopter", {"category": category}))
    for effect in effects.values():
        notes.extend(note for note in effect.notes if note not in notes)
    routine = {c: effects[c] for c in ROUTINE_CATEGORIES if c in effects}
    savings = savings_in_rupiah(routine, n_draws=n_draws, seed=seed)
    region_codes = None
    if projection_province:
        in_province = regions["province_code"].astype(str) == str(projection_province)
        region_codes = list(regions.loc[in_province, "region_code"].astype(str))
        if not region_codes:
            raise ValueError(f"projection_province {projection_province!r}: no Pemda with that province_code")
    projection = project_annual_savings(
        routine, panel, days_per_week=projection_days_per_week, base_year=price_base_year,
        region_codes=region_codes, province_code=projection_province, n_draws=n_draws, seed=seed,
    )
    placebo = None
    if any(c in effects for c in PLACEBO_CATEGORIES):
        placebo = placebo_joint_test(effects)
    parameters = {
        "frequency": frequency, "adjust_for_tkd": adjust_for_tkd, "price_base_year": price_base_year,
        "projection_days_per_week": projection_days_per_week, "projection_province": projection_province,
        "control": control, "n_draws": n_draws, "seed": seed,
    }
    truth_cells, estimand_truth = dataset.truth_cells("budget"), {}
    truth = (dataset.truth or {}).get("budget") if truth_cells is not None else None
    rows = []
    for category, effect in effects.items():
        for one in {id(e): e for e in (effect, unadjusted.get(category, effect))}.values():
            row = one.as_row()
            if truth_cells is not None:
                row["truth"] = effect_truth(truth_cells, one)
            rows.append(row)
    if truth_cells is not None:
        estimand_truth = headline_truths(truth_cells, truth, effects, unadjusted, savings, projection)
        truth = {**truth, "savings_idr_over_estimated_cells": estimand_truth["savings_idr_total"]}
    return BudgetAnalysis(
        parameters, panel, units, excluded, regions, covariates, effects, unadjusted, pd.DataFrame(rows),
        savings, projection, truth, exposure=exposure,
        real_adopters=real_adopters(policies, adoption, excluded, effects[ROUTINE_TOTAL], regions),
        placebo=placebo, notes=tuple(notes), estimand_truth=estimand_truth,
    )


# ------------------------------------------------------------------------------- truths
def effect_truth(truth_cells: pd.DataFrame, effect: SpendingEffect) -> float:
    """The true ATT over exactly the cells ``effect`` averages over, weighted alike as the CS
    simple aggregation (:func:`analysis.simulate.truth.budget_att_truth`)."""
    categories = ROUTINE_CATEGORIES if effect.category == ROUTINE_TOTAL else (effect.category,)
    return budget_att_truth(truth_cells, effect.treated_cells, categories=tuple(categories),
                            frequency=effect.frequency)


def savings_truth(truth_cells: pd.DataFrame, savings: Savings) -> dict:
    """True savings over the cells of ``savings``: ``total`` and ``per_adopter_year`` (same
    definition as :meth:`Savings.per_adopter_year`: per category, true savings x 12 /
    adopter-months in force, summed)."""
    frequency = "quarter" if savings.months_per_period == 3 else "month"
    months = savings.months_in_force_by_category()
    by_category = {c: budget_savings_truth(truth_cells, savings.cells[savings.cells["category"] == c],
                                           frequency=frequency) for c in months.index}
    per_year = sum(by_category[c] * 12.0 / months[c] for c in months.index if months[c] > 0)
    return {"total": float(sum(by_category.values())), "per_adopter_year": float(per_year)}


def headline_truths(truth_cells: pd.DataFrame, truth: dict, effects: dict, unadjusted: dict,
                    savings: Savings, projection: Projection) -> dict:
    """The truth of each headline entry's own estimand (same units, periods and weights as the
    estimate), by ``results.json`` entry name."""
    saved = savings_truth(truth_cells, savings)
    out = {
        "att_log_routine_spending": effect_truth(truth_cells, effects[ROUTINE_TOTAL]),
        "att_log_routine_spending_unadjusted": effect_truth(truth_cells, unadjusted[ROUTINE_TOTAL]),
        "savings_idr_total": saved["total"],
        "savings_idr_per_adopter_year": saved["per_adopter_year"],
    }
    if truth and "wfa_effect_per_day" in truth:
        out["projection_idr_per_year"] = projection_truth(truth, projection.base_spending, projection.days_per_week)
    for category, effect in effects.items():
        if category != ROUTINE_TOTAL:
            out[f"att_log_{category}"] = effect_truth(truth_cells, effect)
    return out


# ------------------------------------------------------------------------------- real adopters
def real_adopters(policies: pd.DataFrame, adoption: pd.DataFrame, excluded: pd.DataFrame,
                  headline: SpendingEffect, regions: pd.DataFrame) -> pd.DataFrame:
    """One row per real adopter: is it in the headline estimate, and if not, why (facts).

    Columns ``region_code, name, cohort`` (first month in force or None), ``last_treated``,
    ``wfa_days_per_week``, ``in_headline`` (bool), ``reason`` (empty when in the headline; else
    a code: ``switched_off``, ``already_treated``, ``no_pre_period``, ``no_full_post_period``
    from the sample, ``single_pemda_cohort``, ``cohort_not_estimated``, ``incomplete_spending``,
    ``no_covariates`` from the estimate, or ``never_in_force`` (no month of the window under
    WFA by the half-month rule)). Their own estimates, with inference for few treated Pemda,
    belong to the case studies.
    """
    codes = sorted(real_adopter_codes(policies))
    adopt = adoption.assign(region_code=adoption["region_code"].astype(str)).set_index("region_code")
    sample_reason = excluded.set_index("region_code")["reason"]
    estimate_reason = headline.excluded.set_index("region_code")["reason"]
    names = regions.assign(region_code=regions["region_code"].astype(str)).set_index("region_code")["name"]
    in_headline = set(headline.treated_codes)
    rows = []
    for code in codes:
        cohort = adopt.at[code, "cohort"] if code in adopt.index else None
        cohort = None if cohort is None or pd.isna(cohort) else str(cohort)
        last = adopt.at[code, "last_treated"] if code in adopt.index else None
        last = None if last is None or pd.isna(last) else str(last)
        dose = float(adopt.at[code, "wfa_days_per_week"]) if code in adopt.index else 0.0
        if code in in_headline:
            reason = ""
        elif code in sample_reason.index:
            reason = sample_reason[code]
        elif code in estimate_reason.index:
            reason = estimate_reason[code]
        else:
            reason = "never_in_force" if cohort is None else "cohort_not_estimated"
        rows.append((code, names.get(code), cohort, last, dose, code in in_headline, reason))
    return pd.DataFrame(rows, columns=["region_code", "name", "cohort", "last_treated", "wfa_days_per_week",
                                       "in_headline", "reason"])


def savings_by_pemda(analysis: BudgetAnalysis, *, registry_only: bool = False) -> pd.DataFrame:
    """Per adopter: ``region_code, name, cohort, wfa_days_per_week, n_periods, months_in_force,
    savings_idr, ci_low, ci_high, savings_per_capita_idr`` and ``savings_per_asn_idr`` (only if
    the regions table has ``asn_count``; otherwise skipped). ``registry_only``: only the real
    adopters (:func:`real_adopter_codes`; in synthetic data, the Pemda of the policy registry)."""
    table = analysis.savings.summarise(["region_code"])
    if registry_only:
        real = set(analysis.real_adopters["region_code"]) if analysis.real_adopters is not None else set()
        table = table[table["region_code"].isin(real)]
    info = analysis.units[["region_code", "cohort", "wfa_days_per_week"]]
    regions = analysis.regions.assign(region_code=analysis.regions["region_code"].astype(str))
    keep = ["region_code", "name", "population"] + (["asn_count"] if "asn_count" in regions.columns else [])
    table = table.merge(info, on="region_code", how="left").merge(regions[keep], on="region_code", how="left")
    table["savings_per_capita_idr"] = table["savings_idr"] / table["population"]
    columns = ["region_code", "name", "cohort", "wfa_days_per_week", "n_periods", "months_in_force", "savings_idr",
               "ci_low", "ci_high", "savings_per_capita_idr"]
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
    ``projection_range`` (``observed`` / ``extrapolated``); ``placebo``: the joint placebo test's
    verdict (``null``: no effect detected, ``effect``: detected, ``absent``: no placebo category)."""
    headline = analysis.effects[ROUTINE_TOTAL]
    naive = analysis.unadjusted[ROUTINE_TOTAL]
    total = analysis.savings.total()
    per_year = analysis.savings.per_adopter_year()
    proj = analysis.projection
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
        "placebo": "absent" if analysis.placebo is None else "effect" if analysis.placebo["reject"] else "null",
    }


def sample_table(analysis: BudgetAnalysis) -> pd.DataFrame:
    """The estimation sample: adopters per cohort (``cohort, n_pemda``)."""
    treated = analysis.units[analysis.units["cohort_time"] > 0]
    return treated.groupby("cohort").size().rename("n_pemda").reset_index()


def excluded_table(analysis: BudgetAnalysis) -> pd.DataFrame:
    """The adopters left out of the staggered sample, by name: ``name, region_code, reason``
    (a code of :data:`analysis.panels.budget.EXCLUSION_REASONS`), ``cohort, last_treated``."""
    names = analysis.regions.assign(region_code=analysis.regions["region_code"].astype(str)).set_index("region_code")["name"]
    table = analysis.excluded.assign(name=analysis.excluded["region_code"].astype(str).map(names))
    return table[["name", "region_code", "reason", "cohort", "last_treated"]]


def not_estimated_table(analysis: BudgetAnalysis) -> pd.DataFrame:
    """Adopters of the sample left out of an estimate, per category: ``category, name,
    region_code, reason`` (a code of :data:`analysis.analyses.spending_effect.NOT_ESTIMATED_REASONS`;
    empty when every adopter was estimated)."""
    names = analysis.regions.assign(region_code=analysis.regions["region_code"].astype(str)).set_index("region_code")["name"]
    rows = [(category, names.get(str(code), str(code)), str(code), reason)
            for category, effect in analysis.effects.items()
            for code, reason, adopter in effect.excluded[["region_code", "reason", "adopter"]].itertuples(index=False)
            if adopter]
    return pd.DataFrame(rows, columns=["category", "name", "region_code", "reason"])


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
    studies.update({_OTHER_ESTIMATORS.get(name, name): study for name, study in others.studies.items()})
    failures = [Note(n.code, {**n.params, "estimator": _OTHER_ESTIMATORS.get(n.params["estimator"], n.params["estimator"])})
                for n in others.notes]
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


def placebo_facts(analysis: BudgetAnalysis) -> dict:
    """The joint placebo test (catalogue ``20.placebo_test``): ``placebo`` (``tested`` /
    ``no_category``), its ``statistic``, ``df``, ``pvalue`` and ``verdict`` (``no_placebo_effect_detected``
    / ``placebo_effect_detected``). The conclusion reads this test, not the categories one by one."""
    test = analysis.placebo
    if test is None:
        return {"placebo": "no_category", "statistic": None, "df": None, "pvalue": None, "verdict": None}
    return {"placebo": "tested", "statistic": test["statistic"], "df": test["df"], "pvalue": test["pvalue"],
            "verdict": test["verdict"]}


def real_adopters_table(analysis: BudgetAnalysis) -> pd.DataFrame:
    """The real adopters and the headline: ``name, region_code, cohort, in_headline, reason`` (a
    code of the sample's or the estimate's exclusion reasons; None when included)."""
    table = analysis.real_adopters if analysis.real_adopters is not None else pd.DataFrame(
        columns=["name", "region_code", "cohort", "in_headline", "reason"])
    table = table[["name", "region_code", "cohort", "in_headline", "reason"]].reset_index(drop=True)
    return table.assign(reason=table["reason"].where(table["reason"].astype(str) != "", None))
