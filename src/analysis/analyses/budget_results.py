"""The ``results.json`` entries of notebook ``20_budget_savings``: every headline number with what
it measures (:class:`~analysis.report.results_file.Estimand`), on whom
(:class:`~analysis.report.results_file.Sample`) and how its uncertainty was computed
(:class:`~analysis.report.results_file.Inference`), all as codes; the truth of each entry's own
estimand on synthetic data goes to ``extra["estimand_truth"]``.

Codes used here (worded by ``analysis.texts``):

- ``Estimand.units``: ``adopters_in_estimated_cohorts`` (the adopters of the staggered sample
  whose cohort the estimator could estimate; ``Sample`` lists them and who was left out),
  ``target_pemda`` (the Pemda a projection is about).
- ``Estimand.periods``: ``post_adoption_months`` (every month from the cohort month to the end of
  the data), ``post_adoption_full_quarters`` (quarters wholly under WFA), ``base_year``.
- ``Estimand.weights``: ``treated_cells_equal`` (every treated Pemda x period alike),
  ``sum_over_treated_cells``, ``per_adopter_month_in_force`` (a month partly under WFA counts as
  its share of working days in force), ``sum_over_target_pemda``.
- ``Sample.excluded[].reason``: the codes of :data:`analysis.panels.budget.EXCLUSION_REASONS`
  and :data:`analysis.analyses.spending_effect.NOT_ESTIMATED_REASONS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.analyses.spending_effect import SpendingEffect
from analysis.did.results import normal_pvalue
from analysis.panels.budget import PLACEBO_CATEGORIES, ROUTINE_CATEGORIES, ROUTINE_TOTAL
from analysis.report.results_file import Estimand, Inference, ResultEntry, Sample

if TYPE_CHECKING:
    from analysis.analyses.budget_savings import BudgetAnalysis


def _periods(frequency: str) -> str:
    return "post_adoption_full_quarters" if frequency == "quarter" else "post_adoption_months"


def _window(analysis: BudgetAnalysis) -> list[str]:
    periods = analysis.panel["period"]
    return [str(periods.min()), str(periods.max())]


def effect_estimand(effect: SpendingEffect, analysis: BudgetAnalysis) -> Estimand:
    """What a CS ATT measures: mean true log effect on real spending of ``effect.category`` over
    its treated Pemda x post-adoption periods, every cell alike."""
    present = set(analysis.panel["category"].unique())
    categories = [c for c in ROUTINE_CATEGORIES if c in present] if effect.category == ROUTINE_TOTAL else [effect.category]
    return Estimand(
        outcome=f"log_{'routine' if effect.category == ROUTINE_TOTAL else effect.category}_spending_real",
        scale="log_points",
        units="adopters_in_estimated_cohorts",
        periods=_periods(effect.frequency),
        weights="treated_cells_equal",
        estimator="cs",
        details={
            "method": "dr", "control": effect.control, "covariates": list(effect.covariates),
            "frequency": effect.frequency, "anticipation": effect.anticipation, "window": _window(analysis),
            "categories": categories,
            "n_cells": len(effect.treated_cells),
            "mean_in_force_share": float(effect.treated_cells["in_force_share"].mean()),
            "price_base_year": analysis.parameters.get("price_base_year"),
        },
    )


def effect_sample(effect: SpendingEffect, analysis: BudgetAnalysis) -> Sample:
    """Treated and comparison Pemda of an estimate, every Pemda with WFA left out of it (the
    staggered sample's exclusions, then the estimate's own), and the real adopters included."""
    excluded = [{"region_code": row.region_code, "reason": row.reason}
                for row in analysis.excluded.itertuples(index=False)]
    excluded += [{"region_code": row.region_code, "reason": row.reason}
                 for row in effect.excluded.itertuples(index=False)]
    real = _real_codes(analysis)
    treated = effect.treated_codes
    return Sample(treated=treated, comparison_count=effect.n_never_treated, excluded=tuple(excluded),
                  real_adopters_included=tuple(c for c in treated if c in real))


def effect_inference(effect: SpendingEffect) -> Inference:
    """Analytic influence-function SEs clustered by Pemda; the pre-trend test next to it."""
    pretrend = None if effect.pretrend is None else {
        "events": list(effect.pretrend_events), "stat": effect.pretrend.stat, "df": effect.pretrend.df,
        "pvalue": effect.pretrend.pvalue}
    return Inference(method="cluster_robust", reason="", n_treated_clusters=effect.n_treated,
                     pvalue=normal_pvalue(effect.att, effect.se),
                     details={"cluster": "region_code", "se": "analytic_influence_function", "pretrend": pretrend})


def _bootstrap(analysis: BudgetAnalysis) -> Inference:
    headline = analysis.effects[ROUTINE_TOTAL]
    return Inference(method="multiplier_bootstrap", n_treated_clusters=headline.n_treated,
                     details={"draws": analysis.parameters.get("n_draws"), "seed": analysis.parameters.get("seed"),
                              "interval": "percentile", "weights": "standard_normal_per_pemda"})


def _real_codes(analysis: BudgetAnalysis) -> set[str]:
    return set(analysis.real_adopters["region_code"]) if analysis.real_adopters is not None else set()


def _routine_sample(analysis: BudgetAnalysis) -> Sample:
    """The sample of the savings and the projection: the union of the routine categories'."""
    routine = [analysis.effects[c] for c in ROUTINE_CATEGORIES if c in analysis.effects]
    headline = effect_sample(analysis.effects[ROUTINE_TOTAL], analysis)
    treated = tuple(sorted(set().union(*(e.treated_codes for e in routine))))
    real = _real_codes(analysis)
    return Sample(treated=treated, comparison_count=headline.comparison_count, excluded=headline.excluded,
                  real_adopters_included=tuple(c for c in treated if c in real))


def result_entries(analysis: BudgetAnalysis, inference=None) -> list[ResultEntry]:
    """The ``results.json`` entries of notebook 20, each with its estimand, sample and inference.
    ``inference``: the headline's :class:`analysis.analyses.few_treated.HeadlineInference` (None:
    chosen here by the number of treated Pemda, randomization inference run with its default draws
    when they are few); it is the ``inference`` of ``att_log_routine_spending``, with the CS
    pre-trend test in its details."""
    from analysis.analyses import few_treated

    if inference is None:
        inference = few_treated.budget_headline_inference(analysis)
    head, naive = analysis.effects[ROUTINE_TOTAL], analysis.unadjusted[ROUTINE_TOTAL]
    total, per_year, proj = analysis.savings.total(), analysis.savings.per_adopter_year(), analysis.projection
    base = analysis.parameters["price_base_year"]
    categories = [c for c in ROUTINE_CATEGORIES if c in analysis.effects]
    savings_units = effect_estimand(head, analysis)
    routine_sample = _routine_sample(analysis)
    savings_details = {"price_base_year": base, "categories": categories, "frequency": head.frequency,
                       "window": _window(analysis), "allocation": "event_time_effect_by_wfa_days_in_force"}
    entries = [
        ResultEntry("att_log_routine_spending", head.att, head.se, head.ci_low, head.ci_high, "log points",
                    "CS ATT on log routine spending" + (" (TKD-adjusted)" if head.adjusted else ""),
                    effect_estimand(head, analysis), effect_sample(head, analysis),
                    inference.entry_inference(pretrend=effect_inference(head).details["pretrend"])),
        ResultEntry("att_log_routine_spending_unadjusted", naive.att, naive.se, naive.ci_low, naive.ci_high,
                    "log points", "CS ATT on log routine spending without the TKD adjustment",
                    effect_estimand(naive, analysis), effect_sample(naive, analysis), effect_inference(naive)),
        ResultEntry("savings_idr_total", total["savings_idr"], total["se"], total["ci_low"], total["ci_high"],
                    "IDR", f"savings of all adopters over the observed post-adoption periods ({base} prices)",
                    Estimand("savings_routine_real", "idr", savings_units.units, savings_units.periods,
                             "sum_over_treated_cells", "cs_event_time_counterfactual", savings_details),
                    routine_sample, _bootstrap(analysis)),
        ResultEntry("savings_idr_per_adopter_year", per_year["savings_idr"], per_year["se"], per_year["ci_low"],
                    per_year["ci_high"], "IDR", f"savings per adopter per year of WFA in force ({base} prices)",
                    Estimand("savings_routine_real_per_adopter_year", "idr_per_year", savings_units.units,
                             savings_units.periods, "per_adopter_month_in_force", "cs_event_time_counterfactual",
                             {**savings_details, "adopter_months_in_force": per_year["adopter_months"],
                              "partial_months": "counted_by_share_of_working_days_in_force"}),
                    routine_sample, _bootstrap(analysis)),
        ResultEntry("projection_idr_per_year", proj.savings_idr, proj.se, proj.ci_low, proj.ci_high, "IDR",
                    f"projected savings per year, {proj.n_pemda} Pemda, {proj.days_per_week:g} WFA day(s)/week",
                    Estimand("savings_routine_real_projected", "idr_per_year", "target_pemda", "base_year",
                             "sum_over_target_pemda", "cs_effect_per_wfa_day", projection_details(analysis)),
                    routine_sample, _bootstrap(analysis)),
    ]
    for category in (*ROUTINE_CATEGORIES, *PLACEBO_CATEGORIES):
        if category not in analysis.effects:
            continue
        e = analysis.effects[category]
        entries.append(ResultEntry(f"att_log_{category}", e.att, e.se, e.ci_low, e.ci_high, "log points",
                                   f"CS ATT on log {category} spending", effect_estimand(e, analysis),
                                   effect_sample(e, analysis), effect_inference(e)))
    return entries


def projection_details(analysis: BudgetAnalysis) -> dict:
    """What pins the projection down: dose, base year, target Pemda, assumptions (codes), and the
    effect per WFA day of each category with its interval."""
    proj = analysis.projection
    return {
        "days_per_week": proj.days_per_week, "base_year": proj.base_year, "scope": proj.scope,
        "province_code": proj.province_code, "n_pemda": proj.n_pemda,
        "observed_doses": list(proj.observed_doses), "extrapolated": proj.extrapolated,
        "assumptions": list(proj.assumptions),
        "effect_per_day": proj.by_category[["category", "mean_dose", "beta_per_day", "beta_ci_low",
                                            "beta_ci_high"]].to_dict(orient="records"),
    }


def result_extra(analysis: BudgetAnalysis) -> dict:
    """Machine-readable detail for ``results.json`` ``extra``: the comparison table (every
    category, adjusted and unadjusted, with the truth over the estimator's own cells on synthetic
    data), savings by category (their sum is ``savings_idr_total``), the sample exclusions, the
    real adopters and whether the headline holds them, the notes, the projection's details, the
    joint placebo test with its verdict code (the placebo conclusion; the per-category rows are
    facts, not tests), truth.json's budget quantities and the truth of every entry's estimand."""
    by_category = analysis.savings.summarise(["category"])
    truth = analysis.truth
    if truth and "wfa_effect_per_day" in truth:
        truth = {k: v for k, v in truth.items() if k != "wfa_effect_per_day"}
    return {
        "comparison": analysis.comparison.to_dict(orient="records"),
        "savings_by_category": by_category[["category", "savings_idr", "ci_low", "ci_high", "months_in_force"]]
        .to_dict(orient="records"),
        "excluded_pemda": analysis.excluded.to_dict(orient="records"),
        "real_adopters": [] if analysis.real_adopters is None else analysis.real_adopters.to_dict(orient="records"),
        "notes": [note.as_dict() for note in analysis.notes],
        "savings_ci_method": analysis.savings.method,
        "projection": projection_details(analysis),
        "truth_json_budget": truth,
        "estimand_truth": dict(analysis.estimand_truth),
        "placebo_joint_test": analysis.placebo,
    }
