"""A WFA trial that ended: what a treatment that switched on and off again shows (Kota
Surakarta, 33.72: WFA on Wednesdays 14, 21 and 28 January 2026 only).

The staggered estimators assume that treatment, once on, stays on, so they leave such a Pemda
out (``analysis.panels.treatment``). Here it is analysed on its own, as an event study with an
explicit switch-off against the never-adopting Pemda of its level:

- **Estimator**: de Chaisemartin & D'Haultfœuille (2024), ``moderndid.did_multiplegt`` with only
  never-switchers as controls (moderndid 0.4.1 ships it; it accepts a treatment that goes
  0 -> 1 -> 0). With one switcher the effect at horizon ``l`` (``l = 1``: the first month with
  WFA) is ``DID_l = (Y_s,F-1+l - Y_s,F-1) - mean_c (Y_c,F-1+l - Y_c,F-1)``, ``F - 1`` the last
  month before the trial; horizons past the trial measure what remained after WFA ended
  (persistence or rebound; 0 if the effect stopped with the trial). Placebos ``-l`` compare
  month ``F-1-l`` with ``F-1`` the same way. :func:`switch_effects` computes these in closed form
  (tests/test_switch_off.py checks them against ``did_multiplegt``), fast enough to re-run for
  every placebo switcher.
- **The TKD cut** starts in the trial month: the outcome is first residualised on ``cut share x
  month`` with slopes from the never-adopters (:mod:`analysis.synth.adjust`, as the case
  studies).
- **Comparison Pemda**: every Pemda of the same level (provinces, or kabupaten and kota) with no
  WFA day in the window and a complete series.
- **Inference**: with one treated Pemda an analytic standard error has no basis. Randomization
  inference (:mod:`analysis.did.inference`): the trial's on/off path is given in turn to every
  never-adopter of the pool (all assignments enumerated: exact), statistic = the estimate; a
  p-value per horizon, and intervals by test inversion for the trial month and for the mean of
  the months after it.
- **What can be learned**: the minimum detectable effect of the trial month (80% power, 5%
  two-sided: 2.80 x the SD of the placebo estimates) against the estimate; the dose (WFA days
  in the trial against working days in the month). Notes carry these limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.analyses.case_study import (
    OUTCOME_UNITS,
    TKD_CUT_START,
    CaseStudyError,
    adopter_series,
    cut_shares,
    is_province,
    region_label,
    true_monthly_effects,
)
from analysis.did.inference import randomization_inference
from analysis.did.multiplegt import did_multiplegt_std_errors
from analysis.notes import Note
from analysis.panels.treatment import treatment_by_period
from analysis.synth.adjust import adjust_for_exposure

#: Indonesian weekday names of the registry's ``wfa_weekdays`` (Monday = 0).
WEEKDAYS = {"senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "sabtu": 5, "minggu": 6}
#: (z_0.975 + z_0.80): a two-sided 5% test detects with 80% power effects this many SDs away.
MDE_FACTOR = 2.80
DEFAULT_PLACEBOS = 6


@dataclass(frozen=True)
class SwitchOffResult:
    """- ``effects``: DataFrame ``horizon, period, phase`` (``placebo`` / ``on`` / ``after``),
      ``estimate`` (outcome units), ``se_analytic`` (did_multiplegt's own, shown for reference:
      not valid with one switcher), ``pvalue`` (randomization, exact), ``ci_low, ci_high`` (test
      inversion; only for the first ``on`` month, NaN elsewhere).
    - ``after_mean``: dict ``estimate, pvalue, ci_low, ci_high, n_months`` for the mean over the
      months after the trial.
    - ``dose``: dict ``wfa_days``, ``working_days``, ``share_of_working_days`` of the trial
      months; ``mde_on``: minimum detectable effect of the first trial month.
    - ``n_placebo_units``: never-adopters each given the trial path; ``notes``: the limits.
    """

    region_code: str
    region_label: str
    outcome: str
    unit: str
    on_periods: tuple[str, ...]
    base_period: str
    effects: pd.DataFrame
    after_mean: dict
    dose: dict
    mde_on: float
    n_placebo_units: int
    cut_adjusted: bool
    notes: tuple[Note, ...] = field(default=())


def trial_dose(policies: pd.DataFrame, region_code: str, months: list[str]) -> dict:
    """WFA days of ``region_code``'s policy spells in ``months`` (the named ``wfa_weekdays``
    between start and end date) and the working days (Monday-Friday) of those months."""
    spells = policies[policies["region_code"].astype(str) == region_code]
    working = wfa_days = 0
    for month in months:
        start = pd.Period(month, freq="M").start_time
        days = pd.date_range(start, start + pd.offsets.MonthEnd(0), freq="D")
        days = days[days.day_of_week < 5]
        working += len(days)
        on = np.zeros(len(days), dtype=bool)
        for spell in spells.itertuples():
            names = [w.strip().lower() for w in str(spell.wfa_weekdays or "").split(";") if w.strip()]
            if not names or any(n not in WEEKDAYS for n in names):
                return {"wfa_days": None, "working_days": working, "share_of_working_days": None}
            end = pd.Timestamp(spell.end_date) if pd.notna(spell.end_date) and str(spell.end_date) else days[-1]
            inside = (days >= pd.Timestamp(spell.start_date)) & (days <= end)
            on |= inside & np.isin(days.day_of_week, [WEEKDAYS[n] for n in names])
        wfa_days += int(on.sum())
    return {"wfa_days": wfa_days, "working_days": working, "share_of_working_days": wfa_days / working}


def switch_effects(values: np.ndarray, switcher: int, base: int, horizons: list[int]) -> np.ndarray:
    """dCDH effects of the single ``switcher`` row of ``values`` (units x periods) against the
    mean of all other rows: ``(Y_s,base+l - Y_s,base) - mean_c (Y_c,base+l - Y_c,base)`` for each
    ``l`` in ``horizons`` (negative ``l``: the placebos)."""
    change = values[:, [base + h for h in horizons]] - values[:, [base]]
    controls = np.delete(change, switcher, axis=0)
    return change[switcher] - controls.mean(axis=0)


def switch_off_panel(dataset, region_code: str, outcome: str, *, series: pd.DataFrame | None = None):
    """The Pemda's series and the never-adopters of its level (complete series), cut-adjusted
    when transfers are available. Returns ``(panel, on_periods, adjusted, label)``; ``panel`` is
    long ``region_code, period, value``, sorted by Pemda then month, balanced."""
    region_code, regions, region, series, periods = adopter_series(dataset, region_code, outcome, series=series)
    with_policy = regions[regions["region_code"].isin(dataset.policies["region_code"].astype(str))]
    in_force = treatment_by_period(dataset.policies, with_policy, periods=periods, max_gap_months=0)
    any_wfa = in_force[in_force["share_working_days"] > 0]
    own = any_wfa[any_wfa["region_code"] == region_code]
    on_periods = tuple(sorted(own["period"]))
    if not on_periods:
        raise CaseStudyError(f"{region['name']} ({region_code}) has no WFA day in the data window")
    if on_periods[-1] >= periods[-1]:
        raise CaseStudyError(f"{region['name']} ({region_code}): WFA is still on at the end of the data; "
                             "use the case study, not the switch-off analysis")
    if on_periods[0] <= periods[0]:
        raise CaseStudyError(f"{region['name']} ({region_code}) has no month before WFA")
    level = regions.set_index("region_code")["level"].map(is_province)
    never = set(regions["region_code"]) - set(any_wfa["region_code"])
    pool = [c for c in sorted(never) if level.get(c) == is_province(region["level"])]
    wide = series.pivot_table(index="region_code", columns="period", values="value", aggfunc="first")
    wide = wide.reindex(columns=periods)
    complete = wide.index[np.isfinite(wide.to_numpy(dtype=float)).all(axis=1)]
    if region_code not in complete:
        raise CaseStudyError(f"{region['name']} ({region_code}) lacks {outcome} in some month")
    pool = [c for c in pool if c in complete]
    if len(pool) < 20:
        raise CaseStudyError(f"only {len(pool)} never-adopters with a complete {outcome} series (20 needed)")
    codes = sorted(pool) + [region_code]
    panel = (wide.loc[codes].reset_index().melt(id_vars="region_code", var_name="period", value_name="value")
             .sort_values(["region_code", "period"]).reset_index(drop=True))
    shares = cut_shares(dataset)
    adjusted = shares is not None and shares.reindex(codes).notna().all()
    if adjusted:
        panel = adjust_for_exposure(panel, outcome="value", unit="region_code", time="period",
                                    exposure=shares.reindex(codes), shock_start=TKD_CUT_START,
                                    comparison=pool).panel
    return panel, on_periods, bool(adjusted), region_label(region["name"], region["level"])


def analyse_switch_off(dataset, region_code: str = "33.72", outcome: str = "log_routine_spending", *,
                       series: pd.DataFrame | None = None, placebos: int = DEFAULT_PLACEBOS,
                       horizons_after: int | None = None, alpha: float = 0.05) -> SwitchOffResult:
    """Effects of a WFA trial that ended, month by month, with exact randomization inference
    (module doc). ``horizons_after``: months after the trial to report (default: all in the
    data); ``placebos``: pre-trial placebo horizons."""
    panel, on_periods, adjusted, label = switch_off_panel(dataset, region_code, outcome, series=series)
    region_code = str(region_code)
    periods = sorted(panel["period"].unique())
    codes = list(dict.fromkeys(panel["region_code"]))
    values = panel["value"].to_numpy(dtype=float).reshape(len(codes), len(periods))
    first_on = periods.index(on_periods[0])
    base = first_on - 1
    n_on = periods.index(on_periods[-1]) - first_on + 1
    n_after = len(periods) - (first_on + n_on) if horizons_after is None else int(horizons_after)
    n_placebo = min(placebos, base)
    horizons = [-h for h in range(n_placebo, 0, -1)] + list(range(1, n_on + n_after + 1))
    switcher = codes.index(region_code)
    estimates = switch_effects(values, switcher, base, horizons)
    se_analytic = _did_multiplegt_se(panel, codes, region_code, on_periods, n_on + n_after, n_placebo)

    # one row per Pemda (the randomization re-assigns the trial path between rows): the change
    # of every reported month from the base month, and of the mean of the months after the trial
    after = [h for h in horizons if h > n_on]
    change = {f"h{h}": values[:, base + h] - values[:, base] for h in horizons}
    if after:
        change["after"] = values[:, [base + h for h in after]].mean(axis=1) - values[:, base]
    # the trial's first and last month as positions in `periods` (NaN: never switched); numeric,
    # so that the randomization's candidate frames are built by plain array takes
    is_switcher = np.array([code == region_code for code in codes])
    frame = pd.DataFrame({"region_code": codes, **change,
                          "switch_on": np.where(is_switcher, float(first_on), np.nan),
                          "switch_off": np.where(is_switcher, float(first_on + n_on - 1), np.nan)})

    def ri(column: str, with_ci: bool):
        def estimator(data: pd.DataFrame) -> tuple[float, float]:
            who = ~pd.isna(data["switch_on"].to_numpy())
            y = data[column].to_numpy(dtype=float)
            return float(y[who].mean() - y[~who].mean()), float("nan")

        return randomization_inference(frame, estimator, assign_by="region_code", cohort=["switch_on", "switch_off"],
                                       statistic="estimate", outcome=column, treated=is_switcher,
                                       confidence_interval=with_ci, max_exact=len(codes), alpha=alpha,
                                       linear_outcome=True)

    rows = []
    for k, h in enumerate(horizons):
        result = ri(f"h{h}", with_ci=h == 1)
        rows.append({"horizon": h, "period": periods[base + h],
                     "phase": "placebo" if h < 0 else ("on" if h <= n_on else "after"),
                     "estimate": float(estimates[k]), "se_analytic": se_analytic.get(h, np.nan),
                     "pvalue": result.pvalue, "ci_low": result.ci_low, "ci_high": result.ci_high,
                     "null_sd": float(np.std(result.null_estimates, ddof=1))})
    effects = pd.DataFrame(rows)
    after_mean = {"estimate": float("nan"), "pvalue": float("nan"), "ci_low": float("nan"),
                  "ci_high": float("nan"), "n_months": len(after)}
    if after:
        result = ri("after", with_ci=True)
        after_mean = {"estimate": result.estimate, "pvalue": result.pvalue, "ci_low": result.ci_low,
                      "ci_high": result.ci_high, "n_months": len(after)}
    dose = trial_dose(dataset.policies, region_code, list(on_periods))
    on_row = effects[effects["horizon"] == 1].iloc[0]
    mde = MDE_FACTOR * float(on_row["null_sd"])
    notes = [Note("switch_off_trial", {"region_code": region_code, "on_months": list(on_periods),
                                       "wfa_days": dose["wfa_days"], "working_days": dose["working_days"]}),
             Note("switch_off_single_pemda_inference", {"n_placebo_units": len(codes) - 1})]
    if on_row["ci_low"] <= 0 <= on_row["ci_high"]:
        notes.append(Note("switch_off_effect_below_detectable", {"mde": mde, "estimate": float(on_row["estimate"])}))
    notes.append(Note("switch_off_dose_not_scalable", {"wfa_days": dose["wfa_days"],
                                                       "share_of_working_days": dose["share_of_working_days"]}))
    if not adjusted:
        notes.append(Note("cut_adjustment_unavailable", {"region_code": region_code}))
    return SwitchOffResult(
        region_code=region_code, region_label=label, outcome=outcome, unit=OUTCOME_UNITS[outcome],
        on_periods=on_periods, base_period=periods[base], effects=effects.drop(columns="null_sd"),
        after_mean=after_mean, dose=dose, mde_on=mde, n_placebo_units=len(codes) - 1,
        cut_adjusted=adjusted, notes=tuple(notes),
    )


def _did_multiplegt_se(panel: pd.DataFrame, codes: list, region_code: str, on_periods: tuple,
                       effects: int, placebos: int) -> dict:
    """did_multiplegt's own standard errors per horizon (for reference; one switcher)."""
    periods = sorted(panel["period"].unique())
    data = panel.assign(
        unit_id=panel["region_code"].map({c: i + 1 for i, c in enumerate(codes)}),
        t=panel["period"].map({p: i + 1 for i, p in enumerate(periods)}),
        d=((panel["region_code"] == region_code) & panel["period"].isin(on_periods)).astype(int),
    )
    return did_multiplegt_std_errors(data, outcome="value", unit="unit_id", time="t", treatment="d",
                                     effects=effects, placebos=placebos)


def true_switch_effects(data_dir, result: SwitchOffResult, *, cells: pd.DataFrame | None = None) -> pd.Series:
    """True effect per period of ``result.effects`` on synthetic data (0 where no WFA was in force):
    budget from ``truth_budget_cells.parquet`` (log of routine realised over counterfactual),
    service (``log_median_days``) from ``truth_service_cells.parquet`` weighted by the cells'
    requests (``cells``: :func:`analysis.analyses.case_study.service_cells`)."""
    periods = list(result.effects["period"])
    return true_monthly_effects(data_dir, result.region_code, result.outcome, periods, cells=cells).fillna(0.0)


# ------------------------------------------------------------------------------ notebook 35
def summary_facts(result: SwitchOffResult) -> dict:
    """The facts of the sentence ``35.summary``: ``region_name``, ``outcome`` (code),
    ``on_months`` (the trial months), ``wfa_days`` / ``working_days`` (dose), ``estimate`` /
    ``ci`` / ``pvalue`` of the first trial month, ``n_placebo_units``, ``mde`` (minimum
    detectable effect of that month), ``after`` (``measured`` / ``none``) with
    ``after_estimate``, ``after_ci``, ``after_pvalue``, ``n_after``, and ``detectable``
    (``below_mde`` when the estimate is smaller in size than the MDE, else ``above_mde``)."""
    on = result.effects[result.effects["horizon"] == 1].iloc[0]
    after = result.after_mean
    return {
        "region_name": result.region_label, "outcome": result.outcome, "on_months": list(result.on_periods),
        "wfa_days": result.dose.get("wfa_days") or 0, "working_days": result.dose.get("working_days") or 0,
        "estimate": float(on["estimate"]), "ci": (float(on["ci_low"]), float(on["ci_high"])),
        "pvalue": float(on["pvalue"]), "n_placebo_units": result.n_placebo_units, "mde": result.mde_on,
        "after": "measured" if after["n_months"] and np.isfinite(after["estimate"]) else "none",
        "after_estimate": after["estimate"], "after_ci": (after["ci_low"], after["ci_high"]),
        "after_pvalue": after["pvalue"], "n_after": after["n_months"],
        "detectable": "below_mde" if abs(float(on["estimate"])) < result.mde_on else "above_mde",
    }


def effects_table(result: SwitchOffResult) -> pd.DataFrame:
    """The month-by-month effects as the reader sees them: ``period, phase, estimate, pvalue,
    ci_low, ci_high`` (interval only for the first trial month)."""
    return result.effects[["period", "phase", "estimate", "pvalue", "ci_low", "ci_high"]].reset_index(drop=True)


def result_entries(result: SwitchOffResult):
    """``results.json`` entries: ``switch_off_effect_on`` (the first trial month) and
    ``switch_off_effect_after`` (mean of the months after the trial), each with exact
    randomization inference over the never-adopters of the pool."""
    from analysis.report.results_file import Estimand, Inference, ResultEntry, Sample

    on = result.effects[result.effects["horizon"] == 1].iloc[0]
    sample = Sample(treated=(result.region_code,), comparison_count=result.n_placebo_units,
                    real_adopters_included=(result.region_code,))
    details = {"on_periods": list(result.on_periods), "base_period": result.base_period,
               "cut_adjusted": result.cut_adjusted, "dose": dict(result.dose), "mde": result.mde_on}

    def inference(pvalue):
        return Inference(method="randomization", reason="single_treated_pemda", n_treated_clusters=1,
                         pvalue=None if pvalue is None or not np.isfinite(pvalue) else float(pvalue),
                         details={"statistic": "estimate", "exact": True, "n_placebo_units": result.n_placebo_units})

    entries = [ResultEntry(
        "switch_off_effect_on", float(on["estimate"]), None, float(on["ci_low"]), float(on["ci_high"]), result.unit,
        "Effect in the first trial month (dCDH, only never-switchers as controls)",
        Estimand(result.outcome, "log_points" if result.unit == "log points" else result.unit, "single_adopter",
                 "first_trial_month", "single_unit", "dcdh_never_switchers", details),
        sample, inference(on["pvalue"]))]
    after = result.after_mean
    if after["n_months"]:
        entries.append(ResultEntry(
            "switch_off_effect_after", after["estimate"], None, after["ci_low"], after["ci_high"], result.unit,
            "Mean effect over the months after the trial ended",
            Estimand(result.outcome, "log_points" if result.unit == "log points" else result.unit, "single_adopter",
                     "months_after_trial", "months_equal", "dcdh_never_switchers",
                     {**details, "n_months": after["n_months"]}),
            sample, inference(after["pvalue"])))
    return entries
