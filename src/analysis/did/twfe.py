"""Two-way fixed effects (TWFE) baseline on pyfixest: static coefficient and event study.

Static: ``y_it = beta * D_it + alpha_i + lambda_t (+ X_it'gamma) + e_it`` with
``D_it = 1{cohort_i != 0 and t >= cohort_i}``. ``overall()`` is ``beta``.

Event study: relative-time dummies ``1{t - cohort_i = e}`` for every event time ``e`` observed
among treated units except the reference ``e = -1`` (and, when there are no never-treated
units, also the earliest event time, since unit and time effects then absorb one more
dummy). No binning: every observed event time gets its own coefficient. ``event_study()``
lists the reference row with ``att = se = 0`` so plots show the normalisation.

Under staggered adoption with heterogeneous effects both regressions are biased (negative
weights, contaminated leads/lags); they are reported only as the familiar baseline next to the
robust estimators.

Inference: cluster-robust CRV1 (fixest small-sample convention, fixed effects nested in the
cluster not counted), clustered by unit unless ``cluster`` is given; confidence intervals use
the t distribution with G - 1 degrees of freedom (G = number of clusters), as pyfixest.
``pretrend``: chi-squared Wald test that all pre-period coefficients (e <= -2) are zero, with
the clustered covariance.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import pyfixest as pf
from scipy import stats

from analysis.did._panel import prepare_panel, warn_few_treated
from analysis.did.results import EventStudyResult, pretrend_wald_test

REFERENCE_EVENT = -1


def _event_name(e: int) -> str:
    return f"ev_m{-e}" if e < 0 else f"ev_p{e}"


def twfe(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    alpha: float = 0.05,
    dropna: bool = False,
) -> EventStudyResult:
    """Static TWFE and TWFE event study (reference period -1), clustered SEs.

    Column arguments as in :func:`analysis.did.callaway_santanna` (``cohort`` 0 or missing =
    never treated; integer or monthly time). ``covariates`` enter linearly; ``weights`` are
    regression weights; unbalanced panels are accepted. Returns an :class:`EventStudyResult`
    with ``estimator="twfe"``; ``details`` holds the static and event-study pyfixest fits
    (``"static_fit"``, ``"event_fit"``) and the reference event.
    """
    covariates = list(covariates or [])
    panel = prepare_panel(
        data, outcome=outcome, unit=unit, time=time, cohort=cohort,
        extra_columns=[*covariates, cluster, weights], dropna=dropna, estimator="TWFE",
    )
    warn_few_treated(panel.n_treated_units)
    frame = panel.data
    cluster_column = "unit" if cluster in (None, unit) else cluster
    treated = frame["cohort"].to_numpy() != 0
    relative = np.where(treated, frame["time"].to_numpy() - frame["cohort"].to_numpy(), 0)

    regressors = pd.DataFrame(index=frame.index)
    regressors["treated_post"] = (treated & (relative >= 0)).astype(float)
    events = np.unique(relative[treated])
    omitted = {REFERENCE_EVENT}
    if not (~treated).any() and events.size:
        omitted.add(int(events.min()))
    estimated = [int(e) for e in events if e not in omitted]
    for e in estimated:
        regressors[_event_name(e)] = (treated & (relative == e)).astype(float)
    model_data = pd.concat([frame, regressors], axis=1)

    controls = "".join(f" + {c}" for c in covariates)
    vcov = {"CRV1": cluster_column}
    fit_kwargs = dict(data=model_data, vcov=vcov, weights=weights)
    static_fit = pf.feols(f"outcome ~ treated_post{controls} | unit + time", **fit_kwargs)
    event_terms = " + ".join(_event_name(e) for e in estimated)
    event_fit = pf.feols(f"outcome ~ {event_terms}{controls} | unit + time", **fit_kwargs)

    overall = _coefficient_summary(static_fit, ["treated_post"], alpha)
    names = [_event_name(e) for e in estimated]
    table = _coefficient_summary(event_fit, names, alpha)
    table.insert(0, "event", estimated)
    kept = table["att"].notna()  # pyfixest drops collinear dummies
    table = table[kept]
    coef_names = list(event_fit.coef().index)
    index = [coef_names.index(n) for n in table.index]
    vcov_estimated = np.asarray(event_fit._vcov)[np.ix_(index, index)]
    reference_row = pd.DataFrame(
        {"event": [REFERENCE_EVENT], "att": [0.0], "se": [0.0], "ci_low": [0.0], "ci_high": [0.0]}
    )
    event_table = pd.concat([table.reset_index(drop=True), reference_row], ignore_index=True)
    order = np.argsort(event_table["event"].to_numpy(), kind="stable")
    event_table = event_table.iloc[order].reset_index(drop=True)
    full_vcov = np.zeros((len(event_table), len(event_table)))
    position = {e: i for i, e in enumerate(event_table["event"])}
    rows = [position[e] for e in table["event"]]
    full_vcov[np.ix_(rows, rows)] = vcov_estimated

    pre = [i for i, e in enumerate(event_table["event"]) if e < REFERENCE_EVENT]
    pretrend = pretrend_wald_test(
        event_table["att"].to_numpy()[pre],
        full_vcov[np.ix_(pre, pre)],
        events=tuple(int(event_table["event"].iloc[i]) for i in pre),
        note="chi-squared Wald test that all TWFE event-study coefficients with e <= -2 are "
        "zero (reference e = -1), CRV1 clustered covariance",
    )
    return EventStudyResult(
        estimator="twfe",
        event_table=event_table,
        overall_estimate=overall.iloc[0].to_dict(),
        pretrend=pretrend,
        n_units=panel.n_units,
        n_treated_units=panel.n_treated_units,
        cohorts=panel.cohort_labels,
        time_mapping=panel.time_mapping,
        alpha=alpha,
        event_vcov=full_vcov,
        details={
            # the fits' coefficient tables (the pyfixest models themselves cannot be pickled, and
            # results are stored by analysis.report.compute_cache)
            "static_fit": static_fit.tidy(),
            "event_fit": event_fit.tidy(),
            "reference_event": REFERENCE_EVENT,
            "omitted_events": tuple(sorted(omitted)),
            "cluster": cluster or unit,
            "columns": panel.columns,
        },
    )


def _coefficient_summary(fit, names: list[str], alpha: float) -> pd.DataFrame:
    """att, se and t(G-1) CI for the named coefficients (NaN where pyfixest dropped one)."""
    coef = fit.coef().reindex(names)
    se = fit.se().reindex(names)
    crit = stats.t.ppf(1 - alpha / 2, fit._df_t)
    return pd.DataFrame(
        {"att": coef, "se": se, "ci_low": coef - crit * se, "ci_high": coef + crit * se},
        index=names,
    ).astype(float)
