"""Does the conclusion depend on the method? The steps of notebook ``40_robustness`` (issue #10).

For one headline outcome, on one estimation sample:

- ``log_median_days``: the service headline panel of notebook 10 (Pemda × service line × month,
  log Kaplan–Meier median days, service type ``all``, unbalanced; built by
  :func:`analysis.analyses.service_sample.build_did_panel`; headline estimator: imputation);
- ``log_routine_spending``: the budget panel of notebook 20, monthly log real routine spending,
  balanced (Pemda with a complete series; one-Pemda cohorts, switched-off and already treated
  adopters left out as there; :func:`analysis.analyses.few_treated.budget_ri_frame`), every
  estimator adjusted for the 2026 TKD cut: CS doubly robust with the TKD covariates (the
  notebook-20 headline with not-yet-treated controls), the others with the time-varying cut
  exposure ``cut share × [period ≥ 2026-01]``.

What is computed (:func:`run_robustness`), every piece a fact for the notebook:

- **side by side** (:attr:`Robustness.table`): CS with never-treated and with not-yet-treated
  controls, imputation (BJS), Sun–Abraham, TWFE, each with its analytic clustered SE, and the
  few-treated inference (randomization inference over adoption assignments within level, the
  statistic of :mod:`analysis.analyses.few_treated`, its p-value and, when fewer than
  :data:`~analysis.did.inference.MIN_TREATED_CLUSTERS_ANALYTIC` Pemda are treated, its interval);
  an estimator that fails is a ``Note("estimator_failed")`` and no row;
- **HonestDiD** (Rambachan–Roth) robust intervals of the average post-adoption effect of the
  Sun–Abraham event study (relative magnitudes, Mbar 0-2; :func:`analysis.did.honest_sensitivity`);
- **Bacon decomposition** of the static TWFE coefficient (balanced panel: the budget panel, or the
  service lines observed every month);
- **pre-trend tests** of every event study (joint Wald test of the pre-adoption estimates);
- **anticipation**: the headline estimator with the cohort moved one month earlier (the month
  before WFA started, when it was announced, counted as treated);
- **leave one adopter out**: the headline estimator without each real (registry) adopter of the
  sample in turn;
- **verdict** (:func:`verdict`): ``robust`` when every estimate of the side-by-side table has the
  same sign and the same significance at 5 % (by its own p-value), else ``depends_on_method``.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd

from analysis import did
from analysis.analyses import few_treated
from analysis.data.names import pemda_names
from analysis.did.inference import (
    DEFAULT_SEED,
    MIN_TREATED_CLUSTERS_ANALYTIC,
    RECOMMENDED_STRATA,
    choose_inference,
    randomization_inference,
)
from analysis.did.propensity_reuse import reused_propensity_fits
from analysis.did.results import normal_pvalue
from analysis.notes import Note
from analysis.report.results_file import Estimand, Inference, ResultEntry, Sample

OUTCOMES = ("log_median_days", "log_routine_spending")
#: Rows of the side-by-side table, in order (``label.estimator.<code>``).
ESTIMATORS = ("cs_never", "cs_not_yet", "imputation", "sun_abraham", "twfe", "randomization")
HEADLINE = {"log_median_days": "imputation", "log_routine_spending": "cs_not_yet"}
VERDICTS = ("robust", "depends_on_method")
ALPHA = 0.05
#: Relative-magnitudes grid of the HonestDiD sensitivity (Mbar).
HONEST_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
#: Candidate values of the target in HonestDiD's test inversion (the robust interval's ends are
#: points of this grid; benchmarks/honest_grid.py measures what fewer would save and move).
HONEST_GRID_POINTS = 200

__all__ = ["ALPHA", "ESTIMATORS", "OUTCOMES", "Robustness", "RobustnessPanel", "anticipation_facts", "bacon_facts",
           "bacon_table", "build_panel", "headline_table", "honest_facts", "honest_intervals", "leave_one_out_facts", "result_entries",
           "run_robustness", "sample_facts", "verdict", "verdict_facts"]


@dataclass(frozen=True)
class RobustnessPanel:
    """The estimation sample every method uses. ``data`` columns: ``y``, the unit, time, cohort
    (0 = never) and cluster columns named by ``unit``, ``time``, ``cohort``, ``cluster``,
    ``level`` (stratum), ``region_code``; ``covariates``: CS's time-invariant covariates,
    ``exposure``: the time-varying covariates of the other estimators; ``real_adopters``: region
    codes of the registry adopters in the treated; ``names``: region code -> name."""

    outcome: str
    data: pd.DataFrame
    unit: str
    time: str
    cohort: str
    cluster: str
    covariates: tuple[str, ...] = ()
    exposure: tuple[str, ...] = ()
    real_adopters: tuple[str, ...] = ()
    names: dict = field(default_factory=dict)
    notes: tuple[Note, ...] = ()

    @property
    def columns(self) -> dict:
        return dict(outcome="y", unit=self.unit, time=self.time, cohort=self.cohort, cluster=self.cluster)

    def treated_codes(self) -> tuple[str, ...]:
        first = self.data.drop_duplicates("region_code")
        treated = first[~first[self.cohort].astype(str).isin(["0", "nan", "None"])]
        return tuple(sorted(treated["region_code"].astype(str)))

    def comparison_count(self) -> int:
        return int(self.data["region_code"].nunique()) - len(self.treated_codes())


def build_panel(data_dir, outcome: str) -> RobustnessPanel:
    """The sample of ``outcome`` (module doc), from the analyses' own panel builders."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if outcome == "log_median_days":
        from analysis.analyses.service_sample import (
            build_did_panel,
            did_frame,
            load_inputs,
            registry_adopters,
        )

        inputs = load_inputs(data_dir)
        real = registry_adopters(inputs.policies)
        dp = build_did_panel(inputs.panel, inputs.treatment, service_type="all", real_adopters=real)
        frame = did_frame(dp)
        frame["region_code"] = frame["region_code"].astype(str)
        frame["level"] = few_treated.pemda_level(frame["region_code"])
        panel = RobustnessPanel(outcome, frame, "unit_id", "month", "cohort", "region_code",
                                names=pemda_names(inputs.regions), notes=tuple(inputs.notes))
        treated = set(panel.treated_codes())
        return RobustnessPanel(**{**panel.__dict__, "real_adopters": tuple(c for c in real if str(c) in treated)})

    from analysis.data import load
    from analysis.panels.budget import (
        TKD_COVARIATES,
        adoption_table,
        cohorts_for_estimation,
        spending_panel,
        tkd_covariates,
    )
    from analysis.panels.treatment import real_adopter_codes

    dataset = load(data_dir)
    budget = dataset.table("budget", required=True)
    panel = spending_panel(budget, frequency="month")
    adoption = adoption_table(dataset.policies, dataset.regions, periods=budget["period"])
    units, _ = cohorts_for_estimation(adoption, panel, frequency="month")
    covariates = tkd_covariates(dataset.table("transfers", required=True), dataset.regions)
    frame = few_treated.budget_ri_frame(SimpleNamespace(panel=panel, units=units, covariates=covariates,
                                                        regions=dataset.regions))
    frame = frame.merge(covariates[["region_code", *[c for c in TKD_COVARIATES if c != "tkd_cut_share"]]],
                        on="region_code", how="left")
    complete = frame[list(TKD_COVARIATES)].notna().all(axis=1).groupby(frame["region_code"]).transform("all")
    frame = frame[complete].reset_index(drop=True)
    frame["region_code"] = frame["region_code"].astype(str)
    treated_codes = set(frame.loc[frame["cohort"] > 0, "region_code"])
    real = tuple(sorted(c for c in map(str, real_adopter_codes(dataset.policies)) if c in treated_codes))
    return RobustnessPanel(outcome, frame, "region_code", "time", "cohort", "region_code",
                           covariates=tuple(TKD_COVARIATES), exposure=("cut_exposure",), real_adopters=real,
                           names=pemda_names(dataset.regions))


# ------------------------------------------------------------------------------ estimators
def _fit(panel: RobustnessPanel, estimator: str, data: pd.DataFrame | None = None):
    """One estimator on ``data`` (default: the panel's)."""
    data = panel.data if data is None else data
    cols = panel.columns
    exposure = list(panel.exposure) or None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if estimator in ("cs_never", "cs_not_yet"):
            control = "never" if estimator == "cs_never" else "not_yet"
            return did.callaway_santanna(data, control=control, covariates=list(panel.covariates) or None,
                                         allow_unbalanced=panel.outcome == "log_median_days", **cols)
        if estimator == "imputation":
            return did.imputation(data, covariates=exposure, pretrends=6, **cols)
        if estimator == "sun_abraham":
            return did.sun_abraham(data, covariates=exposure, **cols)
        if estimator == "twfe":
            return did.twfe(data, covariates=exposure, **cols)
    raise ValueError(f"unknown estimator {estimator!r}")


def _statistic(panel: RobustnessPanel):
    if panel.outcome == "log_median_days":
        return lambda d: few_treated.imputation_statistic(d, unit=panel.unit, time=panel.time, cohort=panel.cohort,
                                                          cluster=panel.cluster)
    from analysis.did.imputation_balanced import balanced_imputation_att

    return lambda d: balanced_imputation_att(d, outcome="y", unit=panel.unit, time=panel.time, cohort=panel.cohort,
                                             covariates=list(panel.exposure))


def _overall(result) -> dict:
    o = result.overall()
    att, se = float(o["att"]), float(o["se"])
    return {"att": att, "se": se, "ci_low": float(o["ci_low"]), "ci_high": float(o["ci_high"]),
            "pvalue": normal_pvalue(att, se)}


def _shift_cohort(values: pd.Series, months: int) -> pd.Series:
    """Cohorts ``months`` earlier (0 stays 0): integers or ``YYYY-MM`` text."""
    def one(v):
        if v in (0, "0") or pd.isna(v):
            return v
        if isinstance(v, str):
            return str(pd.Period(v, freq="M") - months)
        return v - months
    return values.map(one)


# ------------------------------------------------------------------------------ the analysis
@dataclass(frozen=True)
class Robustness:
    """Everything notebook 40 shows (module doc). Tables:

    - ``table``: ``estimator`` (code), ``att, se, ci_low, ci_high, pvalue``, ``inference``
      (``cluster_robust`` / ``randomization``), ``n_treated``;
    - ``pretrends``: ``estimator, stat, df, pvalue``; ``honest``: HonestDiD intervals ``M, ci_low,
      ci_high, method`` (or None) and ``honest_original`` (the parallel-trends interval);
    - ``bacon``: the 2x2 comparisons (``type, weight, estimate``) or None, ``bacon_summary``;
    - ``anticipation``: one row as ``table`` (estimator = the headline's, cohort one month earlier);
    - ``leave_one_out``: ``region_code, name, att, se, ci_low, ci_high, pvalue``;
    - ``verdict``: :func:`verdict` facts; ``notes``: failures and sample facts.
    """

    panel: RobustnessPanel
    table: pd.DataFrame
    results: dict
    pretrends: pd.DataFrame
    honest: pd.DataFrame | None
    honest_original: dict | None
    bacon: pd.DataFrame | None
    bacon_summary: pd.DataFrame | None
    anticipation: pd.DataFrame
    leave_one_out: pd.DataFrame
    verdict: dict
    notes: tuple[Note, ...]
    parameters: dict


def verdict(table: pd.DataFrame, *, alpha: float = ALPHA) -> dict:
    """The written rule: ``code`` ``robust`` when every estimate with a finite p-value has the
    same sign and the same significance at ``alpha`` (by its own p-value), else
    ``depends_on_method``. Also ``n_estimates``, ``n_positive``, ``n_negative``,
    ``n_significant``, ``alpha``, and ``depends`` (0/1)."""
    rows = table[np.isfinite(table["att"].astype(float)) & np.isfinite(table["pvalue"].astype(float))]
    positive = int((rows["att"] > 0).sum())
    negative = int((rows["att"] < 0).sum())
    significant = int((rows["pvalue"] <= alpha).sum())
    same_sign = positive == len(rows) or negative == len(rows)
    same_significance = significant in (0, len(rows))
    code = "robust" if len(rows) and same_sign and same_significance else "depends_on_method"
    return {"code": code, "depends": int(code == "depends_on_method"), "n_estimates": len(rows),
            "n_positive": positive, "n_negative": negative, "n_significant": significant, "alpha": alpha}


def run_robustness(panel: RobustnessPanel, *, ri_draws: int = few_treated.DEFAULT_DRAWS,
                   seed: int = DEFAULT_SEED) -> Robustness:
    """Every robustness view of the module doc on ``panel``. The Callaway–Sant'Anna fits of the
    views share their propensity logits: each distinct one is fitted once (the same bits)."""
    with reused_propensity_fits():
        return _all_views(panel, ri_draws=ri_draws, seed=seed)


def _all_views(panel: RobustnessPanel, *, ri_draws: int, seed: int) -> Robustness:
    notes: list[Note] = list(panel.notes)
    results, rows = {}, []
    n_treated = len(panel.treated_codes())
    choice = choose_inference(n_treated)
    for name in ESTIMATORS[:-1]:
        try:
            results[name] = _fit(panel, name)
            rows.append({"estimator": name, **_overall(results[name]), "inference": "cluster_robust",
                         "n_treated": n_treated})
        except Exception as exc:  # a failing view is a fact for the reader
            notes.append(Note("estimator_failed", {"estimator": name, "error": f"{type(exc).__name__}: {exc}"}))
    # the few-treated inference: RI with the fast imputation statistic (interval when it is chosen)
    try:
        ri = randomization_inference(panel.data, _statistic(panel), assign_by="region_code", cohort=panel.cohort,
                                     outcome="y", time=panel.time, strata=list(RECOMMENDED_STRATA), draws=ri_draws,
                                     seed=seed, confidence_interval=choice.method == "randomization",
                                     linear_outcome=True)
        rows.append({"estimator": "randomization", "att": ri.estimate, "se": float("nan"), "ci_low": ri.ci_low,
                     "ci_high": ri.ci_high, "pvalue": ri.pvalue, "inference": "randomization", "n_treated": n_treated})
        results["randomization"] = ri
    except Exception as exc:
        notes.append(Note("estimator_failed", {"estimator": "randomization", "error": f"{type(exc).__name__}: {exc}"}))
    table = pd.DataFrame(rows, columns=["estimator", "att", "se", "ci_low", "ci_high", "pvalue", "inference",
                                        "n_treated"])

    pre_rows = []
    for name, result in results.items():
        if name == "randomization":
            continue
        try:
            test = result.pretrend if name == "imputation" else did.pretrend_test(result)
        except Exception:  # noqa: BLE001 - no test is a missing row
            test = None
        if test is not None:
            pre_rows.append({"estimator": name, "stat": test.stat, "df": test.df, "pvalue": test.pvalue})
    pretrends = pd.DataFrame(pre_rows, columns=["estimator", "stat", "df", "pvalue"])

    honest = honest_original = None
    if "sun_abraham" in results:
        try:
            h = honest_intervals(results["sun_abraham"])
            honest, honest_original = h.intervals, dict(h.original_ci)
        except Exception as exc:
            notes.append(Note("estimator_failed", {"estimator": "honest_did", "error": f"{type(exc).__name__}: {exc}"}))

    bacon = bacon_summary = None
    try:
        data = _balanced(panel)
        b = did.bacon_decomposition(data, outcome="y", unit=panel.unit, time=panel.time, cohort=panel.cohort)
        bacon, bacon_summary = b.comparisons, b.summary
    except Exception as exc:
        notes.append(Note("estimator_failed", {"estimator": "bacon", "error": f"{type(exc).__name__}: {exc}"}))

    headline = HEADLINE[panel.outcome]
    anticipation_rows = []
    try:
        shifted = panel.data.assign(**{panel.cohort: _shift_cohort(panel.data[panel.cohort], 1)})
        anticipation_rows.append({"estimator": headline, **_overall(_fit(panel, headline, shifted)),
                                  "inference": "cluster_robust", "n_treated": n_treated})
    except Exception as exc:
        notes.append(Note("estimator_failed", {"estimator": "anticipation", "error": f"{type(exc).__name__}: {exc}"}))
    anticipation = pd.DataFrame(anticipation_rows, columns=table.columns)

    loo_rows = []
    for code in panel.real_adopters:
        try:
            kept = panel.data[panel.data["region_code"] != code]
            loo_rows.append({"region_code": code, "name": panel.names.get(code, code),
                             **_overall(_fit(panel, headline, kept))})
        except Exception as exc:
            notes.append(Note("estimator_failed", {"estimator": f"leave_out_{code}",
                                                   "error": f"{type(exc).__name__}: {exc}"}))
    leave_one_out = pd.DataFrame(loo_rows, columns=["region_code", "name", "att", "se", "ci_low", "ci_high", "pvalue"])
    return Robustness(panel, table, results, pretrends, honest, honest_original, bacon, bacon_summary, anticipation,
                      leave_one_out, verdict(table), tuple(notes),
                      {"outcome": panel.outcome, "ri_draws": ri_draws, "seed": seed, "headline": headline,
                       "threshold": MIN_TREATED_CLUSTERS_ANALYTIC, "inference_chosen": choice.method})


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


@contextlib.contextmanager
def _quiet():
    """Standard output silenced at the file-descriptor level (C libraries print there)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:   # no file descriptor 1: nothing to silence
        with contextlib.redirect_stdout(io.StringIO()):
            yield
        return
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(io.StringIO()):
            os.dup2(null.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        _flush_c_stdio()   # what a C library buffered goes to /dev/null, not to the page later
        os.dup2(saved, 1)
        os.close(saved)


def honest_intervals(sun_abraham, *, grid_points: int = HONEST_GRID_POINTS) -> did.HonestResult:
    """The report's HonestDiD sensitivity of a Sun–Abraham event study: relative magnitudes over
    :data:`HONEST_GRID`, for the average post-period effect, on events -6..5 (:func:`_trimmed`),
    with ``grid_points`` candidate values of the target."""
    with _quiet():   # the LP solver prints its banner on the process's standard output
        return did.honest_sensitivity(_trimmed(sun_abraham), method="relative_magnitudes", grid=list(HONEST_GRID),
                                      target="average", grid_points=grid_points)


def _trimmed(result, pre: int = 6, post: int = 6):
    """The event study restricted to events -pre..post-1 (HonestDiD's cost grows with the
    number of periods; the long tails rest on one or two cohorts)."""
    import dataclasses

    table = result.event_table
    keep = ((table["event"] >= -pre) & (table["event"] < post)).to_numpy()
    if keep.all() or result.event_vcov is None:
        return result
    idx = np.flatnonzero(keep)
    return dataclasses.replace(result, event_table=table.iloc[idx].reset_index(drop=True),
                               event_vcov=np.asarray(result.event_vcov)[np.ix_(idx, idx)])


def _balanced(panel: RobustnessPanel) -> pd.DataFrame:
    """The panel's units observed in every period (the Bacon decomposition needs a balanced panel)."""
    data = panel.data
    n_periods = data[panel.time].nunique()
    full = data.groupby(panel.unit)[panel.time].transform("size") == n_periods
    return data[full]


# ------------------------------------------------------------------------------ for the reader
def verdict_facts(r: Robustness) -> dict:
    """Facts of the sentence ``40.verdict``: :func:`verdict`'s (``code``, counts, ``alpha``)."""
    return dict(r.verdict)


def sample_facts(r: Robustness) -> dict:
    """Facts of ``40.sample``: ``outcome``, ``n_treated``, ``n_comparison``, ``headline``
    (estimator code), ``inference`` (the method chosen for it by the number of treated Pemda)."""
    return {"outcome": r.panel.outcome, "n_treated": len(r.panel.treated_codes()),
            "n_comparison": r.panel.comparison_count(), "headline": r.parameters["headline"],
            "inference": r.parameters["inference_chosen"]}


def honest_facts(r: Robustness) -> dict:
    """Facts of ``40.honest``: ``honest`` code ``not_computed``; ``not_significant`` (the
    parallel-trends interval already includes zero); ``breaks_at`` (the smallest Mbar of the grid
    whose robust interval includes zero: ``breakdown``); ``holds`` (none does up to ``max_m``)."""
    out = {"honest": "not_computed", "breakdown": float("nan"), "max_m": max(HONEST_GRID)}
    if r.honest is None:
        return out
    original = r.honest_original or {}
    if original.get("ci_low", 0) <= 0 <= original.get("ci_high", 0):
        return {**out, "honest": "not_significant"}
    covers = (r.honest["ci_low"] <= 0) & (r.honest["ci_high"] >= 0)
    if covers.any():
        return {**out, "honest": "breaks_at", "breakdown": float(r.honest.loc[covers, "M"].min())}
    return {**out, "honest": "holds"}


def _headline_att(r: Robustness) -> float:
    rows = r.table[r.table["estimator"] == r.parameters["headline"]]
    return float(rows["att"].iloc[0]) if len(rows) else float("nan")


def anticipation_facts(r: Robustness) -> dict | None:
    """Facts of ``40.anticipation`` (None when the re-estimate failed): ``att``, ``ci``,
    ``headline_att``."""
    if r.anticipation.empty:
        return None
    row = r.anticipation.iloc[0]
    return {"att": float(row["att"]), "ci": (float(row["ci_low"]), float(row["ci_high"])),
            "headline_att": _headline_att(r)}


def leave_one_out_facts(r: Robustness) -> dict | None:
    """Facts of ``40.leave_one_out`` (None without real adopters in the sample): ``low``,
    ``high`` (range of the estimates), ``headline_att``."""
    if r.leave_one_out.empty:
        return None
    return {"low": float(r.leave_one_out["att"].min()), "high": float(r.leave_one_out["att"].max()),
            "headline_att": _headline_att(r)}


def bacon_facts(r: Robustness) -> dict | None:
    """Facts of ``40.bacon`` (None when not computed): ``bad_weight``, the TWFE weight of the
    comparisons using already-treated Pemda as controls."""
    if r.bacon_summary is None:
        return None
    summary = r.bacon_summary.set_index("type")
    return {"bad_weight": float(summary["weight"].get("later_vs_earlier", 0.0))}


def bacon_table(r: Robustness) -> pd.DataFrame | None:
    """The Bacon summary for the page: ``bacon_comparison`` (code), ``weight``, ``estimate``,
    ``n_comparisons``."""
    if r.bacon_summary is None:
        return None
    return r.bacon_summary.rename(columns={"type": "bacon_comparison"})[
        ["bacon_comparison", "weight", "estimate", "n_comparisons"]].reset_index(drop=True)


def result_entries(r: Robustness) -> list[ResultEntry]:
    """One entry per row of the side-by-side table (``att_<estimator>``) with its estimand,
    sample and inference, and ``conclusion_depends_on_method`` (1 / 0)."""
    p = r.panel
    treated = p.treated_codes()
    sample = Sample(treated=treated, comparison_count=p.comparison_count(),
                    real_adopters_included=tuple(c for c in treated if c in set(p.real_adopters)))
    choice = choose_inference(len(treated))
    unit_words = "treated_pemda_service_lines" if p.outcome == "log_median_days" else "adopters_in_estimated_cohorts"
    entries = []
    for row in r.table.itertuples(index=False):
        estimand = Estimand(outcome=p.outcome, scale="log_points", units=unit_words,
                            periods="post_adoption_months", weights="treated_cells_equal", estimator=row.estimator,
                            details={"control": {"cs_never": "never", "cs_not_yet": "not_yet"}.get(row.estimator, ""),
                                     "covariates": list(p.covariates if row.estimator.startswith("cs") else p.exposure)})
        if row.estimator == "randomization":
            inference = Inference("randomization", choice.reason, len(treated), float(row.pvalue),
                                  {"draws": r.parameters["ri_draws"], "strata": list(RECOMMENDED_STRATA),
                                   "threshold": choice.details["threshold"]})
        else:
            inference = Inference("cluster_robust", choice.reason, len(treated),
                                  None if not np.isfinite(row.pvalue) else float(row.pvalue),
                                  {"cluster": "pemda", "threshold": choice.details["threshold"]})
        entries.append(ResultEntry(f"att_{row.estimator}", float(row.att),
                                   None if not np.isfinite(row.se) else float(row.se),
                                   None if not np.isfinite(row.ci_low) else float(row.ci_low),
                                   None if not np.isfinite(row.ci_high) else float(row.ci_high),
                                   "log points", f"{row.estimator} on the same sample", estimand, sample, inference))
    v = r.verdict
    entries.append(ResultEntry(
        "conclusion_depends_on_method", float(v["depends"]), None, None, None, "indicator",
        "1 when the estimates differ in sign or significance at 5% (verdict depends_on_method), else 0",
        Estimand(outcome=p.outcome, scale="indicator", units=unit_words, periods="post_adoption_months",
                 weights="treated_cells_equal", estimator="verdict_rule",
                 details={"rule": "same_sign_and_significance", **{k: v[k] for k in v if k != "code"},
                          "verdict": v["code"]}),
        sample, Inference("rule", choice.reason, len(treated), None, {"alpha": v["alpha"]})))
    return entries


def headline_table(r: Robustness) -> pd.DataFrame:
    """The side-by-side table for the page (``estimator`` codes, numbers in log points)."""
    return r.table.drop(columns=["n_treated"]).reset_index(drop=True)


