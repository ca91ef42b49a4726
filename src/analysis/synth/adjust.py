"""Take a common shock with known, pre-determined exposure out of the outcome before a
single-adopter comparison (the 2026 TKD cut: every Pemda's spending fell in proportion to its
cut share, and adopters had larger cuts).

Model, for the comparison units (never-adopters) and every month ``t`` from the shock on::

    y_it = a_i + b_t + g_t * exposure_i + e_it

with one slope ``g_t`` per month (the shock may bite harder in some months, e.g. at the year
end). ``g_t`` is the least-squares slope, across the comparison units, of the change of the
outcome in month ``t`` from the unit's own mean over the months before the shock, on the
exposure. Every unit's outcome (adopter and donors) is then replaced by ``y_it - g_t *
exposure_i`` from the shock on, and synthetic control / synthetic DiD / the interrupted time
series run on that (the covariate adjustment of Kranz 2022, "Synthetic difference-in-
differences with time-varying covariates": residualise on the covariate using untreated
units, then fit the weights). Months before the shock are unchanged.

Uncertainty of the slopes: their heteroskedasticity-robust (HC0) covariance across comparison
units (``slope_cov``). An estimate that is a linear combination ``sum_t a_t (y_adopter,t -
sum_j w_j y_jt)`` of adjusted outcomes moves by ``-(exposure_adopter - sum_j w_j exposure_j) *
sum_t a_t g_t`` through the adjustment; :meth:`ExposureAdjustment.variance_of` gives the
variance of that term, to add to the estimate's placebo variance (placebo units share the
fitted slopes, so their spread does not show this error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis.synth.panel import SynthInputError


@dataclass(frozen=True)
class ExposureAdjustment:
    """- ``panel``: the long panel with the adjusted outcome (same columns as the input).
    - ``slopes``: DataFrame ``time, slope, se`` (one row per month from the shock on; outcome
      units per unit of exposure).
    - ``slope_cov``: HC0 covariance of the slopes (rows / columns in ``slopes`` order).
    - ``exposure``: Series unit -> exposure; ``n_comparison``: units the slopes were fitted on.
    """

    panel: pd.DataFrame
    slopes: pd.DataFrame
    slope_cov: np.ndarray
    exposure: pd.Series
    shock_start: Any
    n_comparison: int

    def variance_of(self, time_weights: pd.Series, exposure_gap: float) -> float:
        """Variance of ``-exposure_gap * sum_t a_t g_t`` (``time_weights``: ``a_t`` indexed by
        time; months before the shock or absent carry no slope)."""
        a = time_weights.reindex(self.slopes["time"]).fillna(0.0).to_numpy(dtype=float)
        return float(exposure_gap**2 * (a @ self.slope_cov @ a))


def adjust_for_exposure(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    exposure: pd.Series,
    shock_start: Any,
    comparison: Sequence,
) -> ExposureAdjustment:
    """Residualise ``outcome`` on ``exposure x [time >= shock_start]`` (module doc).

    ``data``: balanced long panel; ``exposure``: Series indexed by unit (every unit of ``data``
    needs a value); ``comparison``: the units the slopes are estimated on (never-adopters; at
    least 3, with exposures that differ).
    """
    wide = data.pivot(index=unit, columns=time, values=outcome)
    if wide.isna().any().any():
        raise SynthInputError(f"the panel is not balanced in {outcome!r}: a unit misses a period")
    missing = [u for u in wide.index if u not in exposure.index or pd.isna(exposure.get(u))]
    if missing:
        raise SynthInputError(f"no exposure value for unit(s) {', '.join(map(str, missing[:5]))}")
    comparison = [u for u in dict.fromkeys(comparison) if u in wide.index]
    if len(comparison) < 3:
        raise SynthInputError(f"the exposure slopes need at least 3 comparison units, got {len(comparison)}")
    pre = [t for t in wide.columns if t < shock_start]
    post = [t for t in wide.columns if t >= shock_start]
    if not pre:
        raise SynthInputError(f"no period before the shock start {shock_start!r}")
    x = exposure.reindex(comparison).to_numpy(dtype=float)
    centred = x - x.mean()
    spread = float(centred @ centred)
    if spread <= 0:
        raise SynthInputError("the comparison units all have the same exposure: no slope can be fitted")
    if not post:
        slopes = pd.DataFrame({"time": [], "slope": [], "se": []})
        return ExposureAdjustment(data.copy(), slopes, np.zeros((0, 0)), exposure, shock_start, len(comparison))
    change = wide.loc[comparison, post].to_numpy(dtype=float) - wide.loc[comparison, pre].mean(axis=1).to_numpy()[:, None]
    leverage = centred / spread                      # slope_t = leverage @ change[:, t]
    slope = leverage @ change
    residual = change - change.mean(axis=0) - np.outer(centred, slope)
    scores = leverage[:, None] * residual
    cov = scores.T @ scores
    adjusted = wide.copy()
    exposure_all = exposure.reindex(wide.index).to_numpy(dtype=float)
    adjusted[post] = wide[post].to_numpy() - np.outer(exposure_all, slope)
    long = adjusted.reset_index().melt(id_vars=unit, var_name=time, value_name=outcome)
    order = data[[unit, time]].merge(long, on=[unit, time], how="left")
    panel = data.copy()
    panel[outcome] = order[outcome].to_numpy()
    slopes = pd.DataFrame({"time": post, "slope": slope, "se": np.sqrt(np.diag(cov))})
    return ExposureAdjustment(panel, slopes, cov, exposure, shock_start, len(comparison))
