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

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.analyses.budget_results import result_entries, result_extra
from analysis.analyses.projection import Projection, project_annual_savings
from analysis.analyses.savings import DEFAULT_DRAWS, DEFAULT_SEED, Savings, savings_in_rupiah
from analysis.analyses.spending_effect import (
    CONTROLS,
    NoAdopterError,
    SpendingEffect,
    estimate_spending_effect,
    placebo_joint_test,
)
from analysis.data import load_table
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
from analysis.simulate.truth import budget_att_truth, budget_savings_truth, projection_truth
from analysis.texts import formatting

#: Every category estimated, headline first.
CATEGORIES = (ROUTINE_TOTAL, *ROUTINE_CATEGORIES, *PLACEBO_CATEGORIES)

__all__ = ["BudgetAnalysis", "conclusion_text", "real_adopters", "result_entries", "result_extra",
           "run_budget_analysis", "savings_by_pemda"]

#: ``source`` of the policy rows written by :mod:`analysis.simulate` (simulated adopters).
SIMULATED_SOURCE = "simulated"


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
    data_dir = Path(data_dir)
    regions = load_table(data_dir, "regions")
    policies = load_table(data_dir, "policies")
    budget = load_table(data_dir, "budget")
    transfers = load_table(data_dir, "transfers")
    panel = spending_panel(budget, frequency=frequency, price_base_year=price_base_year)
    if ROUTINE_TOTAL not in set(panel["category"]):
        raise DataContractError(f"budget table: no routine spending category {list(ROUTINE_CATEGORIES)} in the data")
    adoption = adoption_table(policies, regions, periods=budget["period"])
    units, excluded = cohorts_for_estimation(adoption, panel, frequency=frequency)
    exposure = wfa_exposure(policies, regions, periods=budget["period"], frequency=frequency)
    covariates = tkd_covariates(transfers, regions)

    present = set(panel["category"])
    effects, unadjusted, notes = {}, {}, []
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
    truth_cells, truth, estimand_truth = None, None, {}
    if (data_dir / "truth_budget_cells.parquet").exists():
        truth_cells = pd.read_parquet(data_dir / "truth_budget_cells.parquet")
        truth = json.loads((data_dir / "truth.json").read_text(encoding="utf-8")).get("budget")
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
def real_adopter_codes(policies: pd.DataFrame) -> set[str]:
    """Region codes of the real adopters among ``policies``: every policy row except those
    :mod:`analysis.simulate` adds (``source == "simulated"``, or an ``origin`` column saying
    ``simulated``). In a user's own data every adopter is real."""
    simulated = policies["source"].astype(str).str.strip().str.lower() == SIMULATED_SOURCE
    if "origin" in policies.columns:
        simulated |= policies["origin"].astype(str).str.strip().str.lower() == SIMULATED_SOURCE
    return set(policies.loc[~simulated, "region_code"].astype(str))


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


def conclusion_text(analysis: BudgetAnalysis, lang: str) -> str:
    """Plain-language conclusion (markdown) whose numbers all come from ``analysis``; money via
    :func:`analysis.texts.formatting.format_idr`, percentages via ``formatting.format_pct``.
    The placebo sentence follows the joint test's verdict (``analysis.placebo``)."""
    formatting.check_lang(lang)
    headline = analysis.effects[ROUTINE_TOTAL]
    naive = analysis.unadjusted[ROUTINE_TOTAL]
    total = analysis.savings.total()
    per_year = analysis.savings.per_adopter_year()
    proj = analysis.projection
    pct = lambda v: formatting.format_pct(100 * float(np.expm1(v)), lang, 1, signed=True)  # noqa: E731
    idr_ci = lambda lo, hi: formatting.format_interval(lo, hi, formatting.format_idr, lang)  # noqa: E731
    placebo_null = analysis.placebo is None or not analysis.placebo["reject"]
    base = analysis.parameters["price_base_year"]
    if lang == "id":
        parts = [
            f"WFA mengubah belanja rutin Pemda penerap sebesar **{pct(headline.att)}** "
            f"(IK 95% {formatting.format_interval(np.expm1(headline.ci_low) * 100, np.expm1(headline.ci_high) * 100, formatting.format_pct, lang)}), "
            f"{'setelah' if headline.adjusted else 'tanpa'} memperhitungkan pemotongan TKD 2026. "
            f"Tanpa penyesuaian itu, estimasinya {pct(naive.att)}.",
            f"Selama periode pengamatan, {headline.n_treated} Pemda penerap menghemat sekitar "
            f"**{formatting.format_idr(total['savings_idr'], lang)}** (IK 95% {idr_ci(total['ci_low'], total['ci_high'])}), "
            f"atau {formatting.format_idr(per_year['savings_idr'], lang)} per Pemda per tahun (harga {base}).",
            f"Jika {proj.n_pemda} Pemda menerapkan {formatting.format_number(proj.days_per_week, lang, 0)} hari WFA per pekan, "
            f"penghematan diperkirakan **{formatting.format_idr(proj.savings_idr, lang)} per tahun** "
            f"(IK 95% {idr_ci(proj.ci_low, proj.ci_high)})"
            + (" — ini ekstrapolasi di luar jumlah hari yang teramati." if proj.extrapolated else "."),
            "Kategori plasebo (penerangan jalan, pemeliharaan) "
            + ("tidak menunjukkan efek, sesuai harapan." if placebo_null else "menunjukkan efek: hasil di atas perlu dibaca hati-hati."),
        ]
    else:
        parts = [
            f"WFA changed adopters' routine spending by **{pct(headline.att)}** "
            f"(95% CI {formatting.format_interval(np.expm1(headline.ci_low) * 100, np.expm1(headline.ci_high) * 100, formatting.format_pct, lang)}), "
            f"{'after' if headline.adjusted else 'without'} accounting for the 2026 TKD cut. "
            f"Without that adjustment the estimate is {pct(naive.att)}.",
            f"Over the observed period the {headline.n_treated} adopting Pemda saved about "
            f"**{formatting.format_idr(total['savings_idr'], lang)}** (95% CI {idr_ci(total['ci_low'], total['ci_high'])}), "
            f"or {formatting.format_idr(per_year['savings_idr'], lang)} per Pemda per year ({base} prices).",
            f"If {proj.n_pemda} Pemda adopted {proj.days_per_week:g} WFA day(s) per week, they would save about "
            f"**{formatting.format_idr(proj.savings_idr, lang)} per year** (95% CI {idr_ci(proj.ci_low, proj.ci_high)})"
            + (" — an extrapolation beyond the observed number of days." if proj.extrapolated else "."),
            "The placebo categories (street lighting, maintenance) "
            + ("show no effect, as expected." if placebo_null else "show an effect: read the results above with caution."),
        ]
    return "\n\n".join(parts)
