"""Estimators and tests run inside the power simulation, behind one small interface.

A *pilot estimator* is a callable ``estimator(draw: PilotDraw) -> DrawEstimate``: it estimates
the overall ATT of one simulated pilot and tests "no effect" at its own level, returning the
two-sided p-value. It also says whether it is *shift-equivariant*: adding a constant ``delta`` to
the outcome of every treated cell adds exactly ``delta`` to the estimate, leaves the standard
error unchanged, and the p-value is the two-sided normal Wald p-value ``2 Phi(-|att| / se)``.
For such an estimator one fit per draw at zero effect gives the test at every effect size
(:mod:`analysis.power.simulate` uses this); any other estimator (randomization inference, a wild
bootstrap, ...) is refitted at every effect size it is evaluated at.

- :class:`FastImputation` (the default): the BJS imputation estimator's overall ATT (every
  treated cell weighted equally) with its cluster-robust "conservative" variance and leave-out
  residuals, exactly as :func:`analysis.did.imputation` computes it (a test checks 1e-8
  agreement), computed on the dense units × months arrays of a draw. Shift-equivariant: the
  untreated-outcome model uses untreated cells only, so a constant added to treated cells moves
  every ``tau_it`` and every cohort × period cell average by the same constant.
- :class:`DidEstimator`: any estimator of :mod:`analysis.did` (``imputation``,
  ``callaway_santanna`` with a universal base period, ...) through its ``.overall()``; slow (it
  builds a DataFrame and runs the full estimator) but it is the project's own code path. Pass
  ``equivariant=False`` for an estimator whose test is not a normal Wald test.

Few treated Pemda. Below roughly 10–20 adopting Pemda the cluster-robust SE is too small and the
Wald test over-rejects; the power engine therefore reports the rejection rate at zero effect
(the size) next to every power, and a size-adjusted power. For the real evaluation of such a
pilot use the few-treated inference of :mod:`analysis.did` (randomization inference), wrapped as
a pilot estimator with ``equivariant = False``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Protocol

import numpy as np
import pandas as pd

from analysis.did.results import normal_pvalue
from analysis.power.twoway import DenseTwoWay

__all__ = ["DidEstimator", "DrawEstimate", "FastImputation", "PilotDraw", "PilotEstimator"]


@dataclass(frozen=True)
class PilotDraw:
    """One simulated pilot: outcomes and who adopts when.

    ``values``: ``n_units x n_months`` outcome on the analysis scale (log), ``NaN`` where the
    unit has no cell that month. ``cohort``: per unit, the 1-based month index of adoption
    (1 = first simulated month) or 0 for units that never adopt; the unit is treated from that
    month on. ``cluster``: per unit, the integer code (``0 .. n_clusters - 1``) of its Pemda,
    the level at which adoption is assigned and standard errors are clustered; every unit of a
    Pemda has the Pemda's cohort.
    """

    values: np.ndarray
    cohort: np.ndarray
    cluster: np.ndarray
    n_clusters: int

    def treated(self) -> np.ndarray:
        """Boolean ``n_units x n_months``: cells observed with WFA in force."""
        months = np.arange(1, self.values.shape[1] + 1)
        in_force = (self.cohort[:, None] > 0) & (months[None, :] >= self.cohort[:, None])
        return in_force & np.isfinite(self.values)

    def with_effect(self, effect_log: float) -> "PilotDraw":
        """The same draw with ``effect_log`` (log points) added to every treated cell."""
        if effect_log == 0:
            return self
        return replace(self, values=np.where(self.treated(), self.values + effect_log, self.values))

    def to_frame(self) -> pd.DataFrame:
        """Long panel of the observed cells: ``unit, cluster, time`` (1-based), ``cohort``
        (0 = never), ``y`` — the column layout the :mod:`analysis.did` estimators take."""
        units, months = np.nonzero(np.isfinite(self.values))
        return pd.DataFrame({
            "unit": units, "cluster": self.cluster[units], "time": months + 1,
            "cohort": self.cohort[units], "y": self.values[units, months],
        })


@dataclass(frozen=True)
class DrawEstimate:
    """The estimate of one draw: overall ATT and its SE (log points), the two-sided p-value of
    "no effect", the number of treated cells averaged and of treated cells that could not be
    imputed (a unit without an untreated cell, a month without one)."""

    att: float
    se: float
    pvalue: float
    n_treated_cells: int = 0
    n_not_imputable: int = 0


class PilotEstimator(Protocol):
    """What the power engine calls (see the module docstring)."""

    name: str
    equivariant: bool

    def __call__(self, draw: PilotDraw) -> DrawEstimate: ...


def _sum_rows(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Rows of ``values`` summed by ``group`` (an integer code per row): ``n_groups x n_cols``."""
    n_cols = values.shape[1]
    index = (group[:, None] * n_cols + np.arange(n_cols)[None, :]).ravel()
    return np.bincount(index, values.ravel(), minlength=n_groups * n_cols).reshape(n_groups, n_cols)


@dataclass(frozen=True)
class FastImputation:
    """BJS imputation ATT with the cluster-robust conservative variance, on a dense draw.

    Same estimator, weights and variance as ``analysis.did.imputation(data, outcome, unit, time,
    cohort, cluster=<Pemda>)`` (defaults: no covariates, equal weights, ``leave_out=True``) for
    the ``overall`` ATT; see that module for the method. A cohort × month cell with treated
    cells of a single Pemda has no leave-out average; the ordinary cell average is used there,
    as in :func:`analysis.did.imputation`. No pre-trend regression (not needed for power).
    """

    name: str = "imputation"
    equivariant: bool = True
    leave_out: bool = True

    def __call__(self, draw: PilotDraw) -> DrawEstimate:
        y = draw.values
        treated = draw.treated()
        untreated = np.isfinite(y) & ~treated
        fe = DenseTwoWay(untreated)
        y0_hat = fe.fit(y)
        imputable = treated & np.isfinite(y0_hat)
        n_imputed = int(imputable.sum())
        n_not_imputable = int(treated.sum()) - n_imputed
        if n_imputed == 0:
            return DrawEstimate(np.nan, np.nan, np.nan, 0, n_not_imputable)
        tau = np.where(imputable, y - y0_hat, 0.0)
        weight = 1.0 / n_imputed
        att = float(tau.sum() * weight)
        resid0 = np.where(untreated, y - y0_hat, 0.0)

        # imputation weights on untreated cells: v0 = -(fit of the averaging weights)
        a_w, b_w = fe.solve(imputable.sum(axis=1) * weight, imputable.sum(axis=0) * weight)
        v0 = np.where(untreated, -(a_w[:, None] + b_w[None, :]), 0.0)

        # treated residuals: tau minus its cohort x month average over the *other* Pemda
        # (leave-out; each Pemda weighted by its number of treated cells in the cell)
        cluster = draw.cluster
        n_cells = _sum_rows(imputable.astype(float), cluster, draw.n_clusters)
        tau_sum = _sum_rows(tau, cluster, draw.n_clusters)
        cluster_cohort = np.zeros(draw.n_clusters, dtype=np.int64)
        cluster_cohort[cluster] = draw.cohort
        cohorts, cohort_index = np.unique(cluster_cohort, return_inverse=True)
        cross = _sum_rows(n_cells * tau_sum, cohort_index, len(cohorts))
        square = _sum_rows(n_cells * n_cells, cohort_index, len(cohorts))
        cross_c, square_c = cross[cohort_index], square[cohort_index]
        with np.errstate(invalid="ignore", divide="ignore"):
            average = cross_c / square_c
            if self.leave_out:
                num = cross_c - n_cells * tau_sum
                den = square_c - n_cells * n_cells
                ok = den > 1e-12 * np.maximum(square_c, 1e-300)
                average = np.where(ok, num / np.where(ok, den, 1.0), average)
        average = np.where(n_cells > 0, average, 0.0)
        score = weight * (tau_sum - n_cells * average).sum(axis=1)
        score += np.bincount(cluster, (v0 * resid0).sum(axis=1), minlength=draw.n_clusters)
        se = float(np.sqrt(score @ score))
        return DrawEstimate(att, se, normal_pvalue(att, se), n_imputed, n_not_imputable)


@dataclass(frozen=True)
class DidEstimator:
    """Any :mod:`analysis.did` estimator as a pilot estimator, through ``.overall()``.

    ``function``: e.g. ``analysis.did.imputation`` or ``analysis.did.callaway_santanna``;
    called as ``function(frame, outcome="y", unit="unit", time="time", cohort="cohort",
    cluster="cluster", **options)`` on :meth:`PilotDraw.to_frame`, with the estimator's
    warnings (few treated units, single-cluster cells) silenced: the power engine measures
    their consequence (the size) instead. The p-value is the normal Wald p-value of the
    overall ATT, so ``equivariant`` is true whenever the estimator's ATT shifts with a constant
    treated-cell effect and its SE does not (imputation, Callaway–Sant'Anna).
    """

    function: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    equivariant: bool = True

    def __call__(self, draw: PilotDraw) -> DrawEstimate:
        frame = draw.to_frame()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = self.function(frame, outcome="y", unit="unit", time="time", cohort="cohort",
                                   cluster="cluster", **dict(self.options))
        overall = result.overall()
        att, se = overall["att"], overall["se"]
        details = getattr(result, "details", {}) or {}
        not_imputable = int(details.get("n_not_imputable", 0))
        return DrawEstimate(att, se, normal_pvalue(att, se),
                            int(draw.treated().sum()) - not_imputable, not_imputable)
