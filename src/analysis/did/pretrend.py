"""Joint Wald pre-trend test on event-study estimates.

Every estimator already attaches its own test as ``.pretrend`` (see each module for which
estimates it uses; for Callaway-Sant'Anna it is R did's test over the pre-treatment ATT(g,t)
cells, which reproduces the published p-values). :func:`pretrend_test` recomputes a test from
an event study, so that different estimators can be compared on the same footing or a window
of pre-periods chosen: ``stat = b' V^-1 b`` over the pre-period event-time estimates ``b``
(``event < reference``, by default all events <= -2 for reference -1, or the requested
``events``), chi-squared with ``df`` = rank of ``V``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from analysis.did.results import (
    CallawaySantAnnaResult,
    EventStudyResult,
    PretrendTest,
    pretrend_wald_test,
)

__all__ = ["PretrendTest", "pretrend_test", "pretrend_wald_test"]


def pretrend_test(
    result: EventStudyResult, *, events: Sequence[int] | None = None, reference: int = -1
) -> PretrendTest | None:
    """Wald test that the chosen pre-period event-time estimates are jointly zero.

    ``result``: any :mod:`analysis.did` result with an event-study covariance (``event_vcov``),
    or a CS result (covariance from the influence functions of its ``event`` aggregation;
    with ``base_period="varying"`` the CS pre-period estimates are period-on-period placebo
    comparisons, so ``e = -1`` is included by default there). ``events``: the event times to
    test (default: every estimated event before the reference, or before 0 for a CS
    varying-base fit). Returns ``None`` if there is nothing to test.
    """
    table, vcov = _event_estimates(result)
    event_times = table["event"].to_numpy(dtype="int64")
    if events is None:
        varying = isinstance(result, CallawaySantAnnaResult) and _is_varying(result)
        cutoff = 0 if varying else reference
        chosen = event_times < cutoff
    else:
        missing = sorted(set(events) - set(event_times.tolist()))
        if missing:
            raise ValueError(f"events {missing} are not in the event study ({event_times.tolist()})")
        chosen = np.isin(event_times, list(events))
    return pretrend_wald_test(
        table["att"].to_numpy(dtype=float)[chosen],
        vcov[np.ix_(chosen, chosen)],
        events=tuple(int(e) for e in event_times[chosen]),
        note=f"Wald test on {result.estimator} event-study estimates at events "
        f"{event_times[chosen].tolist()}",
    )


def _is_varying(result: CallawaySantAnnaResult) -> bool:
    params = result.native["att_gt"].estimation_params or {}
    return params.get("base_period", "varying") == "varying"


def _event_estimates(result: Any):
    if isinstance(result, CallawaySantAnnaResult):
        aggte = result.native_aggregate("event")
        influence = np.asarray(aggte.influence_func)
        params = aggte.estimation_params or {}
        cluster = params.get("cluster")
        if cluster is not None and params.get("clustervars"):
            _, idx = np.unique(np.asarray(cluster), return_inverse=True)
            influence = np.vstack(
                [np.bincount(idx, weights=influence[:, j]) for j in range(influence.shape[1])]
            ).T
        n = aggte.influence_func.shape[0]
        return result.event_study(), influence.T @ influence / n**2
    if isinstance(result, EventStudyResult) and result.event_vcov is not None:
        return result.event_study(), np.asarray(result.event_vcov, dtype=float)
    raise ValueError(
        "pretrend_test needs an analysis.did result with an event-study covariance "
        f"(event_vcov), got {type(result).__name__}"
    )
