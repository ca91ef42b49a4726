"""Service completion times under WFA: the analysis steps notebook ``10_service_time`` calls.

Design (what is estimated, on what):

- **Unit** = Pemda × service type (one time series per office line), **time** = submission month,
  **cohort** = the Pemda's first WFA month (``analysis.panels.treatment``), clustered by Pemda.
- **Outcomes**: ``log_median_days`` (log of the censoring-aware KM median, days),
  ``log_p90_days``, ``sla_pp`` (share within SLA, in percentage points 0–100), and the biased
  ``log_naive_median_days`` (completed requests only) for the comparison.
- **Sample** (:mod:`analysis.analyses.service_sample`): from ``ANALYSIS_START`` to the last month
  in which ≥ ``MIN_IDENTIFIED_SHARE`` of cells have the outcome identified. The panel is
  unbalanced: no line is dropped because a month had no request; a cell whose KM median is not
  identified is a missing outcome (dropped, counted, reported as a note). Left out of the treated,
  each with a reason code in ``Sample.excluded``: Pemda whose WFA switched off, Pemda already
  treated at the window start, cohorts after the window end, and cohorts with fewer than
  ``MIN_PEMDA_PER_COHORT`` Pemda (default data: 2025-03 Sulawesi Selatan, 2025-11 Jawa Barat).
  The last rule survives the change of estimator: with clustering by Pemda, the residuals of a
  one-Pemda cohort average to zero inside its single cluster (CS: deviations from the cohort mean;
  imputation: from the cohort × month mean of the effects, whatever the leave-out), so its own
  noise never reaches its cluster's score (tests/test_service_time.py shows it for both). Those
  adopters need few-treated inference of their own (``analysis.did.inference``); every report
  names them (``sample_notes``).
- **Headline estimator: imputation** (Borusyak–Jaravel–Spiess, ``analysis.did.imputation``), which
  uses every untreated month of a line to predict its untreated outcome, instead of
  Callaway–Sant'Anna's single base month ``g − 1``. On noisy cell medians a single base month is
  an expensive reference. Evidence on the default data (seed 20260101, window 2025-01–2026-09,
  unbalanced sample: 2,160 lines of 549 Pemda, 64 treated; truth = :func:`service_estimand_truth`
  over the cells each estimate averages):

  ======================================  ========  ======  ======  ============
  estimator (sample)                       ATT       SE      truth   covers
  ======================================  ========  ======  ======  ============
  imputation, cells equal (unbalanced)     0.0714    0.0162  0.0604  yes
  imputation, requests (unbalanced)        0.0337    0.0143  0.0464  yes
  CS varying = universal (unbalanced)      0.0595    0.0441  0.0604  yes
  Sun–Abraham (unbalanced)                 0.0659    0.0424  0.0604  yes
  TWFE (unbalanced)                        0.0715    0.0151  0.0604  yes
  CS varying = universal (balanced, old)   0.0355    0.0348  0.0556  yes
  imputation (balanced)                    0.0633    0.0162  0.0556  yes
  ======================================  ========  ======  ======  ============

  A universal base does not help CS: for post-adoption cells both bases are month ``g − 1``, so
  the simple ATT is identical (0.0355 both). Over 20 seeds (``benchmarks/service_headline.py``,
  table in ``benchmarks/README.md``), error = estimate − truth of its own estimand:

  ======================================  ==========  ========  =======  ========
  estimator (sample)                       mean error  SD error  mean SE  coverage
  ======================================  ==========  ========  =======  ========
  imputation, cells equal (unbalanced)     −0.0012     0.0135    0.0177   20/20
  imputation, requests (unbalanced)        −0.0028     0.0127    0.0158   19/20
  imputation (balanced)                    −0.0016     0.0134    0.0170   20/20
  CS (balanced, the old headline)          −0.0089     0.0392    0.0313   19/20
  ======================================  ==========  ========  =======  ========

  The imputation estimator's errors are a third of CS's and its (conservative, BJS Theorem 3)
  SE is larger than their spread, where CS's is smaller. TWFE is close on these data because the
  simulated effect hardly varies by cohort; it stays a robustness view (biased under
  heterogeneous dynamics).
- **Estimands** (``Estimand``): cell-weighted, every treated Pemda × service × month cell
  equally (``att_log_median_days``), and request-weighted, cells weighted by their number of
  requests, also in the untreated-outcome model (``att_log_median_days_request_weighted``: the
  effect on the typical *request* rather than the typical office line-month).
- **Robustness views** on the same unbalanced sample: CS (moderndid's unbalanced-panel
  estimator), Sun–Abraham, TWFE. A view that fails is a ``Note("estimator_failed", ...)``.
- **Heterogeneity**: :mod:`analysis.analyses.heterogeneity` (imputation group ATTs, one
  Holm-adjusted difference test per split, the brief's verdict rule).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis import did, durations
from analysis.analyses.heterogeneity import heterogeneity, risk_verdicts
from analysis.analyses.service_sample import (
    ANALYSIS_START,
    OUTCOMES,
    DidPanel,
    ServiceInputs,
    build_did_panel,
    did_frame,
    load_inputs,
    registry_adopters,
    sample_notes,
)
from analysis.data.names import pemda_names
from analysis.did.results import normal_pvalue
from analysis.notes import Note
from analysis.panels.aggregate import person_period_counts as counts_from_person_periods
from analysis.panels.treatment import treatment_by_period
from analysis.report.results_file import Estimand, Inference, ResultEntry, Sample

HEADLINE_ESTIMATOR = "imputation"
ESTIMATORS = ("imputation", "cs", "sun_abraham", "twfe")
#: Months before adoption covered by the reported pre-trend test.
PRETREND_WINDOW = 6
_COMMON = dict(outcome="y", unit="unit_id", time="month", cohort="cohort", cluster="region_code")


# --------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------

def headline_fit(dp: DidPanel, *, weights: str | None = None):
    """The headline estimator on ``dp``: imputation, clustered by Pemda, with the BJS pre-trend
    test over the last ``PRETREND_WINDOW`` months before adoption. ``weights="n_submitted"``
    gives the request-weighted estimand (None: every treated cell equally)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return did.imputation(did_frame(dp), weights=weights, pretrends=PRETREND_WINDOW, **_COMMON)


def estimate_all(dp: DidPanel, *, control: str = "never") -> tuple[dict, list[Note]]:
    """Event studies with every estimator (``analysis.did``) on the same sample, by Pemda.

    Returns ``({estimator short name: result}, failures)``: an estimator that fails is left out
    of the dictionary and reported as ``Note("estimator_failed", {"estimator", "error"})``.
    ``control`` applies to CS and Sun–Abraham (the imputation estimator uses every untreated cell).
    """
    data = did_frame(dp)
    calls = {
        "imputation": lambda: did.imputation(data, pretrends=PRETREND_WINDOW, **_COMMON),
        "cs": lambda: did.callaway_santanna(data, control=control, allow_unbalanced=True, **_COMMON),
        "sun_abraham": lambda: did.sun_abraham(data, control=control, **_COMMON),
        "twfe": lambda: did.twfe(data, **_COMMON),
    }
    results, failures = {}, []
    for name, call in calls.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results[name] = call()
        except Exception as exc:  # a robustness view that fails is a fact for the report
            failures.append(Note("estimator_failed", {"estimator": name, "error": f"{type(exc).__name__}: {exc}"}))
    return results, failures


def overall_table(results: dict) -> pd.DataFrame:
    """One row per estimator: ``estimator, att, se, ci_low, ci_high`` (outcome units)."""
    rows = []
    for name in ESTIMATORS:
        if name in results:
            o = results[name].overall()
            rows.append({"estimator": name, **{k: o.get(k) for k in ("att", "se", "ci_low", "ci_high")}})
    return pd.DataFrame(rows)


def pct_change(att: float, ci_low: float, ci_high: float) -> tuple[float, float, float]:
    """A log-point effect as a % change in the level: 100·(exp(x) − 1), CI end points transformed."""
    f = lambda x: 100.0 * math.expm1(x)  # noqa: E731
    return f(att), f(ci_low), f(ci_high)


@dataclass(frozen=True)
class Estimate:
    """One headline number with what it measures and on whom.

    ``att``, ``se``, ``ci_low``, ``ci_high`` in the outcome's unit; ``truth``: the true value of
    the same estimand on simulated data (None otherwise); ``n_treated_cells``: cells averaged.
    """

    att: float
    se: float
    ci_low: float
    ci_high: float
    n_treated_cells: int
    estimand: Estimand
    sample: Sample
    truth: float | None = None

    @property
    def pvalue(self) -> float:
        return normal_pvalue(self.att, self.se)

    def as_dict(self) -> dict:
        return {"att": self.att, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "n_treated_cells": self.n_treated_cells, **({"truth": self.truth} if self.truth is not None else {})}


def _estimand(dp: DidPanel, outcome: str, *, weights: str = "treated_cells_equal", scale: str = "log_points",
              estimator: str = HEADLINE_ESTIMATOR, **details) -> Estimand:
    return Estimand(outcome=outcome, scale=scale, units="treated_pemda_service_lines",
                    periods="post_adoption_months_wfa_in_force", weights=weights, estimator=estimator,
                    details={"window": list(dp.window), "cells_unidentified_dropped": dp.counts.get("n_cells_unidentified", 0),
                             **details})


def _estimate(dp: DidPanel, fit, estimand: Estimand, truth_cells, *, weights: str | None = None) -> Estimate:
    o = fit.overall()
    truth = dp.truth(truth_cells, weights=weights) if truth_cells is not None else None
    if truth is not None:
        estimand = Estimand(**{**estimand.__dict__, "details": {**estimand.details, "simulated_truth": truth}})
    return Estimate(o["att"], o["se"], o["ci_low"], o["ci_high"], len(dp.treated_cells()), estimand, dp.sample(), truth)


# --------------------------------------------------------------------------------------------
# The whole analysis and its results
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceTimeAnalysis:
    """Everything notebook 10 shows. Effects on log outcomes are log points; ``sla`` in pp.

    ``median`` / ``median_requests``: the headline (imputation, log KM median days), cell- and
    request-weighted; ``sla``: the same estimator on the SLA share; ``naive``: ``{"km", "naive"}``
    dicts comparing the headline with completed-only medians over every month (``*_window``);
    ``groups`` / ``group_tests`` / ``risks``: :mod:`analysis.analyses.heterogeneity`.
    """

    did_panel: DidPanel
    estimates: dict               # estimator name → result (analysis.did), same sample as the headline
    overall: pd.DataFrame         # estimator, att, se, ci_low, ci_high
    median: Estimate
    median_requests: Estimate
    sla: Estimate
    naive_estimate: Estimate
    naive: dict
    groups: pd.DataFrame
    group_tests: pd.DataFrame
    group_members: dict           # (split, group or side) -> treated region codes
    risks: pd.DataFrame
    hazard: object                # analysis.durations.HazardResult
    km_curves: pd.DataFrame
    notes: tuple[Note, ...]       # analysis.notes.Note: data, sample and heterogeneity notes
    failures: tuple[Note, ...]    # estimator_failed notes of the robustness views
    parameters: dict


def run_analysis(inputs: ServiceInputs, *, outcome: str = "median_days", service_type: str = "all",
                 control: str = "never", truth_cells: pd.DataFrame | None = None) -> ServiceTimeAnalysis:
    """Run every step for one parameter set (see the module doc for the design).

    ``outcome`` chooses the panel the event studies of every estimator are drawn on; the headline
    entries are always the log KM median (cell- and request-weighted) and the SLA share.
    """
    real = registry_adopters(inputs.policies)
    panel_args = dict(service_type=service_type, real_adopters=real)
    median_dp = build_did_panel(inputs.panel, inputs.treatment, **panel_args)
    dp = median_dp if outcome == "median_days" else build_did_panel(inputs.panel, inputs.treatment, outcome=outcome,
                                                                      **panel_args)
    estimates, failures = estimate_all(dp, control=control)
    details = {"service_type": service_type}
    median = _estimate(median_dp, headline_fit(median_dp), _estimand(median_dp, "log_km_median_days", **details),
                       truth_cells)
    median_requests = _estimate(
        median_dp, headline_fit(median_dp, weights="n_submitted"),
        _estimand(median_dp, "log_km_median_days", weights="requests", first_stage_weights="requests", **details),
        truth_cells, weights="n_submitted")
    sla_dp = build_did_panel(inputs.panel, inputs.treatment, outcome="sla_share", **panel_args)
    sla = _estimate(sla_dp, headline_fit(sla_dp), _estimand(sla_dp, "sla_share", scale="percentage_points", **details),
                    None)
    naive_dp = build_did_panel(inputs.panel, inputs.treatment, naive=True, end=inputs.panel["month"].max(),
                               **panel_args)
    naive_estimate = _estimate(naive_dp, headline_fit(naive_dp),
                               _estimand(naive_dp, "log_completed_only_median_days", **details), truth_cells)
    naive = {"km": median.as_dict(), "naive": naive_estimate.as_dict(), "naive_window": naive_dp.window,
             "km_window": median_dp.window}
    het = heterogeneity(inputs, median_dp, truth_cells=truth_cells)

    in_sample = inputs.treatment.assign(
        in_staggered_sample=inputs.treatment["region_code"].isin(set(median_dp.data["region_code"])))
    if inputs.person_periods is not None:  # the aggregation stage: no scan of the requests
        counts = counts_from_person_periods(inputs.person_periods, in_sample, end=median_dp.window[1])
    else:
        counts = durations.person_period_counts(inputs.requests_source, in_sample, extracted_at=inputs.extracted_at,
                                                end=median_dp.window[1])
    if service_type != "all":
        counts = counts[counts["service_type"] == service_type]
    hazard = durations.hazard_ratio(counts)
    curves = durations.survival_before_after(counts, in_sample)
    params = {"outcome": outcome, "service_type": service_type, "control": control}
    notes = (*inputs.notes, *sample_notes(median_dp, pemda_names(inputs.regions)), *het.notes)
    return ServiceTimeAnalysis(dp, estimates, overall_table(estimates), median, median_requests, sla, naive_estimate,
                               naive, het.groups, het.tests, het.members, risk_verdicts(het.tests), hazard, curves,
                               tuple(notes), tuple(failures), params)


def _inference(estimate: Estimate, reason: str = "", **details) -> Inference:
    return Inference(method="cluster_robust", reason=reason, n_treated_clusters=estimate.sample.treated_count,
                     pvalue=estimate.pvalue,
                     details={"cluster": "pemda", "variance": "bjs_conservative_leave_out", **details})


def _entry(name: str, e: Estimate, unit: str, label: str, reason: str = "") -> ResultEntry:
    return ResultEntry(name, e.att, e.se, e.ci_low, e.ci_high, unit, label, e.estimand, e.sample,
                       _inference(e, reason))


def result_entries(a: ServiceTimeAnalysis, inference=None) -> list:
    """The machine-readable results (``analysis.report.results_file.ResultEntry``) of notebook 10,
    each with its estimand, sample and inference. ``inference``: the headline's
    :class:`analysis.analyses.few_treated.HeadlineInference` (None: chosen here by the number of
    treated Pemda, randomization inference run with its default draws when they are few); it is
    the ``inference`` of ``att_log_median_days`` and ``att_pct_median_days``; the other entries
    keep their analytic inference, with the reason code of the same choice."""
    from analysis.analyses import few_treated

    m = a.median
    if inference is None:
        inference = few_treated.service_headline_inference(a, None)
    headline = inference.entry_inference(**headline_diagnostics(a))
    reason = "enough_treated_clusters" if inference.method == "cluster_robust" else "few_treated_clusters_not_tested"
    pct = pct_change(m.att, m.ci_low, m.ci_high)
    pct_estimand = Estimand(**{**m.estimand.__dict__, "scale": "percent",
                               "details": {**m.estimand.details, "transform": "100*(exp(att)-1)"}})
    entries = [
        ResultEntry("att_log_median_days", m.att, m.se, m.ci_low, m.ci_high, "log points",
                    "ATT on log KM median completion days, cells equal", m.estimand, m.sample, headline),
        _entry("att_log_median_days_request_weighted", a.median_requests, "log points",
               "ATT on log KM median completion days, cells weighted by requests", reason),
        ResultEntry("att_pct_median_days", pct[0], None, pct[1], pct[2], "percent",
                    "ATT as % change in median completion days: 100*(exp(att)-1)", pct_estimand, m.sample,
                    headline),
        _entry("att_sla_share", a.sla, "percentage points", "ATT on the share completed within the SLA", reason),
        _entry("att_log_median_days_naive", a.naive_estimate, "log points",
               "Same, from completed-only medians over every month (biased; for comparison)", reason),
    ]
    h = a.hazard
    entries.append(ResultEntry(
        "hazard_ratio_completion", h.hazard_ratio, None, h.ci_low, h.ci_high, "ratio",
        "Hazard ratio of completion under WFA (<1 = slower), piecewise-exponential PH model",
        Estimand(outcome="completion_hazard", scale="ratio", units="requests_of_treated_pemda",
                 periods="post_adoption_months_wfa_in_force", weights="requests",
                 estimator="piecewise_exponential_ph",
                 details={"window": [ANALYSIS_START, m.estimand.details["window"][1]], "log_hr": h.log_hr,
                          "se_log_hr": h.se, "n_requests": h.n_requests}),
        m.sample,
        Inference(method="cluster_robust", n_treated_clusters=h.n_treated_pemda,
                  pvalue=normal_pvalue(h.log_hr, h.se),
                  details={"cluster": "pemda"})))
    for r in a.groups.itertuples(index=False):
        entries.append(_group_entry(f"att_log_median_days__{r.split}__{r.group}", a, r.split, r.group, r.att, r.se,
                                    r.ci_low, r.ci_high, getattr(r, "truth", None), int(r.n_treated_pemda)))
    for t in a.group_tests.itertuples(index=False):
        z = stats.norm.ppf(0.975)
        for side in ("at_risk", "comparison"):
            att, se = getattr(t, f"{side}_att"), getattr(t, f"{side}_se")
            entries.append(_group_entry(f"att_log_median_days__{t.split}__{side}", a, t.split, side, att, se,
                                        att - z * se, att + z * se, None, int(getattr(t, f"n_{side}_pemda")),
                                        groups=list(getattr(t, f"{side}_groups"))))
        estimand = Estimand(**{**m.estimand.__dict__, "estimator": HEADLINE_ESTIMATOR, "details": {
            **m.estimand.details, "split": t.split, "contrast": "at_risk_minus_comparison",
            "at_risk_groups": list(t.at_risk_groups), "comparison_groups": list(t.comparison_groups),
            **({"simulated_truth": t.truth} if hasattr(t, "truth") else {})}})
        entries.append(ResultEntry(
            f"diff_log_median_days__{t.split}", t.difference, t.se, t.ci_low, t.ci_high, "log points",
            f"Difference of ATTs, {t.split}: at risk minus comparison", estimand, m.sample,
            Inference(method="cluster_robust", n_treated_clusters=int(t.n_at_risk_pemda + t.n_comparison_pemda),
                      pvalue=t.pvalue, details={"cluster": "pemda", "pvalue_holm": t.pvalue_holm,
                                                "multiplicity": "holm", "family": list(a.group_tests["split"])})))
    return entries


def headline_diagnostics(a: ServiceTimeAnalysis) -> dict:
    """What the brief needs to judge the headline, recorded with it: ``pretrend`` (BJS test of the
    headline fit: ``events``, ``stat``, ``df``, ``pvalue``; absent when not tested) and
    ``estimators`` (every estimator of the same estimand: ``estimator``, ``estimate``, ``ci_low``,
    ``ci_high``, ``pvalue`` from the normal approximation)."""
    details = {}
    pt = pretrend(a)
    if pt is not None:
        details["pretrend"] = {"events": [int(e) for e in pt.events], "stat": float(pt.stat), "df": int(pt.df),
                               "pvalue": float(pt.pvalue)}
    rows = []
    for r in a.overall.itertuples(index=False):
        att, se = float(r.att), float(r.se)
        rows.append({"estimator": str(r.estimator), "estimate": att, "ci_low": float(r.ci_low),
                     "ci_high": float(r.ci_high),
                     "pvalue": normal_pvalue(att, se)})
    if rows:
        details["estimators"] = rows
    return details


def _group_entry(name, a: ServiceTimeAnalysis, split, group, att, se, lo, hi, truth, n_pemda, groups=None):
    """A group or side ATT entry: the headline's estimand restricted to the group's treated cells."""
    m = a.median
    details = {**m.estimand.details, "split": split, "group": group, **({"groups": groups} if groups else {})}
    details.pop("simulated_truth", None)
    if truth is not None and np.isfinite(truth):
        details["simulated_truth"] = truth
    estimand = Estimand(**{**m.estimand.__dict__, "details": details})
    treated = a.group_members.get((split, str(group)), ())
    real = set(a.did_panel.real_adopters)
    sample = Sample(treated=treated, comparison_count=m.sample.comparison_count, excluded=m.sample.excluded,
                    real_adopters_included=tuple(c for c in treated if c in real))
    return ResultEntry(name, att, se, lo, hi, "log points", f"Imputation ATT, {split} = {group}", estimand, sample,
                       Inference(method="cluster_robust", n_treated_clusters=n_pemda,
                                 pvalue=normal_pvalue(att, se),
                                 details={"cluster": "pemda"}))


def pretrend(a: ServiceTimeAnalysis):
    """BJS Test 1 of the headline fit (``analysis.did.PretrendTest``): lead dummies for the last
    ``PRETREND_WINDOW`` months before adoption added to the untreated-outcome model, jointly zero
    (cluster-robust Wald), or None.

    Why a window rather than every lead: the earliest leads are supported only by the first
    adopters (one or two Pemda each), whose cluster-robust covariance is nearly singular. The
    leads are deviations from the untreated fit (not relative to month −1), so alternating signs
    from a noisy month do not arise as with CS's month-on-month placebo DiDs. Default data (no
    pre-trend by design): stat 4.74, df 6, p = 0.58 (the CS window test gave p = 0.018 there,
    driven by a noisy base month g − 1).
    """
    fit = a.estimates.get(HEADLINE_ESTIMATOR)
    return None if fit is None else fit.pretrend


def headline_facts(a: ServiceTimeAnalysis) -> dict:
    """The numbers of the headline sentence (catalogue ``10.headline``): the headline effect on log
    median days (``att``, ``att_ci``; cells weighted equally), the same as a percent change of the
    median (``pct``, ``pct_ci``), the request-weighted estimand (``att_requests``,
    ``att_requests_ci``), and the pre-trend test (``pretrend``: ``tested`` / ``not_tested``;
    ``pretrend_months``, ``pretrend_stat``, ``pretrend_df``, ``pretrend_p``)."""
    m, r = a.median, a.median_requests
    pct, lo, hi = pct_change(m.att, m.ci_low, m.ci_high)
    pt = pretrend(a)
    return {
        "att": m.att, "att_ci": (m.ci_low, m.ci_high), "pct": pct, "pct_ci": (lo, hi),
        "att_requests": r.att, "att_requests_ci": (r.ci_low, r.ci_high),
        "pretrend": "not_tested" if pt is None else "tested",
        "pretrend_months": None if pt is None else len(pt.events),
        "pretrend_stat": None if pt is None else pt.stat,
        "pretrend_df": None if pt is None else pt.df,
        "pretrend_p": None if pt is None else pt.pvalue,
    }


def conclusion_facts(a: ServiceTimeAnalysis) -> dict:
    """The numbers and codes of the plain-language conclusion (catalogue ``10.conclusion``):
    ``direction`` (``longer`` / ``shorter``) and size ``pct`` of the change in median completion
    time with ``pct_ci``; ``clarity`` (``clear`` when the 95% CI excludes zero, else
    ``unclear``); the SLA share effect ``sla`` / ``sla_ci`` (percentage points); the hazard ratio
    ``hazard_ratio`` / ``hazard_ci``; the pre-trend p-value ``pretrend_p`` (None if not tested)."""
    m, s, h = a.median, a.sla, a.hazard
    pct, lo, hi = pct_change(m.att, m.ci_low, m.ci_high)
    pt = pretrend(a)
    return {
        "direction": "longer" if pct > 0 else "shorter", "pct": pct, "pct_ci": (lo, hi),
        "clarity": "clear" if m.ci_low > 0 or m.ci_high < 0 else "unclear",
        "sla": s.att, "sla_ci": (s.ci_low, s.ci_high),
        "hazard_ratio": h.hazard_ratio, "hazard_ci": (h.ci_low, h.ci_high),
        "pretrend_p": None if pt is None else pt.pvalue,
    }


def window_facts(a: ServiceTimeAnalysis) -> dict:
    """The estimation window and the units kept and dropped (catalogue ``10.window``)."""
    dp = a.did_panel
    return {"window": dp.window, "n_units": int(dp.data["unit"].nunique()),
            "n_cells_dropped": int(dp.counts.get("n_cells_unidentified", 0))}


def hazard_facts(a: ServiceTimeAnalysis) -> dict:
    """The request-level hazard ratio, its interval and sample (catalogue ``10.hazard``); below 1
    means slower completion."""
    h = a.hazard
    return {"hazard_ratio": h.hazard_ratio, "hazard_ci": (h.ci_low, h.ci_high), "n_requests": h.n_requests,
            "n_treated_pemda": h.n_treated_pemda, "n_control_pemda": h.n_control_pemda,
            "n_cells": h.model.params["n_cells"], "n_bins": h.model.params["n_bins"]}


def adopters_table(inputs: ServiceInputs) -> pd.DataFrame:
    """Every Pemda with WFA in the data and how the staggered estimators treat it: ``name,
    region_code, cohort, wfa_days_per_week, treated_months, last_treated, status, note`` (notes
    as :class:`~analysis.notes.Note` tuples), by cohort."""
    adopters = inputs.treatment[inputs.treatment["status"] != "never"]
    names = inputs.regions.assign(region_code=inputs.regions["region_code"].astype(str)).set_index("region_code")["name"]
    table = adopters.assign(name=adopters["region_code"].astype(str).map(names))
    columns = ["name", "region_code", "cohort", "wfa_days_per_week", "treated_months", "last_treated", "status", "note"]
    return table[columns].sort_values(["cohort", "region_code"], kind="stable").reset_index(drop=True)


def naive_bias_table(a: ServiceTimeAnalysis) -> pd.DataFrame:
    """The simple ATT on log median days with Kaplan–Meier medians and with completed-only
    medians: ``method`` (``km`` / ``naive``), ``att, se, ci_low, ci_high, n_treated_cells`` and
    ``truth`` on synthetic data."""
    rows = [{"method": method, **a.naive[method]} for method in ("km", "naive")]
    return pd.DataFrame(rows)


def wfa_by_month(inputs: ServiceInputs) -> pd.DataFrame:
    """WFA in force per Pemda and month over the analysis months (from ``ANALYSIS_START``), for
    the adoption timeline (:func:`analysis.panels.treatment.treatment_by_period`)."""
    months = sorted(p for p in inputs.panel["month"].unique() if p >= ANALYSIS_START)
    return treatment_by_period(inputs.policies, inputs.regions, periods=months)


def estimator_failures(a: ServiceTimeAnalysis) -> list[Note]:
    """The ``estimator_failed`` notes (``estimator``, ``error``) of the estimators that could not run."""
    return list(a.failures)


def difference_tests_table(a: ServiceTimeAnalysis) -> pd.DataFrame:
    """The heterogeneity tests as the reader sees them: per split, the effects of the at-risk
    and comparison sides, their difference with its 95% CI, the raw and Holm-adjusted p-values and,
    for the brief's three risks, the verdict (:func:`analysis.analyses.heterogeneity.risk_verdicts`)."""
    if a.group_tests.empty:
        return pd.DataFrame(columns=["split", "at_risk_att", "comparison_att", "difference", "ci_low", "ci_high",
                                     "pvalue", "pvalue_holm", "verdict"])
    verdicts = a.risks.set_index("split")["verdict"] if len(a.risks) else pd.Series(dtype=object)
    table = a.group_tests[["split", "n_at_risk_pemda", "n_comparison_pemda", "at_risk_att", "comparison_att",
                           "difference", "ci_low", "ci_high", "pvalue", "pvalue_holm"]].copy()
    table["verdict"] = table["split"].map(verdicts)
    return table


def event_study_tables(a: ServiceTimeAnalysis) -> dict[str, pd.DataFrame]:
    """``{estimator code: event-study table}`` of the estimators that ran."""
    return {name: result.event_study() for name, result in a.estimates.items()}


#: What notebook 10 uses from this module (the sample and inputs are re-exported for it).
__all__ = [
    "ANALYSIS_START", "OUTCOMES", "ESTIMATORS", "HEADLINE_ESTIMATOR", "ServiceInputs", "ServiceTimeAnalysis",
    "Estimate", "load_inputs", "run_analysis", "estimate_all", "headline_fit", "overall_table", "pct_change",
    "result_entries", "headline_diagnostics", "pretrend", "headline_facts", "conclusion_facts", "window_facts", "hazard_facts",
    "adopters_table", "naive_bias_table", "difference_tests_table", "event_study_tables", "wfa_by_month", "estimator_failures",
]


def effects_by_pemda(a: ServiceTimeAnalysis, inputs: ServiceInputs) -> pd.DataFrame:
    """Each registry adopter's own effect on the headline outcome, for the map: the imputation
    ATT over that Pemda's treated cells (one fit with one group per adopter: the same model of
    untreated outcomes as the headline, clustered by Pemda), as a percent change
    ``100 (exp(att) − 1)``. Columns ``region_code, name, estimate, ci_low, ci_high`` (percent),
    ``att`` (log points) and ``n_cells``; a registry adopter outside the headline sample is absent."""
    data = did_frame(a.did_panel)
    treated = set(data.loc[data["cohort"] != 0, "region_code"].astype(str))
    codes = sorted(set(registry_adopters(inputs.policies)) & treated)
    columns = ["region_code", "name", "estimate", "ci_low", "ci_high", "att", "n_cells"]
    if not codes:
        return pd.DataFrame(columns=columns)
    data["adopter"] = data["region_code"].astype(str).where(data["region_code"].astype(str).isin(codes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = did.imputation(data, groups=["adopter"], **_COMMON)
    groups = fit.details["groups"]
    groups = groups[groups["column"] == "adopter"]
    names = pemda_names(inputs.regions)
    out = pd.DataFrame({
        "region_code": groups["group"].astype(str).to_numpy(),
        "att": groups["att"].to_numpy(float),
        "estimate": 100 * np.expm1(groups["att"].to_numpy(float)),
        "ci_low": 100 * np.expm1(groups["ci_low"].to_numpy(float)),
        "ci_high": 100 * np.expm1(groups["ci_high"].to_numpy(float)),
        "n_cells": groups["n_obs"].to_numpy(int),
    })
    out["name"] = out["region_code"].map(names).fillna(out["region_code"])
    return out[columns].sort_values("region_code").reset_index(drop=True)
