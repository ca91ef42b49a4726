"""Comparative interrupted time series (ITS) for one adopter: the third view of a case study.

The series modelled is the adopter's *gap* to the plain mean of its donors, ``z_t = y_t -
mean_j y_jt``: differencing takes out what hits every Pemda in a month (national shocks, the
Inpres 1/2025 cuts, Lebaran, the common seasonal pattern). On the months before adoption the gap
is fitted with an intercept, a linear trend and month-of-year effects (the adopter's own
seasonality relative to the donors)::

    z_t = a + b * t + s_month(t) + e_t

and the fit is extrapolated over the post period. The estimate is the mean over post months of
``z_t - z_hat_t`` (outcome units). Unlike synthetic control, the counterfactual may follow a
trend of its own; unlike synthetic DiD, no donor is preferred.

Inference (placebo in space): the same ITS is run for every donor against the mean of the
other donors (its effect is zero by construction). ``se`` is the standard deviation of these
placebo estimates and the interval ``estimate ± 1.96 se``; ``pvalue`` is the share of units
(donors and adopter) whose |estimate| is at least the adopter's. Valid when the adopter's
deviations from its donor mean behave like a donor's; an adopter far outside its donors (a much
larger Pemda) has a different noise level and the interval should be read with that in mind.

Requires at least ``min_pre_periods`` (default 24: two cycles of month-of-year effects and a
trend) months before adoption; the time labels must be months (``YYYY-MM`` text, Period or
Timestamp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis.synth.panel import SynthInputError, SynthPanel, wide_panel

NORMAL_95 = 1.96
MIN_PRE_PERIODS = 24


@dataclass(frozen=True)
class InterruptedTimeSeriesResult:
    """- ``estimate``: mean post-period deviation of the gap from its extrapolated pre-period
      fit (outcome units); ``se`` / ``ci_low`` / ``ci_high`` / ``pvalue``: placebo inference.
    - ``path``: DataFrame ``time, gap, fitted, post`` (``fitted``: the pre-period model,
      extrapolated after adoption).
    - ``trend``: fitted change of the gap per month; ``n_pre``: months fitted.
    - ``time_weights``: Series time -> ``a_t`` with ``estimate = sum_t a_t gap_t``.
    - ``placebo_estimates``: Series donor -> its placebo estimate.
    """

    treated_unit: Any
    treatment_start: Any
    outcome: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float
    path: pd.DataFrame
    trend: float
    n_pre: int
    time_weights: pd.Series
    placebo_estimates: pd.Series
    panel: SynthPanel


def month_of_year(label: Any) -> int:
    """1-12 for a month label (``YYYY-MM`` text, Period, Timestamp)."""
    if isinstance(label, (pd.Period, pd.Timestamp)):
        return int(label.month)
    text = str(label)
    if len(text) >= 7 and text[4] == "-" and text[5:7].isdigit():
        return int(text[5:7])
    raise SynthInputError(f"time label {label!r} is not a month (YYYY-MM, Period or Timestamp)")


def _design(times: Sequence) -> np.ndarray:
    """Intercept, trend (months since the first period) and month-of-year dummies (January the
    base) for ``times``."""
    months = np.array([month_of_year(t) for t in times])
    trend = np.arange(len(times), dtype=float)
    dummies = np.column_stack([(months == m).astype(float) for m in range(2, 13)])
    return np.column_stack([np.ones(len(times)), trend, dummies])


def its_time_weights(times: Sequence, T0: int) -> np.ndarray:
    """``a`` with ``estimate = a @ z`` for a gap series ``z`` over ``times`` (first ``T0``
    before adoption): ``1/T1`` on post months minus the post-mean of the extrapolated fit."""
    x = _design(times)
    x_pre, x_post = x[:T0], x[T0:]
    keep = np.linalg.norm(x_pre, axis=0) > 0
    if not keep[:2].all():
        raise SynthInputError("too few months before adoption for a trend")
    missing_months = ~keep & (np.abs(x_post).sum(axis=0) > 0)
    if missing_months.any():
        raise SynthInputError("a month of the year after adoption never occurs before it: its "
                              "seasonal effect cannot be estimated")
    x_pre, x_post = x_pre[:, keep], x_post[:, keep]
    hat = x_post.mean(axis=0) @ np.linalg.pinv(x_pre)
    return np.concatenate([-hat, np.full(len(times) - T0, 1.0 / (len(times) - T0))])


def interrupted_time_series(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Any,
    treatment_start: Any,
    donors: Sequence | None = None,
    min_pre_periods: int = MIN_PRE_PERIODS,
) -> InterruptedTimeSeriesResult:
    """Comparative ITS of ``treated_unit`` from ``treatment_start`` (module doc). ``data``:
    balanced long panel of monthly values; ``donors=None`` = every other unit (at least 3)."""
    panel = wide_panel(data, outcome=outcome, unit=unit, time=time, treated_unit=treated_unit,
                       treatment_start=treatment_start, donors=donors, min_pre_periods=min_pre_periods)
    if panel.N0 < 3:
        raise SynthInputError("the interrupted time series needs at least 3 donors")
    weights = its_time_weights(panel.times, panel.T0)
    donors_y = panel.Y[:-1]
    gap = panel.Y[-1] - donors_y.mean(axis=0)
    total = donors_y.sum(axis=0)
    placebo_gaps = donors_y - (total - donors_y) / (panel.N0 - 1)
    placebo = placebo_gaps @ weights
    estimate = float(weights @ gap)
    se = float(np.std(placebo, ddof=1))
    x = _design(panel.times)
    x_pre = x[: panel.T0]
    keep = np.linalg.norm(x_pre, axis=0) > 0
    beta = np.linalg.lstsq(x_pre[:, keep], gap[: panel.T0], rcond=None)[0]
    fitted = x[:, keep] @ beta
    path = pd.DataFrame({"time": list(panel.times), "gap": gap, "fitted": fitted,
                         "post": [i >= panel.T0 for i in range(len(panel.times))]})
    pvalue = float((1 + np.sum(np.abs(placebo) >= abs(estimate))) / (panel.N0 + 1))
    return InterruptedTimeSeriesResult(
        treated_unit=treated_unit, treatment_start=panel.treatment_start, outcome=outcome,
        estimate=estimate, se=se, ci_low=estimate - NORMAL_95 * se, ci_high=estimate + NORMAL_95 * se,
        pvalue=pvalue, path=path, trend=float(beta[1]), n_pre=panel.T0,
        time_weights=pd.Series(weights, index=list(panel.times)),
        placebo_estimates=pd.Series(placebo, index=list(panel.donors)), panel=panel,
    )
