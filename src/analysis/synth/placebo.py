"""Placebo inference for one treated unit.

- ``in_space_placebo`` (Abadie, Diamond and Hainmueller 2010): refit the synthetic control with
  each donor as the pseudo-treated unit (its donors: the other donors, never the treated unit);
  the statistic is the ratio of post- to pre-period MSPE; the p-value is the share of all units
  (treated included) whose ratio is at least the treated unit's.
- ``placebo_se`` (Arkhangelsky et al. 2021, Algorithm 4, as synthdid's ``placebo_se``): re-estimate
  with a random permutation of the controls, the last N1 of them as pseudo-treated, keeping the
  tuning (ζ, stopping rule) of the original fit and starting the solver from the original
  weights; SE = sqrt((B−1)/B) · sd of the B placebo estimates. ``draws="all"`` takes each control
  once as the pseudo-treated unit instead (deterministic; the limit of the random version).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.synth.control import SyntheticControlResult, fit_weights_outcome_only
from analysis.synth.panel import SynthInputError, SynthPanel
from analysis.synth.rng import RRandom
from analysis.synth.sdid import SyntheticDidResult, synthdid_batch
from analysis.synth.weights import sum_normalize

#: synthdid's README interval: estimate ± 1.96 · se (normal approximation).
NORMAL_95 = 1.96


@dataclass(frozen=True)
class InSpacePlacebo:
    """- ``ratios``: DataFrame ``unit, is_treated, pre_rmspe, post_rmspe, mspe_ratio, effect``
      (one row per unit, sorted by ``mspe_ratio`` descending; ``effect`` = mean post gap).
    - ``gaps``: DataFrame ``unit, time, gap, is_treated`` (long; for the grey placebo lines).
    - ``rank``: the treated unit's rank by ratio (1 = largest; ties counted against it);
      ``p_value`` = rank / number of units. ``n_units`` = donors + 1 (before any exclusion).
    - ``excluded``: placebos dropped because their pre RMSPE exceeded ``max_pre_rmspe_ratio`` ×
      the treated unit's (empty when no cut-off was set).
    """

    ratios: pd.DataFrame
    gaps: pd.DataFrame
    rank: int
    p_value: float
    n_units: int
    excluded: tuple


def in_space_placebo(result: SyntheticControlResult, *, max_pre_rmspe_ratio: float | None = None) -> InSpacePlacebo:
    """In-space placebo test of an outcome-only synthetic control (every donor as pseudo-treated)."""
    panel = result.panel
    if panel.N0 < 2:
        raise SynthInputError("the in-space placebo test needs at least two donors")
    units = list(panel.donors) + [panel.treated_unit]
    gaps = {panel.treated_unit: result.path["gap"].to_numpy()}
    for j in range(panel.N0):
        others = [k for k in range(panel.N0) if k != j]
        sub = SynthPanel(Y=panel.Y[others + [j]], donors=tuple(panel.donors[k] for k in others),
                         treated_unit=panel.donors[j], times=panel.times, T0=panel.T0,
                         treatment_start=panel.treatment_start, outcome=panel.outcome)
        weights = fit_weights_outcome_only(sub)
        gaps[panel.donors[j]] = sub.Y[-1] - weights @ sub.Y[:-1]
    rows = []
    for name in units:
        gap = gaps[name]
        pre, post = gap[: panel.T0], gap[panel.T0 :]
        pre_mspe, post_mspe = float(np.mean(pre**2)), float(np.mean(post**2))
        rows.append({"unit": name, "is_treated": name == panel.treated_unit,
                     "pre_rmspe": np.sqrt(pre_mspe), "post_rmspe": np.sqrt(post_mspe),
                     "mspe_ratio": post_mspe / pre_mspe if pre_mspe > 0 else np.inf,
                     "effect": float(np.mean(post))})
    ratios = pd.DataFrame(rows)
    treated = ratios.loc[ratios["is_treated"]].iloc[0]
    excluded: tuple = ()
    if max_pre_rmspe_ratio is not None:
        too_poor = (~ratios["is_treated"]) & (ratios["pre_rmspe"] > max_pre_rmspe_ratio * treated["pre_rmspe"])
        excluded = tuple(ratios.loc[too_poor, "unit"])
        ratios = ratios.loc[~too_poor]
    rank = int((ratios["mspe_ratio"] >= treated["mspe_ratio"]).sum())
    ratios = ratios.sort_values("mspe_ratio", ascending=False, kind="stable").reset_index(drop=True)
    gap_frame = pd.DataFrame(
        [{"unit": name, "time": t, "gap": float(g), "is_treated": name == panel.treated_unit}
         for name in ratios["unit"] for t, g in zip(panel.times, gaps[name])]
    )
    return InSpacePlacebo(ratios=ratios, gaps=gap_frame, rank=rank, p_value=rank / len(ratios),
                          n_units=len(units), excluded=excluded)


@dataclass(frozen=True)
class PlaceboSE:
    """Placebo standard error of a synthdid-type estimate.

    ``se``; ``ci_low``/``ci_high`` = estimate ∓ 1.96·se (normal approximation, as synthdid's README);
    ``estimates``: the placebo estimates; ``draws``: ``"all"`` or ``"random"``; ``replications``;
    ``seed`` and ``rng`` (``numpy`` or ``r``) for random draws.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    estimates: np.ndarray
    draws: str
    replications: int
    seed: int | None
    rng: str | None


def _placebo_estimates(result: SyntheticDidResult, orders: list[np.ndarray]) -> np.ndarray:
    """Re-estimate with the controls in each order; the last one is the pseudo-treated unit.

    As synthdid's ``placebo_se``: the tuning (ζ, stopping rule) stays that of the original fit,
    the unit weights start from the original ω of the placebo donors (renormalised), the time
    weights from the original λ; all re-estimates are solved side by side."""
    panel, fit = result.panel, result.fit
    Y0 = panel.Y[:-1]  # controls only (the treated unit is never a placebo)
    n_controls = panel.N0 - 1
    # Solve in chunks so that the per-problem Gram matrices stay below ~4 million numbers.
    chunk = max(1, int(4_000_000 // max(1, n_controls * n_controls)))
    estimates = []
    for first in range(0, len(orders), chunk):
        part = orders[first : first + chunk]
        Ys = np.stack([Y0[order] for order in part])
        omega_start = np.stack([sum_normalize(fit.omega[order[:n_controls]]) for order in part])
        lam_start = np.tile(fit.lam, (len(part), 1))
        values, _, _ = synthdid_batch(Ys, n_controls, panel.T0, options=fit.options,
                                      omega=omega_start, lam=lam_start)
        estimates.append(values)
    return np.concatenate(estimates)


def placebo_se(result: SyntheticDidResult, *, draws: str = "all", replications: int = 200,
               seed: int = 12345, rng: str = "numpy") -> PlaceboSE:
    """Placebo SE (Algorithm 4 of Arkhangelsky et al. 2021) of ``result``.

    ``draws="all"``: each control once as pseudo-treated (the other controls, in their original
    order, as donors); deterministic. ``draws="random"``: ``replications`` random permutations of
    the controls from ``seed``; ``rng="r"`` draws them exactly as R's ``set.seed(seed);
    sample(1:N0)`` does (reproduces synthdid's published SEs), ``rng="numpy"`` uses
    ``numpy.random.default_rng(seed)``.
    """
    n0 = result.panel.N0
    if n0 < 2:
        raise SynthInputError("the placebo SE needs at least two control units (more controls than treated)")
    if draws == "all":
        orders = [np.array([k for k in range(n0) if k != j] + [j]) for j in range(n0)]
        used_seed, used_rng = None, None
    elif draws == "random":
        if replications < 2:
            raise ValueError("replications must be at least 2")
        if rng == "r":
            generator = RRandom(seed)
            orders = [generator.sample(n0) for _ in range(replications)]
        elif rng == "numpy":
            generator = np.random.default_rng(seed)
            orders = [generator.permutation(n0) for _ in range(replications)]
        else:
            raise ValueError(f"rng must be 'numpy' or 'r'; got {rng!r}")
        used_seed, used_rng = int(seed), rng
    else:
        raise ValueError(f"draws must be 'all' or 'random'; got {draws!r}")
    estimates = _placebo_estimates(result, orders)
    se = float(np.std(estimates, ddof=0))  # = sqrt((B-1)/B) * sd(estimates)
    return PlaceboSE(estimate=result.estimate, se=se, ci_low=result.estimate - NORMAL_95 * se,
                     ci_high=result.estimate + NORMAL_95 * se, estimates=estimates, draws=draws,
                     replications=len(orders), seed=used_seed, rng=used_rng)
