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


def test_a_simulated_adoption_is_worded_in_the_page_language_and_a_real_instrument_kept():
    from analysis.analyses import overview
    from analysis.texts.tables import for_display

    policies = pd.DataFrame({
        "region_code": ["17", "33.72"], "name": ["Provinsi Bengkulu", "Kota Surakarta"],
        "start_date": pd.to_datetime(["2026-01-01", "2026-02-01"]), "end_date": pd.to_datetime([None, None]),
        "wfa_days_per_week": [2, 1],
        "is_trial": [False, False], "instrument": ["SE Gubernur Nomor 188/KPG.03/BKD", "Simulated adoption (synthetic data)"],
        "source": ["https://example.go.id/berita", "simulated"],
    })
    timeline = overview.adoption_timeline(policies)
    assert timeline["instrument"].tolist() == ["SE Gubernur Nomor 188/KPG.03/BKD", overview.SIMULATED_INSTRUMENT]
    shown = {lang: for_display(timeline, lang).iloc[:, -1].tolist() for lang in ("id", "en")}
    assert shown["id"] == ["SE Gubernur Nomor 188/KPG.03/BKD", "Adopsi simulasi (data sintetis)"]
    assert shown["en"] == ["SE Gubernur Nomor 188/KPG.03/BKD", "Simulated adoption (synthetic data)"]


def test_adoptions_name_a_province_as_a_province():
    from analysis.analyses import overview

    policies = pd.DataFrame({"region_code": ["17", "17.71"], "name": ["Bengkulu", "Kota Bengkulu"],
                             "start_date": pd.to_datetime(["2026-01-01", "2026-03-01"])})
    regions = pd.DataFrame({"region_code": ["17", "17.71"], "name": ["Bengkulu", "Kota Bengkulu"],
                            "level": ["provinsi", "kota"]})
    assert overview.adoption_timeline(policies, regions)["name"].tolist() == ["Provinsi Bengkulu", "Kota Bengkulu"]
    assert overview.adoption_timeline(policies)["name"].tolist() == ["Bengkulu", "Kota Bengkulu"]
