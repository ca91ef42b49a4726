"""Simulated staggered-adoption panels with known treatment effects.

One data-generating process (DGP), reused by the tests (``tests/test_did_simulation.py``) and the
benchmarks (``benchmarks/did_simulation_study.py``, ``benchmarks/did_speed.py``):

    y_it = alpha_i + lambda_t + tau_it + eps_it,        t = 1..T (integer periods)

- ``alpha_i ~ N(0, unit_sd^2)``; units of a later cohort get ``cohort_level_shift`` more per cohort
  rank (so cohorts differ in levels: an unweighted comparison of means is biased, DiD is not);
- ``lambda_t = time_trend * t + N(0, time_sd^2)`` (common shocks);
- ``eps_it`` is AR(1) within unit with autocorrelation ``ar1`` and marginal s.d. ``noise_sd``;
- treatment is absorbing; unit ``i`` in cohort ``g`` is treated from period ``g`` on. Each unit's
  cohort is drawn independently from fixed probabilities (``StaggeredDesign.cohort_probabilities``:
  ``never_treated_share`` for never treated, cohort 0, the rest split evenly over ``cohorts``),
  so cohort sizes are multinomial and vary between draws: random sampling of units from a
  population, the sampling model under which Callaway–Sant'Anna's aggregated SEs (which include
  the variance of the estimated cohort shares) are derived. ``random_cohorts=False`` restores the
  old fixed-size assignment (sizes as even as possible, only who is in which cohort is random);
- ``tau_it = effect_level[g] + effect_slope[g] * (t - g)`` for ``t >= g``, else 0: dynamic effects
  that differ by cohort. By default earlier cohorts have larger and faster-growing effects; this
  is the case in which a static or event-study TWFE regression is biased (it uses already
  treated units as controls, whose effects are still growing) while Callaway–Sant'Anna,
  Sun–Abraham and imputation are not.

Parallel trends hold exactly and there is no anticipation, so every pre-period effect is 0.
The returned panel is balanced. Units are in the outcome's unit (no scale is implied).

Two kinds of truth (the effects are deterministic given the cohort, so they differ only in the
cohort weights):

- :func:`true_effects` (sample estimands, realised cohort sizes of one panel): the overall ATT
  is the mean of tau_it over the panel's treated unit-periods. This is what an estimator whose
  weights are treated as fixed (inference conditional on the cohort sizes) targets: Sun–Abraham
  (IW weights fixed, no Proposition 6 term) and BJS imputation (conditional on the realised
  treatment assignment).
- :func:`population_effects` (population estimands, cohort probabilities): the same weighted
  averages with the cohort probabilities in place of the realised shares, e.g. the overall ATT
  ``sum_g p_g sum_{t>=g} tau_gt / sum_g p_g (T - g + 1)``. This is what CS's ``simple`` and
  ``event`` aggregations target with their analytic SEs (the influence function includes the
  estimation of the cohort shares, the "wif" term). All point estimators are consistent for both
  (the realised shares converge to the probabilities); only the SEs differ in what they cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "StaggeredDesign",
    "population_effects",
    "simulate_staggered_panel",
    "true_effects",
]


@dataclass(frozen=True, kw_only=True)
class StaggeredDesign:
    """Parameters of :func:`simulate_staggered_panel`.

    ``cohorts``: first treated periods (integers in ``2..n_periods``). With ``random_cohorts``
    (default) each unit's cohort is drawn independently with :meth:`cohort_probabilities`
    (multinomial cohort sizes); with ``random_cohorts=False`` the sizes are fixed
    (``round(never_treated_share * n_units)`` never treated, the treated spread evenly).
    ``effect_level`` / ``effect_slope``: per-cohort effect at adoption and its
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
    random_cohorts: bool = True

    def cohort_probabilities(self) -> dict[int, float]:
        """Population share of each cohort (0 = never treated): ``never_treated_share`` for 0,
        the remainder split evenly over ``cohorts``."""
        if not 0.0 <= self.never_treated_share < 1.0:
            raise ValueError("never_treated_share must lie in [0, 1)")
        p_treated = (1.0 - self.never_treated_share) / len(self.cohorts)
        return {0: self.never_treated_share, **{int(g): p_treated for g in self.cohorts}}

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

    if d.random_cohorts:
        # Random sampling of units: each unit's cohort drawn from the population probabilities.
        probs = d.cohort_probabilities()
        unit_cohort = rng.choice(np.array(list(probs), dtype=int), size=n,
                                 p=np.array(list(probs.values())))
    else:
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
    """Sample estimands of a simulated panel (realised cohort sizes), from ``true_effect``.

    ``overall``: mean of tau_it over treated unit-periods. In a balanced panel this is the
    aggregation of CS's ``simple`` ATT, of the Sun–Abraham overall effect (post-period IW
    effects weighted by cohort size x periods) and of the imputation estimator's overall ATT,
    evaluated at the realised cohort sizes. ``event``: Series indexed by event time ``e``
    (``-K..max``): mean tau over units treated for ``e`` periods (0 for ``e < 0``).

    These are the targets of SEs that condition on the cohort sizes (Sun–Abraham, imputation).
    CS's analytic SEs also count the sampling variance of the cohort shares and so target
    :func:`population_effects`; against the sample estimand they over-cover.
    """
    treated = panel["treated"] == 1
    overall = float(panel.loc[treated, "true_effect"].mean())
    ev = panel.loc[panel["cohort"] > 0].groupby("event")["true_effect"].mean()
    ev.index = ev.index.astype(int)
    return {"overall": overall, "event": ev}


def population_effects(design: StaggeredDesign | None = None) -> dict:
    """Population estimands of the DGP: the weights of :func:`true_effects` with the cohort
    probabilities (:meth:`StaggeredDesign.cohort_probabilities`) in place of realised sizes.

    ``overall``: ``sum_g p_g sum_{t>=g} tau_gt / sum_g p_g (T - g + 1)`` (the population ATT of
    CS's ``simple`` aggregation; also the probability limit of the SA and imputation overall
    ATTs in a balanced panel). ``event``: Series indexed by ``e`` from ``1 - max(cohorts)`` to
    ``T - min(cohorts)``: ``sum_{g: g+e<=T} p_g tau_g(e) / sum_{g: g+e<=T} p_g`` (0 for
    ``e < 0``), the population target of CS's ``event`` aggregation. With ``random_cohorts``
    these are the expectations' targets; they do not depend on the seed.
    """
    d = design or StaggeredDesign()
    t_max = d.n_periods
    cohorts = np.asarray(d.cohorts, dtype=int)
    level, slope = d.levels_and_slopes()
    probs = d.cohort_probabilities()
    p = np.array([probs[int(g)] for g in cohorts])
    num = den = 0.0
    for k, g in enumerate(cohorts):
        e = np.arange(0, t_max - g + 1)
        num += p[k] * float(np.sum(level[k] + slope[k] * e))
        den += p[k] * len(e)
    events = np.arange(1 - cohorts.max(), t_max - cohorts.min() + 1)
    ev = {}
    for e in events:
        if e < 0:
            ev[int(e)] = 0.0
            continue
        obs = cohorts + e <= t_max
        ev[int(e)] = float(np.sum(p[obs] * (level[obs] + slope[obs] * e)) / np.sum(p[obs]))
    return {"overall": num / den, "event": pd.Series(ev, name="true_effect").rename_axis("event")}
