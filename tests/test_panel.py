"""Service panels: the SQL Kaplan–Meier against a plain-Python KM, censoring, backlog, bad input."""

import numpy as np
import pandas as pd
import pytest

from analysis.panels.km import kaplan_meier, km_quantile
from analysis.panels.service import build_service_panel, count_unidentified, extraction_moment, km_curves

EXTRACTED = pd.Timestamp("2026-03-31")


def make_requests(n=3000, seed=1, open_share=0.25):
    """Random requests over 3 Pemda × 2 service types × 3 months, some still open, with ties."""
    rng = np.random.default_rng(seed)
    submitted = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h")
    # whole-day durations create many ties (completions and censorings at the same duration)
    days = rng.integers(0, 40, n).astype(float)
    completed = submitted + pd.to_timedelta(days, unit="D")
    ext = extraction_moment(EXTRACTED)
    still_open = (rng.random(n) < open_share) | (completed > ext)
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "region_code": rng.choice(["17", "33.72", "71.11"], n),
            "service_type": rng.choice(["perizinan", "adminduk"], n),
            "submitted_at": submitted,
            "completed_at": pd.Series(completed).where(~still_open),
            "units_involved": rng.choice([1, 1, 2, 3], n),
            "channel": "online",
            "sla_days": 14.0,
        }
    )


def python_durations(df):
    ext = extraction_moment(EXTRACTED)
    end = df["completed_at"].fillna(ext)
    return ((end - df["submitted_at"]).dt.total_seconds() / 86400).clip(lower=0)


def test_sql_km_matches_python_km_to_1e10():
    df = make_requests()
    curves = km_curves(df, extracted_at=EXTRACTED)
    df = df.assign(month=df["submitted_at"].dt.strftime("%Y-%m"), days=python_durations(df))
    n_checked = 0
    for (region, month, stype), cell in df.groupby(["region_code", "month", "service_type"]):
        ref = kaplan_meier(cell["days"], cell["completed_at"].notna())
        got = curves[(curves.region_code == region) & (curves.month == month) & (curves.service_type == stype)]
        assert len(got) == len(ref)
        np.testing.assert_allclose(got["days"].to_numpy(), ref["days"].to_numpy(), rtol=0, atol=1e-10)
        np.testing.assert_array_equal(got["n_at_risk"].to_numpy(), ref["n_at_risk"].to_numpy())
        np.testing.assert_allclose(got["survival"].to_numpy(), ref["survival"].to_numpy(), rtol=0, atol=1e-10)
        n_checked += 1
    assert n_checked == 18


@pytest.mark.parametrize("open_share", [0.3, 0.0])
def test_panel_quantiles_match_python_and_naive_is_completed_only(open_share):
    # open_share=0: most cells have no open request and take the list (empirical quantile) path
    df = make_requests(open_share=open_share)
    panel = build_service_panel(df, extracted_at=EXTRACTED)
    df = df.assign(month=df["submitted_at"].dt.strftime("%Y-%m"), days=python_durations(df))
    for row in panel.itertuples():
        cell = df[(df.region_code == row.region_code) & (df.month == row.month) & (df.service_type == row.service_type)]
        done = cell["completed_at"].notna()
        ref = kaplan_meier(cell["days"], done)
        for got, p in ((row.median_days, 0.5), (row.p90_days, 0.9)):
            expected = km_quantile(ref, p)
            assert (np.isnan(got) and np.isnan(expected)) or abs(got - expected) < 1e-10
        naive = kaplan_meier(cell.loc[done, "days"], np.ones(done.sum(), bool))
        assert abs(row.naive_median_days - km_quantile(naive, 0.5)) < 1e-10
        assert row.n_submitted == len(cell) and row.n_completed == done.sum()
        assert row.n_open == (~done).sum()
        known = done | (cell["days"] >= 14)
        within = done & (cell["days"] <= 14)
        assert row.n_sla_known == known.sum()
        assert abs(row.sla_share - within.sum() / known.sum()) < 1e-12
    # censoring makes the completed-only median too short on average (never longer cell by cell
    # would be too strong; on average it must be)
    if open_share > 0:
        assert (panel["naive_median_days"] - panel["median_days"]).mean() < 0
    else:
        assert (panel["n_open"] == 0).sum() >= 5


def test_unidentified_quantile_is_nan_and_counted():
    # 10 requests, 6 open with long censoring times: KM never reaches 0.5
    sub = pd.Timestamp("2026-03-01")
    df = pd.DataFrame(
        {
            "region_code": "17",
            "service_type": "bansos",
            "submitted_at": [sub] * 10,
            "completed_at": [sub + pd.Timedelta(days=d) for d in (1, 2, 3, 4)] + [pd.NaT] * 6,
            "units_involved": 1,
            "sla_days": 5.0,
        }
    )
    panel = build_service_panel(df, extracted_at=EXTRACTED)
    assert panel.loc[0, "n_open"] == 6
    assert np.isnan(panel.loc[0, "median_days"]) and np.isnan(panel.loc[0, "p90_days"])
    assert panel.loc[0, "naive_median_days"] == pytest.approx(2.0)
    counts = count_unidentified(panel)
    assert counts.loc[0, "median_unidentified"] == 1 and counts.loc[0, "p90_unidentified"] == 1


def test_exact_half_is_the_median():
    # no censoring, 4 requests: S = 0.5 exactly after the 2nd → median is the 2nd duration
    sub = pd.Timestamp("2026-02-02")
    df = pd.DataFrame(
        {
            "region_code": "32",
            "service_type": "perizinan",
            "submitted_at": [sub] * 4,
            "completed_at": [sub + pd.Timedelta(days=d) for d in (1, 3, 5, 7)],
            "units_involved": [1, 1, 2, 2],
            "sla_days": 4.0,
        }
    )
    panel = build_service_panel(df, extracted_at=EXTRACTED)
    assert panel.loc[0, "median_days"] == pytest.approx(3.0)
    assert panel.loc[0, "sla_share"] == pytest.approx(0.5)
    by_units = build_service_panel(df, extracted_at=EXTRACTED, by_units=True)
    assert list(by_units["units"]) == ["cross", "single"]
    assert list(by_units["median_days"]) == [5.0, 1.0]


def test_backlog_at_month_end():
    df = pd.DataFrame(
        {
            "region_code": "17",
            "service_type": "adminduk",
            "submitted_at": pd.to_datetime(["2026-01-10", "2026-01-20", "2026-02-05", "2026-03-01"]),
            "completed_at": pd.to_datetime(["2026-01-15", "2026-02-10", None, "2026-03-02"]),
            "units_involved": 1,
            "sla_days": 1.0,
        }
    )
    panel = build_service_panel(df, extracted_at=EXTRACTED).set_index("month")
    assert panel.loc["2026-01", "backlog_end"] == 1  # the 20 Jan request
    assert panel.loc["2026-02", "backlog_end"] == 1  # 20 Jan done, 5 Feb open
    assert panel.loc["2026-03", "backlog_end"] == 1
    assert panel.loc["2026-02", "n_completed_in_month"] == 1


def test_parquet_path_gives_same_panel(tmp_path):
    df = make_requests(n=500)
    path = tmp_path / "service_requests.parquet"
    df.to_parquet(path)
    a = build_service_panel(df, extracted_at=EXTRACTED)
    b = build_service_panel(path, extracted_at=EXTRACTED)
    pd.testing.assert_frame_equal(a, b)


def test_missing_column_is_a_clear_error():
    df = make_requests(n=10).drop(columns="sla_days")
    with pytest.raises(ValueError, match="sla_days"):
        build_service_panel(df, extracted_at=EXTRACTED)
