"""Request-level hazard model: recovers a known hazard ratio with censoring at extraction."""

import numpy as np
import pandas as pd

from analysis.durations import hazard_ratio, km_before_after, person_period_counts


def test_piecewise_exponential_recovers_hazard_ratio():
    rng = np.random.default_rng(7)
    regions = [f"{i}" for i in range(40)]
    treatment = pd.DataFrame({"region_code": regions, "cohort": ["2026-04" if i < 15 else None for i in range(40)],
                              "status": ["adopter" if i < 15 else "never" for i in range(40)],
                              "in_staggered_sample": True})
    n = 40_000
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
