"""Notebook 00 reads the requests with DuckDB (never the whole table in pandas): the same
volumes, coverage and counts as from the pandas frame."""

import pandas as pd


def test_volumes_coverage_and_count_from_the_parquet_equal_pandas(small_dataset, monkeypatch):
    from analysis.analyses import overview
    from analysis.data import load

    dataset = load(small_dataset)
    scanned = overview.service_volumes(dataset)
    pd.testing.assert_frame_equal(scanned, overview.service_volumes(dataset.service_requests))
    coverage = overview.coverage(dataset)
    monkeypatch.setattr(overview, "_SCANNED", ())
    pd.testing.assert_frame_equal(coverage, overview.coverage(dataset))
    assert overview.n_rows(dataset, "service_requests") == len(dataset.service_requests)


def test_months_per_year_from_the_parquet_equals_pandas(small_dataset):
    from analysis.analyses import overview
    from analysis.data import load

    dataset = load(small_dataset)
    scanned = overview.months_per_year(dataset)
    assert scanned == overview.months_per_year(dataset.service_requests)
    assert all(1 <= months <= 12 for months in scanned.values()) and len(scanned) >= 2
