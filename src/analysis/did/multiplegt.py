"""de Chaisemartin–D'Haultfœuille estimator for treatments that switch on and off: a thin
adapter over ``moderndid.did_multiplegt`` (the one place outside ``did/cs.py`` that calls
moderndid), returning its standard errors per horizon as plain numbers."""

from __future__ import annotations

import warnings

import moderndid
import pandas as pd


def did_multiplegt_std_errors(data: pd.DataFrame, *, outcome: str, unit: str, time: str, treatment: str,
                              effects: int, placebos: int) -> dict[int, float]:
    """Standard errors of the dynamic effects (horizon ``1..effects``) and placebos (horizon
    ``-1..-placebos``) of ``did_multiplegt`` with never-switchers as the only controls.

    ``unit`` and ``time`` are consecutive integers from 1; ``treatment`` is 0/1 per cell.
    moderndid's warnings (e.g. few switchers) are silenced: the caller reports its own limits.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = moderndid.did_multiplegt(data[[unit, time, treatment, outcome]], yname=outcome, tname=time,
                                       idname=unit, dname=treatment, effects=effects, placebo=placebos,
                                       only_never_switchers=True)
    out = {int(h): float(s) for h, s in zip(fit.effects.horizons, fit.effects.std_errors)}
    if fit.placebos is not None:
        out.update({-int(abs(h)): float(s) for h, s in zip(fit.placebos.horizons, fit.placebos.std_errors)})
    return out
