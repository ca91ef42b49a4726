"""The study's monthly timeline and the calendar effects common to every Pemda.

Months are ``YYYY-MM`` strings; a month index is the position in :func:`months` (0 = January 2023).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from analysis.simulate.calibration import FIRST_MONTH, ServiceCalibration


def month_start(month: str) -> dt.date:
    year, mon = month.split("-")
    return dt.date(int(year), int(mon), 1)


def add_months(month: str, n: int) -> str:
    start = month_start(month)
    total = start.year * 12 + start.month - 1 + n
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months(extracted_at: dt.date) -> list[str]:
    """Every month from January 2023 to the extraction month, inclusive."""
    out, month = [], FIRST_MONTH
    while month <= month_of(extracted_at):
        out.append(month)
        month = add_months(month, 1)
    return out


def months_between(earlier: str, later: str) -> int:
    a, b = month_start(earlier), month_start(later)
    return (b.year - a.year) * 12 + b.month - a.month


def submission_days(month: str, extracted_at: dt.date) -> np.ndarray:
    """Working days (Mon-Fri) of ``month`` strictly before the extraction date, as
    ``datetime64[D]``. Nothing in the data is stamped on or after the extraction date."""
    start = np.datetime64(month_start(month), "D")
    end = np.datetime64(month_start(add_months(month, 1)), "D")
    end = min(end, np.datetime64(extracted_at, "D"))
    days = np.arange(start, end, dtype="datetime64[D]")
    weekday = (days.astype("int64") + 3) % 7   # 1970-01-01 was a Thursday; 0 = Monday
    return days[weekday < 5]


def calendar_log_effect(days: np.ndarray, cal: ServiceCalibration) -> np.ndarray:
    """Log-point slowdown of completion times for requests submitted on ``days``
    (``datetime64[D]``), common to all Pemda: Lebaran, Ramadan, year-end, January start-up,
    the national FWA days of March 2026, and a slow digitalisation trend."""
    days = days.astype("datetime64[D]")
    effect = np.zeros(days.shape, dtype="float64")
    for date in cal.lebaran_dates:
        lebaran = np.datetime64(date, "D")
        offset = (days - lebaran).astype("int64")
        effect += np.where(np.abs(offset) <= cal.lebaran_window_days, cal.lebaran_log, 0.0)
        in_ramadan = (offset < -cal.lebaran_window_days) & (offset >= -cal.ramadan_days)
        effect += np.where(in_ramadan, cal.ramadan_log, 0.0)
    month_num = days.astype("datetime64[M]").astype("int64") % 12 + 1
    day_of_month = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype("int64") + 1
    effect += np.where((month_num == 12) & (day_of_month >= 16), cal.year_end_log, 0.0)
    effect += np.where((month_num == 1) & (day_of_month <= 15), cal.january_log, 0.0)
    in_fwa_2026 = days.astype("datetime64[M]") == np.datetime64("2026-03", "M")
    effect += np.where(in_fwa_2026, cal.national_fwa_2026_log, 0.0)
    years = (days - np.datetime64(f"{FIRST_MONTH}-01", "D")).astype("int64") / 365.25
    effect += cal.trend_log_per_year * years
    return effect
