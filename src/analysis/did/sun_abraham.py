"""Sun & Abraham (2021) interaction-weighted (IW) event study, on top of pyfixest.

Step 1 (cohort-specific effects, CATT): one regression with unit and period fixed effects and a
dummy for every treated cohort ``g`` x relative period ``e = t - g`` except the reference
``e = -1``:

    Y_it = alpha_i + lambda_t + sum_g sum_{e != -1} beta_{g,e} 1{G_i = g, t - g = e} (+ X_it'gamma) + u_it

The control cohort has no dummies: the never-treated units (``control="never"``, default), or the
last-treated cohort (``control="last"``), in which case every period from that cohort's
adoption on is dropped (SA's choice when no unit is never treated).
The regression is run with ``pyfixest.feols`` (``fixef_rm="none"``: no unit is dropped), with
CRV1 standard errors clustered by ``cluster`` (default: unit).

Step 2 (IW aggregation): for each relative period ``e``

    IW_e = sum_g w_{g,e} beta_{g,e},   w_{g,e} = n_{g,e} / sum_{g'} n_{g',e}

where ``n_{g,e}`` is the number (sum of ``weights``) of cohort-``g`` units observed at relative
period ``e`` in the estimation sample: the cohort shares among units observed at ``e`` (the
weights of pyfixest's ``SaturatedEventStudy.aggregate``). The weights are treated as fixed:
``Var(IW) = w' V w`` with ``V`` the cluster-robust covariance of the ``beta`` (delta method for a
linear combination; the extra variance term for estimated shares in SA's Proposition 6 is not
added, i.e. inference is conditional on the cohort sizes).

Overall effect: the average of all post-period (``e >= 0``) cohort effects weighted by the
number of treated unit-periods in each cell, ``sum_{g,e>=0} n_{g,e} beta_{g,e} / sum n_{g,e}``
(= cohort size x periods treated in a balanced panel; the same estimand as the ``simple``
aggregation of Callaway–Sant'Anna).

``.pretrend``: Wald test that all pre-period IW estimates (``e <= -2``) are zero, with their
covariance ``R V R'``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis.did._panel import check_never_treated, prepare_panel, warn_few_treated
from analysis.did.results import EventStudyResult, normal_ci, pretrend_wald_test

__all__ = ["sun_abraham", "cohort_event_design"]

REFERENCE_EVENT = -1


def _dummy_name(k: int, e: int) -> str:
    return f"sa_c{k}_e{'m' if e < 0 else ''}{abs(e)}"


def cohort_event_design(cohort: np.ndarray, time: np.ndarray, treated_cohorts: Sequence[int]):
    """Cohort x relative-period dummies (reference ``e = -1`` left out).

    ``cohort``, ``time``: internal integer arrays (one per observation); ``treated_cohorts``:
    the cohorts that get dummies. Returns ``(matrix, cells)`` where ``matrix`` is a float array
    (n_obs x n_cells) and ``cells`` a DataFrame ``name, cohort, event`` describing its columns.
    """
    rows = []
    cols = []
    rel = time - cohort
    for k, g in enumerate(treated_cohorts):
        in_g = cohort == g
        for e in np.unique(rel[in_g]):
            e = int(e)
            if e == REFERENCE_EVENT:
                continue
            cols.append((in_g & (rel == e)).astype(float))
            rows.append((_dummy_name(k, e), int(g), e))
    matrix = np.column_stack(cols) if cols else np.zeros((len(cohort), 0))
    return matrix, pd.DataFrame(rows, columns=["name", "cohort", "event"])


def sun_abraham(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    control: str = "never",
    alpha: float = 0.05,
) -> EventStudyResult:
    """Sun–Abraham IW event study (method, weights and SEs in the module docstring).

    ``data``: long panel (unbalanced allowed), one row per unit and period. ``cohort``: first
    treated period in the form of ``time`` (0 or missing = never treated). ``covariates``:
    time-varying controls added linearly. ``cluster``: column to cluster on (default ``unit``).
    ``weights``: regression weights (also used in the IW shares). ``control``: ``"never"``
    (never-treated units) or ``"last"`` (last-treated cohort, periods from its adoption on
    dropped).

    Returns an :class:`EventStudyResult` (``estimator="sun_abraham"``) whose event study has every
    relative period except the reference ``-1`` (reported as a row with ``att = 0`` and
    ``se = NaN``); ``details["cohort_effects"]`` holds the ``beta_{g,e}`` with SEs and IW weights.
    """
    import pyfixest as pf

    if control not in ("never", "last"):
        raise ValueError(f"control must be 'never' or 'last', got {control!r}")
    covariates = list(covariates or [])
    panel = prepare_panel(
        data, outcome=outcome, unit=unit, time=time, cohort=cohort,
        extra_columns=[*covariates, cluster, weights], estimator="sun_abraham",
    )
    warn_few_treated(panel.n_treated_units)
    df = panel.data.copy()
    if control == "never":
        check_never_treated(panel)
        treated_cohorts = list(panel.cohorts)
        control_label = "never treated"
    else:
        if len(panel.cohorts) < 2:
            raise ValueError("control='last' needs at least two treated cohorts")
        last = panel.cohorts[-1]
        df = df.loc[df["time"] < last].reset_index(drop=True)
        df.loc[df["cohort"] == last, "cohort"] = 0  # the last cohort is the control group
        treated_cohorts = [g for g in panel.cohorts if g != last]
        control_label = f"last-treated cohort ({panel.time_mapping.label(last)})"

    g = df["cohort"].to_numpy()
    t = df["time"].to_numpy()
    design, cells = cohort_event_design(g, t, treated_cohorts)
    reg = pd.DataFrame(design, columns=cells["name"].tolist())
    reg["_y"] = df["outcome"].to_numpy()
    reg["_unit"] = pd.factorize(df["unit"])[0]
    reg["_time"] = t
    for c in covariates:
        reg[c] = df[c].to_numpy(dtype=float)
    cluster_col = "_unit" if cluster is None else "_cluster"
    if cluster is not None:
        reg["_cluster"] = pd.factorize(df[cluster])[0]
    if weights is not None:
        reg["_w"] = df[weights].to_numpy(dtype=float)
    rhs = " + ".join([*cells["name"], *covariates])
    fit = pf.feols(
        f"_y ~ {rhs} | _unit + _time", data=reg, vcov={"CRV1": cluster_col},
        weights="_w" if weights is not None else None, fixef_rm="none",
    )
    coef = fit.coef()
    vcov_all = pd.DataFrame(fit._vcov, index=fit._coefnames, columns=fit._coefnames)
    names = cells["name"].tolist()
    missing = [n for n in names if n not in coef.index or not np.isfinite(coef[n])]
    if missing:
        raise ValueError(f"cohort x period effects not identified (collinear): {missing[:5]}")
    beta = coef[names].to_numpy()
    v_beta = vcov_all.loc[names, names].to_numpy()

    # IW shares: units observed in each (cohort, event) cell, weighted
    obs_w = reg["_w"].to_numpy() if weights is not None else np.ones(len(reg))
    n_cell = design.T @ obs_w
    cells = cells.assign(beta=beta, se=np.sqrt(np.diag(v_beta)), n=n_cell)
    cells["iw_weight"] = cells["n"] / cells.groupby("event")["n"].transform("sum")

    events = np.sort(cells["event"].unique())
    agg = np.zeros((len(events), len(names)))
    for i, e in enumerate(events):
        sel = (cells["event"] == e).to_numpy()
        agg[i, sel] = cells.loc[sel, "iw_weight"].to_numpy()
    att = agg @ beta
    v_event = agg @ v_beta @ agg.T
    se = np.sqrt(np.diag(v_event))

    post = (cells["event"] >= 0).to_numpy()
    w_overall = np.where(post, n_cell, 0.0)
    w_overall /= w_overall.sum()
    overall_att = float(w_overall @ beta)
    overall_se = float(np.sqrt(w_overall @ v_beta @ w_overall))
    olo, ohi = normal_ci(overall_att, overall_se, alpha)

    pre = events <= -2
    pretrend = pretrend_wald_test(
        att[pre], v_event[np.ix_(pre, pre)], events=tuple(int(e) for e in events[pre]),
        note="IW event-time estimates e <= -2 (reference e = -1), CRV1 covariance",
    )

    table = pd.DataFrame({"event": events.astype(int), "att": att, "se": se})
    ref = pd.DataFrame({"event": [REFERENCE_EVENT], "att": [0.0], "se": [np.nan]})
    table = pd.concat([table, ref], ignore_index=True).sort_values("event", kind="stable")
    order = table.index.to_numpy()
    table = table.reset_index(drop=True)
    lo, hi = normal_ci(table["att"].to_numpy(), table["se"].to_numpy(), alpha)
    table["ci_low"], table["ci_high"] = lo, hi
    n_ev = len(events)
    padded = np.full((n_ev + 1, n_ev + 1), np.nan)
    padded[:n_ev, :n_ev] = v_event
    event_vcov = padded[np.ix_(order, order)]

    cells["cohort"] = panel.time_mapping.to_label(cells["cohort"].to_numpy())
    return EventStudyResult(
        estimator="sun_abraham",
        event_table=table,
        overall_estimate={"att": overall_att, "se": overall_se,
                          "ci_low": float(olo), "ci_high": float(ohi)},
        pretrend=pretrend,
        n_units=panel.n_units,
        n_treated_units=panel.n_treated_units,
        cohorts=panel.cohort_labels,
        time_mapping=panel.time_mapping,
        alpha=alpha,
        event_vcov=event_vcov,
        details={
            "cohort_effects": cells.drop(columns="name"),
            "control": control_label,
            "covariate_coefficients": {c: float(coef[c]) for c in covariates},
            "n_obs": int(fit._N),
            "overall_weighting": "post-period cohort x event effects weighted by treated "
                                 "unit-periods (cohort size x periods)",
            "variance": "CRV1 (pyfixest) on the interaction coefficients; IW weights fixed",
        },
    )
