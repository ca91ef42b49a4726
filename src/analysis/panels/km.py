"""Kaplan–Meier estimation in plain numpy (the reference for the SQL version in ``analysis.panels.service``).

Durations are in days. A request still open at the extraction date is *right-censored* at
``extracted_at - submitted_at``: we know it took at least that long. Ties follow the usual
convention: at a given duration, completions are counted before censorings, so a request censored
at ``t`` is still at risk at ``t``.

Quantiles: the ``p``-quantile of completion time is the smallest duration ``t`` at which the
survival curve ``S(t)`` (share still open) is at or below ``1 - p`` (up to ``QUANTILE_TOLERANCE``
for floating-point). If the curve never gets that low, the quantile is not identified and is NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Floating-point slack when comparing the survival curve to ``1 - p`` (both implementations use it).
QUANTILE_TOLERANCE = 1e-9


def kaplan_meier(durations, completed) -> pd.DataFrame:
    """Kaplan–Meier curve of the share of requests still open.

    Parameters
    ----------
    durations : array of float, days from submission to completion (or to extraction if open).
    completed : array of bool, True when the request was completed (an event), False if censored.

    Returns
    -------
    DataFrame with one row per distinct duration carrying at least one completion: ``days``,
    ``n_at_risk``, ``n_completed``, ``survival`` (share still open just after ``days``).
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(completed, dtype=bool)
    if t.shape != e.shape:
        raise ValueError("durations and completed must have the same length")
    if np.isnan(t).any():
        raise ValueError("durations contain NaN")
    times, inverse = np.unique(t, return_inverse=True)
    n_here = np.bincount(inverse, minlength=len(times))
    d_here = np.bincount(inverse, weights=e.astype(float), minlength=len(times)).astype(int)
    # at risk at a duration: everyone whose duration is that long or longer
    n_at_risk = n_here[::-1].cumsum()[::-1]
    keep = d_here > 0
    survival = np.cumprod(1.0 - d_here[keep] / n_at_risk[keep])
    return pd.DataFrame({"days": times[keep], "n_at_risk": n_at_risk[keep], "n_completed": d_here[keep],
                         "survival": survival})


def km_quantile(curve: pd.DataFrame, p: float) -> float:
    """The ``p``-quantile of completion days from a curve made by :func:`kaplan_meier` (NaN if the
    curve never falls to ``1 - p``)."""
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    hit = curve.loc[curve["survival"] <= (1.0 - p) + QUANTILE_TOLERANCE, "days"]
    return float(hit.iloc[0]) if len(hit) else float("nan")


def km_survival_at(curve: pd.DataFrame, days: float) -> float:
    """``S(days)``: share of requests still open after ``days`` days (step function, right-continuous)."""
    before = curve.loc[curve["days"] <= days, "survival"]
    return float(before.iloc[-1]) if len(before) else 1.0
