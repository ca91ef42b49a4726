"""Case study of one single adopter: synthetic control, synthetic DiD and an interrupted time
series, each after taking the 2026 TKD cut out of the outcome (steps of notebook 30).

Outcome series (one value per Pemda and month):

- ``log_routine_spending``: natural log of realised routine spending (sum of the WFA-affected
  categories, ``analysis.panels.budget.spending_panel`` category ``routine_total``), Rupiah in 2025 prices.
  Effects are in log points (× 100 ≈ percent).
- ``median_days``: median completion time of service requests submitted in the month, in days:
  the mean over service types of the Kaplan–Meier cell medians of ``analysis.panels.service.build_service_panel``,
  weighted by the requests submitted in each cell (cells whose median is not identified are left out).
- ``log_median_days``: the same weighted mean of the *log* cell medians (effects in log points);
  its true effect on synthetic data is the same weighted mean of the cells' true log effects.

Donor pool: Pemda that never adopted WFA in the data window (``analysis.panels.treatment.assign_treatment``
status ``never``), at the same level as the adopter: other provinces
for a province, other kabupaten/kota for a kabupaten or kota. Donors with a missing or non-finite
month are dropped (listed with the reason). Kab/kota inside an adopting province stay eligible
(possible spill-over; the weights table shows whether they matter).

Timing: the first treated month is the adopter's cohort (half-month rule). If WFA ended before the
end of the window (a trial such as Surakarta's), the post period is cut at the last month with WFA
in force: the estimate is the effect while WFA was on.

The TKD cut (:func:`run_case_study`). Every Pemda's spending fell from January 2026 in
proportion to its TKD cut share, adopters had larger cuts, and adoption coincided with the cut:
synthetic control matched on pre-period outcomes only credits the cut to WFA (issue #10:
Bolaang Mongondow Selatan, cut share 0.30 against a donor mean of 0.19, −0.186 against a true
−0.083). So the outcome is first residualised on ``cut share x month`` from 2026-01 with slopes
fitted on every never-adopting Pemda of the adopter's level (:mod:`analysis.synth.adjust`), and
the donors are the ``max_donors`` never-adopters closest to the adopter in cut share and size (all
of them for a province), so that the placebo units share the adopter's noise level. Evidence for this choice: benchmarks/README.md, "Case studies".

Three views, each with placebo inference over the donors (each donor as pseudo-adopter):
synthetic control (exact, outcome-only; in-space placebo rank p-value; SE = SD of the donors'
placebo effects), synthetic DiD (SE = the SDID placebo SE), and the comparative interrupted time
series (:mod:`analysis.synth.its`). Every SE adds the variance of the cut adjustment (the fitted
slopes are shared by the placebo units, so their spread misses it). Intervals: estimate ± 1.96 SE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import read_truth_cells
from analysis.data.names import pemda_name
from analysis.data.schemas import ROUTINE_CATEGORIES
from analysis.errors import AnalysisError, DataContractError
from analysis.notes import Note
from analysis.panels.budget import ROUTINE_TOTAL, spending_panel, tkd_covariates
from analysis.panels.stage import service_panel_of
from analysis.panels.treatment import assign_treatment
from analysis.report.results_file import Estimand, Inference, ResultEntry, Sample
from analysis.synth import (
    InSpacePlacebo,
    PlaceboSE,
    SyntheticControlResult,
    SyntheticDidResult,
    SynthInputError,
    in_space_placebo,
    placebo_se,
    synthetic_control,
    synthetic_did,
)
from analysis.synth.adjust import ExposureAdjustment, adjust_for_exposure
from analysis.synth.its import InterruptedTimeSeriesResult, interrupted_time_series

OUTCOMES = ("median_days", "log_median_days", "log_routine_spending")
OUTCOME_UNITS = {"median_days": "days", "log_median_days": "log points", "log_routine_spending": "log points"}
#: Donor pools larger than this use seeded random placebo draws instead of every donor.
MAX_PLACEBO_ALL = 60
#: Donors kept for a kabupaten/kota adopter: the never-adopters closest in TKD cut share.
MAX_DONORS = 60
#: First month of the 2026 TKD cut (transfers fixed in the APBN 2026).
TKD_CUT_START = "2026-01"
#: A synthetic control whose pre-period RMSPE exceeds this multiple of the donors' median
#: placebo pre-period RMSPE does not reproduce the adopter's past (e.g. the largest Pemda, outside
#: its donors' range): flagged with Note ``sc_poor_pre_fit``.
POOR_FIT_RATIO = 2.0
NORMAL_95 = 1.96
#: The view a case study's headline reports (the others are shown next to it); chosen from the
#: coverage study in benchmarks/README.md ("Case studies").
HEADLINE_METHOD = "sdid"


class CaseStudyError(AnalysisError, ValueError):
    """The requested case study cannot be built (the message says why)."""


@dataclass(frozen=True)
class CaseStudyData:
    """- ``panel``: long DataFrame ``region_code, period, value`` (treated unit and donors, balanced).
    - ``donors``: DataFrame ``region_code, name``; ``dropped``: DataFrame ``region_code, reason``.
    - ``treatment_start`` / ``last_post``: first and last month (``YYYY-MM``) of the post period.
    - ``status``: the adopter's ``assign_treatment`` status; ``pool_rule``: the donor rule, a code
      (``never_adopting_provinces`` / ``never_adopting_kabkota``); ``dropped.reason``: a code
      (``no_data`` / ``incomplete_series``).
    - ``region_label``: the name titles use (``Provinsi Bengkulu``); ``cut_share``: TKD cut share
      of every Pemda in ``panel`` (Series by region code; None without transfers);
      ``log_population``: natural log of residents, same index.
    """

    region_code: str
    region_name: str
    level: str
    outcome: str
    unit: str
    treatment_start: str
    last_post: str
    status: str
    panel: pd.DataFrame
    donors: pd.DataFrame
    dropped: pd.DataFrame
    pool_rule: str
    region_label: str = ""
    cut_share: pd.Series | None = None
    log_population: pd.Series | None = None


def is_province(level: str) -> bool:
    return str(level).lower() == "provinsi"


def monthly_outcome(dataset, outcome: str) -> pd.DataFrame:
    """``region_code, period, value`` for every Pemda and month (see the module doc for units)."""
    if outcome == "log_routine_spending":
        panel = spending_panel(dataset.budget, frequency="month")
        routine = panel[panel["category"] == ROUTINE_TOTAL]
        return routine.rename(columns={"log_realized_real": "value"})[["region_code", "period", "value"]]
    if outcome in ("median_days", "log_median_days"):
        cells = service_cells(dataset)
        value = cells["median_days"] if outcome == "median_days" else np.log(cells["median_days"])
        weighted = cells.assign(weighted=value * cells["n_submitted"])
        grouped = weighted.groupby(["region_code", "month"], as_index=False)[["weighted", "n_submitted"]].sum()
        grouped["value"] = grouped["weighted"] / grouped["n_submitted"]
        return grouped.rename(columns={"month": "period"})[["region_code", "period", "value"]]
    raise CaseStudyError(f"outcome must be one of {', '.join(OUTCOMES)}; got {outcome!r}")


def service_cells(dataset) -> pd.DataFrame:
    """Pemda x month x service-type cells with an identified, positive KM median:
    ``region_code, month, service_type, n_submitted, median_days`` (the cells the service
    outcomes average, weighted by ``n_submitted``)."""
    dataset.table_path("service_requests")  # DataContractError without the table
    cells = service_panel_of(dataset)  # the aggregation stage: the requests are not scanned again
    keep = np.isfinite(cells["median_days"]) & (cells["median_days"] > 0) & (cells["n_submitted"] > 0)
    cells = cells.loc[keep, ["region_code", "month", "service_type", "n_submitted", "median_days"]]
    return cells.assign(region_code=cells["region_code"].astype(str)).reset_index(drop=True)


def cut_shares(dataset) -> pd.Series | None:
    """TKD cut share per Pemda (``analysis.panels.budget.tkd_covariates``), or None without a
    usable ``transfers`` table."""
    if getattr(dataset, "transfers", None) is None:
        return None
    try:
        covariates = tkd_covariates(dataset.transfers, dataset.regions)
    except DataContractError:
        return None
    return covariates.set_index(covariates["region_code"].astype(str))["tkd_cut_share"]


def region_label(name: str, level: str) -> str:
    """The Pemda's official name (:func:`analysis.data.names.pemda_name`)."""
    return pemda_name(name, level)


def adoption_status(dataset, periods) -> pd.DataFrame:
    """``assign_treatment`` over ``periods`` (one row per Pemda: cohort, status, dose)."""
    policies = dataset.policies
    months = sorted(pd.Series(list(periods)).astype(str).str.slice(0, 7).unique())
    return assign_treatment(policies, dataset.regions, periods=months, trial_handling="exclude")


def adopter_series(dataset, region_code: str, outcome: str, *, series: pd.DataFrame | None = None):
    """The Pemda's row of the regions table and the monthly outcome of every Pemda (``series``, or
    :func:`monthly_outcome` when None), codes as text. Returns ``(region_code, regions, region,
    series, periods)``; :class:`CaseStudyError` when the code is not in the regions table."""
    region_code = str(region_code)
    regions = dataset.regions.assign(region_code=dataset.regions["region_code"].astype(str))
    if region_code not in set(regions["region_code"]):
        raise CaseStudyError(f"region_code {region_code!r} is not in the regions table")
    region = regions.set_index("region_code").loc[region_code]
    series = monthly_outcome(dataset, outcome) if series is None else series
    series = series.assign(region_code=series["region_code"].astype(str))
    periods = sorted(series["period"].unique())
    return region_code, regions, region, series, periods


def build_case_study_data(dataset, region_code: str, outcome: str, *, series: pd.DataFrame | None = None) -> CaseStudyData:
    """The adopter's series, its donor pool and its timing (rules in the module doc).

    ``series``: an already computed ``monthly_outcome`` (saves recomputing it)."""
    region_code, regions, region, series, periods = adopter_series(dataset, region_code, outcome, series=series)
    status = adoption_status(dataset, periods).set_index("region_code")
    if region_code not in status.index or pd.isna(status.at[region_code, "cohort"]):
        raise CaseStudyError(f"{region['name']} ({region_code}) has no WFA policy in force in the data window")
    cohort = str(status.at[region_code, "cohort"])
    last = status.at[region_code, "last_treated"]
    last_post = str(last) if not pd.isna(last) and str(last) < periods[-1] else periods[-1]
    if cohort <= periods[0]:
        raise CaseStudyError(f"{region['name']} adopted in {cohort}, at the start of the data: no pre-period")
    province = is_province(region["level"])
    same_level = regions[regions["level"].map(is_province) == province]
    never = set(status.index[status["status"] == "never"])
    candidates = same_level[same_level["region_code"].isin(never) & (same_level["region_code"] != region_code)]
    window = series[series["period"] <= last_post]
    wide = window.pivot_table(index="region_code", columns="period", values="value", aggfunc="first")
    wide = wide.reindex(columns=[p for p in periods if p <= last_post])
    if region_code not in wide.index or not np.isfinite(wide.loc[region_code].to_numpy(dtype=float)).all():
        raise CaseStudyError(
            f"{region['name']} ({region_code}) lacks {outcome} in some month of the window; "
            "a synthetic control needs the adopter's full monthly series"
        )
    dropped, kept = [], []
    for code in candidates["region_code"]:
        if code not in wide.index:
            dropped.append((code, "no data"))
        elif not np.isfinite(wide.loc[code].to_numpy(dtype=float)).all():
            dropped.append((code, "missing or non-positive value in some month"))
        else:
            kept.append(code)
    if not kept:
        raise CaseStudyError(f"no never-adopter donor with a complete {outcome} series for {region['name']}")
    long = (wide.loc[kept + [region_code]].reset_index()
            .melt(id_vars="region_code", var_name="period", value_name="value"))
    names = regions.set_index("region_code")["name"]
    rule = "never_adopting_provinces" if province else "never_adopting_kabkota"
    shares = cut_shares(dataset)
    if shares is not None:
        shares = shares.reindex(kept + [region_code])
    return CaseStudyData(
        region_code=region_code, region_name=str(region["name"]), level=str(region["level"]),
        outcome=outcome, unit=OUTCOME_UNITS[outcome], treatment_start=cohort, last_post=last_post,
        status=str(status.at[region_code, "status"]), panel=long,
        donors=pd.DataFrame({"region_code": kept, "name": [names[c] for c in kept]}),
        dropped=pd.DataFrame(dropped, columns=["region_code", "reason"]), pool_rule=rule,
        region_label=region_label(region["name"], region["level"]), cut_share=shares,
        log_population=np.log(regions.set_index("region_code")["population"].astype(float)).reindex(kept + [region_code]),
    )


@dataclass(frozen=True)
class CaseStudyResult:
    """SC (exact, outcome-only) with its in-space placebo test, SDID with its placebo SE, the
    comparative ITS, all on the cut-adjusted outcome with the donors in ``donors_used``.

    - ``estimates``: DataFrame, one row per view (``method`` ``sc``, ``sdid``, ``its``):
      ``estimate, se_placebo, se_adjustment, se, ci_low, ci_high, pvalue`` (outcome units; ``se``
      combines both parts; ``pvalue``: the placebo rank p-value, SDID none), and the post
      period ``first_period, last_period, n_periods`` the estimate averages.
    - ``adjustment``: the cut adjustment (None when not made); ``donors_used``: region codes.
    - ``notes``: :class:`analysis.notes.Note` facts (see the module doc and ``notes`` codes).
    """

    data: CaseStudyData
    sc: SyntheticControlResult
    placebo: InSpacePlacebo
    sdid: SyntheticDidResult
    sdid_se: PlaceboSE
    its: InterruptedTimeSeriesResult | None = None
    adjustment: ExposureAdjustment | None = None
    estimates: pd.DataFrame | None = None
    donors_used: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()

    def estimate(self, method: str) -> pd.Series:
        """The ``estimates`` row of ``method`` (``sc``, ``sdid``, ``its``)."""
        return self.estimates.set_index("method").loc[method]


def select_donors(data: CaseStudyData, max_donors: int = MAX_DONORS) -> list[str]:
    """The donors a case study uses: all never-adopters of the pool when there are at most
    ``max_donors``; otherwise the ``max_donors`` closest to the adopter in TKD cut share (the
    confounder) and log population (size sets how noisy a Pemda's monthly outcome is, so the
    placebo units then share the adopter's noise level), each standardised by its SD over the
    pool (Euclidean distance; ties by region code). Without cut shares, population alone."""
    donors = list(data.donors["region_code"])
    if len(donors) <= max_donors:
        return donors
    features = [f for f in (data.cut_share, data.log_population) if f is not None]
    distance = np.zeros(len(donors))
    for feature in features:
        values = feature.reindex(donors).to_numpy(dtype=float)
        spread = np.nanstd(values) or 1.0
        distance += ((values - float(feature[data.region_code])) / spread) ** 2
    order = pd.DataFrame({"code": donors, "distance": distance}).sort_values(["distance", "code"])
    return list(order["code"].iloc[:max_donors])


def run_case_study(data: CaseStudyData, *, replications: int = 100, seed: int = 20260101,
                   adjust_for_cut: bool = True, max_donors: int = MAX_DONORS) -> CaseStudyResult:
    """Fit the three views and their placebo inference (module doc). The SDID placebo SE uses
    every donor once as pseudo-treated when there are at most ``MAX_PLACEBO_ALL`` donors, else
    ``replications`` random draws from ``seed``. ``adjust_for_cut=False`` fits on the raw
    outcome (the comparison the issue started from)."""
    notes: list[Note] = []
    panel, adjustment = data.panel, None
    if adjust_for_cut and data.cut_share is not None and data.cut_share.notna().all():
        adjustment = adjust_for_exposure(
            data.panel, outcome="value", unit="region_code", time="period", exposure=data.cut_share,
            shock_start=TKD_CUT_START, comparison=list(data.donors["region_code"]))
        panel = adjustment.panel
    elif adjust_for_cut:
        notes.append(Note("cut_adjustment_unavailable", {"region_code": data.region_code}))
    donors = select_donors(data, max_donors)
    if len(donors) < len(data.donors):
        notes.append(Note("donors_nearest_in_cut_and_size", {"n_donors": len(donors), "n_pool": len(data.donors)}))
    setup = dict(outcome="value", unit="region_code", time="period", treated_unit=data.region_code,
                 treatment_start=data.treatment_start, donors=donors)
    sc = synthetic_control(panel, **setup)
    placebo = in_space_placebo(sc)
    sdid = synthetic_did(panel, **setup)
    if len(donors) <= MAX_PLACEBO_ALL:
        sdid_se = placebo_se(sdid, draws="all")
    else:
        sdid_se = placebo_se(sdid, draws="random", replications=replications, seed=seed)
    try:
        its = interrupted_time_series(panel, **setup)
    except SynthInputError:
        its = None
        notes.append(Note("its_too_few_pre_periods", {"n_pre": sc.panel.T0}))
    donor_placebo = placebo.ratios.loc[~placebo.ratios["is_treated"]]
    if sc.pre_rmspe > POOR_FIT_RATIO * float(donor_placebo["pre_rmspe"].median()):
        notes.append(Note("sc_poor_pre_fit", {"pre_rmspe": sc.pre_rmspe,
                                              "median_placebo_pre_rmspe": float(donor_placebo["pre_rmspe"].median())}))
    times = list(sc.panel.times)
    post = [t for t in times if t >= data.treatment_start]
    rows = []
    sc_weights = sc.weights.set_index("donor")["weight"]
    sc_time = pd.Series([1.0 / len(post) if t in post else 0.0 for t in times], index=times)
    rows.append(_row("sc", sc.effect, float(np.std(donor_placebo["effect"], ddof=1)), placebo.p_value,
                     adjustment, data, sc_weights, sc_time))
    lam = sdid.time_weights.set_index("time")["weight"]
    sdid_time = pd.Series([1.0 / len(post) if t in post else -float(lam.get(t, 0.0)) for t in times], index=times)
    rows.append(_row("sdid", sdid.estimate, sdid_se.se, float("nan"), adjustment, data,
                     sdid.unit_weights.set_index("donor")["weight"], sdid_time))
    if its is not None:
        uniform = pd.Series(1.0 / len(donors), index=donors)
        rows.append(_row("its", its.estimate, its.se, its.pvalue, adjustment, data, uniform, its.time_weights))
    estimates = pd.DataFrame(rows).assign(first_period=post[0], last_period=post[-1], n_periods=len(post))
    return CaseStudyResult(data=data, sc=sc, placebo=placebo, sdid=sdid, sdid_se=sdid_se, its=its,
                           adjustment=adjustment, estimates=estimates, donors_used=tuple(donors),
                           notes=tuple(notes))


def _row(method, estimate, se_placebo, pvalue, adjustment, data, donor_weights, time_weights) -> dict:
    """One ``estimates`` row: the placebo SE combined with the variance of the cut adjustment."""
    variance = 0.0
    if adjustment is not None:
        shares = adjustment.exposure
        gap = float(shares[data.region_code] - (donor_weights * shares.reindex(donor_weights.index)).sum())
        variance = adjustment.variance_of(time_weights, gap)
    se = float(np.sqrt(se_placebo**2 + variance))
    return {"method": method, "estimate": float(estimate), "se_placebo": float(se_placebo),
            "se_adjustment": float(np.sqrt(variance)), "se": se, "ci_low": estimate - NORMAL_95 * se,
            "ci_high": estimate + NORMAL_95 * se, "pvalue": pvalue}


def true_effect(data_dir, result: CaseStudyResult, *, cells: pd.DataFrame | None = None) -> float:
    """The true effect over exactly the months the estimates average (synthetic data only:
    ``truth_budget_cells.parquet`` / ``truth_service_cells.parquet`` in ``data_dir``).

    ``log_routine_spending``: mean over the post months of ``log(sum realised / sum
    counterfactual)`` over the routine categories (0 in a month without WFA in force, e.g. Jawa
    Barat's bridged December 2025). ``log_median_days``: mean over the post months of the
    ``n_submitted``-weighted mean of the cells' true ``log_effect_median`` over the service cells
    the outcome averages (``cells``: :func:`service_cells`, needed for this outcome; a cell
    without a truth row had no WFA: 0). ``median_days`` has no exact truth on the days scale:
    ValueError."""
    d = result.data
    row = result.estimates.iloc[0]
    months = [t for t in result.sc.panel.times if row["first_period"] <= t <= row["last_period"]]
    if d.outcome not in ("log_routine_spending", "log_median_days"):
        raise ValueError(f"no exact truth for outcome {d.outcome!r} (use log_median_days)")
    return float(true_monthly_effects(data_dir, d.region_code, d.outcome, months, cells=cells).mean())


def true_monthly_effects(data_dir, region_code: str, outcome: str, months: list[str], *,
                         cells: pd.DataFrame | None = None) -> pd.Series:
    """One Pemda's true effect per month of ``months`` (synthetic data only), on the scale of
    ``outcome``: ``log_routine_spending``: ``log(sum realised / sum counterfactual)`` over the
    routine categories, 0 in a month without WFA in force; ``log_median_days``: the
    ``n_submitted``-weighted mean of the cells' true ``log_effect_median`` over the Pemda's cells
    in ``cells`` (:func:`service_cells`; a cell without a truth row had no WFA: 0), NaN in a month
    without any cell. ValueError for another outcome or without truth files."""
    if outcome == "log_routine_spending":
        truth = read_truth_cells(data_dir, "budget")
        if truth is None:
            raise ValueError(f"{data_dir}: no truth_budget_cells.parquet (only simulated data have a true effect)")
        truth = truth[(truth["region_code"].astype(str) == region_code) & truth["category"].isin(ROUTINE_CATEGORIES)]
        sums = truth.groupby("period")[["realized_idr", "counterfactual_idr"]].sum()
        return np.log(sums["realized_idr"] / sums["counterfactual_idr"]).reindex(months).fillna(0.0)
    if outcome == "log_median_days":
        if cells is None:
            raise ValueError("the service truth needs the outcome's cells (service_cells(dataset))")
        truth = read_truth_cells(data_dir, "service")
        if truth is None:
            raise ValueError(f"{data_dir}: no truth_service_cells.parquet (only simulated data have a true effect)")
        truth = truth[(truth["units"] == "all") & (truth["region_code"].astype(str) == region_code)]
        own = cells[(cells["region_code"] == region_code) & cells["month"].isin(months)]
        merged = own.merge(truth[["month", "service_type", "log_effect_median"]], on=["month", "service_type"], how="left")
        merged["weighted"] = merged["log_effect_median"].fillna(0.0) * merged["n_submitted"]
        per_month = merged.groupby("month")[["weighted", "n_submitted"]].sum()
        return (per_month["weighted"] / per_month["n_submitted"]).reindex(months)
    raise ValueError(f"no exact truth for outcome {outcome!r}")


def weights_table(result: CaseStudyResult, *, top: int = 10) -> pd.DataFrame:
    """Top donors by SC weight with their SDID weight: ``name, region_code, sc_weight, sdid_weight``."""
    names = result.data.donors.set_index("region_code")["name"]
    sc = result.sc.weights.set_index("donor")["weight"]
    sdid = result.sdid.unit_weights.set_index("donor")["weight"]
    table = pd.DataFrame({"name": [names[c] for c in sc.index], "region_code": sc.index,
                          "sc_weight": sc.to_numpy(), "sdid_weight": sdid.reindex(sc.index).to_numpy()})
    order = table.assign(key=np.maximum(table["sc_weight"], table["sdid_weight"])).sort_values("key", ascending=False)
    return order.drop(columns="key").head(top).reset_index(drop=True)


def result_entries(result: CaseStudyResult) -> list[ResultEntry]:
    """The headline numbers for ``results.json``: each view's estimate with its placebo
    interval, estimand (the adopter's post-period months), sample (the adopter, the donors) and
    inference (placebo over the donors; the SE includes the cut adjustment's variance)."""
    unit = result.data.unit
    d = result.data
    sample = Sample(treated=(d.region_code,), comparison_count=len(result.donors_used))
    labels = {"sc": "Synthetic control: average effect after adoption",
              "sdid": "Synthetic DiD: average effect (placebo SE, 95% CI)",
              "its": "Interrupted time series: average effect after adoption"}
    entries = []
    for row in result.estimates.itertuples(index=False):
        estimand = Estimand(
            outcome=d.outcome, scale="log_points" if unit == "log points" else unit, units="single_adopter",
            periods="post_adoption_months_wfa_in_force", weights="months_equal", estimator=row.method,
            details={"region_code": d.region_code, "first_period": row.first_period,
                     "last_period": row.last_period, "n_periods": int(row.n_periods),
                     "cut_adjusted": result.adjustment is not None})
        inference = Inference(
            method="placebo", reason="single_treated_unit", n_treated_clusters=1,
            pvalue=None if pd.isna(row.pvalue) else float(row.pvalue),
            details={"se_placebo": row.se_placebo, "se_adjustment": row.se_adjustment,
                     "n_placebo_units": len(result.donors_used)})
        entries.append(ResultEntry(f"{row.method}_effect", row.estimate, se=row.se, ci_low=row.ci_low,
                                   ci_high=row.ci_high, unit=unit,
                                   label=labels.get(row.method, ""),
                                   estimand=estimand, sample=sample, inference=inference))
    entries += [
        ResultEntry("placebo_pvalue", result.placebo.p_value, unit="probability",
                    label="In-space placebo p-value (post/pre MSPE ratio rank)"),
        ResultEntry("pre_rmspe", result.sc.pre_rmspe, unit=unit,
                    label="Pre-adoption fit of the synthetic control (RMSPE)"),
    ]
    return entries


def results_extra(result: CaseStudyResult) -> dict[str, Any]:
    """Context recorded next to the headline numbers."""
    adjustment = result.adjustment
    return {
        "region_code": result.data.region_code, "region_name": result.data.region_name,
        "region_label": result.data.region_label,
        "outcome": result.data.outcome, "treatment_start": result.data.treatment_start,
        "last_post": result.data.last_post, "n_donors": len(result.data.donors),
        "n_donors_used": len(result.donors_used),
        "n_dropped_donors": len(result.data.dropped), "donor_pool": result.data.pool_rule,
        "placebo_rank": result.placebo.rank, "placebo_units": len(result.placebo.ratios),
        "placebo_se_draws": result.sdid_se.draws, "placebo_se_replications": result.sdid_se.replications,
        "cut_adjusted": adjustment is not None,
        "cut_share": None if result.data.cut_share is None else float(result.data.cut_share[result.data.region_code]),
        "cut_slopes": None if adjustment is None else adjustment.slopes.to_dict(orient="records"),
        "estimates": result.estimates.to_dict(orient="records"),
        "notes": [note.as_dict() for note in result.notes],
    }


def header_facts(data: CaseStudyData) -> dict:
    """The adopter, its WFA period (``period``: first and last month) and the donor pool
    (catalogue ``30.header``)."""
    return {"region_name": data.region_label, "region_code": data.region_code, "level": data.level.lower(),
            "period": (data.treatment_start, data.last_post), "status": data.status,
            "n_donors": len(data.donors), "pool_rule": data.pool_rule, "n_dropped": len(data.dropped)}


def conclusion_facts(result: CaseStudyResult) -> dict:
    """The numbers and codes of the plain-language conclusion (catalogue ``30.conclusion``):
    the WFA ``period`` (first and last month), ``sdid`` with its 95% placebo interval ``sdid_ci``,
    ``sc``, the ``outcome`` code (which sets the unit: days or log points), ``interval`` (``covers_zero`` / ``excludes_zero``), the placebo
    ``rank`` among ``n_units`` and its ``pvalue``, the donor rule."""
    d, se = result.data, result.estimate(HEADLINE_METHOD)
    return {
        "region_name": d.region_label, "period": (d.treatment_start, d.last_post), "outcome": d.outcome,
        "sdid": result.sdid.estimate, "sdid_ci": (se.ci_low, se.ci_high), "sc": result.sc.effect,
        "interval": "covers_zero" if se.ci_low <= 0 <= se.ci_high else "excludes_zero",
        "rank": result.placebo.rank, "n_units": len(result.placebo.ratios), "pvalue": result.placebo.p_value,
        "pool_rule": d.pool_rule,
    }


def exhibit_facts(result: CaseStudyResult) -> dict:
    """The numbers of the exhibits' captions and alt texts (catalogue ``caption.30``, ``alt.30``)."""
    d = result.data
    top = result.sc.weights.iloc[0]
    return {
        "region_name": d.region_label, "outcome": d.outcome, "start": d.treatment_start,
        "pre_rmspe": result.sc.pre_rmspe, "effect": result.sc.effect, "n_donors": len(d.donors),
        "n_placebos": len(result.placebo.ratios) - 1, "rank": result.placebo.rank,
        "n_units": len(result.placebo.ratios),
        "top_donor": str(d.donors.set_index("region_code")["name"][top["donor"]]), "top_weight": float(top["weight"]),
    }
