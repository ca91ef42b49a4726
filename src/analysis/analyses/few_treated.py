"""The inference of the two headlines, chosen by the number of treated Pemda (issue #10):
notebooks 10 and 20 call :func:`service_headline_inference` / :func:`budget_headline_inference`,
show :func:`inference_table` and the sentence ``inference.headline`` (:func:`inference_facts`),
and pass the result to their ``result_entries`` (the ``inference`` field of the headline entries).

Rule (:func:`analysis.did.inference.choose_inference`): analytic cluster-robust standard errors
from :data:`~analysis.did.inference.MIN_TREATED_CLUSTERS_ANALYTIC` treated Pemda on;
randomization inference below that (its p-value and interval shown next to the analytic ones,
which stay visible). When the analytic SEs suffice nothing more is computed.

The randomization statistic is fast by design (an RI run re-computes it ``draws + 1`` times for
the p-value and about 25 times as often for the interval):

- **service** (headline: imputation on the unbalanced Pemda × service × month panel):
  :func:`imputation_statistic`, the same imputation point estimate (untreated-outcome model
  with line and month effects fitted on the untreated cells, every treated cell equally),
  studentised by the clustered spread of the treated cells' effects (the untreated model's own
  noise left out). Any statistic gives an exact test under random assignment; studentising keeps
  lines with noisy medians from dominating the null distribution.
- **budget** (headline: Callaway–Sant'Anna with the TKD covariates, 0.7 s a call, too slow for
  thousands of calls): the balanced imputation ATT with the cut exposure ``cut share × [period
  ≥ 2026]`` and its BJS clustered SE (``analysis.did.imputation_balanced``), the statistic whose
  size benchmarks/few_treated_size.py measured (6.0 % at 5 % with the real adopters).

Assignments are permuted within level (province vs kabupaten/kota), keeping the cohort sizes
(:data:`~analysis.did.inference.RECOMMENDED_STRATA`). Cost on the registry-only data (4 treated
Pemda; benchmarks/ri_cost.py): 4 ms per budget call, about 10 ms per service call (measured
here on the small registry-only dataset), and an RI run with the interval makes about 21 × (draws
+ 1) calls, so :data:`DEFAULT_DRAWS` = 99 draws take some 10-25 s per headline on an idle
machine (199 draws: twice that). 99 keeps the 5 % test exact (``0.05 × (99 + 1)`` is an integer;
the smallest attainable p-value is 0.01).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse

from analysis.did.imputation_balanced import balanced_imputation_att
from analysis.did.inference import (
    DEFAULT_SEED,
    MIN_TREATED_CLUSTERS_ANALYTIC,
    RECOMMENDED_STRATA,
    RandomizationResult,
    choose_inference,
    randomization_inference,
    treated_cells,
)
from analysis.did.results import normal_pvalue
from analysis.report.results_file import Inference

if TYPE_CHECKING:
    from analysis.analyses.budget_savings import BudgetAnalysis
    from analysis.analyses.service_sample import ServiceInputs
    from analysis.analyses.service_time import ServiceTimeAnalysis

#: Randomization draws of the notebooks' default (parameter ``ri_draws``).
DEFAULT_DRAWS = 99

__all__ = ["DEFAULT_DRAWS", "HeadlineInference", "budget_headline_inference", "budget_ri_frame",
           "imputation_statistic", "inference_facts", "inference_table", "pemda_level",
           "service_headline_inference"]


@dataclass(frozen=True)
class HeadlineInference:
    """The inference of one headline estimate.

    ``inference``: the ``results.json`` field (method ``cluster_robust`` with reason
    ``enough_treated_clusters``, or ``randomization`` with reason ``few_treated_clusters``;
    ``pvalue`` of the method used); ``estimate``, ``se``, ``ci_low``, ``ci_high``: the analytic
    headline (kept visible); ``randomization``: the RI result (None when analytic SEs suffice);
    ``statistic``: code of the RI statistic (``imputation_studentised`` /
    ``balanced_imputation_cut_exposure``), ``threshold``.
    """

    inference: Inference
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    randomization: RandomizationResult | None
    statistic: str
    threshold: int = MIN_TREATED_CLUSTERS_ANALYTIC

    @property
    def method(self) -> str:
        return self.inference.method

    @property
    def analytic_pvalue(self) -> float:
        return normal_pvalue(self.estimate, self.se)

    def entry_inference(self, **details) -> Inference:
        """The ``inference`` field for a results entry of this estimate (``details`` added)."""
        i = self.inference
        return Inference(i.method, i.reason, i.n_treated_clusters, i.pvalue, {**i.details, **details})


def pemda_level(codes: pd.Series) -> pd.Series:
    """``provinsi`` / ``kabkota`` per Kemendagri region code (the stratum of the permutations): a
    province's code has no dot (``17``), a kabupaten/kota's has one (``17.09``)."""
    codes = codes.astype(str)
    return pd.Series(np.where(codes.str.contains(".", regex=False), "kabkota", "provinsi"), index=codes.index,
                     name="level")


# ------------------------------------------------------------------------------ the statistics
def imputation_statistic(data: pd.DataFrame, *, outcome: str = "y", unit: str = "unit_id", time: str = "month",
                         cohort: str = "cohort", cluster: str = "region_code") -> tuple[float, float]:
    """Imputation ATT on an unbalanced panel and a clustered SE of the treated cells' effects.

    Untreated cells (never treated, or before the cohort month) fit ``y = α_unit + β_time`` by
    least squares (the month effects solved from the concentrated normal equations, a
    months × months system); the effect of a treated cell is ``y − α − β``, the ATT their mean
    (every cell equally: the headline's point estimate). Treated cells of a unit or month without
    an untreated cell cannot be imputed and are left out. SE: ``sqrt(Σ_c (Σ_{cells of c}
    (τ − ATT))²) / n`` over clusters ``c``. Raises ``ValueError`` when no cell can be imputed.
    """
    u, _ = pd.factorize(data[unit])
    t, periods = pd.factorize(data[time], sort=True)
    c, _ = pd.factorize(data[cluster])
    y = data[outcome].to_numpy(dtype=float)
    treated = treated_cells(data, cohort=cohort, time=time)
    n_u, n_t = int(u.max()) + 1, len(periods)
    ui, ti, yi = u[~treated], t[~treated], y[~treated]
    n_i = np.bincount(ui, minlength=n_u).astype(float)
    n_ti = np.bincount(ti, minlength=n_t).astype(float)
    inv = np.divide(1.0, n_i, out=np.zeros_like(n_i), where=n_i > 0)
    incidence = sparse.csr_matrix((np.ones(len(ui)), (ui, ti)), shape=(n_u, n_t))
    s_i = np.bincount(ui, weights=yi, minlength=n_u)
    s_t = np.bincount(ti, weights=yi, minlength=n_t)
    scaled = incidence.multiply(inv[:, None]).tocsr()
    normal = np.diag(n_ti) - (incidence.T @ scaled).toarray()
    beta = np.linalg.lstsq(normal, s_t - incidence.T @ (inv * s_i), rcond=None)[0]
    alpha = inv * (s_i - incidence @ beta)
    ok = treated & (n_i[u] > 0) & (n_ti[t] > 0)
    if not ok.any():
        raise ValueError("no treated cell can be imputed (no untreated cell of its unit or month)")
    tau = y[ok] - alpha[u[ok]] - beta[t[ok]]
    att = float(tau.mean())
    scores = np.bincount(c[ok], weights=tau - att)
    se = float(math.sqrt(float(np.sum(scores ** 2)))) / len(tau)
    return att, se


def _budget_statistic(frame: pd.DataFrame) -> tuple[float, float]:
    return balanced_imputation_att(frame, outcome="y", unit="region_code", time="time", cohort="cohort",
                                   covariates=["cut_exposure"])


# ------------------------------------------------------------------------------ the headlines
def _analytic(choice: Inference, estimate: float, se: float, details: dict) -> Inference:
    pvalue = normal_pvalue(estimate, se)
    return Inference(choice.method, choice.reason, choice.n_treated_clusters, pvalue,
                     {**details, **choice.details})


def _randomization(result: RandomizationResult, choice: Inference, statistic: str, details: dict) -> Inference:
    ri = result.as_inference(choice.reason)
    return Inference(ri.method, ri.reason, ri.n_treated_clusters, ri.pvalue,
                     {**details, **ri.details, "ri_statistic": statistic, "threshold": choice.details["threshold"]})


def service_headline_inference(a: ServiceTimeAnalysis, inputs: ServiceInputs | None = None, *, draws: int = DEFAULT_DRAWS,
                               seed: int = DEFAULT_SEED,
                               threshold: int = MIN_TREATED_CLUSTERS_ANALYTIC) -> HeadlineInference:
    """The inference of notebook 10's headline (log KM median days, cells equal), see the module doc."""
    from analysis.analyses.service_sample import (
        build_did_panel,
        did_frame,
        registry_adopters,
    )

    m = a.median
    choice = choose_inference(m.sample.treated_count, threshold=threshold)
    details = {"cluster": "pemda", "variance": "bjs_conservative_leave_out"}
    if choice.method != "randomization":
        return HeadlineInference(_analytic(choice, m.att, m.se, details), m.att, m.se, m.ci_low, m.ci_high, None,
                                 "imputation_studentised", threshold)
    dp = a.did_panel
    if a.parameters.get("outcome", "median_days") != "median_days":
        if inputs is None:
            raise ValueError("the event studies used another outcome: pass the inputs to rebuild the headline panel")
        dp = build_did_panel(inputs.panel, inputs.treatment, service_type=a.parameters["service_type"],
                             real_adopters=registry_adopters(inputs.policies))
    frame = did_frame(dp)
    frame["level"] = pemda_level(frame["region_code"])
    result = randomization_inference(frame, imputation_statistic, assign_by="region_code", cohort="cohort",
                                     outcome="y", time="month", strata=list(RECOMMENDED_STRATA), draws=draws,
                                     seed=seed, linear_outcome=True)
    return HeadlineInference(_randomization(result, choice, "imputation_studentised", details), m.att, m.se,
                             m.ci_low, m.ci_high, result, "imputation_studentised", threshold)


def budget_ri_frame(analysis: BudgetAnalysis) -> pd.DataFrame:
    """The balanced monthly panel of log real routine spending for the budget RI statistic:
    ``region_code, time, y, cohort`` (integer period, 0 = never), ``cut_exposure``, ``level``;
    units of the staggered sample with a complete series, one-Pemda cohorts left out (as the
    headline does)."""
    from analysis.panels.budget import ROUTINE_TOTAL

    panel = analysis.panel[analysis.panel["category"] == ROUTINE_TOTAL]
    units = analysis.units[["region_code", "cohort_time"]]
    sizes = units.loc[units["cohort_time"] > 0, "cohort_time"].value_counts()
    units = units[~units["cohort_time"].isin(sizes.index[sizes < 2])]
    cut = analysis.covariates[["region_code", "tkd_cut_share"]]
    frame = panel[["region_code", "period", "time", "log_realized_real"]].merge(units, on="region_code")
    frame = frame.merge(cut, on="region_code")
    complete = frame["log_realized_real"].notna().groupby(frame["region_code"]).transform("all")
    complete &= frame["tkd_cut_share"].notna().groupby(frame["region_code"]).transform("all")
    frame = frame[complete].rename(columns={"cohort_time": "cohort", "log_realized_real": "y"})
    cut_start = frame.loc[frame["period"].astype(str) >= "2026", "time"].min()
    frame["cut_exposure"] = frame["tkd_cut_share"] * (frame["time"] >= cut_start)
    frame["level"] = pemda_level(frame["region_code"])
    n_periods = frame["time"].nunique()
    full = frame.groupby("region_code")["time"].transform("size") == n_periods
    return frame[full].reset_index(drop=True)


def budget_headline_inference(analysis: BudgetAnalysis, *, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
                              threshold: int = MIN_TREATED_CLUSTERS_ANALYTIC) -> HeadlineInference:
    """The inference of notebook 20's headline (CS ATT on log routine spending), see the module doc."""
    from analysis.panels.budget import ROUTINE_TOTAL

    head = analysis.effects[ROUTINE_TOTAL]
    choice = choose_inference(head.n_treated, threshold=threshold)
    details = {"cluster": "region_code", "se": "analytic_influence_function"}
    if choice.method != "randomization":
        return HeadlineInference(_analytic(choice, head.att, head.se, details), head.att, head.se, head.ci_low,
                                 head.ci_high, None, "balanced_imputation_cut_exposure", threshold)
    frame = budget_ri_frame(analysis)
    result = randomization_inference(frame, _budget_statistic, assign_by="region_code", cohort="cohort",
                                     outcome="y", time="time", strata=list(RECOMMENDED_STRATA), draws=draws,
                                     seed=seed, linear_outcome=True)
    return HeadlineInference(_randomization(result, choice, "balanced_imputation_cut_exposure", details), head.att,
                             head.se, head.ci_low, head.ci_high, result, "balanced_imputation_cut_exposure",
                             threshold)


# ------------------------------------------------------------------------------ for the reader
def inference_table(h: HeadlineInference) -> pd.DataFrame:
    """Analytic and (when run) randomization inference side by side: ``inference`` (code),
    ``estimate, se, pvalue, ci_low, ci_high``, ``used`` (the one the text reads)."""
    rows = [{"inference": "cluster_robust", "estimate": h.estimate, "se": h.se, "pvalue": h.analytic_pvalue,
             "ci_low": h.ci_low, "ci_high": h.ci_high, "used": h.method == "cluster_robust"}]
    r = h.randomization
    if r is not None:
        rows.append({"inference": "randomization", "estimate": r.estimate, "se": None, "pvalue": r.pvalue,
                     "ci_low": r.ci_low, "ci_high": r.ci_high, "used": True})
    return pd.DataFrame(rows)


def inference_facts(h: HeadlineInference) -> dict:
    """The facts of the sentence ``inference.headline``: ``method`` (``cluster_robust`` /
    ``randomization``), ``n_treated``, ``threshold``, the analytic ``pvalue_analytic`` and, for
    randomization, ``pvalue``, ``ci`` (pair), ``draws``, ``min_pvalue``, ``interval``
    (``bounded`` / ``unbounded``), ``clarity`` (``detected`` when the p-value of the method
    used is at most 0.05, else ``not_detected``)."""
    r = h.randomization
    pvalue = r.pvalue if r is not None else h.analytic_pvalue
    bounded = r is None or (np.isfinite(r.ci_low) and np.isfinite(r.ci_high))
    return {
        "method": h.method, "n_treated": int(h.inference.n_treated_clusters or 0), "threshold": h.threshold,
        "pvalue_analytic": h.analytic_pvalue, "pvalue": pvalue,
        "ci": (r.ci_low, r.ci_high) if r is not None else (h.ci_low, h.ci_high),
        "draws": r.draws if r is not None else 0, "min_pvalue": r.min_pvalue if r is not None else None,
        "interval": "bounded" if bounded else "unbounded",
        "clarity": "detected" if pvalue <= 0.05 else "not_detected",
    }
