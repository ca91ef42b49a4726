"""The aggregation stage (DuckDB engine): the same numbers as the request-level functions the
analyses call today, stored and read back, bad and degenerate input, the manifest."""

import json
import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from reference_person_periods import reference_person_period_counts
from reference_service_panel import reference_service_panel
from test_panel import EXTRACTED, make_requests

from analysis.durations import person_period_counts as durations_person_period_counts
from analysis.errors import DataContractError
from analysis.panels import aggregate, is_current, read_aggregated
from analysis.panels.aggregate import MANIFEST
from analysis.panels.engines import extraction_moment
from analysis.panels.queries import DAY_BINS, PERSON_PERIOD_KEYS
from analysis.panels.service import build_service_panel

PANEL_TABLES = ("service_panel", "units_panel", "person_periods")


def treatment_for(regions, adopters=(), cohort="2026-02", excluded=()):
    """A treatment table in the shape of ``assign_treatment``'s (the columns the counts use)."""
    regions = sorted(regions)
    return pd.DataFrame({
        "region_code": regions,
        "cohort": [cohort if r in adopters else None for r in regions],
        "status": ["adopter" if r in adopters else "never" for r in regions],
        "in_staggered_sample": [r not in excluded for r in regions],
    })


def sorted_counts(frame):
    return frame.sort_values(list(PERSON_PERIOD_KEYS), kind="stable", ignore_index=True)


def edge_requests():
    """Requests whose durations sit exactly on day-bin edges, at zero, and open ones."""
    sub = pd.Timestamp("2026-01-05 08:00:00")
    days = [0.0, 0.0, 0.5, 1.0, 1.0, 2.0, 2.5, 7.0, 14.0, 30.0, 90.0, 180.0, 200.0, 0.25, 3.0]
    completed = [sub + pd.Timedelta(days=d) for d in days]
    frame = pd.DataFrame({
        "region_code": ["17"] * 10 + ["33.72"] * 5,
        "service_type": "perizinan",
        "submitted_at": [sub] * 15,
        "completed_at": completed,
        "units_involved": 1,
        "sla_days": 5.0,
    })
    frame.loc[[4, 12], "completed_at"] = pd.NaT  # open: censored at extraction
    return frame


# --------------------------------------------------------------------------------------------
# Same numbers as today's functions
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("open_share", [0.3, 0.0])
def test_panels_equal_the_reference_sql_on_random_requests(open_share):
    df = make_requests(open_share=open_share)
    stage = aggregate(df, extracted_at=EXTRACTED)
    pd.testing.assert_frame_equal(stage.service_panel, reference_service_panel(df, extracted_at=EXTRACTED),
                                  rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(stage.units_panel,
                                  reference_service_panel(df, extracted_at=EXTRACTED, by_units=True),
                                  rtol=1e-12, atol=0)


def test_person_periods_equal_the_join_definition_at_bin_edges():
    df = edge_requests()
    treatment = treatment_for(["17", "33.72"], adopters=["17"], cohort="2026-01")
    expected = reference_person_period_counts(df, treatment, extracted_at=EXTRACTED, start="2026-01")
    got = aggregate(df, extracted_at=EXTRACTED).person_period_counts(treatment, start="2026-01")
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, atol=0)
    pd.testing.assert_frame_equal(durations_person_period_counts(df, treatment, extracted_at=EXTRACTED,
                                                                 start="2026-01"), expected, rtol=1e-12, atol=0)
    assert got["n_requests"].sum() == len(df)
    # a completion exactly on a bin edge counts in the bin it ends: none is lost
    assert got["events"].sum() == df["completed_at"].notna().sum()
    assert set(got.loc[got["region_code"] == "17", "wfa"]) == {1}


def test_person_periods_follow_the_sample_and_window():
    df = make_requests(n=2000, open_share=0.2)
    treatment = treatment_for(["17", "33.72", "71.11"], adopters=["33.72"], excluded=["71.11"])
    stage = aggregate(df, extracted_at=EXTRACTED)
    for start, end in (("2026-01", None), ("2026-02", "2026-02")):
        expected = reference_person_period_counts(df, treatment, extracted_at=EXTRACTED, start=start, end=end)
        got = stage.person_period_counts(treatment, start=start, end=end)
        pd.testing.assert_frame_equal(got, expected, rtol=1e-12, atol=0)
        assert "71.11" not in set(got["region_code"])
        adopter = got[got["region_code"] == "33.72"]
        assert (adopter["wfa"] == (adopter["month"] >= "2026-02").astype("int32")).all()


def test_stage_equals_todays_functions_on_small_dataset(small_dataset):
    from analysis.data import load_table
    from analysis.panels.treatment import assign_treatment

    requests = str(small_dataset / "service_requests.parquet")
    extracted_at = json.loads((small_dataset / "dataset.json").read_text())["extracted_at"]
    stage = aggregate(requests, extracted_at=extracted_at)
    for by_units, table in ((False, stage.service_panel), (True, stage.units_panel)):
        reference = reference_service_panel(requests, extracted_at=extracted_at, by_units=by_units)
        pd.testing.assert_frame_equal(table, reference, rtol=1e-12, atol=0)
        pd.testing.assert_frame_equal(table, build_service_panel(requests, extracted_at=extracted_at,
                                                                 by_units=by_units))
        assert (table["n_open"] > 0).sum() > 100  # the censored (window Kaplan–Meier) path is exercised
    periods = sorted(m for m in stage.service_panel["month"].unique() if m >= "2025-01")
    treatment = assign_treatment(load_table(small_dataset, "policies"), load_table(small_dataset, "regions"),
                                 periods=periods, trial_handling="exclude")
    expected = reference_person_period_counts(pd.read_parquet(requests), treatment, extracted_at=extracted_at)
    got = stage.person_period_counts(treatment)
    pd.testing.assert_frame_equal(got, expected, rtol=1e-12, atol=0)
    assert stage.manifest["input"]["rows"] == len(pd.read_parquet(requests, columns=["region_code"]))


def test_duckdb_quantile_disc_is_the_ceil_rank():
    """The complete-cell quantile is ``quantile_disc``: the ceil(n p)-th smallest value, the
    Kaplan–Meier convention (km_quantile) at every n, including where n*p is inexact in binary."""
    rows = [(n, x) for n in range(1, 301) for x in range(1, n + 1)]
    frame = pd.DataFrame(rows, columns=["n", "x"]).astype({"x": "float64"})  # noqa: F841 (read by DuckDB by name)
    got = duckdb.sql("SELECT n, quantile_disc(x, [0.5, 0.9]) AS q FROM frame GROUP BY n ORDER BY n").df()
    for n, q in zip(got["n"], got["q"]):
        assert list(q) == [math.ceil(n * 0.5 - 1e-9), math.ceil(n * 0.9 - 1e-9)], n


# --------------------------------------------------------------------------------------------
# Stored and read back
# --------------------------------------------------------------------------------------------

def test_written_tables_read_back_equal_and_by_service_type(tmp_path):
    df = make_requests(n=1500)
    stage = aggregate(df, extracted_at=EXTRACTED, out_dir=tmp_path / "agg")
    back = read_aggregated(tmp_path / "agg")
    for name in PANEL_TABLES:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(stage, name))
    adminduk = read_aggregated(tmp_path / "agg", service_type="adminduk")
    for name in PANEL_TABLES:
        full = getattr(stage, name)
        expected = full[full["service_type"] == "adminduk"].reset_index(drop=True)
        assert len(expected) and len(expected) < len(full)
        pd.testing.assert_frame_equal(getattr(adminduk, name), expected)
    assert read_aggregated(tmp_path / "agg", service_type="bansos").service_panel.empty


def test_manifest_records_input_engine_and_rows(tmp_path):
    path = tmp_path / "service_requests.parquet"
    make_requests(n=800).to_parquet(path)
    stage = aggregate(path, extracted_at="2026-03-31", out_dir=tmp_path / "agg")
    manifest = json.loads((tmp_path / "agg" / MANIFEST).read_text())
    assert manifest == stage.manifest
    assert manifest["format"] == 1 and manifest["engine"] == "duckdb"
    assert manifest["versions"]["duckdb"] == duckdb.__version__
    assert manifest["extracted_at"] == "2026-03-31"
    assert manifest["extraction_moment"] == "2026-04-01T00:00:00"
    assert manifest["input"]["rows"] == 800 and manifest["input"]["kind"] == "parquet"
    assert manifest["day_bins"] == list(DAY_BINS)
    for name in PANEL_TABLES:
        entry = manifest["tables"][name]
        assert entry["rows"] == len(getattr(stage, name)) > 0
        assert (tmp_path / "agg" / entry["file"]).is_file()
    assert str(tmp_path) not in json.dumps(manifest)  # relocatable: no absolute paths


def test_is_current_tracks_input_and_extraction_date(tmp_path):
    path = tmp_path / "service_requests.parquet"
    make_requests(n=500, seed=1).to_parquet(path)
    out = tmp_path / "agg"
    assert not is_current(out, path, extracted_at=EXTRACTED)
    aggregate(path, extracted_at=EXTRACTED, out_dir=out)
    assert is_current(out, path, extracted_at=EXTRACTED)
    assert not is_current(out, path, extracted_at="2026-04-30")
    make_requests(n=500, seed=2).to_parquet(path)
    assert not is_current(out, path, extracted_at=EXTRACTED)
    (out / "person_periods.parquet").unlink()
    assert not is_current(out, path, extracted_at=EXTRACTED)


def test_reading_without_manifest_or_of_another_format_is_a_clear_error(tmp_path):
    with pytest.raises(DataContractError, match="no aggregation manifest"):
        read_aggregated(tmp_path)
    aggregate(make_requests(n=100), extracted_at=EXTRACTED, out_dir=tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(DataContractError, match="format 99"):
        read_aggregated(tmp_path)


# --------------------------------------------------------------------------------------------
# Sources, bad and degenerate input
# --------------------------------------------------------------------------------------------

def test_files_globs_and_partitioned_directories_give_the_same_tables(tmp_path):
    df = make_requests(n=1200)
    expected = aggregate(df, extracted_at=EXTRACTED)
    df = df.assign(month=df["submitted_at"].dt.strftime("%Y-%m"))
    lake = tmp_path / "lake"
    for month, part in df.groupby("month"):
        target = lake / f"month={month}"
        target.mkdir(parents=True)
        part.drop(columns="month").to_parquet(target / "part-0.parquet")
    files = sorted(str(p) for p in lake.rglob("*.parquet"))
    for source in (str(lake), files, str(lake / "*" / "*.parquet")):
        got = aggregate(source, extracted_at=EXTRACTED)
        for name in PANEL_TABLES:
            pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), rtol=1e-12, atol=0)
        assert got.manifest["input"]["files"] == 3


def test_bad_sources_name_the_file_and_what_was_expected(tmp_path):
    with pytest.raises(DataContractError, match="no such file"):
        aggregate(tmp_path / "missing.parquet", extracted_at=EXTRACTED)
    csv = tmp_path / "service_requests.csv"
    make_requests(n=5).to_csv(csv, index=False)
    with pytest.raises(DataContractError, match="service_requests.csv: give Parquet files"):
        aggregate(csv, extracted_at=EXTRACTED)
    broken = tmp_path / "broken.parquet"
    make_requests(n=5).drop(columns=["sla_days", "units_involved"]).to_parquet(broken)
    with pytest.raises(DataContractError, match=r"broken.parquet lacks required column\(s\): units_involved, sla_days"):
        aggregate(broken, extracted_at=EXTRACTED)
    with pytest.raises(DataContractError, match="lacks required column"):
        aggregate(make_requests(n=5).drop(columns="region_code"), extracted_at=EXTRACTED)
    with pytest.raises(ValueError, match="engine must be one of duckdb, spark"):
        aggregate(make_requests(n=5), extracted_at=EXTRACTED, engine="pandas")


def test_no_requests_give_empty_tables_with_their_columns(tmp_path):
    empty = make_requests(n=10).iloc[:0]
    path = tmp_path / "service_requests.parquet"
    empty.to_parquet(path)
    for source in (empty, path):
        stage = aggregate(source, extracted_at=EXTRACTED, out_dir=tmp_path / "agg")
        reference = build_service_panel(make_requests(n=10), extracted_at=EXTRACTED)
        assert stage.service_panel.empty and stage.units_panel.empty and stage.person_periods.empty
        assert stage.service_panel.dtypes.equals(reference.dtypes)
        assert stage.manifest["input"]["rows"] == 0
        back = read_aggregated(tmp_path / "agg")
        assert back.service_panel.dtypes.equals(reference.dtypes)
        counts = back.person_period_counts(treatment_for(["17"]))
        assert counts.empty and list(counts.columns) == ["region_code", "service_type", "month", "wfa", "bin",
                                                         "exposure_days", "events", "n_requests"]


def test_requests_after_extraction_are_left_out():
    df = make_requests(n=50)
    late = df.iloc[:3].assign(submitted_at=extraction_moment(EXTRACTED) + pd.Timedelta(hours=1), completed_at=pd.NaT)
    stage = aggregate(pd.concat([df, late]), extracted_at=EXTRACTED)
    assert stage.manifest["input"]["rows"] == 53 and stage.manifest["input"]["rows_used"] == 50
    assert stage.service_panel["n_submitted"].sum() == 50


def test_one_cell():
    sub = pd.Timestamp("2026-02-02 09:00")
    df = pd.DataFrame({
        "region_code": "32", "service_type": "perizinan", "submitted_at": [sub] * 4,
        "completed_at": [sub + pd.Timedelta(days=d) for d in (1.5, 3.5, 5.5)] + [pd.NaT],
        "units_involved": [1, 1, 2, 2], "sla_days": 4.0,
    })
    stage = aggregate(df, extracted_at="2026-02-28")
    row = stage.service_panel.iloc[0]
    assert len(stage.service_panel) == 1 and row["month"] == "2026-02"
    assert (row["n_submitted"], row["n_completed"], row["n_open"]) == (4, 3, 1)
    # KM: S = 3/4, 2/4 after 3.5 days → median 3.5; the open request (censored at 26.6 days) keeps
    # S at 1/4 → p90 unidentified
    assert row["median_days"] == pytest.approx(3.5) and np.isnan(row["p90_days"])
    assert row["naive_median_days"] == pytest.approx(3.5) and row["naive_p90_days"] == pytest.approx(5.5)
    assert row["sla_share"] == pytest.approx(2 / 4) and row["backlog_end"] == 1
    assert list(stage.units_panel["units"]) == ["cross", "single"]
    pp = stage.person_periods
    assert pp["n_requests"].sum() == 4 and pp["events"].sum() == 3
    # exposure: 1.5 + 3.5 + 5.5 days + the open request's 26.625 days (to the end of 28 Feb)
    assert pp["exposure_days"].sum() == pytest.approx(1.5 + 3.5 + 5.5 + 26.625)
    assert list(pp["bin"]) == list(range(10))  # the open request's 26.6 days end in bin 9 (21–30 days)



def test_quantile_at_the_first_censoring_time_and_after_it():
    """Median at exactly the first censoring time (completions count before censorings: read
    without windows); p90 beyond it (the window Kaplan–Meier). Both equal plain KM."""
    from analysis.panels.km import kaplan_meier, km_quantile

    moment = extraction_moment(EXTRACTED)
    first = pd.Timestamp("2026-03-01")
    df = pd.DataFrame({
        "region_code": "17", "service_type": "bansos",
        "submitted_at": [first] * 3 + [moment - pd.Timedelta(days=2)],
        "completed_at": [first + pd.Timedelta(days=d) for d in (1, 2, 3)] + [pd.NaT],
        "units_involved": 1, "sla_days": 5.0,
    })
    row = aggregate(df, extracted_at=EXTRACTED).service_panel.iloc[0]
    curve = kaplan_meier([1.0, 2.0, 3.0, 2.0], [True, True, True, False])
    assert row["median_days"] == km_quantile(curve, 0.5) == 2.0
    assert row["p90_days"] == km_quantile(curve, 0.9) == 3.0
    assert row["naive_median_days"] == 2.0 and row["naive_p90_days"] == 3.0
