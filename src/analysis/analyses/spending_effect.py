"""What WFA does to the spending of one category: Callaway–Sant'Anna effects on log real spending.

Estimation (:func:`estimate_spending_effect`): CS ATT(g,t) on the log of real spending of one
category (or ``routine_total``), doubly robust, clustered by Pemda, analytic standard errors;
``control`` ``notyettreated`` or ``nevertreated``; optionally conditioning on the pre-treatment
covariates of :func:`analysis.panels.budget.tkd_covariates` (the 2026 TKD cut, fiscal capacity,
population). Without them, Pemda that adopted WFA *because* their transfers were cut are compared
with Pemda whose transfers fell less, and the cut's own effect on spending is credited to WFA.
Also: the joint placebo test, the true effect over an estimate's own cells (synthetic data), and
the other estimators' event studies for the overlay figure.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis import did
from analysis.panels.budget import (
    PLACEBO_CATEGORIES,
    ROUTINE_CATEGORIES,
    ROUTINE_TOTAL,
    TKD_COVARIATES,
    month_to_period,
    period_to_time,
    time_to_period,
)

CONTROLS = ("notyettreated", "nevertreated")

@dataclass(frozen=True)
class SpendingEffect:
    """CS estimate of the effect of WFA on log real spending of one category.

    ``att``/``se``/``ci_low``/``ci_high``: the simple aggregation (mean over treated
    post-adoption Pemda x periods), log points (``exp(att) - 1`` = proportional change).
    ``event_study``: ``event, att, se, ci_low, ci_high`` (pointwise normal CIs).
    ``pretrend_pvalue``: Wald test that the event-study ATTs of the 8 periods before adoption are
    all zero (joint covariance from the influence functions).
    ``post_events`` / ``post_influence``: event times ``e >= 0`` and the influence functions of
    their ATTs (``n_units x len(post_events)``), rows in the order of ``unit_ids``.
    ``overall_influence``: influence function of ``att``.
    ``adopters_not_estimated``: adopters in the sample whose cohort CS could not estimate (e.g. a
    one-Pemda cohort with covariates): not in ``n_treated``, ``treated_cells`` or the savings.
    ``treated_cells``: the treated post-adoption cells the estimate averages over:
    ``region_code, period, time, event, realized_idr`` (nominal), ``realized_real_idr``,
    ``wfa_days_per_week``.
    """

    category: str
    adjusted: bool
    control: str
    frequency: str
    att: float
    se: float
    ci_low: float
    ci_high: float
    event_study: pd.DataFrame
    post_events: np.ndarray
    post_influence: np.ndarray
    overall_influence: np.ndarray
    unit_ids: tuple[str, ...]
    treated_cells: pd.DataFrame
    n_units: int
    n_treated: int
    n_dropped_unbalanced: int
    covariates: tuple[str, ...]
    adopters_not_estimated: tuple[str, ...] = ()
    by_cohort: pd.DataFrame | None = None
    pretrend_pvalue: float | None = None

    def as_row(self) -> dict:
        return {
            "category": self.category, "adjusted": self.adjusted, "control": self.control,
            "att": self.att, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "pct_change": float(np.expm1(self.att)), "n_units": self.n_units,
            "n_treated": self.n_treated, "n_treated_cells": len(self.treated_cells),
            "adopters_not_estimated": ";".join(self.adopters_not_estimated),
            "pretrend_pvalue": self.pretrend_pvalue,
        }


def estimate_spending_effect(
    panel: pd.DataFrame,
    units: pd.DataFrame,
    covariates: pd.DataFrame | None = None,
    *,
    category: str = ROUTINE_TOTAL,
    adjust_for_tkd: bool = True,
    control: str = "notyettreated",
    alpha: float = 0.05,
) -> SpendingEffect:
    """Callaway-Sant'Anna ATT of WFA on ``log_realized_real`` for ``category``.

    ``panel``: from :func:`analysis.panels.budget.spending_panel`; ``units``: the estimation sample
    from :func:`analysis.panels.budget.cohorts_for_estimation`; ``covariates``: from
    :func:`analysis.panels.budget.tkd_covariates` (required when ``adjust_for_tkd``).
    Pemda with a period missing or with zero spending in any period are dropped for this
    category (CS on a balanced panel); their number is in ``n_dropped_unbalanced``.
    """
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {CONTROLS}, got {control!r}")
    known = set(ROUTINE_CATEGORIES) | set(PLACEBO_CATEGORIES) | {ROUTINE_TOTAL}
    if category not in known:
        raise ValueError(f"unknown category {category!r}; expected one of {sorted(known)}")
    data = panel.loc[panel["category"] == category].merge(
        units[["region_code", "cohort_time", "wfa_days_per_week"]], on="region_code", how="inner"
    )
    used_covariates: tuple[str, ...] = ()
    if adjust_for_tkd:
        if covariates is None:
            raise ValueError("adjust_for_tkd=True needs the covariates (analysis.panels.budget.tkd_covariates)")
        used_covariates = TKD_COVARIATES
        data = data.merge(covariates[["region_code", *used_covariates]], on="region_code", how="inner")
    n_periods = data["time"].nunique()
    complete = data.groupby("region_code")["log_realized_real"].agg(lambda s: s.notna().sum())
    keep = complete.index[complete == n_periods]
    n_dropped = int(data["region_code"].nunique() - len(keep))
    data = data[data["region_code"].isin(keep)].copy()
    # the simple ATT needs every cohort to have a post period inside the panel
    data.loc[data["cohort_time"] > data["time"].max(), ["cohort_time", "wfa_days_per_week"]] = 0
    if (data["cohort_time"] > 0).sum() == 0:
        raise ValueError(f"no adopter left in the sample for {category!r}")
    unit_ids = tuple(sorted(data["region_code"].unique()))
    data["unit_id"] = data["region_code"].map({code: i + 1 for i, code in enumerate(unit_ids)})
    result = _fit_cs(data, used_covariates, control=control, alpha=alpha)
    z = stats.norm.ppf(1 - alpha / 2)

    # cohorts CS could not estimate (e.g. a single adopter whose propensity score cannot be
    # fitted with covariates) are not part of the estimate: keep them out of its cells
    estimated = set(result["by_cohort"]["cohort_time"].astype(int))
    treated_units = data.loc[data["cohort_time"] > 0].drop_duplicates("region_code")
    dropped = treated_units.loc[~treated_units["cohort_time"].isin(estimated), "region_code"]
    cells = data.loc[(data["cohort_time"] > 0) & (data["time"] >= data["cohort_time"])
                     & data["cohort_time"].isin(estimated)].copy()
    cells["event"] = cells["time"] - cells["cohort_time"]
    cells = cells[["region_code", "period", "time", "event", "realized_idr", "realized_real_idr", "wfa_days_per_week"]]
    frequency = "quarter" if "Q" in str(data["period"].iloc[0]) else "month"
    return SpendingEffect(
        category=category,
        adjusted=bool(adjust_for_tkd),
        control=control,
        frequency=frequency,
        att=result["att"],
        se=result["se"],
        ci_low=result["att"] - z * result["se"],
        ci_high=result["att"] + z * result["se"],
        event_study=result["event_study"],
        post_events=result["post_events"],
        post_influence=result["post_influence"],
        overall_influence=result["overall_influence"],
        unit_ids=unit_ids,
        treated_cells=cells.reset_index(drop=True),
        n_units=len(unit_ids),
        n_treated=int(cells["region_code"].nunique()),
        n_dropped_unbalanced=n_dropped,
        covariates=used_covariates,
        adopters_not_estimated=tuple(sorted(dropped)),
        by_cohort=result["by_cohort"].assign(
            cohort=lambda d: time_to_period(d["cohort_time"], frequency).to_numpy()
        ),
        pretrend_pvalue=result["pretrend_pvalue"],
    )


def _fit_cs(data: pd.DataFrame, covariates: tuple[str, ...], *, control: str, alpha: float) -> dict:
    """CS via moderndid directly. ``analysis.did.callaway_santanna`` gives estimates but (per
    docs/interfaces.md) no influence functions, which the savings CIs need."""
    import moderndid

    z = stats.norm.ppf(1 - alpha / 2)
    frame = data[["unit_id", "time", "cohort_time", "log_realized_real", *covariates]].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gt = moderndid.att_gt(
            frame,
            yname="log_realized_real",
            tname="time",
            idname="unit_id",
            gname="cohort_time",
            xformla=("~ " + " + ".join(covariates)) if covariates else None,
            control_group=control,
            est_method="dr",
            cband=False,
            boot=False,
            alpha=alpha,
        )
        simple = moderndid.aggte(gt, type="simple", cband=False, na_rm=True)
        dynamic = moderndid.aggte(gt, type="dynamic", cband=False, na_rm=True)
        group = moderndid.aggte(gt, type="group", cband=False, na_rm=True)
    events = np.asarray(dynamic.event_times, dtype=int)
    att_e = np.asarray(dynamic.att_by_event, dtype=float)
    se_e = np.asarray(dynamic.se_by_event, dtype=float)
    event_study = pd.DataFrame(
        {"event": events, "att": att_e, "se": se_e, "ci_low": att_e - z * se_e, "ci_high": att_e + z * se_e}
    )
    post = events >= 0
    influence = np.asarray(dynamic.influence_func, dtype=float)
    pretrend = _pretrend_wald_pvalue(events, att_e, influence)
    g_att = np.asarray(group.att_by_event, dtype=float)
    g_se = np.asarray(group.se_by_event, dtype=float)
    by_cohort = pd.DataFrame({
        "cohort_time": np.asarray(group.event_times, dtype=int), "att": g_att, "se": g_se,
        "ci_low": g_att - z * g_se, "ci_high": g_att + z * g_se,
    })
    return {
        "att": float(simple.overall_att),
        "se": float(simple.overall_se),
        "event_study": event_study,
        "post_events": events[post],
        "post_influence": influence[:, post],
        "overall_influence": np.asarray(simple.influence_func_overall, dtype=float).ravel(),
        "by_cohort": by_cohort,
        "pretrend_pvalue": None if pretrend is None or pd.isna(pretrend) else float(pretrend),
    }


def _pretrend_wald_pvalue(events: np.ndarray, att: np.ndarray, influence: np.ndarray, window: int = 8) -> float | None:
    """Wald test that the event-study ATTs of the ``window`` periods before adoption are all zero,
    with their joint covariance from the influence functions (``V = psi' psi / n^2``); None if
    the covariance is singular or no pre-period exists."""
    pre = (events < 0) & (events >= -window) & np.isfinite(att)
    if not pre.any():
        return None
    n = influence.shape[0]
    cov = influence[:, pre].T @ influence[:, pre] / n**2
    try:
        stat = float(att[pre] @ np.linalg.solve(cov, att[pre]))
    except np.linalg.LinAlgError:
        return None
    return float(stats.chi2.sf(stat, int(pre.sum())))


def placebo_joint_test(effects: dict, categories: tuple[str, ...] | list[str] = PLACEBO_CATEGORIES,
                       alpha: float = 0.05) -> dict:
    """Wald test that the simple ATTs of the placebo ``categories`` (no WFA effect by
    construction: street lighting, maintenance) are all zero, with their joint covariance from
    the influence functions (``V = sum_i phi_i phi_i'``, ``phi_ik = psi_ik / n_k``; Pemda missing
    from a category contribute 0 to it). One test of size ``alpha`` for the family: with two
    placebo categories, one 95% CI excluding 0 on a given dataset happens in ~10% of datasets
    under the null, so single CIs are not the test.

    Returns ``statistic``, ``df``, ``pvalue``, ``alpha``, ``reject`` and per category ``att``,
    ``se``, ``z`` (``se`` from the influence function, equal to the CS analytic SE)."""
    present = [c for c in categories if c in effects]
    if not present:
        raise ValueError(f"no placebo category among the effects: {sorted(effects)}")
    codes = sorted(set().union(*(effects[c].unit_ids for c in present)))
    row = {code: i for i, code in enumerate(codes)}
    phi = np.zeros((len(codes), len(present)))
    for k, category in enumerate(present):
        effect = effects[category]
        phi[[row[u] for u in effect.unit_ids], k] = effect.overall_influence / len(effect.unit_ids)
    cov = phi.T @ phi
    att = np.array([effects[c].att for c in present])
    statistic = float(att @ np.linalg.solve(cov, att))
    pvalue = float(stats.chi2.sf(statistic, len(present)))
    se = np.sqrt(np.diag(cov))
    return {
        "categories": present, "statistic": statistic, "df": len(present), "pvalue": pvalue,
        "alpha": alpha, "reject": bool(pvalue < alpha),
        "by_category": [{"category": c, "att": float(a), "se": float(s), "z": float(a / s)}
                        for c, a, s in zip(present, att, se)],
    }



def truth_over_cells(truth_cells: pd.DataFrame, effect: SpendingEffect) -> float:
    """The true ATT over exactly the cells ``effect`` averages over (mean over its treated
    post-adoption cells of the true log effect).

    ``truth_cells``: ``truth_budget_cells.parquet`` (one row per Pemda x month with WFA in force x
    category: ``region_code, period, category, realized_idr, counterfactual_idr``, nominal Rupiah).
    The true log effect of a cell (a month or a quarter; one category or ``routine_total``) is
    ``log(R / (R - S))``: ``R`` its realised spending (nominal, from the panel), ``S`` the sum of
    ``realized - counterfactual`` over its months with WFA in force (months without WFA, e.g. the
    first months of a partly treated quarter, have no effect).
    """
    data = truth_cells.copy()
    data["region_code"] = data["region_code"].astype(str)
    if effect.category == ROUTINE_TOTAL:
        data = data[data["category"].isin(ROUTINE_CATEGORIES)]
    else:
        data = data[data["category"] == effect.category]
    data["period"] = month_to_period(data["period"], effect.frequency)
    data["effect_idr"] = data["realized_idr"].astype(float) - data["counterfactual_idr"].astype(float)
    effect_idr = data.groupby(["region_code", "period"])["effect_idr"].sum()
    cells = effect.treated_cells.set_index(["region_code", "period"])
    change = effect_idr.reindex(cells.index).fillna(0.0).to_numpy()
    realized = cells["realized_idr"].to_numpy(dtype=float)
    return float(np.mean(np.log(realized / (realized - change))))



def other_estimator_event_studies(
    panel: pd.DataFrame, units: pd.DataFrame, covariates: pd.DataFrame | None, *, category: str,
    adjust_for_tkd: bool = True, cut_start: str = "2026-01",
) -> dict[str, pd.DataFrame]:
    """Event studies of the same outcome by Sun-Abraham and the BJS imputation estimator
    (``analysis.did``), for the overlay figure: name -> ``event, att, se, ci_low, ci_high``.

    With ``adjust_for_tkd`` both get the regressor ``tkd_cut_share x [period >= cut_start]`` (the
    cut's exposure: time-invariant covariates alone would be absorbed by the Pemda effects).
    An estimator that fails on these data is left out (its error is in the ``errors`` key of the
    returned mapping as a one-row DataFrame ``estimator, error``)."""
    data = panel.loc[panel["category"] == category].merge(units[["region_code", "cohort_time"]], on="region_code")
    complete = data.groupby("region_code")["log_realized_real"].transform(lambda s: s.notna().all())
    data = data[complete].copy()
    extra: list[str] = []
    if adjust_for_tkd and covariates is not None:
        data = data.merge(covariates[["region_code", "tkd_cut_share"]], on="region_code")
        frequency = "quarter" if "Q" in str(data["period"].iloc[0]) else "month"
        start = int(period_to_time(month_to_period(pd.Series([cut_start]), frequency), frequency).iloc[0])
        data["cut_exposure"] = data["tkd_cut_share"] * (data["time"] >= start)
        extra = ["cut_exposure"]
    out, errors = {}, []
    for name, estimator in (("Sun-Abraham", did.sun_abraham), ("Imputation (BJS)", did.imputation)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = estimator(data, outcome="log_realized_real", unit="region_code", time="time",
                                   cohort="cohort_time", covariates=extra or None)
            out[name] = result.event_study()
        except Exception as exc:  # noqa: BLE001 - shown in the notebook, not hidden
            errors.append((name, f"{type(exc).__name__}: {exc}"))
    if errors:
        out["errors"] = pd.DataFrame(errors, columns=["estimator", "error"])
    return out


