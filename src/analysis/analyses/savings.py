"""Savings in Rupiah from the category effects, with confidence intervals.

Savings (:func:`savings_in_rupiah`): for each adopter and post-adoption period,
``counterfactual = actual * exp(-ATT_e)`` with ``ATT_e`` the event-time-specific ATT (periods since
adoption ``e``, aggregated over cohorts); ``savings = counterfactual - actual`` (Rupiah; positive =
money saved). Uncertainty: multiplier bootstrap on the influence functions of the ATT_e
(``ATT*_e = ATT_e + mean_i(xi_i * psi_ie)``, xi standard normal, one xi per Pemda shared by every
category, so sums over categories and Pemda keep their correlation); CIs are percentiles of the
draws. The realised spending is treated as known (it is an accounting record).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.analyses.spending_effect import SpendingEffect
from analysis.panels.budget import month_to_period

DEFAULT_SEED = 20260101
DEFAULT_DRAWS = 999


def multiplier_weights(unit_ids: list[str], n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Standard normal multiplier weights, one row per Pemda (index ``region_code``), one column
    per draw. Sharing them across categories keeps draws of different categories correlated."""
    rng = np.random.default_rng(seed)
    codes = sorted(set(unit_ids))
    return pd.DataFrame(rng.standard_normal((len(codes), n_draws)), index=codes)


def event_att_draws(effect: SpendingEffect, weights: pd.DataFrame) -> np.ndarray:
    """Bootstrap draws of the post-adoption ATT_e: ``len(post_events) x n_draws``."""
    xi = weights.loc[list(effect.unit_ids)].to_numpy()
    n = len(effect.unit_ids)
    point = effect.event_study.set_index("event").loc[effect.post_events, "att"].to_numpy()
    return point[:, None] + effect.post_influence.T @ xi / n


def overall_att_draws(effect: SpendingEffect, weights: pd.DataFrame) -> np.ndarray:
    """Bootstrap draws of the simple ATT: ``n_draws``."""
    xi = weights.loc[list(effect.unit_ids)].to_numpy()
    return effect.att + effect.overall_influence @ xi / len(effect.unit_ids)


@dataclass(frozen=True)
class Savings:
    """Savings in Rupiah (real, ``price_base_year`` prices) over the observed post-adoption periods.

    ``cells``: one row per adopter x post-adoption period x category: ``region_code, period,
    category, event, actual_idr, counterfactual_idr, savings_idr`` (savings = counterfactual -
    actual; positive = saved), ``real_per_nominal`` (deflator factor of the cell). ``draws``: bootstrap draws of the savings summed per
    ``region_code`` x ``category`` (rows in ``draw_index`` order). ``months_per_period``: 1 or 3.
    """

    cells: pd.DataFrame
    draw_index: pd.DataFrame
    draws: np.ndarray
    months_per_period: int
    alpha: float = 0.05
    method: str = "multiplier bootstrap on the CS influence functions of the event-time ATTs"

    def summarise(self, by: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
        """Savings summed by ``by`` (subset of ``region_code``, ``category``; empty = total):
        ``savings_idr`` (point), ``se``, ``ci_low``, ``ci_high`` (Rupiah), ``actual_idr``,
        ``counterfactual_idr``, ``n_periods`` (adopter x period cells)."""
        by = list(by)
        key = self.draw_index[by] if by else pd.DataFrame({"_all": np.zeros(len(self.draw_index))})
        groups = key.groupby(list(key.columns), sort=True).indices
        low, high = 100 * self.alpha / 2, 100 * (1 - self.alpha / 2)
        cell_key = self.cells[by] if by else pd.DataFrame({"_all": np.zeros(len(self.cells))})
        point = self.cells.groupby([cell_key[c] for c in cell_key.columns], sort=True).agg(
            savings_idr=("savings_idr", "sum"),
            actual_idr=("actual_idr", "sum"),
            counterfactual_idr=("counterfactual_idr", "sum"),
        )
        counts = (
            self.cells.drop_duplicates(["region_code", "period", *[c for c in by if c not in ("region_code",)]])
            .groupby([cell_key[c] for c in cell_key.columns], sort=True).size()
        ) if by else pd.Series([self.cells[["region_code", "period"]].drop_duplicates().shape[0]], index=point.index)
        rows = []
        for group_key, positions in groups.items():
            total = self.draws[positions].sum(axis=0)
            rows.append((group_key, total.std(ddof=1), *np.percentile(total, [low, high])))
        spread = pd.DataFrame(rows, columns=["key", "se", "ci_low", "ci_high"]).set_index("key")
        spread.index = point.index
        out = point.join(spread)
        out["n_periods"] = counts.reindex(out.index).to_numpy()
        out = out.reset_index()
        if not by:
            out = out.drop(columns=[c for c in out.columns if c == "_all"])
        return out[[*by, "savings_idr", "se", "ci_low", "ci_high", "actual_idr", "counterfactual_idr", "n_periods"]]

    def total(self) -> dict:
        """The total savings: ``savings_idr, se, ci_low, ci_high, actual_idr, adopter_months``."""
        row = self.summarise(()).iloc[0].to_dict()
        row["adopter_months"] = int(self.cells[["region_code", "period"]].drop_duplicates().shape[0]) * self.months_per_period
        return row

    def per_adopter_year(self) -> dict:
        """Total savings per adopter per year (Rupiah): total / (adopter-months / 12)."""
        total = self.total()
        years = total["adopter_months"] / 12.0
        return {k: total[k] / years for k in ("savings_idr", "se", "ci_low", "ci_high")}


def savings_in_rupiah(
    effects: dict[str, SpendingEffect],
    *,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> Savings:
    """Savings for each adopter, post-adoption period and category of ``effects`` (mapping
    category -> :class:`SpendingEffect`, typically the six routine categories).

    ``counterfactual = actual * exp(-ATT_e)`` with ``e`` the periods since adoption and
    ``ATT_e`` the category's event-time ATT; cells whose ``e`` has no estimate are dropped.
    Totals over categories are sums of the category savings ("sum of parts").
    """
    if not effects:
        raise ValueError("savings_in_rupiah needs at least one SpendingEffect")
    frequencies = {effect.frequency for effect in effects.values()}
    if len(frequencies) != 1:
        raise ValueError("all effects must use the same frequency")
    weights = multiplier_weights([u for e in effects.values() for u in e.unit_ids], n_draws, seed)
    cells, index, draws = [], [], []
    for category, effect in effects.items():
        att_e = pd.Series(
            effect.event_study.set_index("event").loc[effect.post_events, "att"].to_numpy(),
            index=effect.post_events,
        )
        part = effect.treated_cells[effect.treated_cells["event"].isin(att_e.index)].copy()
        part["category"] = category
        part["actual_idr"] = part["realized_real_idr"]
        part["real_per_nominal"] = part["realized_real_idr"] / part["realized_idr"]
        part["counterfactual_idr"] = part["actual_idr"] * np.exp(-part["event"].map(att_e))
        part["savings_idr"] = part["counterfactual_idr"] - part["actual_idr"]
        cells.append(part[["region_code", "period", "category", "event", "actual_idr", "counterfactual_idr",
                           "savings_idr", "real_per_nominal"]])
        factor = np.expm1(-event_att_draws(effect, weights))  # events x draws
        event_pos = {int(e): i for i, e in enumerate(effect.post_events)}
        spend = (
            part.assign(pos=part["event"].map(event_pos))
            .pivot_table(index="region_code", columns="pos", values="actual_idr", aggfunc="sum", fill_value=0.0)
        )
        matrix = np.zeros((len(spend), len(effect.post_events)))
        matrix[:, spend.columns.to_numpy(dtype=int)] = spend.to_numpy()
        draws.append(matrix @ factor)
        index.append(pd.DataFrame({"region_code": spend.index.to_numpy(), "category": category}))
    months = 3 if frequencies == {"quarter"} else 1
    return Savings(
        cells=pd.concat(cells, ignore_index=True),
        draw_index=pd.concat(index, ignore_index=True),
        draws=np.vstack(draws),
        months_per_period=months,
        alpha=alpha,
    )



def truth_savings_over_cells(truth_cells: pd.DataFrame, savings: Savings) -> float:
    """True savings (Rupiah, the same real prices as ``savings``) over exactly the adopter x
    period x category cells of ``savings``: the sum over those cells of ``counterfactual -
    realized`` from ``truth_budget_cells.parquet`` (nominal, converted with each cell's
    deflator factor). Months of a cell without WFA in force contribute nothing."""
    frequency = "quarter" if savings.months_per_period == 3 else "month"
    data = truth_cells.assign(
        region_code=truth_cells["region_code"].astype(str),
        period=month_to_period(truth_cells["period"], frequency),
        saved=truth_cells["counterfactual_idr"].astype(float) - truth_cells["realized_idr"].astype(float),
    )
    saved = data.groupby(["region_code", "period", "category"])["saved"].sum()
    keys = pd.MultiIndex.from_frame(savings.cells[["region_code", "period", "category"]])
    return float((saved.reindex(keys).fillna(0.0).to_numpy() * savings.cells["real_per_nominal"].to_numpy()).sum())


