"""Callaway-Sant'Anna (2021) staggered DiD: a thin adapter over ``moderndid.att_gt`` / ``aggte``.

moderndid reproduces R ``did`` and Stata ``csdid`` to rounding (tests/test_did_cs.py). This module
only renames columns, maps time labels to integers and back, and tabulates. Aggregations are
computed on first use and cached, so a fit costs one ``att_gt`` call.

Standard errors: analytic influence-function SEs (population variance, as R ``did`` with
``bstrap=FALSE`` and Stata ``csdid``), clustered on the unit unless ``cluster`` names another
(time-invariant) column. With ``bootstrap=True`` the SEs are multiplier-bootstrap SEs and the
confidence intervals of ``att_gt`` and of the event / group / calendar aggregations are uniform
(simultaneous) bands; otherwise all intervals are pointwise normal.

Pre-trend test (``.pretrend``): the Wald test of R ``did``'s ``att_gt`` summary (also what Stata's
``estat pretrend`` reports): all pre-treatment cells ATT(g,t) with t < g jointly zero, using their
analytic influence-function covariance (also when bootstrapped). With ``base_period="varying"``
(default) these are the period-on-period placebo comparisons; cells with zero variance are left
out. It is computed even when clustering on a non-unit column, where moderndid and R report none
(a clustered Wald test over-rejects with few clusters; read it with care).
"""

from __future__ import annotations

from typing import Any, Sequence

from dataclasses import dataclass

import moderndid
import numpy as np
import pandas as pd
from scipy import stats

from analysis.did._panel import (
    PreparedPanel,
    check_never_treated,
    prepare_panel,
    warn_few_treated,
)
from analysis.did.results import CallawaySantAnnaResult, PretrendTest, pretrend_wald_test
from analysis.did.propensity_reuse import reused_propensity_fits

_CONTROL = {"never": "nevertreated", "not_yet": "notyettreated"}
_METHODS = ("dr", "ipw", "reg")
_KINDS = {"simple": "simple", "event": "dynamic", "group": "group", "calendar": "calendar"}


def callaway_santanna(
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
    method: str = "dr",
    anticipation: int = 0,
    base_period: str = "varying",
    bootstrap: bool = False,
    n_boot: int = 999,
    seed: int | None = None,
    alpha: float = 0.05,
    allow_unbalanced: bool = False,
    dropna: bool = False,
) -> CallawaySantAnnaResult:
    """Callaway-Sant'Anna group-time ATTs ATT(g,t) and their aggregations.

    Parameters
    ----------
    data : long panel, one row per unit and period.
    outcome, unit, time, cohort : column names. ``cohort`` = first treated period in the same
        form as ``time`` (integers, or months as Period[M] / Timestamp / 'YYYY-MM'); 0 or missing
        = never treated.
    covariates : time-invariant (or base-period) covariates for the DR / IPW / OR adjustment.
    cluster : column to cluster on (constant within unit); default: the unit.
    weights : sampling-weight column (constant within unit).
    control : ``"never"`` (never-treated units) or ``"not_yet"`` (not-yet-treated units).
    method : ``"dr"`` (doubly robust, R did's default), ``"ipw"`` or ``"reg"`` (outcome regression).
    anticipation : periods of anticipation before the cohort date.
    base_period : ``"varying"`` (R default) or ``"universal"`` (g - 1 - anticipation).
    bootstrap, n_boot, seed : multiplier bootstrap with uniform bands; ``seed`` makes it
        reproducible.
    alpha : 1 - confidence level of all intervals.
    allow_unbalanced : accept an unbalanced panel (moderndid's unbalanced-panel estimator);
        otherwise an unbalanced panel raises.
    dropna : drop rows with a missing outcome instead of raising.

    Returns
    -------
    CallawaySantAnnaResult with ``att_gt``, ``aggregate(kind)``, ``event_study()`` (= the
    ``event`` aggregation), ``overall()`` (= the ``simple`` aggregation) and ``pretrend``.
    Estimates are in the units of ``outcome``; ``event`` counts periods of ``time``.
    """
    if control not in _CONTROL:
        raise ValueError(f"control must be 'never' or 'not_yet', got {control!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if base_period not in ("varying", "universal"):
        raise ValueError(f"base_period must be 'varying' or 'universal', got {base_period!r}")
    covariates = list(covariates or [])
    panel = prepare_panel(
        data,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        extra_columns=[*covariates, cluster, weights],
        require_balanced=not allow_unbalanced,
        dropna=dropna,
        estimator="Callaway-Sant'Anna (pass allow_unbalanced=True to accept it)",
    )
    if control == "never":
        check_never_treated(panel)
    warn_few_treated(panel.n_treated_units)

    cluster_vars = None
    if cluster is not None and cluster != unit:
        cluster_vars = [cluster]
    with reused_propensity_fits():  # the same logit fits are made once (module propensity_reuse)
        native = moderndid.att_gt(
            panel.data,
            yname="outcome",
            tname="time",
            idname="unit",
            gname="cohort",
            xformla=("~ " + " + ".join(covariates)) if covariates else None,
            weightsname=weights,
            alpha=alpha,
            cband=bootstrap,
            boot=bootstrap,
            biters=n_boot,
            clustervars=cluster_vars,
            est_method=method,
            allow_unbalanced_panel=allow_unbalanced and not panel.balanced,
            control_group=_CONTROL[control],
            anticipation=anticipation,
            base_period=base_period,
            random_state=seed,
        )
    unit_ids = tuple(sorted(pd.unique(data[unit])))
    cluster_ids = unit_ids
    if cluster_vars:
        cluster_of = data.drop_duplicates(unit).set_index(unit)[cluster]
        cluster_ids = tuple(cluster_of.loc[list(unit_ids)])
    return _build_result(native, panel, alpha=alpha, bootstrap=bootstrap, unit_ids=unit_ids,
                         cluster_ids=cluster_ids)


@dataclass(frozen=True)
class _Aggregator:
    """``aggregator(kind)`` of a CS result: a picklable stand-in for a closure (results are
    stored by :mod:`analysis.report.compute_cache`)."""

    native: Any
    mapping: Any
    alpha: float
    bootstrap: bool

    def __call__(self, kind: str):
        return _aggregate(self.native, kind, self.mapping, self.alpha, self.bootstrap)


def _build_result(
    native: Any, panel: PreparedPanel, *, alpha: float, bootstrap: bool, unit_ids: tuple, cluster_ids: tuple
) -> CallawaySantAnnaResult:
    mapping = panel.time_mapping
    att = np.asarray(native.att_gt, dtype=float)
    se = np.asarray(native.se_gt, dtype=float)
    crit = float(native.critical_value)
    groups = np.asarray(native.groups).astype("int64")
    times = np.asarray(native.times).astype("int64")
    att_gt = pd.DataFrame(
        {
            "cohort": mapping.to_label(groups),
            "time": mapping.to_label(times),
            "att": att,
            "se": se,
            "ci_low": att - crit * se,
            "ci_high": att + crit * se,
        }
    )
    result = CallawaySantAnnaResult(
        estimator="cs",
        event_table=None,
        overall_estimate=None,
        pretrend=_pretrend(native, groups, times),
        n_units=panel.n_units,
        n_treated_units=panel.n_treated_units,
        cohorts=panel.cohort_labels,
        time_mapping=mapping,
        alpha=alpha,
        event_vcov=None,
        details={"bootstrap": bootstrap, "columns": panel.columns, "unit_ids": unit_ids,
                 "cluster_ids": cluster_ids},
        att_gt=att_gt,
        aggregator=_Aggregator(native, mapping, alpha, bootstrap),
        native={"att_gt": native},
    )
    return result


def _pretrend(native: Any, groups: np.ndarray, times: np.ndarray) -> PretrendTest | None:
    pre = np.flatnonzero(groups > times)
    se = np.asarray(native.se_gt, dtype=float)
    pre = pre[np.isfinite(se[pre])]
    if pre.size == 0:
        return None
    vcov = np.asarray(native.vcov_analytical)[np.ix_(pre, pre)] / native.n_units
    return pretrend_wald_test(
        np.asarray(native.att_gt)[pre],
        vcov,
        events=tuple(int(t - g) for g, t in zip(groups[pre], times[pre])),
        note=(
            f"Wald test that all {pre.size} pre-treatment ATT(g,t) cells (t < g) are zero, "
            "analytic influence-function covariance (as R did's att_gt pre-test); "
            "events = t - g of each cell"
        ),
    )


def _aggregate(native: Any, kind: str, mapping, alpha: float, bootstrap: bool):
    """Run ``moderndid.aggte`` and tabulate; returns (table, native aggte result)."""
    agg = moderndid.aggte(native, type=_KINDS[kind], alpha=alpha)
    z = stats.norm.ppf(1 - alpha / 2)
    if kind == "simple":
        att, se = float(agg.overall_att), float(agg.overall_se)
        table = pd.DataFrame(
            {"att": [att], "se": [se], "ci_low": [att - z * se], "ci_high": [att + z * se]}
        )
        return table, agg
    att = np.asarray(agg.att_by_event, dtype=float)
    se = np.asarray(agg.se_by_event, dtype=float)
    crit = np.asarray(agg.critical_values, dtype=float) if bootstrap else z
    keys = np.asarray(agg.event_times).astype("int64")
    if kind == "event":
        first = pd.Series(keys, name="event")
    else:
        first = pd.Series(mapping.to_label(keys), name="cohort" if kind == "group" else "time")
    table = pd.DataFrame(
        {
            first.name: first,
            "att": att,
            "se": se,
            "ci_low": att - crit * se,
            "ci_high": att + crit * se,
        }
    )
    return table, agg
