"""Goodman-Bacon (2021) decomposition of the static TWFE DiD coefficient.

For a balanced panel without covariates, the coefficient on ``D_it = 1{t >= cohort_i}`` in

    Y_it = alpha_i + lambda_t + beta_TWFE D_it + u_it

is a weighted average of every 2x2 DiD between two groups of units (Goodman-Bacon 2021,
Theorem 1):

- ``treated_vs_never``: a timing cohort k against the never-treated units U, all periods;
- ``earlier_vs_later``: an earlier cohort k (treated) against a later cohort l (control), in the
  periods before l adopts;
- ``later_vs_earlier``: a later cohort l (treated) against an earlier cohort k (control, already
  treated), in the periods from k's adoption on: the comparison that makes TWFE biased when
  effects change over time.

Weights (his eq. 10a–10c), with ``n`` the groups' shares of units, ``D_k`` the share of periods
in which cohort k is treated, ``n_kl = n_k / (n_k + n_l)`` and ``V`` the variance of the
two-way-demeaned treatment dummy:

    s_kU = (n_k + n_U)^2 n_kU (1 - n_kU) D_k (1 - D_k) / V
    s_kl^k = ((n_k + n_l)(1 - D_l))^2 n_kl (1 - n_kl) (D_k - D_l)/(1 - D_l) (1 - D_k)/(1 - D_l) / V
    s_kl^l = ((n_k + n_l) D_k)^2 n_kl (1 - n_kl) (D_l / D_k) (D_k - D_l)/D_k / V

They are non-negative and sum to 1; ``sum s * estimate = beta_TWFE`` exactly (checked on every
call, see ``identity_error``). 2x2 estimates are differences of unweighted means of the outcome
(in the outcome's unit). Units treated from the first period cannot be passed (rejected by the
panel checks), so there is no "always treated" group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.did._panel import prepare_panel

__all__ = ["BaconDecomposition", "bacon_decomposition"]

COMPARISON_TYPES = ("treated_vs_never", "earlier_vs_later", "later_vs_earlier")


@dataclass(frozen=True, kw_only=True)
class BaconDecomposition:
    """Result of :func:`bacon_decomposition`.

    ``comparisons``: one row per 2x2 DiD with columns ``treated_cohort``, ``comparison_cohort``
    (None for the never-treated group), ``type``, ``weight``, ``estimate``; cohorts in the
    input's time labels. ``summary``: by ``type``: ``weight`` (sum) and ``estimate`` (weighted
    average of the 2x2 estimates), ``n_comparisons``. ``twfe_estimate``: the TWFE coefficient
    from a direct two-way-demeaned regression; ``identity_error`` = ``sum(weight * estimate) -
    twfe_estimate`` (rounding only).
    """

    comparisons: pd.DataFrame
    summary: pd.DataFrame
    twfe_estimate: float
    weight_sum: float
    identity_error: float


def _mean_between(ybar: np.ndarray, periods: np.ndarray, lo, hi) -> float:
    sel = (periods >= lo) & (periods < hi)
    return float(ybar[sel].mean())


def bacon_decomposition(
    data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str
) -> BaconDecomposition:
    """Goodman-Bacon decomposition of the static TWFE coefficient (module docstring).

    ``data``: balanced long panel (one row per unit and period), no missing outcomes; ``cohort``
    = first treated period (0 or missing = never treated).
    """
    panel = prepare_panel(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                          require_balanced=True, estimator="Goodman-Bacon")
    df = panel.data
    periods = np.sort(df["time"].unique())
    wide = df.pivot(index="unit", columns="time", values="outcome").loc[:, periods]
    unit_cohort = df.groupby("unit")["cohort"].first().loc[wide.index].to_numpy()
    y = wide.to_numpy()

    # TWFE coefficient by two-way demeaning (balanced panel)
    d = (unit_cohort[:, None] > 0) & (periods[None, :] >= unit_cohort[:, None])
    d = d.astype(float)
    d_tilde = d - d.mean(1, keepdims=True) - d.mean(0, keepdims=True) + d.mean()
    var_d = float((d_tilde**2).mean())
    if var_d <= 0:
        raise ValueError("the treatment dummy has no variation after removing unit and period "
                         "effects (no treated cohort, or no comparison group)")
    twfe = float((d_tilde * y).sum() / (d_tilde**2).sum())

    groups = np.unique(unit_cohort)
    share = {int(gr): float(np.mean(unit_cohort == gr)) for gr in groups}
    ybar = {int(gr): y[unit_cohort == gr].mean(axis=0) for gr in groups}
    dshare = {int(gr): float(np.mean(periods >= gr)) if gr > 0 else 0.0 for gr in groups}
    timing = sorted(int(gr) for gr in groups if gr > 0)
    t_end = periods.max() + 1

    rows = []
    label = panel.time_mapping.label
    if 0 in share:
        n_u = share[0]
        for k in timing:
            n_k, dk = share[k], dshare[k]
            nku = n_k / (n_k + n_u)
            s = (n_k + n_u) ** 2 * nku * (1 - nku) * dk * (1 - dk) / var_d
            est = (_mean_between(ybar[k], periods, k, t_end)
                   - _mean_between(ybar[k], periods, periods.min(), k)) - (
                _mean_between(ybar[0], periods, k, t_end)
                - _mean_between(ybar[0], periods, periods.min(), k))
            rows.append((label(k), None, "treated_vs_never", s, est))
    for i, k in enumerate(timing):
        for l in timing[i + 1:]:
            n_k, n_l, dk, dl = share[k], share[l], dshare[k], dshare[l]
            nkl = n_k / (n_k + n_l)
            s_early = ((n_k + n_l) * (1 - dl)) ** 2 * nkl * (1 - nkl) * (
                (dk - dl) / (1 - dl)) * ((1 - dk) / (1 - dl)) / var_d
            s_late = ((n_k + n_l) * dk) ** 2 * nkl * (1 - nkl) * (dl / dk) * (
                (dk - dl) / dk) / var_d
            t0 = periods.min()
            est_early = (_mean_between(ybar[k], periods, k, l) - _mean_between(ybar[k], periods, t0, k)) - (
                _mean_between(ybar[l], periods, k, l) - _mean_between(ybar[l], periods, t0, k))
            est_late = (_mean_between(ybar[l], periods, l, t_end) - _mean_between(ybar[l], periods, k, l)) - (
                _mean_between(ybar[k], periods, l, t_end) - _mean_between(ybar[k], periods, k, l))
            rows.append((label(k), label(l), "earlier_vs_later", s_early, est_early))
            rows.append((label(l), label(k), "later_vs_earlier", s_late, est_late))

    comparisons = pd.DataFrame(
        rows, columns=["treated_cohort", "comparison_cohort", "type", "weight", "estimate"])
    comparisons["comparison_cohort"] = pd.Series([r[1] for r in rows], dtype=object)
    comparisons["weighted"] = comparisons["weight"] * comparisons["estimate"]
    summary = comparisons.groupby("type", sort=False).agg(
        weight=("weight", "sum"), weighted=("weighted", "sum"), n_comparisons=("weight", "size"))
    summary["estimate"] = summary["weighted"] / summary["weight"]
    summary = summary.reindex([t for t in COMPARISON_TYPES if t in summary.index])
    summary = summary[["weight", "estimate", "n_comparisons"]].reset_index()
    total = float(comparisons["weighted"].sum())
    comparisons = comparisons.drop(columns="weighted")
    return BaconDecomposition(
        comparisons=comparisons,
        summary=summary,
        twfe_estimate=twfe,
        weight_sum=float(comparisons["weight"].sum()),
        identity_error=total - twfe,
    )
