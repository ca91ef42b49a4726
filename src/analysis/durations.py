"""Request-level completion-time model with censoring (complements the panel DiD).

Model: a piecewise-exponential proportional-hazards model of *completion*, fitted as a Poisson
regression on person-period counts (pyfixest ``fepois``): every request contributes its time at
risk in each day bin (``DAY_BINS``) until completion, or until extraction if still open
(censoring), and a completion event in the bin where it was completed. Counts and exposure are
aggregated in DuckDB by Pemda × service type × submission month × WFA × day bin (all requests,
no sampling), so the fit takes seconds at any data size. Fixed effects: Pemda × service type,
service type × day bin (a separate piecewise-constant baseline hazard per service) and
submission month (calendar effects). ``exp(coef of wfa)`` is the hazard ratio of completion:
below 1 means requests are completed *more slowly* under WFA. SEs clustered by Pemda.

Assumptions: proportional hazards; hazard constant within a day bin; WFA status fixed at the
submission month (a request submitted the month before adoption counts as untreated).

The curves of the share still open, before/after, adopters vs comparison Pemda
(:func:`survival_before_after`) come from the same person-period counts: within each day bin the
completion hazard is events / days at risk (constant in the bin, as in the model), so the share
still open after ``t`` days is ``exp(-sum of hazard x time in each bin up to t)``, the
piecewise-exponential (life-table) estimate of the Kaplan–Meier curve at the resolution of the day
bins, from every request of the sample Pemda. (Before the aggregation stage they were Kaplan–Meier
curves of a seeded random sample of 100,000 requests; :func:`km_before_after` is kept for
comparison; the curves only illustrate.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyfixest as pf

from analysis.notes import Note
from analysis.panels.km import kaplan_meier
from analysis.panels.aggregate import person_period_counts as counts_from_person_periods
from analysis.panels.engines import DuckDBEngine
from analysis.panels.queries import DAY_BINS, finish_person_periods, person_periods_sql
from analysis.panels.service import extraction_moment


MS_PER_DAY = 86_400_000


@dataclass(frozen=True)
class HazardResult:
    """Hazard ratio of completion under WFA (< 1: slower) with a Pemda-clustered 95% CI."""

    hazard_ratio: float
    ci_low: float
    ci_high: float
    log_hr: float
    se: float
    n_requests: int
    n_completed: int
    n_treated_pemda: int
    n_control_pemda: int
    model: Note  # hazard_model: the model and the size of its person-period data


def person_period_counts(
    requests, treatment: pd.DataFrame, *, extracted_at, start: str = "2025-01", end: str | None = None,
) -> pd.DataFrame:
    """Completions and days at risk by ``region_code, service_type, month, wfa, bin``.

    The person-period table of the aggregation stage (:func:`analysis.panels.queries.person_periods_sql`:
    bins ``(lo, hi]``, durations summed in whole microseconds, so the result is bit-identical from
    run to run), restricted to the Pemda in the staggered sample (adopters and never-treated) and
    the months ``start``..``end``, with ``wfa`` = 1 from a Pemda's cohort month on.
    ``exposure_days`` is the total time at risk in the bin; ``events`` the completions in it.
    """
    with DuckDBEngine() as engine:
        engine.register(requests)
        periods = finish_person_periods(engine.fetch(person_periods_sql(extraction_moment(extracted_at))))
    return counts_from_person_periods(periods, treatment, start=start, end=end)


def hazard_ratio(counts: pd.DataFrame) -> HazardResult:
    """Piecewise-exponential PH model (module doc) on :func:`person_period_counts`."""
    d = counts[counts["exposure_days"] > 0].copy()
    d["log_exposure"] = np.log(d["exposure_days"])
    d["stratum"] = d["region_code"] + "|" + d["service_type"]
    d["baseline"] = d["service_type"] + "|" + d["bin"].astype(str)
    fit = pf.fepois("events ~ wfa | stratum + baseline + month", data=d, offset="log_exposure",
                    vcov={"CRV1": "region_code"})
    b, se = float(fit.coef()["wfa"]), float(fit.se()["wfa"])
    adopters = d.loc[d["wfa"] == 1, "region_code"].unique()
    return HazardResult(
        float(np.exp(b)), float(np.exp(b - 1.959964 * se)), float(np.exp(b + 1.959964 * se)), b, se,
        int(counts["n_requests"].sum()), int(counts["events"].sum()),
        len(adopters), int(d["region_code"].nunique() - len(adopters)),
        Note("hazard_model", {"n_cells": len(d), "n_bins": len(DAY_BINS) - 1}),
    )


def km_before_after(sample: pd.DataFrame, *, split_month: str | None = None, max_days: float = 60.0) -> pd.DataFrame:
    """Kaplan–Meier curves of the share still open, before/after, adopters vs comparison Pemda.

    Adopters are split at their own cohort (``wfa``); comparison Pemda at ``split_month``
    (default: the earliest month with WFA in force among the adopters in the sample). Returns
    ``group, period, days, survival`` (curve truncated at ``max_days``).
    """
    sample = sample.reset_index(drop=True)  # callers pass filtered samples (e.g. one service type)
    if split_month is None:
        split_month = sample.loc[sample["wfa"] == 1, "month"].min() or sample["month"].max()
    period = np.where(sample["adopter"], np.where(sample["wfa"] == 1, "after", "before"),
                      np.where(sample["month"] >= split_month, "after", "before"))
    group = np.where(sample["adopter"], "adopter", "comparison")
    rows = []
    for (g, p), idx in pd.DataFrame({"g": group, "p": period}).groupby(["g", "p"]).groups.items():
        cell = sample.loc[idx]
        curve = kaplan_meier(cell["days"].to_numpy(), cell["completed"].to_numpy())
        curve = curve[curve["days"] <= max_days]
        curve = pd.concat([pd.DataFrame({"days": [0.0], "survival": [1.0]}), curve[["days", "survival"]]])
        rows.append(curve.assign(group=g, period=p))
    return pd.concat(rows, ignore_index=True)[["group", "period", "days", "survival"]]


def survival_before_after(counts: pd.DataFrame, treatment: pd.DataFrame, *, split_month: str | None = None,
                          max_days: float = 60.0, step: float = 0.25) -> pd.DataFrame:
    """Share of requests still open by days since submission, before/after, adopters vs
    comparison Pemda, from :func:`person_period_counts` (module doc: piecewise-exponential within
    the day bins ``DAY_BINS``). Adopters (a cohort in ``treatment``) are split at their own cohort
    (``wfa``); comparison Pemda at ``split_month`` (default: the earliest month with WFA in force
    in ``counts``). Returns ``group, period, days, survival`` on a grid of ``step`` days up to
    ``max_days`` (the same columns as :func:`km_before_after`)."""
    cohorts = treatment.assign(region_code=treatment["region_code"].astype(str)).set_index("region_code")["cohort"]
    adopter = counts["region_code"].map(cohorts).notna().to_numpy()
    if split_month is None:
        treated_months = counts.loc[counts["wfa"] == 1, "month"]
        split_month = treated_months.min() if len(treated_months) else counts["month"].max()
    period = np.where(adopter, np.where(counts["wfa"] == 1, "after", "before"),
                      np.where(counts["month"] >= split_month, "after", "before"))
    group = np.where(adopter, "adopter", "comparison")
    frame = pd.DataFrame({"group": group, "period": period, "bin": counts["bin"].to_numpy(),
                          "events": counts["events"].to_numpy(), "exposure": counts["exposure_days"].to_numpy()})
    totals = frame.groupby(["group", "period", "bin"], sort=True)[["events", "exposure"]].sum()
    edges = np.asarray(DAY_BINS, dtype=float)
    grid = np.arange(0.0, max_days + step / 2, step)
    rows = []
    for (g, p), cell in totals.groupby(level=["group", "period"], sort=True):
        hazard = np.zeros(len(edges) - 1)
        by_bin = cell.droplevel(["group", "period"])
        for b, r in by_bin.iterrows():
            if 0 <= int(b) < len(hazard) and r["exposure"] > 0:
                hazard[int(b)] = r["events"] / r["exposure"]
        # cumulative hazard at each grid point: full bins below it, then the part of its own bin
        width = np.clip(grid[:, None] - edges[None, :-1], 0.0, np.diff(edges)[None, :])
        survival = np.exp(-(width * hazard[None, :]).sum(axis=1))
        rows.append(pd.DataFrame({"group": g, "period": p, "days": grid, "survival": survival}))
    return pd.concat(rows, ignore_index=True)[["group", "period", "days", "survival"]]
