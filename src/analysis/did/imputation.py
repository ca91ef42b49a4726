"""Borusyak–Jaravel–Spiess (2024) imputation estimator for staggered adoption.

Model for untreated potential outcomes (BJS Assumption 1–2, no anticipation):

    Y_it(0) = alpha_i + beta_t + X_it' gamma + eps_it.

1. Fit alpha, beta (and gamma) by (weighted) least squares on the untreated observations Omega_0:
   never-treated units and not-yet-treated periods of eventually treated units.
2. Impute Y_it(0) for every treated observation (Omega_1: t >= first treated period) and take
   tau_it = Y_it - Y_it(0)-hat.
3. Average: the overall ATT weights every treated observation equally (or by ``weights``); the
   event study averages the treated observations ``e = t - cohort`` periods after adoption.

The first stage is solved exactly through the normal equations of the two-way fixed effects
(the unit effects are eliminated, leaving a ``T x T`` system solved with a pseudo-inverse), so a
cohort with a single pre-period keeps its unit effect (it is estimated from that one period);
nothing is dropped as a "singleton" (contrast: ``pyfixest.did2s`` crashes on mpdta for this
reason). A treated observation whose unit has no untreated period, or whose calendar period has
no untreated observation, cannot be imputed: it is left out of every average and counted in
``details["n_not_imputable"]`` (with a warning).

Standard errors (BJS Theorem 3, "conservative" variance): every estimate is linear in Y,
``tau_w = sum_it v_it Y_it``, with ``v_it = w_it`` on Omega_1 (the averaging weights) and
``v = -Z_0 (Z_0' W Z_0)^- Z_1' w`` on Omega_0 (the imputation weights). Then

    Var-hat = sum_c ( sum_{it in c} v_it * eps~_it )^2          (c = clusters, default units)

with ``eps~ = Y - fitted`` on Omega_0 and, on Omega_1, ``eps~_it = tau_it - tau-bar_it``, where
``tau-bar`` averages tau within cohort x period cells (= cohort x horizon, the default
``avgeffectsby`` of Stata ``did_imputation``) using the "smart" weights of ``did_imputation``
(cluster weight W_c = sum of v over the cluster's observations in the cell). With
``leave_out=True`` (default, BJS's recommendation; Stata option ``leaveout``) a cluster's own
observations are left out of its cell average, which removes the downward bias of the
residuals; a cell with a single cluster falls back to the ordinary average (warning). No
small-sample factor is applied. The covariance between estimates is ``S'S`` with ``S`` the
matrix of cluster sums, so the event-study covariance (``event_vcov``) is complete.

The cell averages ``tau-bar`` are computed once, with the overall estimand's weights, and used for
every estimand. For the overall ATT and the horizons this is exactly ``did_imputation``'s
per-estimand smart weighting (a cohort x period cell lies in one horizon, and within a cell the
weights of the overall and of the horizon estimand are proportional, which the smart-weighted
average does not see). For *group* estimands (``groups=``: the average over the treated
observations with a given value of a column) it pools the groups inside each cohort x period cell:
``did_imputation`` would average within the group only, and then a group with a single cluster in
a cohort (common for small heterogeneity groups) has residuals that sum to zero inside that
cluster, so its own noise never reaches the variance. Pooled, a real difference between groups
enters the residuals and makes the group variances conservative (BJS Theorem 3 holds for any
such averaging), never degenerate.

``influence()`` returns the cluster sums ``S`` as an :class:`~analysis.did.results.InfluenceFunction`
(one row per cluster), so joint tests across estimates, also across separate fits on the same
clusters, combine ``by_cluster()`` scores exactly as for Callaway–Sant'Anna.

Pre-trends (BJS Test 1): on Omega_0 only, regress Y on the fixed effects (and covariates) plus
dummies for ``e = -1, ..., -K`` periods before adoption; the event study reports these lead
coefficients for ``e < 0`` (deviation from the untreated fit, *not* relative to ``e = -1``) and
``.pretrend`` is their joint Wald test with the cluster-robust covariance (cluster sums of the
OLS scores, no small-sample factor). The lead regression does not change the effect estimates.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from analysis.did._panel import prepare_panel, warn_few_treated
from analysis.did.results import EventStudyResult, InfluenceFunction, normal_ci, pretrend_wald_test

__all__ = ["imputation"]


class _TwoWayNormalEquations:
    """Exact weighted least squares for ``y ~ unit FE + time FE`` on a set of observations.

    ``solve(r, s)`` solves the normal equations ``D'WD c = (r, s)`` for a right-hand side given
    as unit totals ``r`` and period totals ``s`` (minimum-norm solution of the time part), and
    returns the unit effects ``a`` (NaN for units without observations) and time effects ``b``.
    """

    def __init__(self, unit_idx, time_idx, w, n_units: int, n_periods: int):
        self.unit_idx, self.time_idx, self.w = unit_idx, time_idx, w
        cell = np.zeros((n_units, n_periods))
        np.add.at(cell, (unit_idx, time_idx), w)
        self.cell = cell
        self.unit_total = cell.sum(axis=1)
        self.time_total = cell.sum(axis=0)
        self.inv_unit = np.divide(1.0, self.unit_total, out=np.zeros(n_units),
                                  where=self.unit_total > 0)
        reduced = np.diag(self.time_total) - (cell.T * self.inv_unit) @ cell
        self.reduced_pinv = np.linalg.pinv(reduced, rcond=1e-12, hermitian=True)
        n_active = int((self.time_total > 0).sum())
        rank = np.linalg.matrix_rank(reduced, tol=1e-9 * max(1.0, np.abs(reduced).max()))
        self.connected = rank == n_active - 1

    def totals(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit and period totals of ``w * values`` over the observations."""
        wv = self.w * values
        r = np.bincount(self.unit_idx, wv, minlength=self.cell.shape[0])
        s = np.bincount(self.time_idx, wv, minlength=self.cell.shape[1])
        return r, s

    def solve(self, r: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = self.reduced_pinv @ (s - self.cell.T @ (r * self.inv_unit))
        a = (r - self.cell @ b) * self.inv_unit
        a[self.unit_total == 0] = np.nan
        return a, b

    def fit(self, values: np.ndarray) -> np.ndarray:
        """Fitted values of ``values`` (observations of this design) on the two-way FE."""
        a, b = self.solve(*self.totals(values))
        return a[self.unit_idx] + b[self.time_idx]


def _cluster_scores_ols(x_tilde, resid, w, cluster_idx, n_clusters):
    """OLS coefficients' cluster scores: rows ``(X'WX)^-1 sum_{it in c} x_it w_it u_it``."""
    bread = np.linalg.pinv(x_tilde.T @ (x_tilde * w[:, None]))
    per_obs = x_tilde * (w * resid)[:, None]
    sums = np.zeros((n_clusters, x_tilde.shape[1]))
    np.add.at(sums, cluster_idx, per_obs)
    return sums @ bread


def imputation(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    horizons: Sequence[int] | None = None,
    pretrends: int | None = None,
    leave_out: bool = True,
    groups: Sequence[str] = (),
    alpha: float = 0.05,
) -> EventStudyResult:
    """BJS imputation estimator (see the module docstring for the method and the variance).

    ``data``: long panel, one row per unit and period (unbalanced allowed). ``cohort``: first
    treated period in the same form as ``time`` (0 or missing = never treated).
    ``covariates``: time-varying controls in the untreated-outcome model (linear).
    ``cluster``: cluster column for the SEs (default: ``unit``). ``weights``: observation
    weights, used both in the first stage (WLS) and in the averages.
    ``horizons``: event times ``e >= 0`` to report (default: all observed); a horizon without
    treated observations gets NaN (never 0). ``pretrends``: number of leads ``K`` in the
    pre-trend regression (default: all but the earliest observed lead, which keeps the lead
    dummies from being collinear with the unit effects; 0 = no pre-trend test).
    ``leave_out``: leave-out cell averages in the variance (BJS recommendation).
    ``groups``: columns labelling treated observations; for each column and each of its values
    among the imputable treated observations, the ATT over those observations (same weights as the
    overall ATT; a missing value belongs to no group), reported in ``details["groups"]``
    (``column, group, att, se, ci_low, ci_high, n_obs, n_clusters``) with the cluster-robust
    variance of the module doc (cell averages pooled across groups).

    Returns an :class:`EventStudyResult` with ``estimator="imputation"``; ``.overall()`` is the
    ATT over all imputable treated observations; ``details["effects"]`` holds the per-observation
    tau (columns ``unit, time, cohort, event, tau`` with time labels as in the input, plus the
    ``groups`` columns); ``.influence(kind)`` the cluster scores of ``"simple"`` (the overall
    ATT), ``"event"`` or ``"group"`` (columns ``(column, value)``).
    """
    covariates = list(covariates or [])
    groups = [groups] if isinstance(groups, str) else list(groups)
    panel = prepare_panel(
        data, outcome=outcome, unit=unit, time=time, cohort=cohort,
        extra_columns=[*covariates, cluster, weights, *groups], estimator="imputation",
        optional_columns=groups,
    )
    warn_few_treated(panel.n_treated_units)
    df = panel.data
    unit_codes, unit_labels = pd.factorize(df["unit"], sort=True)
    time_vals = df["time"].to_numpy()
    periods = np.unique(time_vals)
    time_idx = np.searchsorted(periods, time_vals)
    g = df["cohort"].to_numpy()
    y = df["outcome"].to_numpy(dtype=float)
    omega = np.ones(len(df)) if weights is None else df[weights].to_numpy(dtype=float)
    if np.any(omega <= 0) or not np.all(np.isfinite(omega)):
        raise ValueError(f"weights column {weights!r} must be positive and finite")
    clus = df["unit"] if cluster is None else df[cluster]
    cluster_idx, cluster_labels = pd.factorize(clus, sort=True)
    n_clusters = len(cluster_labels)
    n_units, n_periods = len(unit_labels), len(periods)

    treated = (g > 0) & (time_vals >= g)
    event = np.where(g > 0, time_vals - g, 0)
    untreated = ~treated
    fe = _TwoWayNormalEquations(unit_codes[untreated], time_idx[untreated], omega[untreated],
                                n_units, n_periods)
    if not fe.connected:
        warnings.warn("the untreated observations do not connect all units and periods; "
                      "imputed values depend on the normalisation of the fixed effects",
                      UserWarning, stacklevel=2)

    # ---- first stage (FWL for covariates)
    x_all = df[covariates].to_numpy(dtype=float) if covariates else np.zeros((len(df), 0))
    x0 = x_all[untreated]
    w0 = omega[untreated]
    y0 = y[untreated]
    if covariates:
        x0_tilde = x0 - np.column_stack([fe.fit(x0[:, j]) for j in range(x0.shape[1])])
        xtx = x0_tilde.T @ (x0_tilde * w0[:, None])
        scale = max(float(np.sqrt((w0[:, None] * x0**2).sum(axis=0)).max()), 1e-300)
        tol = 1e-8 * scale
        if np.linalg.matrix_rank(x0_tilde * np.sqrt(w0)[:, None], tol=tol) < x0.shape[1]:
            raise ValueError(f"covariates {covariates} are collinear with the fixed effects "
                             "on the untreated observations")
        xtx_inv = np.linalg.inv(xtx)
        gamma = xtx_inv @ (x0_tilde.T @ (w0 * y0))
    else:
        x0_tilde = x0
        xtx_inv = np.zeros((0, 0))
        gamma = np.zeros(0)
    a_hat, b_hat = fe.solve(*fe.totals(y0 - x0 @ gamma))
    no_untreated_period = fe.time_total[time_idx] == 0
    y0_hat = a_hat[unit_codes] + b_hat[time_idx] + x_all @ gamma
    y0_hat[no_untreated_period] = np.nan
    resid0 = y0 - y0_hat[untreated]

    imputable = treated & np.isfinite(y0_hat)
    n_not_imputable = int((treated & ~imputable).sum())
    if n_not_imputable:
        warnings.warn(f"{n_not_imputable} treated observation(s) cannot be imputed (their unit "
                      "has no untreated period, or their period has no untreated observation) "
                      "and are left out of every average", UserWarning, stacklevel=2)
    tau = np.where(imputable, y - y0_hat, np.nan)

    idx1 = np.flatnonzero(imputable)
    tau1, omega1, event1 = tau[idx1], omega[idx1], event[idx1]
    unit1, time1, cl1 = unit_codes[idx1], time_idx[idx1], cluster_idx[idx1]

    # ---- estimands: overall + each horizon; columns of the averaging-weight matrix on Omega_1
    observed_h = np.unique(event1)
    hs = [int(h) for h in (observed_h if horizons is None else horizons)]
    if any(h < 0 for h in hs):
        raise ValueError(f"horizons must be >= 0 (periods since adoption), got {hs}")
    weight_cols, names = [omega1 / omega1.sum()], ["overall"]
    for h in hs:
        sel = event1 == h
        if sel.any():
            weight_cols.append(np.where(sel, omega1, 0.0) / omega1[sel].sum())
            names.append(h)
    n_event_cols = len(weight_cols)
    group_rows = []
    for column in groups:
        labels = df[column].to_numpy(dtype=object)[idx1]
        for value in sorted({v for v in labels if not pd.isna(v)}, key=str):
            sel = labels == value
            weight_cols.append(np.where(sel, omega1, 0.0) / omega1[sel].sum())
            group_rows.append((column, value, int(sel.sum()), int(np.unique(cl1[sel]).size)))
    w1 = np.column_stack(weight_cols)
    estimates = w1.T @ tau1

    # ---- imputation weights v0 = -W0 Z0 (Z0'W0Z0)^- Z1'w1, per estimand
    u0, t0, cl0 = unit_codes[untreated], time_idx[untreated], cluster_idx[untreated]
    x1 = x_all[idx1]
    v0 = np.empty((untreated.sum(), w1.shape[1]))
    for k in range(w1.shape[1]):
        r = np.bincount(unit1, w1[:, k], minlength=n_units)
        s = np.bincount(time1, w1[:, k], minlength=n_periods)
        a_h, b_h = fe.solve(r, s)
        fitted_h = a_h[u0] + b_h[t0]
        if covariates:
            g_k = xtx_inv @ (x1.T @ w1[:, k] - x0.T @ (w0 * fitted_h))
            a_c, b_c = fe.solve(*fe.totals(x0 @ g_k))
            fitted_h = fitted_h - (a_c[u0] + b_c[t0]) + x0 @ g_k
        v0[:, k] = -w0 * fitted_h

    # ---- residuals on Omega_1: tau - cell average (cohort x period), smart weights of the
    # overall estimand, leave-out; the same residuals serve every estimand (module doc)
    cell_codes, _ = pd.factorize(pd.MultiIndex.from_arrays([g[idx1], time1]))
    cc_codes, cc_uniques = pd.factorize(pd.MultiIndex.from_arrays([cell_codes, cl1]))
    cell_of_cc = np.asarray(cc_uniques.get_level_values(0))
    n_cells = cell_codes.max() + 1 if len(cell_codes) else 0
    fallback_cells = 0
    v_overall = w1[:, 0]
    wc = np.bincount(cc_codes, v_overall)  # cluster weight in the cell
    tc = np.bincount(cc_codes, v_overall * tau1)
    swt = np.bincount(cell_of_cc, wc * tc, minlength=n_cells)
    sw2 = np.bincount(cell_of_cc, wc * wc, minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_all = swt / sw2
        if leave_out:
            num = swt[cell_of_cc] - wc * tc
            den = sw2[cell_of_cc] - wc * wc
            ok = den > 1e-12 * np.maximum(sw2[cell_of_cc], 1e-300)
            avg_cc = np.where(ok, num / np.where(ok, den, 1.0), avg_all[cell_of_cc])
            fallback_cells += int(np.sum(~ok & (wc != 0)))
        else:
            avg_cc = avg_all[cell_of_cc]
    resid1 = tau1 - avg_cc[cc_codes]
    scores = np.zeros((n_clusters, w1.shape[1]))
    for k in range(w1.shape[1]):
        v = w1[:, k]
        eps1 = np.where(v != 0, resid1, 0.0)
        scores[:, k] = np.bincount(cl1, v * eps1, minlength=n_clusters) + np.bincount(
            cl0, v0[:, k] * resid0, minlength=n_clusters)
    if fallback_cells:
        warnings.warn("some cohort x period cells have a single cluster: the leave-out average "
                      "is undefined there and the ordinary cell average is used",
                      UserWarning, stacklevel=2)

    # ---- pre-trend leads on Omega_0
    pre_g = g[untreated]
    pre_e = np.where(pre_g > 0, time_vals[untreated] - pre_g, 0)
    leads_available = sorted({int(e) for e in pre_e[pre_g > 0]}, reverse=True)  # -1, -2, ...
    if pretrends is None:
        n_leads = max(len(leads_available) - 1, 0)
    else:
        n_leads = int(pretrends)
    leads = [e for e in leads_available if e >= -n_leads]
    pre_scores = np.zeros((n_clusters, 0))
    lead_coef = np.zeros(0)
    if leads:
        d_lead = np.column_stack([((pre_g > 0) & (pre_e == e)).astype(float) for e in leads])
        xl = np.column_stack([d_lead, x0])
        xl_tilde = xl - np.column_stack([fe.fit(xl[:, j]) for j in range(xl.shape[1])])
        y0_tilde = y0 - fe.fit(y0)
        coef, *_ = np.linalg.lstsq(xl_tilde * np.sqrt(w0)[:, None], y0_tilde * np.sqrt(w0),
                                   rcond=None)
        u_lead = y0_tilde - xl_tilde @ coef
        pre_scores = _cluster_scores_ols(xl_tilde, u_lead, w0, cl0, n_clusters)[:, :len(leads)]
        lead_coef = coef[: len(leads)]

    # ---- assemble
    post_names = names[1:]
    all_scores = np.column_stack([pre_scores[:, ::-1], scores[:, 1:n_event_cols]])
    vcov_events = all_scores.T @ all_scores
    est_events = np.concatenate([lead_coef[::-1], estimates[1:n_event_cols]])
    ev_index = [*leads[::-1], *post_names]
    table = pd.DataFrame({"event": ev_index, "att": est_events,
                          "se": np.sqrt(np.diag(vcov_events))})
    missing_h = [h for h in hs if h not in post_names]
    if missing_h:
        table = pd.concat([table, pd.DataFrame({"event": missing_h, "att": np.nan,
                                                "se": np.nan})], ignore_index=True)
    table["event"] = table["event"].astype(int)
    order = np.argsort(table["event"].to_numpy(), kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    lo, hi = normal_ci(table["att"].to_numpy(), table["se"].to_numpy(), alpha)
    table["ci_low"], table["ci_high"] = lo, hi
    # covariance in table order (NaN rows for empty horizons)
    full_vcov = np.full((len(table), len(table)), np.nan)
    pos = {e: i for i, e in enumerate(table["event"])}
    rows = [pos[e] for e in ev_index]
    full_vcov[np.ix_(rows, rows)] = vcov_events

    overall_se = float(np.sqrt(scores[:, 0] @ scores[:, 0]))
    olo, ohi = normal_ci(estimates[0], overall_se, alpha)
    overall = {"att": float(estimates[0]), "se": overall_se,
               "ci_low": float(olo), "ci_high": float(ohi)}

    pretrend = None
    if leads:
        pre_v = pre_scores.T @ pre_scores
        pretrend = pretrend_wald_test(
            lead_coef, pre_v, events=tuple(leads),
            note="BJS Test 1: lead dummies e=-1..-K added to the untreated-outcome regression "
                 "on untreated observations; cluster-robust covariance",
        )

    effects = pd.DataFrame({
        "unit": df["unit"].to_numpy()[idx1],
        "time": panel.time_mapping.to_label(time_vals[idx1]),
        "cohort": panel.time_mapping.to_label(g[idx1]),
        "event": event1.astype(int),
        "tau": tau1,
        **{column: df[column].to_numpy()[idx1] for column in groups},
    })
    group_se = np.sqrt((scores[:, n_event_cols:] ** 2).sum(axis=0))
    group_att = estimates[n_event_cols:]
    glo, ghi = normal_ci(group_att, group_se, alpha)
    group_table = pd.DataFrame({
        "column": [r[0] for r in group_rows], "group": [r[1] for r in group_rows],
        "att": group_att, "se": group_se, "ci_low": glo, "ci_high": ghi,
        "n_obs": [r[2] for r in group_rows], "n_clusters": [r[3] for r in group_rows],
    })
    columns = ("overall", *post_names, *[(r[0], r[1]) for r in group_rows])
    influence = InfluenceFunction(values=scores * n_clusters, estimates=estimates,
                                  unit_ids=tuple(cluster_labels), cluster_ids=tuple(cluster_labels),
                                  columns=columns)
    return EventStudyResult(
        estimator="imputation",
        event_table=table,
        overall_estimate=overall,
        pretrend=pretrend,
        n_units=panel.n_units,
        n_treated_units=panel.n_treated_units,
        cohorts=panel.cohort_labels,
        time_mapping=panel.time_mapping,
        alpha=alpha,
        event_vcov=full_vcov,
        details={
            "effects": effects,
            "n_treated_obs": int(treated.sum()),
            "n_not_imputable": n_not_imputable,
            "n_untreated_obs": int(untreated.sum()),
            "covariate_coefficients": dict(zip(covariates, gamma.tolist())),
            "groups": group_table,
            "influence": influence,
            "leave_out": leave_out,
            "n_clusters": n_clusters,
            "variance": "BJS (2024) Theorem 3 conservative variance; tau averaged by cohort x "
                        "period with did_imputation smart weights"
                        + (", leave-out" if leave_out else "") + "; no small-sample factor",
        },
    )
