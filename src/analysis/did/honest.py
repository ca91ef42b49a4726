"""Rambachan-Roth (2023) sensitivity of event-study conclusions to violations of parallel trends.

Uses moderndid's ``didhonest`` (reproduces the R HonestDiD package, see tests/test_did_honest.py).
Accepted event studies:

- a Callaway-Sant'Anna result (:class:`~analysis.did.results.CallawaySantAnnaResult`) fitted with
  ``base_period="universal"``: its ``event`` aggregation and the covariance from its influence
  functions (summed within clusters when clustered), exactly as ``moderndid.honest_did``;
- any :class:`~analysis.did.results.EventStudyResult` with ``event_vcov`` (TWFE, Sun-Abraham,
  ...): coefficients and their covariance, reference period ``-1`` dropped;
- a moderndid ``aggte(type="dynamic")`` result.

The least-favourable critical values of the C-LF test, and its first stage for the candidate
values it clearly rejects, come from :mod:`analysis.did.least_favorable` (the same values and
decisions as moderndid's linear programs, from the vertices of their dual).

Pre-periods are the events ``e <= -2`` and post-periods ``e >= 0`` (reference ``-1``); both must be
consecutive. ``target``: an event time ``e >= 0`` (``0`` = first treated period, the R default)
or ``"average"`` (equal-weight average of all post-period effects).
Methods: ``"relative_magnitudes"`` (Delta^RM(Mbar), conditional least-favourable "C-LF" test;
``grid`` = Mbar values, default 0, 0.5, ..., 2) and ``"smoothness"`` (Delta^SD(M), FLCI;
``grid`` = M values in outcome units per period squared, default 10 values chosen by moderndid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from moderndid import (
    construct_original_cs,
    create_sensitivity_results_rm,
    create_sensitivity_results_sm,
)
from moderndid.didhonest.honest_did import _event_study_covariance

from analysis.did.least_favorable import vertex_critical_values
from analysis.did.results import CallawaySantAnnaResult, EventStudyResult

REFERENCE_EVENT = -1
_METHODS = ("relative_magnitudes", "smoothness")


@dataclass(frozen=True, kw_only=True)
class HonestResult:
    """Robust confidence intervals over a grid of restrictions.

    ``intervals``: DataFrame ``M, ci_low, ci_high, method`` (``M`` = Mbar for relative
    magnitudes, M for smoothness; ``method`` = the inference method, e.g. ``C-LF`` or ``FLCI``).
    ``original_ci``: dict ``ci_low, ci_high`` of the same target under exact parallel trends.
    ``restriction``: ``relative_magnitudes`` or ``smoothness``; ``target``: event time or
    ``"average"``; ``pre_events`` / ``post_events``: the event times used.
    """

    intervals: pd.DataFrame
    original_ci: dict[str, float]
    restriction: str
    target: int | str
    alpha: float
    pre_events: tuple[int, ...]
    post_events: tuple[int, ...]

    def breakdown(self) -> float:
        """Smallest grid value whose robust interval contains 0 (NaN if none does)."""
        covers = (self.intervals["ci_low"] <= 0) & (self.intervals["ci_high"] >= 0)
        return float(self.intervals.loc[covers, "M"].min()) if covers.any() else float("nan")


def _from_aggte(aggte: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    params = aggte.estimation_params or {}
    if params.get("base_period", "universal") != "universal":
        raise ValueError(
            "honest_sensitivity needs a CS event study with base_period='universal' (all "
            "coefficients relative to the same period -1); refit callaway_santanna(..., "
            "base_period='universal')"
        )
    if params.get("anticipation_periods", 0):
        raise ValueError("honest_sensitivity supports anticipation=0 only")
    if aggte.influence_func is None:
        raise ValueError("the CS event study has no influence functions")
    events = np.asarray(aggte.event_times).astype("int64")
    sigma = _event_study_covariance(np.asarray(aggte.influence_func), params)
    return events, np.asarray(aggte.att_by_event, dtype=float), sigma


def _event_inputs(event_result: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(events, betahat, sigma) including the reference period if present."""
    if isinstance(event_result, CallawaySantAnnaResult):
        return _from_aggte(event_result.native_aggregate("event"))
    if isinstance(event_result, EventStudyResult):
        if event_result.event_vcov is None:
            raise ValueError(
                f"the {event_result.estimator!r} result has no event_vcov; honest_sensitivity "
                "needs the covariance of the event-study coefficients"
            )
        table = event_result.event_study()
        return (
            table["event"].to_numpy(dtype="int64"),
            table["att"].to_numpy(dtype=float),
            np.asarray(event_result.event_vcov, dtype=float),
        )
    if getattr(event_result, "aggregation_type", None) == "dynamic":
        return _from_aggte(event_result)
    raise ValueError(
        "event_result must be a callaway_santanna / twfe (or other analysis.did) result or a "
        f"moderndid dynamic aggte result, got {type(event_result).__name__}"
    )


def honest_sensitivity(
    event_result: Any,
    *,
    method: str = "relative_magnitudes",
    grid: Sequence[float] | None = None,
    target: int | str = 0,
    alpha: float = 0.05,
    grid_points: int = 1000,
    grid_bounds: tuple[float, float] | None = None,
) -> HonestResult:
    """Rambachan-Roth robust confidence intervals for one event-study target.

    ``grid``: Mbar values (relative magnitudes) or M values (smoothness); ``None`` uses
    moderndid's defaults. ``grid_points``: resolution of the test inversion (the robust bounds
    are points of this grid; 1000 matches the R package). See the module docstring for the
    accepted inputs and conventions. ``grid_bounds``: (lower, upper) range of candidate values
    of the target for the test inversion (relative magnitudes and hybrid methods); default
    moderndid's (+-20 standard errors of the target around 0, as R).
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    events, betahat, sigma = _event_inputs(event_result)
    keep = events != REFERENCE_EVENT
    events, betahat, sigma = events[keep], betahat[keep], sigma[np.ix_(keep, keep)]
    order = np.argsort(events, kind="stable")
    events, betahat, sigma = events[order], betahat[order], sigma[np.ix_(order, order)]
    pre, post = events[events < REFERENCE_EVENT], events[events > REFERENCE_EVENT]
    for name, block in (("pre", pre), ("post", post)):
        if block.size == 0:
            raise ValueError(f"honest_sensitivity needs at least one {name}-period estimate")
        if np.any(np.diff(block) != 1):
            raise ValueError(f"{name}-period event times must be consecutive, got {block.tolist()}")
    if post[0] != 0:
        raise ValueError(f"post-period event times must start at 0, got {post.tolist()}")
    if target == "average":
        l_vec = np.full(post.size, 1.0 / post.size)
    elif isinstance(target, (int, np.integer)) and 0 <= target <= post[-1]:
        l_vec = np.zeros(post.size)
        l_vec[int(target)] = 1.0
    else:
        raise ValueError(
            f"target must be 'average' or a post-period event time 0..{int(post[-1])}, got {target!r}"
        )
    common = dict(
        betahat=betahat, sigma=sigma, num_pre_periods=int(pre.size),
        num_post_periods=int(post.size), l_vec=l_vec, alpha=alpha,
    )
    bounds = {} if grid_bounds is None else {"grid_lb": grid_bounds[0], "grid_ub": grid_bounds[1]}
    original = construct_original_cs(**common)
    if method == "relative_magnitudes":
        with vertex_critical_values():
            robust = create_sensitivity_results_rm(
                **common, m_bar_vec=None if grid is None else list(grid), grid_points=grid_points,
                **bounds,
            )
        values = robust["Mbar"]
    else:
        robust = create_sensitivity_results_sm(
            **common, m_vec=None if grid is None else list(grid), grid_points=grid_points,
            **bounds,
        )
        values = robust["m"] if "m" in robust.columns else robust["M"]
    intervals = pd.DataFrame(
        {
            "M": np.asarray(values, dtype=float),
            "ci_low": np.asarray(robust["lb"], dtype=float),
            "ci_high": np.asarray(robust["ub"], dtype=float),
            "method": list(robust["method"]),
        }
    )
    return HonestResult(
        intervals=intervals,
        original_ci={"ci_low": float(original.lb), "ci_high": float(original.ub)},
        restriction=method,
        target=target if target == "average" else int(target),
        alpha=alpha,
        pre_events=tuple(int(e) for e in pre),
        post_events=tuple(int(e) for e in post),
    )
