"""WFA adoption: the real registry, simulated further adopters, and the monthly treatment
schedule derived from them.

Treatment is monthly: WFA is *in force* in a month when a policy spell overlaps any day of it
(so Surakarta's 14-28 January 2026 trial treats January 2026 only, and Jawa Barat is treated in
November 2025, not in December 2025, and again from January 2026). A Pemda's cohort is its first
month in force. ``Schedule.in_force_share`` says how much of such a month WFA covered (share of
its Monday-Friday working days): 1 for whole months, 0.68 for a spell starting on 12 January 2026.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import paths
from analysis.simulate.calibration import AdoptionCalibration
from analysis.simulate.timeline import month_of

POLICY_COLUMNS = (
    "region_code", "name", "start_date", "end_date", "wfa_days_per_week", "wfa_weekdays",
    "is_trial", "instrument", "source", "max_share_wfa", "scope_exclusions", "confidence", "notes",
)


def read_registry(path=paths.POLICIES_CSV) -> pd.DataFrame:
    """The real WFA registry, every column as text (empty string = empty)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def simulate_adopters(regions: pd.DataFrame, cut_share: np.ndarray, registry_codes: set[str],
                      rng: np.random.Generator, cal: AdoptionCalibration,
                      last_month: str = "9999-12") -> pd.DataFrame:
    """Further adopters in waves (policy rows, registry columns); waves after ``last_month`` (the
    extraction month) are drawn but not kept, so earlier waves do not depend on the extraction
    date. Within each wave, Pemda are drawn
    without replacement from those not yet adopting, with probability proportional to
    ``exp(slope x (tkd_cut_share - mean))``: larger TKD cuts make adoption more likely."""
    codes = regions["region_code"].to_numpy()
    names = regions["name"].to_numpy()
    available = np.array([code not in registry_codes for code in codes])
    weight = np.exp(cal.cut_share_logit_slope * (cut_share - cut_share.mean()))
    day_values = np.array(sorted(cal.days_probabilities))
    day_probs = np.array([cal.days_probabilities[d] for d in day_values])
    rows = []
    for wave_number, (wave_month, count) in enumerate(sorted(cal.waves.items()), start=1):
        p = np.where(available, weight, 0.0)
        chosen = rng.choice(len(codes), size=count, replace=False, p=p / p.sum())
        days = rng.choice(day_values, size=count, p=day_probs)
        for index, n_days in zip(sorted(chosen), days):
            available[index] = False
            if wave_month > last_month:
                continue
            above_cap = " 3 days/week is above the PermenPANRB 4/2025 cap of 2." if n_days > 2 else ""
            rows.append({
                "region_code": codes[index], "name": names[index],
                "start_date": f"{wave_month}-01", "end_date": "",
                "wfa_days_per_week": str(int(n_days)),
                "wfa_weekdays": cal.weekdays_by_days[int(n_days)],
                "is_trial": "false", "instrument": "Simulated adoption (synthetic data)",
                "source": "simulated", "max_share_wfa": "",
                "scope_exclusions": "direct public-service units", "confidence": "simulated",
                "notes": (f"Synthetic adopter, wave {wave_number} ({wave_month}); adoption "
                          f"probability rises with the 2026 TKD cut share.{above_cap}"),
            })
    return pd.DataFrame(rows, columns=list(POLICY_COLUMNS))


@dataclass(frozen=True)
class Schedule:
    """Monthly treatment of every region: ``wfa_days[r, m]`` WFA days per week in force (0 = none),
    ``cohort[r]`` first month index in force (-1 = never), region order as in ``regions``;
    ``in_force_share[r, m]``: share of the month's working days (Monday-Friday, holidays not
    modelled) covered by a policy spell, 0-1 (None when not computed)."""

    region_codes: np.ndarray
    months: list[str]
    wfa_days: np.ndarray
    cohort: np.ndarray
    in_force_share: np.ndarray | None = None

    def months_since_cohort(self) -> np.ndarray:
        index = np.arange(len(self.months))[None, :]
        return np.where(self.cohort[:, None] >= 0, index - self.cohort[:, None], -1)


def build_schedule(policies: pd.DataFrame, region_codes: np.ndarray, months: list[str],
                   extracted_at: dt.date) -> Schedule:
    row_of = {code: i for i, code in enumerate(region_codes)}
    wfa_days = np.zeros((len(region_codes), len(months)), dtype="int64")
    workdays = [_working_days(month) for month in months]
    covered = {}   # (r, m) -> which working days of month m a spell covers
    last_month = month_of(extracted_at)
    for policy in policies.itertuples(index=False):
        start_date = dt.date.fromisoformat(policy.start_date)
        end_date = dt.date.fromisoformat(policy.end_date) if policy.end_date else None
        start = month_of(start_date)
        end = month_of(end_date) if end_date else last_month
        for m, month in enumerate(months):
            if start <= month <= end:
                r = row_of[policy.region_code]
                wfa_days[r, m] = max(wfa_days[r, m], int(policy.wfa_days_per_week))
                inside = workdays[m] >= np.datetime64(start_date)
                if end_date is not None:
                    inside &= workdays[m] <= np.datetime64(end_date)
                covered[r, m] = covered.get((r, m), np.zeros(len(workdays[m]), bool)) | inside
    treated = wfa_days > 0
    cohort = np.where(treated.any(axis=1), treated.argmax(axis=1), -1)
    in_force_share = np.zeros(wfa_days.shape)
    for (r, m), days in covered.items():
        in_force_share[r, m] = days.mean()
    return Schedule(region_codes=region_codes, months=months, wfa_days=wfa_days, cohort=cohort,
                    in_force_share=in_force_share)


def _working_days(month: str) -> np.ndarray:
    """The Monday-Friday dates of ``month`` (``YYYY-MM``) as ``datetime64[D]``."""
    first = np.datetime64(month, "D")
    end = (np.datetime64(month, "M") + np.timedelta64(1, "M")).astype("datetime64[D]")
    days = np.arange(first, end, dtype="datetime64[D]")
    return days[np.is_busday(days)]


def adopters_summary(schedule: Schedule, simulated_codes: set[str]) -> list[dict]:
    """The ``adopters`` list of truth.json: one entry per treated Pemda, with its spells."""
    out = []
    for r in np.flatnonzero(schedule.cohort >= 0):
        code = str(schedule.region_codes[r])
        in_force = schedule.wfa_days[r] > 0
        spells, m = [], 0
        while m < len(schedule.months):
            if in_force[m]:
                first = m
                while m + 1 < len(schedule.months) and in_force[m + 1] \
                        and schedule.wfa_days[r, m + 1] == schedule.wfa_days[r, first]:
                    m += 1
                spells.append({"start": schedule.months[first],
                               "end": schedule.months[m] if m + 1 < len(schedule.months) else None,
                               "wfa_days_per_week": int(schedule.wfa_days[r, first])})
            m += 1
        last = spells[-1]
        out.append({
            "region_code": code,
            "cohort": schedule.months[schedule.cohort[r]],
            "end": last["end"],
            "wfa_days_per_week": int(last["wfa_days_per_week"]),
            "origin": "simulated" if code in simulated_codes else "registry",
            "spells": spells,
        })
    return out


__all__ = ["POLICY_COLUMNS", "Schedule", "adopters_summary", "build_schedule", "read_registry",
           "simulate_adopters"]
