"""The overall ATT of the BJS imputation estimator and its standard error, on a balanced panel
held as matrices: the statistic that randomization inference re-computes for every assignment.

Same estimator and numbers as :func:`analysis.did.imputation` (``.overall()``: every treated
observation weighted equally, no observation weights, leave-out cell averages in the BJS
Theorem 3 variance, clusters as given; tests/test_did_inference.py checks equality to 1e-10), but
without the event study, the pre-trend regression and the long-panel bookkeeping, so that one
call on 552 Pemda x 46 months takes milliseconds instead of a quarter of a second.

Restrictions (each raises ``ValueError`` naming the column): the panel must be balanced (every
unit observed in every period, no missing outcome or covariate), every treated unit must have
an untreated period, and every period an untreated observation.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


class _BalancedPanel:
    """Outcome ``y`` (units x periods), covariates ``x`` (units x periods x p), the cluster code
    of each unit and the period index from which each unit is treated (``n_periods`` = never)."""

    def __init__(self, data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
                 covariates: Sequence[str], cluster: str | None):
        columns = [outcome, unit, time, cohort, *covariates] + ([cluster] if cluster else [])
        missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
        if missing:
            raise ValueError(f"column(s) not in the data: {', '.join(missing)}")
        unit_codes, units = pd.factorize(data[unit], sort=True)
        time_codes, periods = pd.factorize(data[time], sort=True)
        n_units, n_periods = len(units), len(periods)
        if len(data) != n_units * n_periods:
            raise ValueError(f"the panel is not balanced: {len(data)} rows for {n_units} units x "
                             f"{n_periods} periods of column {time!r}")
        position = unit_codes * n_periods + time_codes
        if np.bincount(position, minlength=n_units * n_periods).max() > 1:
            raise ValueError(f"duplicate {unit!r} x {time!r} rows")
        self.y = np.empty(n_units * n_periods)
        self.y[position] = data[outcome].to_numpy(dtype=float)
        self.y = self.y.reshape(n_units, n_periods)
        if not np.isfinite(self.y).all():
            raise ValueError(f"column {outcome!r} has missing or non-finite values")
        self.x = np.empty((n_units * n_periods, len(covariates)))
        self.x[position] = data[list(covariates)].to_numpy(dtype=float) if covariates else 0.0
        self.x = self.x.reshape(n_units, n_periods, len(covariates))
        if not np.isfinite(self.x).all():
            raise ValueError(f"covariate column(s) {list(covariates)} have missing values")
        first_row = np.full(n_units, -1)
        first_row[unit_codes[::-1]] = np.arange(len(data))[::-1]
        cohort_codes, cohort_values = pd.factorize(data[cohort])
        if (cohort_codes != cohort_codes[first_row][unit_codes]).any():
            raise ValueError(f"column {cohort!r} varies within a unit of {unit!r}")
        self.start = np.full(n_units, n_periods)
        codes = cohort_codes[first_row]
        treated_values = [k for k, g in enumerate(cohort_values) if not (g == 0 or g == "0")]
        treated = np.isin(codes, treated_values)
        if treated.any():
            labels = np.asarray(cohort_values, dtype=object)[codes[treated]]
            self.start[treated] = np.searchsorted(np.asarray(periods, dtype=object), labels)
        if cluster is None:
            self.cluster = np.arange(n_units)
        else:
            cluster_codes, _ = pd.factorize(data[cluster])
            if (cluster_codes != cluster_codes[first_row][unit_codes]).any():
                raise ValueError(f"column {cluster!r} varies within a unit of {unit!r}")
            self.cluster = pd.factorize(cluster_codes[first_row])[0]
        self.n_clusters = int(self.cluster.max()) + 1


class _TwoWayFit:
    """Least squares on unit and period effects over the untreated cells ``mask`` (units x
    periods, 1 = untreated): ``solve(r, s)`` solves the normal equations for unit totals ``r`` and
    period totals ``s`` (minimum-norm period part), ``fitted(z)`` projects a matrix ``z``."""

    def __init__(self, mask: np.ndarray):
        self.mask = mask
        self.unit_total = mask.sum(axis=1)
        self.time_total = mask.sum(axis=0)
        if (self.unit_total == 0).any():
            raise ValueError("a treated unit has no untreated period (cohort at or before the "
                             "first period): its outcome without treatment cannot be imputed")
        if (self.time_total == 0).any():
            raise ValueError("a period has no untreated observation: nothing to impute from")
        reduced = np.diag(self.time_total) - mask.T @ (mask / self.unit_total[:, None])
        self.reduced_pinv = np.linalg.pinv(reduced, rcond=1e-12, hermitian=True)

    def solve(self, r: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = self.reduced_pinv @ (s - self.mask.T @ (r / self.unit_total))
        a = (r - self.mask @ b) / self.unit_total
        return a, b

    def fitted(self, z: np.ndarray) -> np.ndarray:
        zm = z * self.mask
        a, b = self.solve(zm.sum(axis=1), zm.sum(axis=0))
        return a[:, None] + b[None, :]


def balanced_imputation_att(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] | None = None,
    cluster: str | None = None,
) -> tuple[float, float]:
    """``(att, se)``: the BJS imputation estimate of the ATT over all treated observations and its
    conservative cluster-robust standard error (clusters: ``cluster``, default the unit), in the
    units of ``outcome``. ``cohort``: first treated period in the form of ``time`` (0 or missing =
    never treated). ``covariates``: time-varying controls of the untreated-outcome model."""
    covariates = list(covariates or [])
    panel = _BalancedPanel(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                           covariates=covariates, cluster=cluster)
    n_units, n_periods = panel.y.shape
    treated = np.arange(n_periods)[None, :] >= panel.start[:, None]
    n_treated = int(treated.sum())
    if n_treated == 0:
        raise ValueError(f"no treated observation (column {cohort!r})")
    mask = (~treated).astype(float)
    fe = _TwoWayFit(mask)
    y, x = panel.y, panel.x
    p = x.shape[2]
    if p:
        x_tilde = np.stack([(x[:, :, j] - fe.fitted(x[:, :, j])) * mask for j in range(p)], axis=2)
        xtx = np.einsum("itj,itk->jk", x_tilde, x_tilde)
        if np.linalg.matrix_rank(xtx) < p:
            raise ValueError(f"covariates {covariates} are collinear with the fixed effects on "
                             "the untreated observations")
        xtx_inv = np.linalg.inv(xtx)
        gamma = xtx_inv @ np.einsum("itj,it->j", x_tilde, y * mask)
    else:
        xtx_inv, gamma = np.zeros((0, 0)), np.zeros(0)
    xg = x @ gamma
    y0_hat = fe.fitted(y - xg) + xg
    tau = np.where(treated, y - y0_hat, 0.0)
    att = float(tau.sum() / n_treated)

    # imputation weights of the untreated observations (v0 = -Z0 (Z0'Z0)^- Z1'w1)
    w1 = treated / n_treated
    a_h, b_h = fe.solve(w1.sum(axis=1), w1.sum(axis=0))
    fitted_h = (a_h[:, None] + b_h[None, :]) * mask
    if p:
        g = xtx_inv @ (np.einsum("itj,it->j", x, w1) - np.einsum("itj,it->j", x, fitted_h))
        xg_h = x @ g
        fitted_h = (fitted_h - fe.fitted(xg_h) + xg_h) * mask
    v0 = -fitted_h
    resid0 = (y - y0_hat) * mask

    # residuals of the treated observations: tau minus the leave-out average of the other
    # clusters in the same cohort x period cell (smart weights W_c = sum of w1 in the cell)
    rows, cols = np.nonzero(treated)
    cell = panel.start[rows] * n_periods + cols
    cell_codes, cell_index = np.unique(cell, return_inverse=True)
    cc = cell_index * panel.n_clusters + panel.cluster[rows]
    cc_codes, cc_index = np.unique(cc, return_inverse=True)
    cell_of_cc = cc_codes // panel.n_clusters
    v = w1[rows, cols]
    wc = np.bincount(cc_index, v)
    tc = np.bincount(cc_index, v * tau[rows, cols])
    swt = np.bincount(cell_of_cc, wc * tc, minlength=len(cell_codes))
    sw2 = np.bincount(cell_of_cc, wc * wc, minlength=len(cell_codes))
    num, den = swt[cell_of_cc] - wc * tc, sw2[cell_of_cc] - wc * wc
    ok = den > 1e-12 * sw2[cell_of_cc]
    average = np.where(ok, num / np.where(ok, den, 1.0), swt[cell_of_cc] / sw2[cell_of_cc])
    eps1 = tau[rows, cols] - average[cc_index]
    scores = (np.bincount(panel.cluster[rows], v * eps1, minlength=panel.n_clusters)
              + np.bincount(panel.cluster, (v0 * resid0).sum(axis=1), minlength=panel.n_clusters))
    return att, float(np.sqrt(scores @ scores))
