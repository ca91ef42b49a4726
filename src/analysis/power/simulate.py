"""Simulation-based power and minimum detectable effect of a staggered WFA pilot.

One draw ``k`` of a design:

1. a placebo future of ``design.n_months`` months for every Pemda of the pool
   (:class:`analysis.power.placebo.BlockBootstrap`: real residual variance, autocorrelation,
   seasonality and gaps, no WFA);
2. the adopters and their waves (:func:`analysis.power.design.draw_adopters`);
3. a known effect: ``log(1 + effect_pct / 100)`` added to the log outcome of every cell with WFA
   in force (a proportional effect: 10 = the adopters' months 10% slower/higher). By default the
   effect is the same for every adopter; with ``effect_sd_pct`` each adopting Pemda gets its own
   effect, ``effect_pct`` plus a deviation drawn ``N(0, log(1 + effect_sd_pct / 100))`` (effects
   do differ between Pemda: by SPBE maturity, e-Kinerja, service mix). ``effect_pct`` is then
   the average effect over all Pemda, the quantity a ministry generalises to; the adopters' own
   average differs from it by chance, and the test must cover that too;
4. the estimator and its test (:mod:`analysis.power.estimators`; default the imputation ATT with
   cluster-robust SE): reject "no effect" when the p-value is below ``alpha``.

Randomness: draw ``k`` uses ``numpy.random.SeedSequence(seed, spawn_key=(k,))`` (one child stream
for the future, one for the adopters, one for the effects' spread), so a draw does not depend on ``n_sims``, designs of the same
length share their placebo futures, and a larger pilot's adopters contain a smaller one's (common
random numbers: power curves are smooth and comparisons between designs sharper).

Every effect from one fit. For a shift-equivariant estimator (the default) draw ``k`` is fitted
once, at zero effect, giving ``att_k`` and ``se_k``; at effect ``delta`` its estimate is
``att_k + delta`` with the same SE. Hence the size (rejection rate at zero effect) comes with
every power, and the *detection threshold* of the draw — the smallest effect in the direction
``d`` it detects (rejects, estimate of sign ``d``), beyond which it detects every larger one — is
``max(0, c se_k - d att_k)`` with ``c`` the critical value. Power in the direction ``d`` at
magnitude ``m`` is the share of thresholds below ``m``, and the MDE at ``target_power`` is their
``target_power`` quantile (no bisection, no curve fitting; its Monte Carlo error is that of a
sample quantile, see :mod:`analysis.power.results`). Any other estimator is refitted at the
effect asked for, and each draw's threshold is found by bisection on the effect (tolerance
:data:`THRESHOLD_TOLERANCE` log points), assuming that a draw that detects an effect detects any
larger one.

Size adjustment. Below ~20 adopting Pemda the cluster-robust SE understates the variance and the
Wald test rejects too often (the size exceeds ``alpha``); a power computed with it overstates what
the pilot can show. Every result therefore reports the size, and a size-adjusted power and MDE
that use the critical p-value at which the simulated rejection rate at zero effect is at most
``alpha`` (what a correctly sized test of the same statistic, e.g. randomization inference,
achieves); note codes flag few adopters and a measured size distortion.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did.results import normal_pvalue
from analysis.notes import Note
from analysis.power.design import PilotDesign, draw_adopters
from analysis.power.estimators import FastImputation, PilotDraw, PilotEstimator
from analysis.power.outcomes import PilotOutcomes
from analysis.power.placebo import BlockBootstrap
from analysis.power.results import (
    DesignAssessment,
    MdeResult,
    PowerResult,
    binomial_se,
    log_to_pct,
    pct_to_log,
)

__all__ = ["DEFAULT_SEED", "FEW_TREATED_PEMDA", "assess_design", "minimum_detectable_effect",
           "pilot_draw", "power_curve", "simulate_power"]

DEFAULT_SEED = 20260115
#: Fewer adopting Pemda than this: the real pilot's evaluation needs few-treated inference.
FEW_TREATED_PEMDA = 20
#: Bisection tolerance (log points) of the detection thresholds of non-equivariant estimators.
THRESHOLD_TOLERANCE = 1e-4
#: Largest effect (percent, in the direction of interest) searched for the MDE.
MAX_EFFECT_PCT = 50.0


# --------------------------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------------------------

class _Draws:
    """Makes the draws of one design on one pool (everything that does not change between
    draws is prepared once)."""

    def __init__(self, outcomes: PilotOutcomes, design: PilotDesign, seed: int, futures: BlockBootstrap,
                 effect_sd_pct: float = 0.0):
        if not (np.isfinite(effect_sd_pct) and effect_sd_pct >= 0):
            raise ValueError(f"effect_sd_pct must be >= 0 (percent), got {effect_sd_pct!r}")
        self.effect_sd_log = float(np.log1p(effect_sd_pct / 100.0))
        pemda = outcomes.pemda
        if design.eligible is not None:
            unknown = sorted(set(design.eligible) - set(pemda["region_code"]))
            if unknown:
                raise ValueError(f"PilotDesign.eligible: region code(s) {unknown} are not in the "
                                 "outcome pool (Pemda with a WFA policy, or without data, are not)")
            pemda = pemda[pemda["region_code"].isin(design.eligible)]
        if design.n_adopters > len(pemda):
            raise ValueError(f"PilotDesign.n_adopters={design.n_adopters} exceeds the {len(pemda)} "
                             "Pemda eligible to adopt")
        if design.n_adopters >= outcomes.n_pemda:
            raise ValueError(f"PilotDesign.n_adopters={design.n_adopters} leaves no comparison "
                             f"Pemda in a pool of {outcomes.n_pemda}")
        self.outcomes, self.design, self.seed, self.futures = outcomes, design, seed, futures
        self.eligible = pemda["pemda_index"].to_numpy()
        self.strata = None if design.strata is None else pemda[design.strata].to_numpy()
        self.pool_calendar = outcomes.calendar_months()
        self.target_calendar = design.calendar_months()
        self.cluster = outcomes.units["pemda_index"].to_numpy()
        self.wave_cohort = np.asarray(design.wave_starts) + 1

    def __call__(self, k: int) -> PilotDraw:
        future_seq, adopter_seq, effect_seq = np.random.SeedSequence(self.seed, spawn_key=(int(k),)).spawn(3)
        columns = self.futures.source_months(self.pool_calendar, self.target_calendar,
                                             np.random.default_rng(future_seq))
        adopters = draw_adopters(self.eligible, self.design, np.random.default_rng(adopter_seq), self.strata)
        pemda_cohort = np.zeros(self.outcomes.n_pemda, dtype=np.int64)
        pemda_cohort[adopters[:, 0]] = self.wave_cohort[adopters[:, 1]]
        draw = PilotDraw(values=self.outcomes.residuals[:, columns], cohort=pemda_cohort[self.cluster],
                         cluster=self.cluster, n_clusters=self.outcomes.n_pemda)
        if self.effect_sd_log > 0:
            draw = self._heterogeneous(draw, adopters[:, 0], np.random.default_rng(effect_seq))
        return draw

    def _heterogeneous(self, draw: PilotDraw, adopters: np.ndarray, rng: np.random.Generator) -> PilotDraw:
        """Add to each adopter's treated cells its own effect's deviation from the average
        effect of all Pemda, drawn ``N(0, effect_sd)``."""
        deviation = np.zeros(draw.n_clusters)
        deviation[adopters] = rng.normal(0.0, self.effect_sd_log, len(adopters))
        return replace(draw, values=np.where(draw.treated(), draw.values + deviation[self.cluster][:, None],
                                             draw.values))


def _check(alpha: float, n_sims: int) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if not isinstance(n_sims, (int, np.integer)) or n_sims < 1:
        raise ValueError(f"n_sims must be a positive integer, got {n_sims!r}")


def pilot_draw(outcomes: PilotOutcomes, design: PilotDesign, draw: int, *,
               seed: int = DEFAULT_SEED, futures: BlockBootstrap = BlockBootstrap(),
               effect_sd_pct: float = 0.0) -> PilotDraw:
    """Draw ``draw`` of ``design`` at zero average effect (see the module docstring)."""
    return _Draws(outcomes, design, seed, futures, effect_sd_pct)(draw)


def _fit_all(draws: _Draws, n_sims: int, estimator, effect_log: float = 0.0) -> pd.DataFrame:
    rows = []
    for k in range(n_sims):
        fit = estimator(draws(k).with_effect(effect_log))
        rows.append((k, fit.att, fit.se, fit.pvalue, fit.n_treated_cells, fit.n_not_imputable))
    return pd.DataFrame(rows, columns=["draw", "att", "se", "pvalue", "n_treated_cells", "n_not_imputable"])


def _critical_pvalue(pvalues: np.ndarray, alpha: float) -> float:
    """Largest critical value ``p*`` with share(``p < p*``) <= ``alpha`` in these draws."""
    ordered = np.sort(np.where(np.isfinite(pvalues), pvalues, 1.0))
    index = int(np.floor(alpha * len(ordered) + 1e-9))
    return float(ordered[index]) if index < len(ordered) else 1.0


def _rejects(pvalues, critical) -> np.ndarray:
    return np.isfinite(pvalues) & (np.asarray(pvalues) < critical)


# --------------------------------------------------------------------------------------------
# Detection thresholds
# --------------------------------------------------------------------------------------------

def _thresholds_equivariant(null: pd.DataFrame, direction: int, critical_p: float,
                            max_log: float) -> np.ndarray:
    crit = stats.norm.isf(critical_p / 2.0) if critical_p > 0 else np.inf
    att, se = null["att"].to_numpy(), null["se"].to_numpy()
    with np.errstate(invalid="ignore"):
        thr = np.maximum(0.0, crit * se - direction * att)
    thr = np.where(np.isfinite(thr) & (se > 0), thr, np.inf)
    return np.where(thr <= max_log, thr, np.inf)


def _detects(estimator, draw: PilotDraw, magnitude: float, direction: int, critical_p: float) -> bool:
    fit = estimator(draw.with_effect(direction * magnitude))
    return bool(np.isfinite(fit.pvalue) and fit.pvalue < critical_p and np.sign(fit.att) == direction)


def _thresholds_bisection(draws: _Draws, n_sims, estimator, direction, critical_p, max_log) -> np.ndarray:
    out = np.full(n_sims, np.inf)
    for k in range(n_sims):
        draw = draws(k)
        if _detects(estimator, draw, 0.0, direction, critical_p):
            out[k] = 0.0
            continue
        if not _detects(estimator, draw, max_log, direction, critical_p):
            continue
        low, high = 0.0, max_log
        while high - low > THRESHOLD_TOLERANCE:
            mid = 0.5 * (low + high)
            low, high = (low, mid) if _detects(estimator, draw, mid, direction, critical_p) else (mid, high)
        out[k] = high
    return out


def _quantile_with_se(thresholds: np.ndarray, target_power: float, direction: int) -> tuple[float, float, float]:
    """(``mde_log``, ``mde_pct``, ``mde_pct_se``) from per-draw thresholds (results module doc)."""
    n = len(thresholds)
    q = np.quantile(thresholds, target_power, method="inverted_cdf")
    half = np.sqrt(target_power * (1 - target_power) / n)
    low = np.quantile(thresholds, max(target_power - half, 0.0), method="inverted_cdf")
    high = np.quantile(thresholds, min(target_power + half, 1.0), method="inverted_cdf")
    if not np.isfinite(high):
        return float(q), float(log_to_pct(direction * q)) if np.isfinite(q) else direction * np.inf, np.inf
    se = float(abs(log_to_pct(direction * high) - log_to_pct(direction * low)) / 2.0)
    return float(q), float(log_to_pct(direction * q)), se


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

def _notes(outcomes, design, size, size_se, alpha, fits: pd.DataFrame) -> list[Note]:
    notes = list(outcomes.notes)
    if design.n_adopters < FEW_TREATED_PEMDA:
        notes.append(Note("power_few_treated_inference", {"n_adopters": design.n_adopters,
                                                          "min_adopters": FEW_TREATED_PEMDA}))
    if size - alpha > 2 * size_se:
        notes.append(Note("power_few_treated_size_distortion", {
            "n_adopters": design.n_adopters, "size": size, "size_se": size_se, "alpha": alpha}))
    if min(design.wave_sizes) < 2:
        notes.append(Note("power_single_pemda_wave", {"waves": design.waves,
                                                      "n_adopters": design.n_adopters}))
    failed = int(fits["att"].isna().sum())
    if failed:
        notes.append(Note("power_draws_without_estimate", {"n_failed": failed, "n_sims": len(fits)}))
    treated = fits["n_treated_cells"] + fits["n_not_imputable"]
    if fits["n_not_imputable"].sum() > 0:
        notes.append(Note("power_treated_cells_not_imputable", {
            "share": float(fits["n_not_imputable"].sum() / max(treated.sum(), 1))}))
    return notes


def assess_design(outcomes: PilotOutcomes, design: PilotDesign, *, effect_pct: float,
                  alpha: float = 0.05, n_sims: int = 200, seed: int = DEFAULT_SEED,
                  target_power: float = 0.8, direction: int | None = None,
                  max_effect_pct: float = MAX_EFFECT_PCT,
                  estimator: PilotEstimator = FastImputation(),
                  futures: BlockBootstrap = BlockBootstrap(),
                  effect_sd_pct: float = 0.0) -> DesignAssessment:
    """Power at ``effect_pct`` and the MDE at ``target_power`` of ``design`` on ``outcomes``,
    from the same ``n_sims`` draws (module docstring). ``direction``: sign of the effect the MDE
    is about (default: ``outcomes.direction``, +1 slowdown for service times, -1 saving for
    spending); ``max_effect_pct``: largest magnitude searched (percent); ``effect_sd_pct``: SD
    across adopting Pemda of their own effect around the average (percent; 0 = the same effect
    everywhere), which the standard error must also cover."""
    _check(alpha, n_sims)
    if not 0 < target_power < 1:
        raise ValueError(f"target_power must be between 0 and 1, got {target_power!r}")
    if not 0 < max_effect_pct < 100:
        raise ValueError(f"max_effect_pct must be between 0 and 100, got {max_effect_pct!r}")
    direction = outcomes.direction if direction is None else int(np.sign(direction))
    if direction == 0:
        raise ValueError("direction must be +1 (increase) or -1 (decrease)")
    effect_log = pct_to_log(effect_pct)
    draws_of = _Draws(outcomes, design, seed, futures, effect_sd_pct)
    null = _fit_all(draws_of, n_sims, estimator)
    p_null = null["pvalue"].to_numpy()
    critical = _critical_pvalue(p_null, alpha)
    if estimator.equivariant:
        at_effect = null.assign(att=null["att"] + effect_log)
        at_effect["pvalue"] = normal_pvalue(at_effect["att"], at_effect["se"])
    else:
        at_effect = null if effect_log == 0 else _fit_all(draws_of, n_sims, estimator, effect_log)
    reject = _rejects(at_effect["pvalue"].to_numpy(), alpha)
    reject_adjusted = _rejects(at_effect["pvalue"].to_numpy(), critical)
    size = float(_rejects(p_null, alpha).mean())
    draws = pd.DataFrame({
        "draw": null["draw"], "att": at_effect["att"], "se": at_effect["se"],
        "pvalue": at_effect["pvalue"], "reject": reject, "att_null": null["att"],
        "se_null": null["se"], "pvalue_null": p_null, "reject_null": _rejects(p_null, alpha),
        "n_treated_cells": at_effect["n_treated_cells"], "n_not_imputable": at_effect["n_not_imputable"],
    })
    size_se = binomial_se(size, n_sims)
    notes = _notes(outcomes, design, size, size_se, alpha, null)
    power_value = float(reject.mean())
    power = PowerResult(
        outcome=outcomes.outcome, design=design, effect_pct=float(effect_pct), effect_log=effect_log,
        alpha=alpha, n_sims=n_sims, seed=seed, estimator=estimator.name, power=power_value,
        power_se=binomial_se(power_value, n_sims), size=size, size_se=size_se,
        power_size_adjusted=float(reject_adjusted.mean()),
        power_size_adjusted_se=binomial_se(float(reject_adjusted.mean()), n_sims),
        critical_pvalue=critical, n_failed=int(null["att"].isna().sum()),
        n_comparison_pemda=outcomes.n_pemda - design.n_adopters, draws=draws, notes=tuple(notes),
        effect_sd_pct=float(effect_sd_pct))

    max_log = abs(pct_to_log(direction * max_effect_pct))
    if estimator.equivariant:
        thresholds = _thresholds_equivariant(null, direction, alpha, max_log)
        adjusted = _thresholds_equivariant(null, direction, critical, max_log)
    else:
        thresholds = _thresholds_bisection(draws_of, n_sims, estimator, direction, alpha, max_log)
        adjusted = _thresholds_bisection(draws_of, n_sims, estimator, direction, critical, max_log)
    mde_log, mde_pct, mde_se = _quantile_with_se(thresholds, target_power, direction)
    _, mde_adj_pct, mde_adj_se = _quantile_with_se(adjusted, target_power, direction)
    mde_notes = list(notes)
    if not np.isfinite(mde_pct):
        mde_notes.append(Note("power_mde_beyond_range", {"target_power": target_power,
                                                         "max_effect_pct": max_effect_pct}))
    mde = MdeResult(
        outcome=outcomes.outcome, design=design, target_power=target_power, alpha=alpha,
        direction=direction, n_sims=n_sims, seed=seed, estimator=estimator.name, mde_log=mde_log,
        mde_pct=mde_pct, mde_pct_se=mde_se, mde_size_adjusted_pct=mde_adj_pct,
        mde_size_adjusted_pct_se=mde_adj_se, size=size, size_se=size_se,
        max_effect_pct=max_effect_pct, thresholds=thresholds, thresholds_size_adjusted=adjusted,
        notes=tuple(mde_notes), effect_sd_pct=float(effect_sd_pct))
    return DesignAssessment(power=power, mde=mde)


def simulate_power(outcomes: PilotOutcomes, design: PilotDesign, effect_pct: float, *,
                   alpha: float = 0.05, n_sims: int = 200, seed: int = DEFAULT_SEED,
                   estimator: PilotEstimator = FastImputation(),
                   futures: BlockBootstrap = BlockBootstrap(),
                   effect_sd_pct: float = 0.0) -> PowerResult:
    """Power of ``design`` to detect ``effect_pct`` (percent change of the outcome in every
    adopter's months with WFA) with a two-sided test at ``alpha``; with its size and Monte Carlo
    errors (see :class:`analysis.power.results.PowerResult`)."""
    return assess_design(outcomes, design, effect_pct=effect_pct, alpha=alpha, n_sims=n_sims,
                         seed=seed, estimator=estimator, futures=futures,
                         effect_sd_pct=effect_sd_pct).power


def minimum_detectable_effect(outcomes: PilotOutcomes, design: PilotDesign, *,
                              target_power: float = 0.8, alpha: float = 0.05, n_sims: int = 200,
                              seed: int = DEFAULT_SEED, direction: int | None = None,
                              max_effect_pct: float = MAX_EFFECT_PCT,
                              estimator: PilotEstimator = FastImputation(),
                              futures: BlockBootstrap = BlockBootstrap(),
                              effect_sd_pct: float = 0.0) -> MdeResult:
    """Minimum detectable effect (percent) of ``design`` at ``target_power``, with its Monte
    Carlo SE: the ``target_power`` quantile of the per-draw detection thresholds (module
    docstring; :class:`analysis.power.results.MdeResult`)."""
    return assess_design(outcomes, design, effect_pct=0.0, alpha=alpha, n_sims=n_sims, seed=seed,
                         target_power=target_power, direction=direction,
                         max_effect_pct=max_effect_pct, estimator=estimator, futures=futures,
                         effect_sd_pct=effect_sd_pct).mde


#: Columns of :func:`power_curve`.
CURVE_COLUMNS = (
    "n_adopters", "months_after", "waves", "effect_pct", "power", "power_se", "size", "size_se",
    "power_size_adjusted", "power_size_adjusted_se", "mde_pct", "mde_pct_se",
    "mde_size_adjusted_pct", "mde_size_adjusted_pct_se", "n_sims",
)


def power_curve(outcomes: PilotOutcomes, design: PilotDesign, *, n_adopters: Iterable[int],
                months_after: Iterable[int], effect_pct: float, alpha: float = 0.05,
                n_sims: int = 200, seed: int = DEFAULT_SEED, target_power: float = 0.8,
                direction: int | None = None, max_effect_pct: float = MAX_EFFECT_PCT,
                estimator: PilotEstimator = FastImputation(),
                futures: BlockBootstrap = BlockBootstrap(),
                effect_sd_pct: float = 0.0) -> pd.DataFrame:
    """Power and MDE over a grid of pilot sizes × durations (the other design choices from
    ``design``), one row per design with :data:`CURVE_COLUMNS`; the same seed for every design
    (common random numbers)."""
    rows = []
    for n in _as_ints(n_adopters, "n_adopters"):
        for months in _as_ints(months_after, "months_after"):
            one = replace(design, n_adopters=n, months_after=months)
            result = assess_design(outcomes, one, effect_pct=effect_pct, alpha=alpha, n_sims=n_sims,
                                   seed=seed, target_power=target_power, direction=direction,
                                   max_effect_pct=max_effect_pct, estimator=estimator, futures=futures,
                                   effect_sd_pct=effect_sd_pct)
            p, m = result.power, result.mde
            rows.append((n, months, one.waves, float(effect_pct), p.power, p.power_se, p.size,
                         p.size_se, p.power_size_adjusted, p.power_size_adjusted_se, m.mde_pct,
                         m.mde_pct_se, m.mde_size_adjusted_pct, m.mde_size_adjusted_pct_se, n_sims))
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def _as_ints(values: Sequence[int] | Iterable[int], name: str) -> list[int]:
    out = [int(v) for v in values]
    if not out:
        raise ValueError(f"{name}: give at least one value")
    return out
