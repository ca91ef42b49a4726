"""Service completion times under WFA: the analysis steps notebook ``10_service_time`` calls.

Design (what is estimated, on what):

- **Unit** = Pemda × service type (one time series per office line), **time** = submission month,
  **cohort** = the Pemda's first WFA month (``analysis.panels.treatment``), clustered by Pemda.
- **Outcomes**: ``log_median_days`` (log of the censoring-aware KM median, days),
  ``log_p90_days``, ``sla_pp`` (share within SLA, in percentage points 0–100), and the biased
  ``log_naive_median_days`` (completed requests only) for the comparison.
- **Window**: from ``ANALYSIS_START``; it ends at the last month in which at least
  ``MIN_IDENTIFIED_SHARE`` of cells have the outcome identified (the newest months have too many
  open requests for a KM median). Units missing the outcome in any window month are dropped (a
  balanced panel, which the estimators and the cell-average reading of the simple ATT need).
  Adopters whose cohort falls after the window, Pemda whose WFA switched off and Pemda already
  treated at the window start are left out (``analysis.panels.treatment``). So are cohorts with fewer
  than ``MIN_PEMDA_PER_COHORT`` Pemda left in the balanced panel (default data: 2025-03 Sulawesi
  Selatan, 2025-11 Jawa Barat): with clustering by Pemda, a cohort of one Pemda contributes
  nothing to the cluster-robust variance of its own ATT(g,t) (its units' deviations from the
  cohort mean sum to zero inside the single cluster), so its estimates — the only ones at long
  event times — would carry a control-only standard error.
- **Heterogeneity**: the CS simple ATT for each group of treated Pemda against the same control
  Pemda, computed here with its influence function (never-treated or not-yet-treated controls, no
  covariates — the same point estimate as ``analysis.did.callaway_santanna``). Differences
  between groups are Wald tests using the joint influence functions summed by Pemda, so the
  dependence through shared control Pemda is accounted for. The variance treats the group
  weights as fixed (the CS weight-estimation term is omitted).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import pandas as pd

from analysis import did, durations
from analysis.analyses.heterogeneity import SimpleAtt, cs_simple_att, heterogeneity
from analysis.analyses.service_sample import (
    ANALYSIS_START,
    OUTCOMES,
    DidPanel,
    ServiceInputs,
    build_did_panel,
    did_frame,
    load_inputs,
    truth_for_cells,
)
from analysis.did import pretrend_test
from analysis.notes import Note
from analysis.panels.treatment import treatment_by_period
from analysis.report.results_file import ResultEntry

ESTIMATORS = ("cs", "sun_abraham", "imputation", "twfe")


# --------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------

def estimate_all(dp: DidPanel, *, control: str = "never") -> dict:
    """Event studies with every estimator (``analysis.did``), clustered by Pemda.

    Returns ``{estimator short name: result}``; an estimator that fails is reported in
    ``result["errors"]`` instead of stopping the run.
    """
    data = did_frame(dp)
    common = dict(outcome="y", unit="unit_id", time="month", cohort="cohort", cluster="region_code")
    out, errors = {}, {}
    calls = {
        "cs": lambda: did.callaway_santanna(data, control=control, **common),
        "sun_abraham": lambda: did.sun_abraham(data, control=control, **common),
        "imputation": lambda: did.imputation(data, **common),
        "twfe": lambda: did.twfe(data, **common),
    }
    for name, call in calls.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[name] = call()
        except Exception as exc:  # reported in the notebook, not silently dropped
            errors[name] = f"{type(exc).__name__}: {exc}"
    out["errors"] = errors
    return out



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



# --------------------------------------------------------------------------------------------
# The whole analysis, results and the plain-language conclusion
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceTimeAnalysis:
    """Everything notebook 10 shows. Effects on log outcomes are log points; ``sla`` in pp."""

    did_panel: DidPanel
    estimates: dict               # estimator name → result (analysis.did); "errors" → dict
    overall: pd.DataFrame         # estimator, att, se, ci_low, ci_high
    median_cs: dict               # CS simple ATT on log median days (att, se, ci_low, ci_high)
    sla_cs: dict                  # CS simple ATT on SLA share (pp)
    naive: dict                   # {"naive": SimpleAtt-like dict, "km": ..., "truth_*" when known}
    groups: pd.DataFrame
    group_tests: pd.DataFrame
    hazard: object                # analysis.durations.HazardResult
    km_curves: pd.DataFrame
    notes: tuple[Note, ...]       # analysis.notes.Note: data and heterogeneity notes
    parameters: dict


def _as_dict(fit: SimpleAtt) -> dict:
    lo, hi = fit.ci()
    return {"att": fit.att, "se": fit.se, "ci_low": lo, "ci_high": hi, "n_treated_cells": fit.n_treated_cells}


def run_analysis(inputs: ServiceInputs, *, outcome: str = "median_days", service_type: str = "all",
                 control: str = "never", truth_cells: pd.DataFrame | None = None) -> ServiceTimeAnalysis:
    """Run every step for one parameter set (see the module doc for the design)."""
    dp = build_did_panel(inputs.panel, inputs.treatment, outcome=outcome, service_type=service_type)
    estimates = estimate_all(dp, control=control)
    common = dict(outcome="y", unit="unit_id", time="month", cohort="cohort", cluster="region_code", control=control)
    median_dp = dp if outcome == "median_days" else build_did_panel(inputs.panel, inputs.treatment,
                                                                      service_type=service_type)
    median_cs = (estimates["cs"] if outcome == "median_days" and "cs" in estimates
                 else did.callaway_santanna(did_frame(median_dp), **common)).overall()
    sla_dp = build_did_panel(inputs.panel, inputs.treatment, outcome="sla_share", service_type=service_type)
    sla_cs = (estimates["cs"] if outcome == "sla_share" and "cs" in estimates
              else did.callaway_santanna(did_frame(sla_dp), **common)).overall()
    km_fit = cs_simple_att(did_frame(median_dp), control=control)
    naive_dp = build_did_panel(inputs.panel, inputs.treatment, service_type=service_type, naive=True,
                               end=inputs.panel["month"].max())
    naive_fit = cs_simple_att(did_frame(naive_dp), control=control)
    naive = {"km": _as_dict(km_fit), "naive": _as_dict(naive_fit), "naive_window": naive_dp.window,
             "km_window": median_dp.window}
    if truth_cells is not None:
        naive["km"]["truth"] = truth_for_cells(km_fit.cells, truth_cells)
        naive["naive"]["truth"] = truth_for_cells(naive_fit.cells, truth_cells)
    groups, tests, notes = heterogeneity(inputs, outcome="median_days", service_type=service_type, control=control,
                                         truth_cells=truth_cells)
    counts = durations.person_period_counts(inputs.requests_source, inputs.treatment, extracted_at=inputs.extracted_at,
                                            end=median_dp.window[1])
    if service_type != "all":
        counts = counts[counts["service_type"] == service_type]
    hazard = durations.hazard_ratio(counts)
    sample, _ = durations.request_sample(inputs.requests_source, inputs.treatment, extracted_at=inputs.extracted_at,
                                         end=median_dp.window[1], max_requests=100_000)
    if service_type != "all":
        sample = sample[sample["service_type"] == service_type]
    curves = durations.km_before_after(sample)
    params = {"outcome": outcome, "service_type": service_type, "control": control}
    return ServiceTimeAnalysis(dp, estimates, overall_table(estimates), median_cs, sla_cs, naive, groups, tests,
                               hazard, curves, tuple(inputs.notes) + tuple(notes), params)


def result_entries(a: ServiceTimeAnalysis) -> list:
    """The machine-readable results (``analysis.report.results_file.ResultEntry``) of notebook 10."""
    m, s = a.median_cs, a.sla_cs
    pct = pct_change(m["att"], m["ci_low"], m["ci_high"])
    entries = [
        ResultEntry("att_log_median_days", m["att"], m["se"], m["ci_low"], m["ci_high"], "log points",
                    "CS simple ATT of WFA on log KM median completion days"),
        ResultEntry("att_pct_median_days", pct[0], None, pct[1], pct[2], "percent",
                    "CS simple ATT as % change in median completion days: 100*(exp(att)-1)"),
        ResultEntry("att_sla_share", s["att"], s["se"], s["ci_low"], s["ci_high"], "percentage points",
                    "CS simple ATT on the share completed within the SLA"),
        ResultEntry("att_log_median_days_naive", a.naive["naive"]["att"], a.naive["naive"]["se"],
                    a.naive["naive"]["ci_low"], a.naive["naive"]["ci_high"], "log points",
                    "Same, from completed-only medians (biased; for comparison)"),
        ResultEntry("hazard_ratio_completion", a.hazard.hazard_ratio, None, a.hazard.ci_low, a.hazard.ci_high, "ratio",
                    "Hazard ratio of completion under WFA (<1 = slower), piecewise-exponential PH model"),
    ]
    for r in a.groups.itertuples():
        entries.append(ResultEntry(f"att_log_median_days__{r.split}__{r.group}", r.att, r.se, r.ci_low, r.ci_high,
                                   "log points", f"CS simple ATT, {r.split} = {r.group}"))
    return entries


#: Months before adoption covered by the reported pre-trend test.
PRETREND_WINDOW = 6


def pretrend(a: ServiceTimeAnalysis):
    """Joint Wald test that the CS event-study estimates of the last ``PRETREND_WINDOW`` months
    before adoption are zero (``analysis.did.PretrendTest``), or None.

    Why a window rather than R did's test over every pre-treatment ATT(g,t) cell: the earliest
    pre-periods are supported only by the first adopters (one or two Pemda each), whose
    cluster-robust covariance is nearly singular, which makes the all-cell test meaningless.

    Reading the test (checked on the synthetic data, which have no pre-trends by design):

    - With ``base_period="varying"`` the pre-period estimates are month-on-month placebo DiDs, so
      the noise of one cell-median month enters two neighbouring estimates with opposite signs:
      alternating signs are expected, not a symptom. The joint covariance accounts for it, and a
      ``"universal"`` base gives the *same* Wald statistic over the same months (events −7..−2
      against −1 span the same differences as −6..−1 varying), so switching base does not change
      the test, only the picture.
    - Cell KM medians are very noisy (small cells; mixtures such as simple permits vs PBG or
      same-day vs KTP-print days make the median jump), so cohort means move by ±0.1 log points
      from month to month. Default seed 20260101: stat 15.3, df 6, p = 0.018, driven by a high
      month g − 1 of the treated cohorts, not by a trend (no systematic sign of the event −1
      estimate across seeds). Other seeds, same design (1–8, 10): p = 0.051, 0.647, 0.750,
      0.047, 0.286, 0.973, 0.640, 0.432, 0.113; with the default, 2 of 10 below 0.05
      (P(≥ 2 | 5 %) = 0.09). Placebo cohorts drawn among never-treated Pemda of the default data
      (same cohort sizes, 8 draws): p from 0.15 to 0.74. The low default p-value is within chance;
      10 seeds cannot rule out a mild over-rejection.
    - The same noisy base month g − 1 is why the CS simple ATT (one base month per cohort) has
      about twice the standard error of the imputation estimator (all pre-periods as the base)
      and can sit 1–2 SE from the truth on one seed (default: 0.038 vs truth 0.061).
    - Cohorts of a single Pemda are excluded before estimation (``MIN_PEMDA_PER_COHORT``): their
      Pemda-clustered variance ignores the treated Pemda's own noise. This fixes their
      standard errors at long event times but hardly moves this test (default: p = 0.017 without
      them).
    """
    cs = a.estimates.get("cs")
    if cs is None:
        return None
    available = set(cs.event_study()["event"].astype(int))
    events = [e for e in range(-PRETREND_WINDOW, 0) if e in available]
    return pretrend_test(cs, events=events) if events else None


def headline_facts(a: ServiceTimeAnalysis) -> dict:
    """The numbers of the headline sentence (catalogue ``10.headline``): the CS simple ATT on log
    median days (``att``, ``att_ci``), the same as a percent change of the median (``pct``,
    ``pct_ci``), and the pre-trend test (``pretrend``: ``tested`` / ``not_tested``;
    ``pretrend_months``, ``pretrend_stat``, ``pretrend_df``, ``pretrend_p``)."""
    m = a.median_cs
    pct, lo, hi = pct_change(m["att"], m["ci_low"], m["ci_high"])
    pt = pretrend(a)
    return {
        "att": m["att"], "att_ci": (m["ci_low"], m["ci_high"]), "pct": pct, "pct_ci": (lo, hi),
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
    m, s, h = a.median_cs, a.sla_cs, a.hazard
    pct, lo, hi = pct_change(m["att"], m["ci_low"], m["ci_high"])
    pt = pretrend(a)
    return {
        "direction": "longer" if pct > 0 else "shorter", "pct": pct, "pct_ci": (lo, hi),
        "clarity": "clear" if m["ci_low"] > 0 or m["ci_high"] < 0 else "unclear",
        "sla": s["att"], "sla_ci": (s["ci_low"], s["ci_high"]),
        "hazard_ratio": h.hazard_ratio, "hazard_ci": (h.ci_low, h.ci_high),
        "pretrend_p": None if pt is None else pt.pvalue,
    }


def window_facts(a: ServiceTimeAnalysis) -> dict:
    """The estimation window and the units kept and dropped (catalogue ``10.window``)."""
    dp = a.did_panel
    return {"window": dp.window, "n_units": int(dp.data["unit"].nunique()), "n_dropped": int(dp.n_units_dropped_unbalanced)}


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
    """One ``estimator_failed`` note per estimator that could not run (``estimator``, ``error``)."""
    return [Note("estimator_failed", {"estimator": name, "error": error})
            for name, error in a.estimates.get("errors", {}).items()]


def event_study_tables(a: ServiceTimeAnalysis) -> dict[str, pd.DataFrame]:
    """``{estimator code: event-study table}`` of the estimators that ran."""
    return {name: result.event_study() for name, result in a.estimates.items() if name != "errors"}


#: What notebook 10 uses from this module (the sample and inputs are re-exported for it).
__all__ = [
    "ANALYSIS_START", "OUTCOMES", "ESTIMATORS", "ServiceInputs", "ServiceTimeAnalysis", "load_inputs",
    "run_analysis", "estimate_all", "overall_table", "pct_change", "result_entries", "pretrend",
    "headline_facts", "conclusion_facts", "window_facts", "hazard_facts", "adopters_table", "naive_bias_table",
    "event_study_tables", "wfa_by_month", "estimator_failures",
]
