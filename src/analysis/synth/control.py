"""Classic synthetic control for one treated unit (Abadie, Diamond and Hainmueller 2010).

Weights: non-negative, summing to one, chosen by *exact* constrained least squares on the
pre-period outcomes (outcome-only specification: every pre-period outcome is a predictor with
equal weight), or on the pre-period means of named predictor columns (each standardised by its
standard deviation across units; the predictor importance matrix V is the identity — the nested
ADH optimisation of V is not implemented).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis.synth.panel import SynthInputError, SynthPanel, wide_panel
from analysis.synth.weights import simplex_least_squares


@dataclass(frozen=True)
class SyntheticControlResult:
    """Outcome-only (or predictor) synthetic control for one treated unit.

    - ``weights``: DataFrame ``donor, weight`` (all donors, sorted by weight, descending).
    - ``path``: DataFrame ``time, treated, synthetic, gap, post`` (gap = treated − synthetic, in
      outcome units; ``post`` marks periods from ``treatment_start`` on).
    - ``effect``: average gap over the post periods (outcome units).
    - ``pre_rmspe`` / ``post_rmspe``: root mean squared gap before / from the treatment start.
    - ``mspe_ratio``: post MSPE / pre MSPE (the ADH placebo statistic).
    """

    treated_unit: Any
    treatment_start: Any
    outcome: str
    weights: pd.DataFrame
    path: pd.DataFrame
    effect: float
    pre_rmspe: float
    post_rmspe: float
    mspe_ratio: float
    panel: SynthPanel


def fit_weights_outcome_only(panel: SynthPanel) -> np.ndarray:
    """Exact simplex least-squares weights matching the treated unit's pre-period outcomes."""
    pre = panel.Y[:, : panel.T0]
    return simplex_least_squares(pre[:-1].T, pre[-1]).weights


def _result_from_weights(panel: SynthPanel, weights: np.ndarray) -> SyntheticControlResult:
    treated = panel.Y[-1]
    synthetic = weights @ panel.Y[:-1]
    gap = treated - synthetic
    pre_gap, post_gap = gap[: panel.T0], gap[panel.T0 :]
    pre_mspe = float(np.mean(pre_gap**2))
    post_mspe = float(np.mean(post_gap**2))
    weights_frame = (
        pd.DataFrame({"donor": list(panel.donors), "weight": weights})
        .sort_values("weight", ascending=False, kind="stable")
        .reset_index(drop=True)
    )
    path = pd.DataFrame(
        {
            "time": list(panel.times),
            "treated": treated,
            "synthetic": synthetic,
            "gap": gap,
            "post": [i >= panel.T0 for i in range(len(panel.times))],
        }
    )
    return SyntheticControlResult(
        treated_unit=panel.treated_unit,
        treatment_start=panel.treatment_start,
        outcome=panel.outcome,
        weights=weights_frame,
        path=path,
        effect=float(np.mean(post_gap)),
        pre_rmspe=float(np.sqrt(pre_mspe)),
        post_rmspe=float(np.sqrt(post_mspe)),
        mspe_ratio=post_mspe / pre_mspe if pre_mspe > 0 else float("inf"),
        panel=panel,
    )


def synthetic_control(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Any,
    treatment_start: Any,
    donors: Sequence | None = None,
    predictors: Sequence[str] | None = None,
) -> SyntheticControlResult:
    """Synthetic control for ``treated_unit`` from ``treatment_start`` on.

    ``data`` is a balanced long panel (one row per unit × period). ``donors=None`` uses every other
    unit. ``predictors=None`` matches the pre-period outcome path (outcome-only); otherwise the
    weights match the pre-period means of the named columns, each divided by its standard
    deviation across the treated unit and donors. Effects are in the units of ``outcome``.
    """
    panel = wide_panel(data, outcome=outcome, unit=unit, time=time, treated_unit=treated_unit,
                       treatment_start=treatment_start, donors=donors)
    if predictors is None:
        weights = fit_weights_outcome_only(panel)
    else:
        weights = _predictor_weights(data, panel, unit=unit, time=time, predictors=list(predictors))
    return _result_from_weights(panel, weights)


def _predictor_weights(data, panel: SynthPanel, *, unit: str, time: str, predictors: list[str]) -> np.ndarray:
    missing = [p for p in predictors if p not in data.columns]
    if missing:
        raise SynthInputError(f"predictor column(s) not in the data: {', '.join(missing)}")
    if not predictors:
        raise SynthInputError("predictors is an empty list; use None for the outcome-only fit")
    pre = data[data[time] < panel.treatment_start]
    means = pre.groupby(unit)[predictors].mean().reindex(list(panel.donors) + [panel.treated_unit])
    if means.isna().any().any():
        raise SynthInputError("a predictor has no pre-period value for some unit")
    scale = means.std(ddof=1).replace(0, 1.0)
    matrix = (means / scale).to_numpy(dtype=float)
    return simplex_least_squares(matrix[:-1].T, matrix[-1]).weights
