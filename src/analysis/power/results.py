"""Results of the power simulation: facts (numbers, per-draw tables, note codes), no sentences.

Monte Carlo errors. A power is a share of ``n_sims`` independent draws, so its Monte Carlo SE is
binomial, computed at the Agresti–Coull centre ``p~ = (k + 2) / (n + 4)`` (``k`` rejections of
``n`` draws): ``sqrt(p~ (1 - p~) / (n + 4))``. Away from 0 and 1 this is close to the plain
``sqrt(p (1 - p) / n)`` (100 draws: 2% smaller at p = 0.5, 13% larger at p = 0.05; 500 draws:
3% larger at p = 0.05); at ``p = 0`` or ``1`` the plain formula says 0,
claiming a power known exactly, where this one gives the error of a share that has not yet shown
a failure (about ``sqrt(2) / n``). The size-adjusted power ignores the estimation of its
critical value. The MDE is a quantile of the per-draw detection thresholds (see
:mod:`analysis.power.simulate`); its Monte Carlo SE is half the distance between the threshold
quantiles at ``target_power -/+ sqrt(target_power (1 - target_power) / n_sims)`` (the
order-statistic interval of a sample quantile, one binomial SE either side), converted to
percent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.notes import Note
from analysis.power.design import PilotDesign
from analysis.report.results_file import Estimand, Inference, ResultEntry, Sample

__all__ = ["DesignAssessment", "MdeResult", "PowerResult", "log_to_pct", "pct_to_log", "result_entries"]


def pct_to_log(effect_pct: float) -> float:
    """Percent change (10 = 10% higher) → log points."""
    if not (np.isfinite(effect_pct) and effect_pct > -100):
        raise ValueError(f"effect_pct must be a finite percent change > -100, got {effect_pct!r}")
    return float(np.log1p(effect_pct / 100.0))


def log_to_pct(effect_log):
    """Log points → percent change."""
    return 100.0 * np.expm1(effect_log)


def binomial_se(share: float, n: int) -> float:
    """Monte Carlo SE of a share of ``n`` independent draws, at the Agresti–Coull centre (module
    docstring): positive also when the share is 0 or 1."""
    if n <= 0:
        return np.nan
    centre = (share * n + 2.0) / (n + 4.0)
    return float(np.sqrt(centre * (1.0 - centre) / (n + 4.0)))


@dataclass(frozen=True)
class PowerResult:
    """Power of a two-sided test of "no effect" for one design and effect size.

    ``effect_pct`` (percent change added to every treated cell; ``effect_log`` the same in log
    points); ``power``: share of draws rejecting at ``alpha``, ``power_se`` its Monte Carlo SE;
    ``size`` / ``size_se``: the same at zero effect (a well-sized test gives ``alpha``);
    ``power_size_adjusted`` (``_se``): the power when the critical value is the one that makes
    the rejection rate at zero effect exactly at most ``alpha`` in these draws
    (``critical_pvalue``) — about what a correctly sized few-treated test (randomization
    inference) detects; ``draws``: one row per draw: ``draw, att, se, pvalue, reject,
    att_null, se_null, pvalue_null, reject_null, n_treated_cells, n_not_imputable`` (log
    points); ``n_failed``: draws without an estimate (counted as not rejecting); ``notes``;
    ``effect_sd_pct``: SD of the adopters' own effects around ``effect_pct`` (0 = constant).
    """

    outcome: str
    design: PilotDesign
    effect_pct: float
    effect_log: float
    alpha: float
    n_sims: int
    seed: int
    estimator: str
    power: float
    power_se: float
    size: float
    size_se: float
    power_size_adjusted: float
    power_size_adjusted_se: float
    critical_pvalue: float
    n_failed: int
    n_comparison_pemda: int
    draws: pd.DataFrame = field(repr=False)
    notes: tuple[Note, ...] = ()
    effect_sd_pct: float = 0.0

    @property
    def rejections(self) -> int:
        return int(self.draws["reject"].sum())

    def as_dict(self) -> dict:
        """The scalar facts (design flattened), JSON-safe."""
        return {
            "outcome": self.outcome, **_design_dict(self.design), "effect_pct": self.effect_pct,
            "alpha": self.alpha, "n_sims": self.n_sims, "seed": self.seed, "estimator": self.estimator,
            "power": self.power, "power_se": self.power_se, "rejections": self.rejections,
            "size": self.size, "size_se": self.size_se,
            "power_size_adjusted": self.power_size_adjusted,
            "power_size_adjusted_se": self.power_size_adjusted_se,
            "critical_pvalue": self.critical_pvalue, "n_failed": self.n_failed,
            "n_comparison_pemda": self.n_comparison_pemda, "effect_sd_pct": self.effect_sd_pct,
        }


@dataclass(frozen=True)
class MdeResult:
    """Minimum detectable effect: the smallest effect (in ``direction``) detected with
    ``target_power`` by a two-sided test at ``alpha`` (detected = rejected with an estimate of
    the right sign).

    ``mde_pct`` (percent change, signed: + slowdown / - saving) with ``mde_pct_se`` (Monte Carlo,
    see the module docstring), ``mde_log`` in log points; ``mde_size_adjusted_pct`` (``_se``): the
    same with the size-adjusted critical value (see :class:`PowerResult`). ``inf``/``-inf`` when
    fewer than ``target_power`` of draws detect any effect up to ``max_effect_pct``.
    ``thresholds`` / ``thresholds_size_adjusted``: per-draw detection thresholds in log points
    (magnitude; ``inf`` = not detected in range): draw ``k`` detects every effect beyond its
    threshold, so the share of thresholds below ``m`` is the power at ``m``. ``size`` /
    ``size_se`` at zero effect, as in :class:`PowerResult`.
    """

    outcome: str
    design: PilotDesign
    target_power: float
    alpha: float
    direction: int
    n_sims: int
    seed: int
    estimator: str
    mde_log: float
    mde_pct: float
    mde_pct_se: float
    mde_size_adjusted_pct: float
    mde_size_adjusted_pct_se: float
    size: float
    size_se: float
    max_effect_pct: float
    thresholds: np.ndarray = field(repr=False)
    thresholds_size_adjusted: np.ndarray = field(repr=False)
    notes: tuple[Note, ...] = ()
    effect_sd_pct: float = 0.0

    @property
    def status(self) -> str:
        """``reached``; ``imprecise`` (the MDE is found but the draws do not bound its Monte
        Carlo error: ``mde_pct_se`` is infinite); ``not_reached`` (no effect up to
        ``max_effect_pct`` reaches ``target_power``)."""
        if not np.isfinite(self.mde_pct):
            return "not_reached"
        return "reached" if np.isfinite(self.mde_pct_se) else "imprecise"

    def power_at(self, effect_pct, *, size_adjusted: bool = False):
        """Power to detect ``effect_pct`` (same sign as ``direction``) read off the thresholds;
        array-like in, array out."""
        thresholds = self.thresholds_size_adjusted if size_adjusted else self.thresholds
        magnitude = self.direction * np.log1p(np.asarray(effect_pct, dtype=float) / 100.0)
        return (thresholds[None, :] < np.atleast_1d(magnitude)[:, None]).mean(axis=1).reshape(np.shape(magnitude))

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome, **_design_dict(self.design), "target_power": self.target_power,
            "alpha": self.alpha, "direction": self.direction, "n_sims": self.n_sims, "seed": self.seed,
            "estimator": self.estimator, "mde_pct": self.mde_pct, "mde_pct_se": self.mde_pct_se,
            "mde_log": self.mde_log, "mde_size_adjusted_pct": self.mde_size_adjusted_pct,
            "mde_size_adjusted_pct_se": self.mde_size_adjusted_pct_se,
            "size": self.size, "size_se": self.size_se, "max_effect_pct": self.max_effect_pct,
            "effect_sd_pct": self.effect_sd_pct,
        }


@dataclass(frozen=True)
class DesignAssessment:
    """Power at one effect size and the MDE of one design, from the same simulated draws."""

    power: PowerResult
    mde: MdeResult

    def headline(self, *, service_type: str | None = None) -> Note:
        """The decision-maker's sentence as facts (``power_design_headline``): "with
        ``n_adopters`` Pemda in ``waves`` waves, each observed ``months_after`` months with WFA,
        a ``change`` of ``effect_pct`` in ``outcome`` (``service_type``) is detected with
        ``power``; with ``target_power`` the design detects a ``mde_change`` of at least
        ``mde_pct``", with Monte Carlo SEs, the size at zero effect, the number of draws and of
        Pemda in the pool.

        ``change`` / ``mde_change``: ``<outcome>_up`` or ``<outcome>_down``, the direction of the
        effect asked about / of the MDE (the catalogue's ``label.pilot_change`` words: a slowdown
        or a saving); ``mde_status``: :attr:`MdeResult.status`."""
        p, m = self.power, self.mde
        effect_sign = np.sign(p.effect_pct) or m.direction
        return Note("power_design_headline", {
            "outcome": p.outcome, "service_type": service_type, "n_adopters": p.design.n_adopters,
            "waves": p.design.waves, "months_after": p.design.months_after,
            "effect_pct": p.effect_pct, "effect_sd_pct": p.effect_sd_pct, "alpha": p.alpha,
            "change": _change_code(p.outcome, effect_sign), "mde_change": _change_code(p.outcome, m.direction),
            "power": p.power, "power_se": p.power_se, "power_size_adjusted": p.power_size_adjusted,
            "size": p.size, "size_se": p.size_se, "target_power": m.target_power,
            "mde_pct": m.mde_pct, "mde_pct_se": m.mde_pct_se, "mde_status": m.status,
            "max_effect_pct": m.max_effect_pct,
            "mde_size_adjusted_pct": m.mde_size_adjusted_pct, "n_sims": p.n_sims,
            "n_pool_pemda": p.n_comparison_pemda + p.design.n_adopters})

    @property
    def notes(self) -> tuple[Note, ...]:
        seen, out = set(), []
        for note in (*self.power.notes, *self.mde.notes):
            key = (note.code, tuple(sorted(note.params.items())))
            if key not in seen:
                seen.add(key)
                out.append(note)
        return tuple(out)


def _change_code(outcome: str, sign) -> str:
    """``<outcome>_up`` / ``<outcome>_down``: the code of a change's direction (texts:
    ``label.pilot_change``)."""
    return f"{outcome}_{'up' if sign > 0 else 'down'}"


def _design_dict(design: PilotDesign) -> dict:
    return {"n_adopters": design.n_adopters, "waves": design.waves,
            "months_after": design.months_after, "months_before": design.months_before,
            "wave_gap_months": design.wave_gap_months, "first_wave_month": design.first_wave_month,
            "strata": design.strata}


def result_entries(assessment: DesignAssessment, *, excluded: pd.DataFrame | None = None,
                   measure: str = "") -> list[ResultEntry]:
    """``results.json`` entries of a design assessment: ``power`` (share, at ``effect_pct``),
    ``size`` (share, at zero effect) and ``mde_pct`` (percent, at ``target_power``), each with its
    Monte Carlo SE; the design, test and simulation settings are in ``estimand.details`` and
    ``inference.details``. An MDE not reached within ``max_effect_pct`` is written as a null
    estimate with ``estimand.details.mde_status`` = ``not_reached`` (``imprecise``: a null SE,
    the draws do not bound its Monte Carlo error). ``excluded``: the pool's excluded Pemda
    (``PilotOutcomes.excluded``); ``measure``: the logged quantity (``PilotOutcomes.measure``)."""
    p, m = assessment.power, assessment.mde
    details = {**_design_dict(p.design), "outcome": p.outcome, "measure": measure, "alpha": p.alpha,
               "effect_pct": p.effect_pct, "effect_sd_pct": p.effect_sd_pct,
               "target_power": m.target_power, "direction": m.direction, "test": "two_sided_wald",
               "effect": "proportional" if p.effect_sd_pct else "constant_proportional"}
    inference = Inference(method="monte_carlo", reason="simulated_pilots", details={
        "n_sims": p.n_sims, "seed": p.seed, "power_se": "binomial_agresti_coull", "mde_se": "order_statistic",
        "placebo": "seasonal_block_bootstrap"})
    sample = Sample(treated=(), comparison_count=p.n_comparison_pemda,
                    excluded=tuple(excluded[["region_code", "reason"]].to_dict("records"))
                    if excluded is not None else ())

    def estimand(what: str, scale: str, extra: dict) -> Estimand:
        return Estimand(outcome=what, scale=scale, units="simulated_adopter_pemda",
                        periods="pilot_months_wfa_in_force", weights="treated_cells_equal",
                        estimator=p.estimator, details={**details, **extra})

    return [
        ResultEntry(name="power", estimate=p.power, se=p.power_se, unit="share", label="power",
                    estimand=estimand("power", "share", {
                        "size": p.size, "size_se": p.size_se,
                        "power_size_adjusted": p.power_size_adjusted,
                        "power_size_adjusted_se": p.power_size_adjusted_se}),
                    sample=sample, inference=inference),
        ResultEntry(name="size", estimate=p.size, se=p.size_se, unit="share", label="size",
                    estimand=estimand("size", "share", {}), sample=sample, inference=inference),
        ResultEntry(name="mde_pct", estimate=m.mde_pct, se=m.mde_pct_se, unit="percent",
                    label="minimum detectable effect",
                    estimand=estimand("minimum_detectable_effect", "percent", {
                        "mde_status": m.status,
                        "max_effect_pct": m.max_effect_pct,
                        "mde_size_adjusted_pct": m.mde_size_adjusted_pct,
                        "mde_size_adjusted_pct_se": m.mde_size_adjusted_pct_se}),
                    sample=sample, inference=inference),
    ]
