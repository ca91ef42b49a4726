"""Savings in Rupiah from the category effects, with confidence intervals.

Savings (:func:`savings_in_rupiah`): for each adopter, post-adoption period and category,
``counterfactual = actual * exp(-effect)`` and ``savings = counterfactual - actual`` (Rupiah;
positive = money saved). ``effect`` is the category's event-time ATT ``ATT_e`` (``e`` periods
since adoption, averaged over cohorts) shared out over the cells at ``e`` in proportion to the
WFA days per week each cell had in force, ``dose = wfa_days_per_week x in_force_share``:
``effect = ATT_e x dose / mean dose at e``. The cells at ``e`` keep the same total effect (their
mean is ``ATT_e``); a month only partly under WFA, or under a 1-day scheme, saves less than one
wholly under a 2-day scheme. This matters for the Rupiah because spending is very unequal: a
province under a 1-day scheme would otherwise be credited the average adopter's effect. It
assumes, as the projection does, that the effect is proportional to the days in force.

Per adopter-year (:meth:`Savings.per_adopter_year`): each category's savings over the months WFA
was in force, per adopter-month in force, times 12, summed over categories. A month partly in
force counts as its share of working days in force (15/22 of a month for a spell starting on 12
January 2026), both in the denominator and, through the sharing above, in the savings.

Uncertainty: multiplier bootstrap on the influence functions of the ATT_e
(``ATT*_e = ATT_e + mean_i(xi_i * psi_ie)``, xi standard normal, one xi per Pemda shared by every
category, so sums over categories and Pemda keep their correlation); CIs are percentiles of the
draws. The realised spending and the shares in force are treated as known (accounting records
and policy dates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.analyses.spending_effect import SpendingEffect
from analysis.did.results import InfluenceFunction

DEFAULT_SEED = 20260101
DEFAULT_DRAWS = 999
MONTHS_PER_PERIOD = {"month": 1, "quarter": 3}


def multiplier_weights(unit_ids: list[str], n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Standard normal multiplier weights, one row per Pemda (index ``region_code``), one column
    per draw. Sharing them across categories keeps draws of different categories correlated."""
    rng = np.random.default_rng(seed)
    codes = sorted(set(unit_ids))
    return pd.DataFrame(rng.standard_normal((len(codes), n_draws)), index=codes)


def influence_draws(influence: InfluenceFunction, unit_ids: tuple[str, ...], weights: pd.DataFrame) -> np.ndarray:
    """Bootstrap draws of the estimates of ``influence`` (``k x n_draws``):
    ``estimate + psi' xi / n`` with the rows of ``influence`` belonging to ``unit_ids``."""
    xi = weights.loc[list(unit_ids)].to_numpy()
    return influence.estimates[:, None] + influence.values.T @ xi / len(unit_ids)


def overall_att_draws(effect: SpendingEffect, weights: pd.DataFrame) -> np.ndarray:
    """Bootstrap draws of the simple ATT: ``n_draws``."""
    return influence_draws(effect.influence_simple, effect.unit_ids, weights)[0]


@dataclass(frozen=True)
class Savings:
    """Savings in Rupiah (real, ``price_base_year`` prices) over the observed post-adoption periods.

    ``cells``: one row per adopter x post-adoption period x category: ``region_code, period,
    category, event, actual_idr, counterfactual_idr, savings_idr`` (savings = counterfactual -
    actual; positive = saved), ``log_effect`` (the effect applied), ``dose`` (WFA days per week
    in force), ``in_force_share``,
    ``months_in_force`` (``in_force_share`` x months per period), ``real_per_nominal`` (deflator
    factor of the cell). ``draws``: bootstrap draws of the savings summed per ``region_code`` x
    ``category`` (rows in ``draw_index`` order). ``months_per_period``: 1 or 3.
    """

    cells: pd.DataFrame
    draw_index: pd.DataFrame
    draws: np.ndarray
    months_per_period: int
    alpha: float = 0.05
    method: str = "multiplier_bootstrap"

    def _interval(self, draws: np.ndarray) -> tuple[float, float, float]:
        low, high = np.percentile(draws, [100 * self.alpha / 2, 100 * (1 - self.alpha / 2)])
        return float(draws.std(ddof=1)), float(low), float(high)

    def summarise(self, by: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
        """Savings summed by ``by`` (subset of ``region_code``, ``category``; empty = total):
        ``savings_idr`` (point), ``se``, ``ci_low``, ``ci_high`` (Rupiah), ``actual_idr``,
        ``counterfactual_idr``, ``n_periods`` (adopter x period cells), ``months_in_force``
        (adopter-months with WFA in force; for several categories, of the first one)."""
        by = list(by)
        cells = self.cells.assign(_all=0)
        index = self.draw_index.assign(_all=0)
        keys = by or ["_all"]
        point = cells.groupby(keys, sort=True).agg(
            savings_idr=("savings_idr", "sum"), actual_idr=("actual_idr", "sum"),
            counterfactual_idr=("counterfactual_idr", "sum"))
        per_category = [*keys, "category"] if "category" not in keys else keys
        exposure = cells.groupby(per_category, sort=True).agg(
            n_periods=("period", "size"), months_in_force=("months_in_force", "sum"))
        exposure = exposure.groupby(level=list(range(len(keys))), sort=True).first()
        spread = {key: self._interval(self.draws[rows].sum(axis=0))
                  for key, rows in index.groupby(keys, sort=True).indices.items()}
        out = point.join(exposure)
        out[["se", "ci_low", "ci_high"]] = [spread[k] for k in out.index]
        out = out.reset_index()
        return out[[*by, "savings_idr", "se", "ci_low", "ci_high", "actual_idr", "counterfactual_idr",
                    "n_periods", "months_in_force"]]

    def total(self) -> dict:
        """The total savings: ``savings_idr, se, ci_low, ci_high, actual_idr, adopter_months``
        (adopter-months with WFA in force, counted on the first category)."""
        row = self.summarise(()).iloc[0].to_dict()
        row["adopter_months"] = float(row.pop("months_in_force"))
        return row

    def months_in_force_by_category(self) -> pd.Series:
        """Adopter-months with WFA in force over the cells of each category."""
        return self.cells.groupby("category", sort=True)["months_in_force"].sum()

    def per_adopter_year(self) -> dict:
        """Savings per adopter per year of WFA in force (Rupiah): for each category, its savings
        over its cells x 12 / its adopter-months in force; summed over categories. Returns
        ``savings_idr, se, ci_low, ci_high, adopter_months`` (of the first category)."""
        months = self.months_in_force_by_category()
        months = months[months > 0]
        factor = 12.0 / months
        point = float((self.cells.groupby("category")["savings_idr"].sum().reindex(months.index) * factor).sum())
        draws = np.zeros(self.draws.shape[1])
        for category, rows in self.draw_index.groupby("category").indices.items():
            if category in factor.index:
                draws += self.draws[rows].sum(axis=0) * factor[category]
        se, low, high = self._interval(draws)
        return {"savings_idr": point, "se": se, "ci_low": low, "ci_high": high,
                "adopter_months": float(months.iloc[0]) if len(months) else 0.0}


def savings_in_rupiah(
    effects: dict[str, SpendingEffect],
    *,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> Savings:
    """Savings for each adopter, post-adoption period and category of ``effects`` (mapping
    category -> :class:`SpendingEffect`, typically the routine categories); see the module doc.

    Cells whose ``e`` has no event-time estimate are dropped. Totals over categories are sums of
    the category savings ("sum of parts").
    """
    if not effects:
        raise ValueError("savings_in_rupiah needs at least one SpendingEffect")
    frequencies = {effect.frequency for effect in effects.values()}
    if len(frequencies) != 1:
        raise ValueError("all effects must use the same frequency")
    months_per_period = MONTHS_PER_PERIOD[frequencies.pop()]
    weights = multiplier_weights([u for e in effects.values() for u in e.unit_ids], n_draws, seed)
    cells, index, draws = [], [], []
    for category, effect in effects.items():
        event = effect.influence_event
        position = {int(e): i for i, e in enumerate(event.columns) if int(e) >= 0 and np.isfinite(event.estimates[i])}
        part = effect.treated_cells[effect.treated_cells["event"].isin(position)].copy()
        part["category"] = category
        dose = part["wfa_days_per_week"] * part["in_force_share"]
        mean_dose = dose.groupby(part["event"]).transform("mean")
        relative = np.where(mean_dose > 0, dose / mean_dose.where(mean_dose > 0, 1.0), 0.0)
        rows = part["event"].map(position).to_numpy()
        part["log_effect"] = event.estimates[rows] * relative
        part["actual_idr"] = part["realized_real_idr"]
        part["real_per_nominal"] = part["realized_real_idr"] / part["realized_idr"]
        part["counterfactual_idr"] = part["actual_idr"] * np.exp(-part["log_effect"])
        part["savings_idr"] = part["counterfactual_idr"] - part["actual_idr"]
        part["months_in_force"] = part["in_force_share"] * months_per_period
        part["dose"] = dose
        cells.append(part[["region_code", "period", "category", "event", "actual_idr", "counterfactual_idr",
                           "savings_idr", "log_effect", "dose", "in_force_share", "months_in_force",
                           "real_per_nominal"]])
        att_draws = influence_draws(event, effect.unit_ids, weights)        # events x draws
        cell_savings = part["actual_idr"].to_numpy()[:, None] * np.expm1(-att_draws[rows] * relative[:, None])
        codes, inverse = np.unique(part["region_code"].to_numpy(), return_inverse=True)
        by_pemda = np.zeros((len(codes), n_draws))
        np.add.at(by_pemda, inverse, cell_savings)
        draws.append(by_pemda)
        index.append(pd.DataFrame({"region_code": codes, "category": category}))
    return Savings(
        cells=pd.concat(cells, ignore_index=True),
        draw_index=pd.concat(index, ignore_index=True),
        draws=np.vstack(draws),
        months_per_period=months_per_period,
        alpha=alpha,
    )
