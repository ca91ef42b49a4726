"""Simulated staggered-adoption panels with known treatment effects.

One data-generating process (DGP), reused by the tests (``tests/test_did_simulation.py``) and the
benchmarks (``benchmarks/did_simulation_study.py``, ``benchmarks/did_speed.py``):

    y_it = alpha_i + lambda_t + tau_it + eps_it,        t = 1..T (integer periods)

- ``alpha_i ~ N(0, unit_sd^2)``; units of a later cohort get ``cohort_level_shift`` more per cohort
  rank (so cohorts differ in levels: an unweighted comparison of means is biased, DiD is not);
- ``lambda_t = time_trend * t + N(0, time_sd^2)`` (common shocks);
- ``eps_it`` is AR(1) within unit with autocorrelation ``ar1`` and marginal s.d. ``noise_sd``;
- treatment is absorbing; unit ``i`` in cohort ``g`` is treated from period ``g`` on. A share
  ``never_treated_share`` of units is never treated (cohort 0);
- ``tau_it = effect_level[g] + effect_slope[g] * (t - g)`` for ``t >= g``, else 0: dynamic effects
  that differ by cohort. By default earlier cohorts have larger and faster-growing effects; this
  is the case in which a static or event-study TWFE regression is biased (it uses already
  treated units as controls, whose effects are still growing) while Callaway–Sant'Anna,
  Sun–Abraham and imputation are not.

Parallel trends hold exactly and there is no anticipation, so every pre-period effect is 0.
The returned panel is balanced. Units are in the outcome's unit (no scale is implied).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["StaggeredDesign", "simulate_staggered_panel", "true_effects"]


@dataclass(frozen=True, kw_only=True)
class StaggeredDesign:
    """Parameters of :func:`simulate_staggered_panel`.

    ``cohorts``: first treated periods (integers in ``2..n_periods``). Treated units are spread
    evenly over them. ``effect_level`` / ``effect_slope``: per-cohort effect at adoption and its
    change per period since adoption (same length as ``cohorts``; ``None`` = the default
    heterogeneous pattern: levels fall linearly from 2 for the first cohort to 1 for the last, and
    each slope is ``0.3 * level``).
    """

    n_units: int = 200
    n_periods: int = 10
    cohorts: tuple[int, ...] = (4, 6, 8)
    never_treated_share: float = 0.3
    effect_level: tuple[float, ...] | None = None
    effect_slope: tuple[float, ...] | None = None
    unit_sd: float = 1.0
    time_sd: float = 0.5
    time_trend: float = 0.1
    cohort_level_shift: float = 0.5
    noise_sd: float = 1.0
    ar1: float = 0.0

    def levels_and_slopes(self) -> tuple[np.ndarray, np.ndarray]:
        k = len(self.cohorts)
        if self.effect_level is None:
            level = 2.0 - np.arange(k) / max(k - 1, 1)
        else:
            level = np.asarray(self.effect_level, dtype=float)
        slope = 0.3 * level if self.effect_slope is None else np.asarray(self.effect_slope, float)
        if level.shape != (k,) or slope.shape != (k,):
            raise ValueError("effect_level and effect_slope need one value per cohort")
        return level, slope


def simulate_staggered_panel(
    design: StaggeredDesign | None = None, *, seed: int | np.random.Generator
) -> pd.DataFrame:
    """Draw one balanced panel from the DGP described in the module docstring.

    Returns a DataFrame sorted by unit and period with columns ``unit`` (int, 1..N), ``period``
    (int, 1..T), ``cohort`` (first treated period, 0 = never treated), ``treated`` (0/1),
    ``event`` (period - cohort; NaN for never-treated units), ``y`` (outcome) and ``true_effect``
    (tau_it; 0 before adoption and for never-treated units).
    """
    d = design or StaggeredDesign()
    rng = np.random.default_rng(seed)
    n, t_max = d.n_units, d.n_periods
    cohorts = np.asarray(d.cohorts, dtype=int)
    if cohorts.min() < 2 or cohorts.max() > t_max:
        raise ValueError(f"cohorts must lie in 2..{t_max} so that every cohort has a pre-period")
    level, slope = d.levels_and_slopes()

    n_never = int(round(d.never_treated_share * n))
    n_treated = n - n_never
    # Treated units spread evenly over cohorts (deterministic sizes, random assignment).
    cohort_of_treated = cohorts[np.arange(n_treated) % len(cohorts)]
    unit_cohort = np.concatenate([np.zeros(n_never, dtype=int), cohort_of_treated])
    rng.shuffle(unit_cohort)

    cohort_rank = np.zeros(n)
    for k, g in enumerate(cohorts):
        cohort_rank[unit_cohort == g] = k + 1
    alpha = rng.normal(0.0, d.unit_sd, n) + d.cohort_level_shift * cohort_rank
    periods = np.arange(1, t_max + 1)
    lam = d.time_trend * periods + rng.normal(0.0, d.time_sd, t_max)

    innov = rng.normal(0.0, 1.0, (n, t_max))
    eps = np.empty((n, t_max))
    eps[:, 0] = innov[:, 0]
    scale = np.sqrt(1.0 - d.ar1**2)
    for t in range(1, t_max):
        eps[:, t] = d.ar1 * eps[:, t - 1] + scale * innov[:, t]
    eps *= d.noise_sd

    g_mat = unit_cohort[:, None]
    treated = (g_mat > 0) & (periods[None, :] >= g_mat)
    k_of_unit = np.searchsorted(cohorts, unit_cohort)
    k_of_unit = np.clip(k_of_unit, 0, len(cohorts) - 1)
    tau = np.where(
        treated,
        level[k_of_unit][:, None] + slope[k_of_unit][:, None] * (periods[None, :] - g_mat),
        0.0,
    )
    y = alpha[:, None] + lam[None, :] + tau + eps

    event = np.where(g_mat > 0, periods[None, :] - g_mat, np.nan).astype(float)
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(1, n + 1), t_max),
            "period": np.tile(periods, n),
            "cohort": np.repeat(unit_cohort, t_max),
            "treated": treated.ravel().astype(int),
            "event": event.ravel(),
            "y": y.ravel(),
            "true_effect": tau.ravel(),
        }
    )


def true_effects(panel: pd.DataFrame) -> dict:
    """Sample estimands of a simulated panel, from its ``true_effect`` column.

    ``overall``: mean of tau_it over treated unit-periods. In a balanced panel this is the
    target of CS's ``simple`` aggregation, of the Sun–Abraham overall effect (post-period IW
    effects weighted by cohort size x periods) and of the imputation estimator's overall ATT.
    ``event``: Series indexed by event time ``e`` (``-K..max``): mean tau over units treated for
    ``e`` periods (0 for ``e < 0``), the target of every estimator's event study.
    """
    treated = panel["treated"] == 1
    overall = float(panel.loc[treated, "true_effect"].mean())
    ev = panel.loc[panel["cohort"] > 0].groupby("event")["true_effect"].mean()
    ev.index = ev.index.astype(int)
    return {"overall": overall, "event": ev}
