"""Projected savings per year if more Pemda adopted WFA.

Projection (:func:`project_annual_savings`), per routine category ``k``:

1. Effect per WFA day: ``beta_k = ATT_k / D_k``, log points per WFA day per week in force for a
   whole month. ``ATT_k`` is the category's CS simple ATT (every treated Pemda x post-adoption
   period of the estimated cohorts weighted alike) and ``D_k`` the mean over exactly those cells
   of the WFA days per week in force, ``wfa_days_per_week x in_force_share`` (a month half under
   a 2-day scheme counts 1 day). This is the ratio of two averages over the same cells, so it is
   the dose-weighted mean effect per day of the adopters: with an effect linear in days and
   unrelated to the dose chosen it is the effect of one day.
2. Savings of the target Pemda at ``k`` days: ``sum_r spending[r, k] x (1 - exp(days x beta_k))``
   with ``spending`` the real spending of a base year.

Uncertainty: ``beta_k`` draws are the multiplier-bootstrap draws of ``ATT_k`` (influence
functions, one weight per Pemda shared by every category) divided by ``D_k`` (the doses are
policy facts, taken as known); base spending is taken as known.

Assumptions (codes in ``Projection.assumptions``, worded by ``analysis.texts``):
``linear_in_days`` (the effect of ``k`` days is ``k`` times the effect of one, also beyond the
doses observed), ``adopters_effect_applies_to_all`` (the adopters' average effect per day holds
for every target Pemda, though adopters chose WFA), ``base_year_spending_is_no_wfa_spending``
(for a target Pemda already under WFA in the base year it is lower) and
``only_listed_categories_change``. On synthetic data,
:func:`analysis.simulate.truth.projection_truth` gives the truth of this estimand: it shares
linearity in days and the base spending, and uses each target Pemda's own effect instead of the
adopters' average.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.analyses.savings import DEFAULT_DRAWS, DEFAULT_SEED, multiplier_weights, overall_att_draws
from analysis.analyses.spending_effect import SpendingEffect

ASSUMPTIONS = ("linear_in_days", "adopters_effect_applies_to_all", "base_year_spending_is_no_wfa_spending",
               "only_listed_categories_change")


@dataclass(frozen=True)
class Projection:
    """Projected savings per year (real Rupiah of ``base_year`` prices) if the target Pemda
    adopted ``days_per_week`` WFA days.

    ``by_category``: ``category, base_spending_idr, mean_dose, beta_per_day, beta_ci_low,
    beta_ci_high, savings_idr, ci_low, ci_high``. ``base_spending``: ``region_code, category,
    base_spending_idr`` of the target Pemda. ``observed_doses``: the WFA days per week seen among
    the adopters used for the estimate; ``extrapolated``: True when ``days_per_week`` lies
    outside them. ``scope``: ``all`` or ``province``; ``province_code``: the province of a
    province-wide projection.
    """

    days_per_week: float
    base_year: int
    n_pemda: int
    scope: str
    savings_idr: float
    se: float
    ci_low: float
    ci_high: float
    by_category: pd.DataFrame
    base_spending: pd.DataFrame
    observed_doses: tuple[float, ...]
    extrapolated: bool
    province_code: str = ""
    assumptions: tuple[str, ...] = field(default=ASSUMPTIONS)


def effect_per_day(effect: SpendingEffect, weights: pd.DataFrame) -> tuple[float, float, np.ndarray]:
    """``(beta, mean dose, beta draws)`` of one category (module doc, step 1)."""
    mean_dose = float(effect.dose.mean())
    if not mean_dose > 0:
        raise ValueError(f"{effect.category}: no WFA day in force in the estimate's cells")
    return effect.att / mean_dose, mean_dose, overall_att_draws(effect, weights) / mean_dose


def project_annual_savings(
    effects: dict[str, SpendingEffect],
    panel: pd.DataFrame,
    *,
    days_per_week: float,
    base_year: int,
    region_codes: list[str] | None = None,
    province_code: str = "",
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> Projection:
    """Savings per year if the Pemda ``region_codes`` (None = every Pemda in ``panel``) all
    adopted ``days_per_week`` WFA days per week (module doc). ``panel``: the spending panel
    (``realized_real_idr`` summed over the periods of ``base_year`` is the base spending)."""
    if days_per_week <= 0:
        raise ValueError("days_per_week must be > 0")
    weights = multiplier_weights([u for e in effects.values() for u in e.unit_ids], n_draws, seed)
    target = panel[(panel["year"] == base_year) & panel["category"].isin(list(effects))]
    if region_codes is not None:
        target = target[target["region_code"].isin(set(region_codes))]
    if target.empty:
        raise ValueError(f"no spending in {base_year} for the target Pemda")
    base = (target.groupby(["region_code", "category"], as_index=False)["realized_real_idr"].sum()
            .rename(columns={"realized_real_idr": "base_spending_idr"}))
    low_q, high_q = 100 * alpha / 2, 100 * (1 - alpha / 2)
    rows, total_draws, doses = [], np.zeros(n_draws), set()
    for category, effect in effects.items():
        beta, mean_dose, beta_draws = effect_per_day(effect, weights)
        doses.update(float(d) for d in effect.treated_cells["wfa_days_per_week"].unique() if d > 0)
        spending = float(base.loc[base["category"] == category, "base_spending_idr"].sum())
        point = spending * -np.expm1(days_per_week * beta)
        category_draws = spending * -np.expm1(days_per_week * beta_draws)
        total_draws = total_draws + category_draws
        rows.append((category, spending, mean_dose, beta, *np.percentile(beta_draws, [low_q, high_q]), point,
                     *np.percentile(category_draws, [low_q, high_q])))
    by_category = pd.DataFrame(rows, columns=["category", "base_spending_idr", "mean_dose", "beta_per_day",
                                              "beta_ci_low", "beta_ci_high", "savings_idr", "ci_low", "ci_high"])
    low, high = np.percentile(total_draws, [low_q, high_q])
    observed = tuple(sorted(doses))
    return Projection(
        days_per_week=float(days_per_week),
        base_year=int(base_year),
        n_pemda=int(base["region_code"].nunique()),
        scope="province" if province_code else "all",
        savings_idr=float(by_category["savings_idr"].sum()),
        se=float(total_draws.std(ddof=1)),
        ci_low=float(low),
        ci_high=float(high),
        by_category=by_category,
        base_spending=base,
        observed_doses=observed,
        extrapolated=not (min(observed) <= days_per_week <= max(observed)) if observed else True,
        province_code=str(province_code),
    )
