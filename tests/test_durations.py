"""Request-level hazard model: recovers a known hazard ratio with censoring at extraction."""

import numpy as np
import pandas as pd
import pytest

from analysis.durations import hazard_ratio, km_before_after, person_period_counts
from analysis.panels.engines import extraction_moment


def _requests(n=40_000, seed=7):
    """40 Pemda, 15 adopting in 2026-04, true completion hazard ratio 0.7, censored at extraction."""
    rng = np.random.default_rng(seed)
    regions = [f"{i}" for i in range(40)]
    treatment = pd.DataFrame({"region_code": regions, "cohort": ["2026-04" if i < 15 else None for i in range(40)],
                              "status": ["adopter" if i < 15 else "never" for i in range(40)],
                              "in_staggered_sample": True})
    region = rng.choice(regions, n)
    submitted = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 240 * 24, n), unit="h")
    month = submitted.strftime("%Y-%m")
    wfa = (region.astype(int) < 15) & (month >= "2026-04")
    rate = 0.2 * np.exp(rng.normal(0, 0.2, 40))[region.astype(int)] * np.where(wfa, 0.7, 1.0)  # true HR 0.7
    days = rng.exponential(1 / rate)
    completed = submitted + pd.to_timedelta(days, unit="D")
    extracted = pd.Timestamp("2026-08-31")
    df = pd.DataFrame({"region_code": region, "service_type": "perizinan", "submitted_at": submitted,
                       "completed_at": pd.Series(completed).where(completed <= extracted + pd.Timedelta(days=1)),
                       "units_involved": 1, "sla_days": 5.0})
    return df, treatment, extracted


def test_piecewise_exponential_recovers_hazard_ratio():
    df, treatment, extracted = _requests()
    n = len(df)
    counts = person_period_counts(df, treatment, extracted_at=extracted, start="2026-01")
    assert counts["n_requests"].sum() == n
    h = hazard_ratio(counts)
    assert h.ci_low < 0.7 < h.ci_high
    assert h.hazard_ratio < 0.8


def test_km_before_after_groups():
    sample = pd.DataFrame({"days": [1.0, 2, 3, 4, 5, 6, 7, 8], "completed": [True] * 8,
                           "adopter": [True] * 4 + [False] * 4, "wfa": [0, 0, 1, 1, 0, 0, 0, 0],
                           "month": ["2026-01", "2026-02", "2026-03", "2026-04"] * 2})
    curves = km_before_after(sample, split_month="2026-03")
    assert set(map(tuple, curves[["group", "period"]].drop_duplicates().to_numpy())) == {
        ("adopter", "before"), ("adopter", "after"), ("comparison", "before"), ("comparison", "after")}
    assert curves.groupby(["group", "period"])["survival"].min().eq(0).all()


def test_km_before_after_accepts_a_filtered_sample():
    """Notebook 10 filters the request sample to one service type before drawing the curves."""
    sample = pd.DataFrame({"days": [1.0, 2, 3, 4, 5, 6, 7, 8] * 2, "completed": [True] * 16,
                           "adopter": ([True] * 4 + [False] * 4) * 2, "wfa": [0, 0, 1, 1, 0, 0, 0, 0] * 2,
                           "month": ["2026-01", "2026-02", "2026-03", "2026-04"] * 4,
                           "service_type": ["perizinan"] * 8 + ["bansos"] * 8})
    filtered = sample[sample["service_type"] == "bansos"]
    curves = km_before_after(filtered, split_month="2026-03")
    expected = km_before_after(filtered.reset_index(drop=True), split_month="2026-03")
    pd.testing.assert_frame_equal(curves, expected)


def test_hazard_ratio_is_bit_identical_whatever_the_row_order():
    """Issue #14: exposure summed in floating point over DuckDB's threads varied in the last bits
    from run to run; it is now summed in whole microseconds and the rows are sorted."""
    df, treatment, extracted = _requests(n=60_000, seed=11)
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    runs = [person_period_counts(d, treatment, extracted_at=extracted, start="2026-01") for d in (df, shuffled, df)]
    for other in runs[1:]:
        pd.testing.assert_frame_equal(runs[0], other, check_exact=True)
    fits = [hazard_ratio(c) for c in runs]
    assert len({(f.log_hr, f.se, f.hazard_ratio, f.ci_low, f.ci_high) for f in fits}) == 1
    # exposure is exact: the open or completed time of every request, in days
    stop = df["completed_at"].fillna(extraction_moment(extracted))
    to_us = lambda t: (t.astype("datetime64[ns]").astype("int64") + 500) // 1000  # noqa: E731 - DuckDB rounds ns to us
    total_us = (to_us(stop) - to_us(df["submitted_at"])).clip(lower=0).sum()
    assert runs[0]["exposure_days"].sum() == pytest.approx(total_us / 86_400_000_000, rel=1e-12)
