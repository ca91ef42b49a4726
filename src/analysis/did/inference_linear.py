"""Randomization-inference intervals for estimators linear in the outcome, from three estimator
calls per assignment instead of one per bisection step.

Inverting the test (:func:`analysis.did.inference.randomization_inference`) asks, at each
candidate effect τ₀, for the estimate and standard error of every assignment on the outcome minus
τ₀ on the treated cells: about 2 × (8 + log2(1/tolerance)) rounds of ``draws + 1`` estimator calls.
For the estimators used here (differences of means, the imputation estimator, OLS-based DiD:
fixed design, outcome entering linearly) the estimate on ``y − τ c`` is ``a − τ b`` and the
cluster-robust variance, a quadratic form in the outcome, is ``A − 2 B τ + C τ²``. Three calls
per assignment (τ = 0, ±step) give ``a, b, A, B, C`` exactly, after which the p-value at any τ₀ is
arithmetic. The same bisection (:func:`analysis.did.inference._invert`) then runs on that p-value.

Nothing is taken on trust: every assignment's estimate must be linear to rounding (its values at
±step average to its value at 0), the pattern of failed fits must not change with τ, and, for a
studentised statistic, the generic p-value is recomputed at both ends of each end point's final
bracket (four rounds of calls), which must fall on the same side of ``alpha``. If any check
fails, :func:`linear_pvalue` returns None and the caller inverts the generic way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

#: Relative tolerance of the linearity check (estimates at ±step against the one at 0).
LINEARITY_TOLERANCE = 1e-8


def _evaluate(frames: Iterable[pd.DataFrame], estimator) -> tuple[np.ndarray, np.ndarray]:
    """Estimate and SE per frame (NaN where the estimator failed, as the generic test counts it)."""
    estimates, ses = [], []
    for frame in frames:
        try:
            estimate, se = estimator(frame)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            estimate, se = np.nan, np.nan
        estimates.append(estimate)
        ses.append(se)
    return np.asarray(estimates, dtype=float), np.asarray(ses, dtype=float)


def linear_pvalue(frames: Callable[[float], Iterable[pd.DataFrame]], estimator, statistic: str, step: float,
                  pvalue_of: Callable[[float, np.ndarray], float]) -> Callable[[float], float] | None:
    """The p-value as a function of τ₀ from the closed form (module doc), or None when the
    estimator is not linear in the outcome on these assignments.

    ``frames(tau)``: the observed assignment's frame, then every candidate's, with ``tau``
    subtracted on the treated cells; ``pvalue_of(observed, null_statistics)``: the test's p-value
    rule. ``step``: the shift of the two extra evaluations (the interval's scale)."""
    if not (np.isfinite(step) and step > 0):
        return None
    at_zero, se_zero = _evaluate(frames(0.0), estimator)
    at_plus, se_plus = _evaluate(frames(step), estimator)
    at_minus, se_minus = _evaluate(frames(-step), estimator)
    failed = ~np.isfinite(at_zero)
    if not np.array_equal(failed, ~np.isfinite(at_plus)) or not np.array_equal(failed, ~np.isfinite(at_minus)):
        return None
    if failed[0]:
        return None
    slope = (at_minus - at_plus) / (2.0 * step)
    size = np.maximum(np.abs(at_zero), np.abs(slope) * step)
    curvature = np.abs(at_plus + at_minus - 2.0 * at_zero)
    if np.any(curvature[~failed] > LINEARITY_TOLERANCE * np.maximum(size[~failed], np.finfo(float).tiny)):
        return None
    studentised = statistic == "t"
    if studentised:
        var_zero, var_plus, var_minus = se_zero**2, se_plus**2, se_minus**2
        if not np.array_equal(np.isfinite(var_zero), np.isfinite(var_plus)):
            return None
        quadratic = (var_plus + var_minus - 2.0 * var_zero) / (2.0 * step**2)
        linear = (var_minus - var_plus) / (4.0 * step)

    def pvalue(tau: float) -> float:
        estimates = at_zero - tau * slope
        if studentised:
            variance = var_zero - 2.0 * linear * tau + quadratic * tau**2
            with np.errstate(invalid="ignore", divide="ignore"):
                stats = np.where(variance > 0, estimates / np.sqrt(np.abs(variance)), np.nan)
        else:
            stats = estimates.copy()
        stats[failed] = np.nan
        if not np.isfinite(stats[0]):
            raise ArithmeticError(f"the observed statistic is not finite at tau {tau!r}")
        return pvalue_of(float(stats[0]), stats[1:])

    return pvalue
