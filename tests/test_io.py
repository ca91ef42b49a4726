"""Loader: formats (CSV ; / , Parquet, Excel), typed output, personal data, metadata, CLI."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis import data
from analysis.data import privacy
from analysis.data.connection import fetch_frame
from analysis.__main__ import main
from analysis.errors import DataContractError
from analysis.notes import Note
from test_io_support import (EXTRACTED_AT, assert_nothing_lost, isolated_cache,  # noqa: F401
                             valid_tables, write_dataset, write_table)


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_full_valid_dataset_loads_typed(tmp_path):
    tables = valid_tables()
    write_dataset(tmp_path, tables)
    ds = data.load(tmp_path)
    for name, frame in tables.items():
        assert_nothing_lost(ds.validation.tables[name], rows_in_file=len(frame), frame=getattr(ds, name))
        assert ds.validation.tables[name].rows_rejected == 0
    sr = ds.service_requests
    assert str(sr["submitted_at"].dtype).startswith("datetime64")
    assert str(sr["completed_at"].dtype).startswith("datetime64")
    assert sr["submitted_at"].iloc[2] == pd.Timestamp("2026-01-14")  # "14 Januari 2026"
    assert sr["submitted_at"].iloc[3] == pd.Timestamp("2026-01-15 09:30")  # "15/01/2026 09:30"
    assert sr["completed_at"].isna().sum() == 6  # empty and 0000-00-00 = open
    assert sr["region_code"].iloc[3] == "33.72"  # written undotted as 3372
    assert sr["sla_days"].iloc[3] == 2.5  # "2,5"
    assert sr["units_involved"].dtype == np.int64
    assert ds.budget["budget_idr"].tolist() == [1.2e9] * 4 + [9e8] * 4
    assert ds.budget["realized_idr"].iloc[4] == 70_000_000.5
    assert ds.policies["start_date"].iloc[2] == pd.Timestamp("2026-01-12")
    assert ds.policies["is_trial"].tolist() == [True, True, False, True]
    assert ds.regions["area_km2"].iloc[6] == pytest.approx(46.802)  # a dot decimal, not 46802
    assert ds.extracted_at == pd.Timestamp(EXTRACTED_AT)
    assert ds.metadata["source"] == "test"
    assert ds.data_dir == tmp_path


def test_semicolon_csv_parquet_and_excel_give_the_same_rows(tmp_path):
    tables = {"service_requests": valid_tables()["service_requests"]}
    csv_dir = write_dataset(tmp_path / "csv", tables)
    semicolon_dir = tmp_path / "semicolon"
    write_dataset(semicolon_dir, {})
    write_table(tables["service_requests"], semicolon_dir / "service_requests.csv", sep=";")
    parquet_dir = write_dataset(tmp_path / "parquet", tables, suffix=".parquet")
    excel_dir = write_dataset(tmp_path / "excel", tables, suffix=".xlsx")
    frames = [data.load_table(d, "service_requests") for d in (csv_dir, semicolon_dir, parquet_dir, excel_dir)]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])


def test_typed_parquet_columns_are_used_directly(tmp_path):
    n = 1000
    rng = np.random.default_rng(1)
    submitted = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 200 * 86400, n), unit="s")
    frame = pd.DataFrame({
        "request_id": np.arange(n).astype(str),
        "region_code": np.where(np.arange(n) % 2 == 0, 3372, 17),  # integers, as BPS exports store them
        "service_type": "adminduk", "submitted_at": submitted,
        "completed_at": submitted + pd.Timedelta(hours=5), "units_involved": 1,
        "channel": "online", "sla_days": 1.0,
    })
    frame.loc[7, "completed_at"] = pd.Timestamp("2026-01-01")  # before submission
    frame.loc[8, "sla_days"] = -1.0
    frame.to_parquet(tmp_path / "service_requests.parquet", index=False)
    (tmp_path / "dataset.json").write_text(json.dumps({"extracted_at": EXTRACTED_AT}))
    ds = data.load(tmp_path)
    report = ds.validation.tables["service_requests"]
    assert_nothing_lost(report, rows_in_file=n, frame=ds.service_requests)
    assert set(report.rejects["row_number"]) == {8, 9}  # parquet: 1-based data row
    assert set(ds.service_requests["region_code"]) == {"33.72", "17"}
    accepted = frame.drop(index=[7, 8]).reset_index(drop=True)
    assert (ds.service_requests["submitted_at"] == accepted["submitted_at"]).all()


def test_excel_title_rows_are_skipped_and_rows_numbered_as_in_the_sheet(tmp_path):
    frame = valid_tables()["transfers"]
    frame.loc[1, "tkd_idr"] = "-5"
    with pd.ExcelWriter(tmp_path / "transfers.xlsx") as writer:
        pd.DataFrame([["Realisasi TKD per bulan"], ["Sumber: BPKAD"]]).to_excel(
            writer, index=False, header=False, startrow=0)
        frame.to_excel(writer, index=False, startrow=3)
    report = data.validate_dataset(tmp_path).tables["transfers"]
    assert_nothing_lost(report, rows_in_file=4)
    # title rows 1-2, blank row 3, header on row 4, data from row 5: the broken row is sheet row 6
    assert report.rejects["row_number"].tolist() == [6]
    assert Note("header_below_title_rows", {"file": "transfers.xlsx", "sheet_row": 4}) in report.notes


def test_row_numbers_are_exact_in_a_large_multithreaded_csv(tmp_path):
    n = 200_000
    codes = pd.read_csv(paths.REGIONS_CSV, dtype=str)["region_code"].to_numpy()
    months = np.arange(n) // len(codes)
    frame = pd.DataFrame({"region_code": codes[np.arange(n) % len(codes)],
                          "period": [f"{2000 + m // 12}-{m % 12 + 1:02d}" for m in months],
                          "tkd_idr": "100"})
    bad = [5, 77_777, 199_998]
    frame.loc[bad, "tkd_idr"] = "-1"
    write_dataset(tmp_path, {"transfers": frame})
    report = data.validate_dataset(tmp_path).tables["transfers"]
    assert_nothing_lost(report, rows_in_file=n)
    assert report.rejects["row_number"].tolist() == [i + 2 for i in bad]


def test_personal_data_is_hashed_and_never_shown(tmp_path, monkeypatch):
    monkeypatch.setenv(privacy.SALT_ENV_VAR, "pepper")
    frame = valid_tables()["service_requests"]
    frame["nama_pemohon"] = [f"Siti Rahayu {i}" for i in range(len(frame))]
    frame.loc[1, "applicant_nik"] = "3372"  # malformed: rejected, but the value is not printed
    write_dataset(tmp_path, {"service_requests": frame})
    ds = data.load(tmp_path, rejects_dir=tmp_path / "rejects")
    sr = ds.service_requests
    expected = [privacy.hash_value(v, "pepper") for v in frame.drop(index=1)["applicant_nik"]]
    assert sr["applicant_nik"].tolist() == expected
    assert sr["nama_pemohon"].tolist() == [privacy.hash_value(v, "pepper")
                                           for v in frame.drop(index=1)["nama_pemohon"]]
    text = sr.to_csv() + (tmp_path / "rejects" / "service_requests.rejects.csv").read_text()
    for value in list(frame["applicant_nik"]) + list(frame["nama_pemohon"]):
        assert value not in text
    assert "<redacted: 4 characters>" in text
    monkeypatch.setenv(privacy.SALT_ENV_VAR, "other")
    assert data.load_table(tmp_path, "service_requests")["applicant_nik"].iloc[0] != expected[0]


def test_salt_file_is_created_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.SALT_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    first = privacy.get_salt()
    salt_file = privacy.default_salt_file()
    assert salt_file.is_relative_to(tmp_path / "config")
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    assert privacy.get_salt() == first and len(first) == 64
    monkeypatch.setenv(privacy.SALT_ENV_VAR, "team-salt")
    assert privacy.get_salt() == "team-salt"


def test_missing_extracted_at_uses_latest_timestamp_with_a_warning(tmp_path):
    write_dataset(tmp_path, {"service_requests": valid_tables()["service_requests"]}, extracted_at=None)
    with pytest.warns(UserWarning, match="no extracted_at"):
        ds = data.load(tmp_path)
    assert ds.extracted_at == pd.Timestamp("2026-01-15 09:30")
    assert ds.validation.tables["service_requests"].rows_rejected == 0


def test_dataset_regions_are_the_reference_when_present(tmp_path):
    tables = valid_tables()
    tables["transfers"].loc[0, "region_code"] = "32.04"  # exists in Indonesia, not in this dataset
    write_dataset(tmp_path, {"regions": tables["regions"], "transfers": tables["transfers"]})
    report = data.validate_dataset(tmp_path).tables["transfers"]
    assert report.rejected_by_reason == {"region_code: unknown_region_code": 1}


def test_bundled_reference_tables_are_used_and_validate_cleanly(tmp_path):
    write_dataset(tmp_path, {"transfers": valid_tables()["transfers"]})
    ds = data.load(tmp_path)
    assert len(ds.regions) == 552 and ds.validation.tables["regions"].rows_rejected == 0
    bundled = pd.read_csv(paths.POLICIES_CSV, dtype=str)
    assert len(ds.policies) == len(bundled) and ds.validation.tables["policies"].rows_rejected == 0
    assert {"name", "max_share_wfa", "scope_exclusions", "confidence", "notes"} <= set(ds.policies.columns)
    assert ds.budget is None and ds.service_requests is None


def test_two_files_for_one_table_is_an_error(tmp_path):
    write_dataset(tmp_path, {"transfers": valid_tables()["transfers"]})
    write_dataset(tmp_path, {"transfers": valid_tables()["transfers"]}, suffix=".parquet")
    with pytest.raises(DataContractError, match="transfers.csv, transfers.parquet"):
        data.load(tmp_path)


def test_ambiguous_thousands_notation_is_noted(tmp_path):
    frame = valid_tables()["transfers"]
    frame["tkd_idr"] = ["1.500", "2.000", "1.250", "3.000"]
    write_dataset(tmp_path, {"transfers": frame})
    report = data.validate_dataset(tmp_path).tables["transfers"]
    assert Note("number_notation_ambiguous", {"file": "transfers.csv", "column": "tkd_idr"}) in report.notes


# -------------------------------------------------------------------------------------- CLI

def test_cli_ok_exit_0(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "raw" / "pemda", valid_tables())
    assert main(["validate", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "service_requests (service_requests.csv): 12 rows read, 12 accepted, 0 rejected" in out


def test_cli_rejects_exit_1_default_rejects_dir_and_raw_untouched(tmp_path, capsys):
    tables = valid_tables()
    tables["service_requests"].loc[[3, 5], "channel"] = "pos"
    data_dir = write_dataset(tmp_path / "raw" / "pemda", tables)
    before = _digest(data_dir)
    assert main(["validate", str(data_dir)]) == 1
    out = capsys.readouterr().out
    assert "12 rows read, 10 accepted, 2 rejected" in out and "channel: not_allowed_value" in out
    rejects = pd.read_csv(tmp_path / "raw" / "rejects" / "pemda" / "service_requests.rejects.csv", dtype=str)
    assert rejects[["row_number", "column", "value", "reason"]].values.tolist() == [
        ["5", "channel", "pos", "not_allowed_value"], ["7", "channel", "pos", "not_allowed_value"]]
    assert _digest(data_dir) == before


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "does-not-exist")]) == 2
    assert "no such dataset directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["validate", str(tmp_path / "empty")]) == 2
    assert "no table files" in capsys.readouterr().err
    broken = write_dataset(tmp_path / "broken", {"transfers": valid_tables()["transfers"].drop(columns="tkd_idr")})
    assert main(["validate", str(broken), "--rejects", str(tmp_path / "rj")]) == 2
    err = capsys.readouterr().err
    assert "transfers.csv: missing required column 'tkd_idr'" in err and "Traceback" not in err


def test_simulated_default_dataset_validates_cleanly(default_dataset):
    """The bundled default dataset (default size, scenario and seed) has no rejected row."""
    report = data.validate_dataset(default_dataset)
    assert report.errors == {}
    for name, table_report in report.tables.items():
        assert table_report.rows_read > 0, name
        assert table_report.rejected_by_reason == {}, name


def test_fetch_frame_gives_the_dtypes_of_duckdb_df():
    import duckdb

    con = duckdb.connect()
    values = {"s": "'a'", "i": "1::BIGINT", "b": "true", "t": "TIMESTAMP '2026-01-01'", "d": "1.5::DOUBLE"}
    for where in ("", "WHERE x > 5"):
        for nulls in (False, True):
            cols = ", ".join(f"CASE WHEN {'x = 0' if nulls else 'TRUE'} THEN {v} END AS {k}" for k, v in values.items())
            cols += ", NULL::VARCHAR AS sn"
            query = f"SELECT {cols} FROM range(3) r(x) {where}"
            pd.testing.assert_frame_equal(fetch_frame(con, query), con.execute(query).df())
