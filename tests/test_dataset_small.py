"""The one way into the data gives the small synthetic dataset exactly as before: same tables
(pinned from the loader on main before the data layer was split), the same service panels from
the validated Parquet as from the raw file, and the truth through the Dataset."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis import data
from analysis.analyses import service_sample
from analysis.panels.service import build_service_panel

#: (rows, hash of every column but the salted applicant_nik), measured with the loader on main
#: (commit 854ef1b) on the small dataset (default scenario and seed).
BEFORE = {
    "regions": (552, 7773309491853006676),
    "policies": (68, 5261940283204131432),
    "service_requests": (191895, 7816200315191724522),
    # budget: simulated generator version 2 (the effect scales with the share of the month in force)
    "budget": (279312, 5668738178852240264),
    "transfers": (25392, 3863373492004584387),
}
DTYPES_BEFORE = {
    "service_requests": ["str", "str", "str", "datetime64[us]", "datetime64[us]", "int64", "str", "float64", "str"],
    "policies": ["str", "datetime64[us]", "datetime64[us]", "int64", "str", "bool", "str", "str", "str", "float64",
                 "str", "str", "str"],
    "regions": ["str", "str", "str", "str", "int64", "float64", "float64", "int64", "bool"],
}


@pytest.fixture(scope="module")
def dataset(small_dataset):
    return data.load(small_dataset)


def test_tables_are_the_same_as_before(dataset):
    for table, (rows, digest) in BEFORE.items():
        frame = dataset.table(table).drop(columns=["applicant_nik"], errors="ignore")
        assert len(frame) == rows, table
        assert int(pd.util.hash_pandas_object(frame, index=False).sum() % (1 << 63)) == digest, table
    for table, dtypes in DTYPES_BEFORE.items():
        assert [str(d) for d in dataset.table(table).dtypes] == dtypes, table
    assert dataset.service_requests["applicant_nik"].dropna().str.fullmatch(r"[0-9a-f]{20}").all()


def test_service_panels_from_the_validated_table_equal_those_from_the_raw_file(dataset, small_dataset):
    raw = str(small_dataset / "service_requests.parquet")
    validated = dataset.table_path("service_requests")
    for by_units in (False, True):
        expected = build_service_panel(raw, extracted_at=dataset.extracted_at, by_units=by_units)
        got = build_service_panel(validated, extracted_at=dataset.extracted_at, by_units=by_units)
        pd.testing.assert_frame_equal(got, expected)
    inputs = service_sample.load_inputs(small_dataset)
    assert inputs.requests_source == str(validated) and inputs.extracted_at == pd.Timestamp("2026-10-31")
    pd.testing.assert_frame_equal(inputs.panel, build_service_panel(raw, extracted_at=inputs.extracted_at))


def test_truth_and_metadata_are_read_through_the_dataset(dataset, small_dataset):
    assert dataset.is_simulated and dataset.extracted_at_source == "dataset.json"
    assert dataset.truth == json.loads((small_dataset / "truth.json").read_text())
    assert dataset.metadata["seed"] == dataset.truth["seed"] == 20260101
    for kind in ("service", "budget"):
        pd.testing.assert_frame_equal(dataset.truth_cells(kind),
                                      pd.read_parquet(small_dataset / f"truth_{kind}_cells.parquet"))
    assert dataset.validation.notes == ()  # the simulated data validate without a note
