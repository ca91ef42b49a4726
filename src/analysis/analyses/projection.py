"""Projected savings per year if more Pemda adopted WFA.

Projection (:func:`project_annual_savings`): per-category effect per WFA day per week
(``ATT / mean dose of the treated cells``, log points), scaled linearly to ``k`` days, applied to
the real spending of a base year of the target Pemda: ``savings = spending * (1 - exp(k * beta))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.analyses.savings import DEFAULT_DRAWS, DEFAULT_SEED, multiplier_weights, overall_att_draws
from analysis.analyses.spending_effect import SpendingEffect


@dataclass(frozen=True)
class Projection:
    """Projected savings per year (real Rupiah of ``base_year`` prices) if the target Pemda
    adopted ``days_per_week`` WFA days.

    ``by_category``: ``category, base_spending_idr, beta_per_day, savings_idr, ci_low, ci_high``.
    ``observed_doses``: the WFA days per week seen among the adopters used for the estimate;
    ``extrapolated``: True when ``days_per_week`` lies outside them.
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
    observed_doses: tuple[float, ...]
    extrapolated: bool
    assumptions: tuple[str, ...] = field(default=())


def project_annual_savings(
    effects: dict[str, SpendingEffect],
    panel: pd.DataFrame,
    *,
    days_per_week: float,
    base_year: int,
    region_codes: list[str] | None = None,
    scope: str = "all Pemda in the data",
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> Projection:
    """Savings per year if the Pemda ``region_codes`` (None = every Pemda in ``panel``) all
    adopted ``days_per_week`` WFA days per week.

    Assumptions: (1) the effect is linear in WFA days in log points: ``beta = ATT / mean dose``
    of the treated cells the ATT averages over; (2) the effect measured on the adopters applies
    to every target Pemda (adopters chose WFA; their effect may differ); (3) the no-WFA spending
    is the real spending of ``base_year`` (monthly sums, Rupiah of the panel's prices); (4) only
    the categories in ``effects`` are affected. Uncertainty: the multiplier bootstrap draws of the
    category ATTs (joint across categories); base spending is taken as known.
    """
    if days_per_week <= 0:
        raise ValueError("days_per_week must be > 0")
    weights = multiplier_weights([u for e in effects.values() for u in e.unit_ids], n_draws, seed)
    target = panel[panel["year"] == base_year]
    if region_codes is not None:
        target = target[target["region_code"].isin(set(region_codes))]
    if target.empty:
        raise ValueError(f"no spending in {base_year} for the target Pemda")
    rows, total_draws, doses = [], np.zeros(n_draws), set()
    for category, effect in effects.items():
        dose = float(effect.treated_cells["wfa_days_per_week"].mean())
        doses.update(float(d) for d in effect.treated_cells["wfa_days_per_week"].unique())
        base = float(target.loc[target["category"] == category, "realized_real_idr"].sum())
        beta = effect.att / dose
        point = base * -np.expm1(days_per_week * beta)
        beta_draws = overall_att_draws(effect, weights) / dose
        category_draws = base * -np.expm1(days_per_week * beta_draws)
        total_draws = total_draws + category_draws
        low, high = np.percentile(category_draws, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        rows.append((category, base, beta, point, low, high))
    by_category = pd.DataFrame(
        rows, columns=["category", "base_spending_idr", "beta_per_day", "savings_idr", "ci_low", "ci_high"]
    )
    low, high = np.percentile(total_draws, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    observed = tuple(sorted(doses))
    return Projection(
        days_per_week=float(days_per_week),
        base_year=int(base_year),
        n_pemda=int(target["region_code"].nunique()),
        scope=scope,
        savings_idr=float(by_category["savings_idr"].sum()),
        se=float(total_draws.std(ddof=1)),
        ci_low=float(low),
        ci_high=float(high),
        by_category=by_category,
        observed_doses=observed,
        extrapolated=not (min(observed) <= days_per_week <= max(observed)),
        assumptions=(
            "linear dose scaling in log points: effect of k days = k x ATT / mean observed days",
            "the adopters' effect applies to every target Pemda",
            f"no-WFA spending = real spending in {base_year}",
            "only the listed categories change",
        ),
    )


