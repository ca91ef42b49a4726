"""Issue #14 (data items), each tried as an attacker or a tired operator would: personal
identifiers anywhere, number notation by majority, Parquet time zones and infinities, plausible
ranges, clear errors with exit 2, the salt, columns without a header, row numbers, overlapping
policy spells. Every test here failed before the data layer was hardened."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import data
from analysis.__main__ import main
from analysis.data import privacy
from analysis.errors import DataContractError, UsageError
from analysis.report import scrub
from test_io_support import EXTRACTED_AT, assert_nothing_lost, isolated_cache, valid_tables, write_dataset  # noqa: F401

NIK = "3372015708900001"
NIP = "198001012005011001"


def _notes(report, code: str) -> list[dict]:
    return [n.params for n in report.notes if n.code == code]


# --------------------------------------------------------------------------------------------
# Personal identifiers: one rule, applied at load, to every text column
# --------------------------------------------------------------------------------------------

def _dataset_with_identifiers(tmp_path: Path) -> Path:
    tables = valid_tables()
    policies = tables["policies"]
    policies.loc[0, "instrument"] = f"SE Gubernur, pemohon NIK {NIK}"
    policies.loc[1, "instrument"] = "SE Sekda 1/2026 (NIP 19800101 200501 1 001)"
    policies["notes"] = ["kontak 3372-0157-0890-0001", "", "", ""]
    policies.loc[3, "wfa_days_per_week"] = NIK  # an identifier in a number column: rejected
    requests = tables["service_requests"].rename(columns={"applicant_nik": "Applicant_NIK"})
    requests["Catatan"] = [f"petugas {NIP}"] + [f"pemohon {NIK[:4]} {NIK[4:8]} {NIK[8:12]} {NIK[12:]}"] * 11
    requests["Nama Petugas"] = "Agus Salim"  # an officer's name: a personal column by its name
    requests.loc[5, "channel"] = f"loket {NIK}"  # rejected: the rejects file must not show it
    tables["policies"], tables["service_requests"] = policies, requests
    return write_dataset(tmp_path / "data", tables)


def _texts_of(directory: Path) -> dict[Path, str]:
    """Every file under ``directory`` as text (Parquet decoded to CSV)."""
    texts = {}
    for path in directory.rglob("*"):
        if path.is_file():
            texts[path] = (pd.read_parquet(path).astype(str).to_csv() if path.suffix == ".parquet"
                           else path.read_text(encoding="utf-8", errors="replace"))
    return texts


def test_identifiers_in_free_text_and_mixed_case_columns_never_leave_the_loader(tmp_path, isolated_cache):
    data_dir = _dataset_with_identifiers(tmp_path)
    dataset = data.load(data_dir, rejects_dir=tmp_path / "rejects")
    frames = {t: dataset.table(t) for t in dataset.tables}
    texts = {Path(t): f.astype(str).to_csv() for t, f in frames.items()}
    texts.update(_texts_of(isolated_cache))
    texts.update(_texts_of(tmp_path / "rejects"))
    assert any(p.name == "policies.rejects.csv" for p in texts) and any(p.suffix == ".parquet" for p in texts)
    for where, text in texts.items():
        assert privacy.find_personal_ids(text) == [], where
        assert NIK not in text and NIP not in text, where
    policies = dataset.policies
    assert policies["instrument"].iloc[0].startswith("SE Gubernur, pemohon NIK [NIK:")
    assert "[NIP:" in policies["instrument"].iloc[1]
    # the same identifier gives the same mask however it was written
    mask = policies["instrument"].iloc[0].split("NIK ")[1]
    assert policies["notes"].iloc[0] == f"kontak {mask}"
    # a column named as personal data, in any letter case, is hashed as before
    requests = dataset.service_requests
    for column in ("applicant_nik", "nama_petugas"):
        assert requests[column].str.fullmatch(r"[0-9a-f]{20}").all(), column
    assert requests["catatan"].str.fullmatch(r"(petugas \[NIP|pemohon \[NIK):[0-9a-f]{15}\]").all()
    report = dataset.validation.tables["service_requests"]
    assert {"file": "service_requests.csv", "column": "catatan", "values": 12} in _notes(report, "personal_ids_masked")
    rejected = report.rejects.set_index("column")
    assert rejected.loc["channel", "value"].startswith("loket [NIK:")
    policies_rejects = dataset.validation.tables["policies"].rejects
    assert policies_rejects["reason"].tolist() == ["above_maximum"]  # the NIK in wfa_days_per_week
    assert policies_rejects["value"].iloc[0].startswith("[NIK:")


def test_output_check_finds_identifiers_from_any_column_without_reading_the_input(tmp_path):
    report_dir = tmp_path / "report"
    (report_dir / "tables").mkdir(parents=True)
    (report_dir / "report.html").write_text(f"<p>Instrumen: SE Sekda (pemohon {NIK})</p>")
    (report_dir / "tables" / "x.csv").write_text("instrument,n\nSE 19800101 200501 1 001,12\n")
    problems = scrub.check_report_dir(report_dir)
    assert [(n.code, n.params["file"], n.params["masked"]) for n in problems] == [
        ("personal_id_in_output", "report.html", "3372************"),
        ("personal_id_in_output", "tables/x.csv", "1980**************")]
    assert NIK not in str(problems)


def test_non_utf8_input_cannot_break_the_output_check(tmp_path):
    """The check used to re-read service_requests.csv as UTF-8 and crash after the reports ran;
    it now needs no input at all, and the loader reads the file with a note."""
    requests = valid_tables()["service_requests"]
    requests["catatan"] = ["Pemohon dari Pidië"] * len(requests)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "service_requests.csv").write_bytes(requests.to_csv(index=False).encode("cp1252"))
    (data_dir / "dataset.json").write_text(json.dumps({"extracted_at": EXTRACTED_AT}))
    with pytest.warns(UserWarning, match="not valid UTF-8"):
        dataset = data.load(data_dir)
    assert dataset.service_requests["catatan"].iloc[0] == "Pemohon dari Pidië"
    assert _notes(dataset.validation.tables["service_requests"], "file_not_utf8")
    report_dir = tmp_path / "out"
    report_dir.mkdir()
    (report_dir / "report.html").write_text("<p>ok</p>")
    assert scrub.check_report_dir(report_dir) == []


@pytest.mark.parametrize("text", [
    "NIK 3372015708900001 2 kali",       # followed by another number
    "a,3372015708900001,5",              # a CSV cell
    "pemohon: 3372 0157 0890 0001.",     # grouped in fours, end of a sentence
])
def test_identifier_rule_finds_identifiers_next_to_other_numbers(text):
    assert privacy.find_personal_ids(text) and "[NIK:" in privacy.mask_personal_ids(text, "s")


@pytest.mark.parametrize("text", [
    "Rp 1.312.456.789.012.345",          # a national total in Rupiah, thousands grouped
    "1312456789012345.0",                # a float sum written by pandas
    "3372015708900001.5",                # a number with a fraction, not an identifier
    "3300015708900001",                  # regency 00
])
def test_identifier_rule_leaves_numbers_alone(text):
    assert privacy.find_personal_ids(text) == [] and privacy.mask_personal_ids(text, "s") == text


# --------------------------------------------------------------------------------------------
# Number notation by majority
# --------------------------------------------------------------------------------------------

def test_one_word_in_a_dot_decimal_column_rejects_only_its_row(tmp_path):
    budget = valid_tables()["budget"]
    budget["budget_idr"] = "1200000000.50"
    budget["realized_idr"] = ["100500000.50", "rusak", "97250000.25", "0", "70000000.5", "inf", "invalid",
                              "1.234.567,89"]
    write_dataset(tmp_path, {"budget": budget})
    dataset = data.load(tmp_path)
    report = dataset.validation.tables["budget"]
    assert_nothing_lost(report, rows_in_file=8, frame=dataset.budget)
    assert report.rejected_by_reason == {"realized_idr: not_a_number": 4}
    assert dataset.budget["realized_idr"].tolist() == [100_500_000.5, 97_250_000.25, 0.0, 70_000_000.5]
    assert dataset.budget["budget_idr"].tolist() == [1_200_000_000.5] * 4
    assert _notes(report, "number_notation_outliers") == [{
        "file": "budget.csv", "column": "realized_idr", "notation": "decimal_point",
        "values_not_fitting": 4, "fit_other_notation": 1}]


def test_comma_majority_rejects_a_stray_dot_decimal_with_a_note(tmp_path):
    transfers = valid_tables()["transfers"]
    transfers["tkd_idr"] = ["150.000.000.000,00", "Rp 150.000.000.000", "80.000.000.000,50", "80000000000.50"]
    write_dataset(tmp_path, {"transfers": transfers})
    report = data.validate_dataset(tmp_path).tables["transfers"]
    assert report.rejected_by_reason == {"tkd_idr: not_a_number": 1}
    assert _notes(report, "number_notation_outliers")[0]["notation"] == "decimal_comma"


# --------------------------------------------------------------------------------------------
# Parquet: time zones, infinities, plausible ranges
# --------------------------------------------------------------------------------------------

def _requests_parquet(directory: Path, **columns) -> Path:
    n = 4
    table = {
        "request_id": [f"R{i}" for i in range(n)], "region_code": ["33.72"] * n,
        "service_type": ["adminduk"] * n,
        "submitted_at": pa.array([1_768_323_720_000_000 + i * 3_600_000_000 for i in range(n)],
                                 pa.timestamp("us", tz="Asia/Jakarta")),  # 2026-01-14 00:02+07:00, +1 h ...
        "completed_at": pa.array([None] * n, pa.timestamp("us", tz="Asia/Jakarta")),
        "units_involved": [1] * n, "channel": ["online"] * n, "sla_days": [5.0] * n,
    }
    table.update(columns)
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), directory / "service_requests.parquet")
    (directory / "dataset.json").write_text(json.dumps({"extracted_at": EXTRACTED_AT}))
    return directory


@pytest.mark.parametrize("zone", ["UTC", "Asia/Jakarta", "America/New_York"])
def test_parquet_time_zones_keep_the_recorded_wall_clock_whatever_the_machine_zone(tmp_path, zone):
    data_dir = _requests_parquet(tmp_path / "data", completed_at=pa.array(
        [1_768_330_800_000_000] * 4, pa.timestamp("us", tz="+07:00")))  # 2026-01-14 02:00+07:00
    code = ("import sys; from analysis import data; ds = data.load(sys.argv[1], use_cache=False); "
            "r = ds.service_requests; print(r['submitted_at'].iloc[0], '|', r['completed_at'].iloc[0], '|', "
            "sorted(n.params['zone'] for n in ds.validation.tables['service_requests'].notes "
            "if n.code == 'timestamps_in_recorded_zone'))")
    env = {**os.environ, "TZ": zone}
    out = subprocess.run([sys.executable, "-c", code, str(data_dir)], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "2026-01-14 00:02:00 | 2026-01-14 02:00:00 | ['+07:00', 'Asia/Jakarta']"


def test_parquet_infinities_and_nan_are_rejected_in_number_columns(tmp_path):
    _requests_parquet(tmp_path, sla_days=[5.0, float("inf"), float("-inf"), float("nan")])
    report = data.validate_dataset(tmp_path).tables["service_requests"]
    assert_nothing_lost(report, rows_in_file=4)
    assert {int(r): reason for r, reason in zip(report.rejects["row_number"], report.rejects["reason"])} == {
        2: "not_a_number", 3: "not_a_number", 4: "missing_value"}


def test_implausible_dates_and_amounts_are_rejected(tmp_path):
    _requests_parquet(tmp_path, submitted_at=pa.array(
        [pd.Timestamp("0001-01-01"), pd.Timestamp("1850-06-01"), pd.Timestamp("2026-01-14"),
         pd.Timestamp("2026-01-15")], pa.timestamp("us")),
        completed_at=pa.array([None] * 4, pa.timestamp("us")))
    budget = valid_tables()["budget"]
    budget.loc[0, "realized_idr"] = "1e308"
    budget.loc[1, "budget_idr"] = "1.000.000.000.000.000.000"
    write_dataset(tmp_path, {"budget": budget})
    report = data.validate_dataset(tmp_path)
    assert report.tables["service_requests"].rejected_by_reason == {"submitted_at: before_earliest": 2}
    assert report.tables["budget"].rejected_by_reason == {"budget_idr: above_maximum": 1,
                                                          "realized_idr: above_maximum": 1}


def test_extraction_time_from_the_data_ignores_implausible_timestamps(tmp_path):
    requests = valid_tables()["service_requests"]
    requests.loc[0, "completed_at"] = "2206-01-07 10:00"  # a typo for 2026
    write_dataset(tmp_path, {"service_requests": requests}, extracted_at=None)
    with pytest.warns(UserWarning, match="no extracted_at"):
        dataset = data.load(tmp_path)
    assert dataset.extracted_at == pd.Timestamp("2026-01-15 09:30")
    assert dataset.extracted_at_source == "data"
    assert dataset.validation.tables["service_requests"].rejected_by_reason == {"completed_at: after_latest": 1}


# --------------------------------------------------------------------------------------------
# Clear errors, exit 2
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["regions.xlsx", "service_requests.parquet", "budget.xlsx"])
def test_random_bytes_are_a_clear_error_naming_the_file(tmp_path, capsys, name):
    data_dir = write_dataset(tmp_path / "data", {})
    (data_dir / name).write_bytes(np.random.default_rng(7).bytes(3000))
    with pytest.raises(DataContractError, match=name.replace(".", r"\.") + ": (not a readable Excel|cannot read)"):
        data.load(data_dir)
    assert main(["validate", str(data_dir), "--rejects", str(tmp_path / "rejects")]) == 2
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err


def test_validate_with_an_unwritable_default_rejects_dir_says_so_and_exits_2(tmp_path, capsys):
    data_dir = write_dataset(tmp_path / "share" / "pemda", valid_tables())
    (tmp_path / "share" / "rejects").write_text("not a directory")  # like a read-only share
    assert main(["validate", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert "cannot write the rejected rows there" in err and "--rejects" in err and "Traceback" not in err
    assert main(["validate", str(data_dir), "--rejects", str(tmp_path / "elsewhere")]) == 0


def test_empty_salt_variable_is_an_error_not_a_fallback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(privacy.SALT_ENV_VAR, "  ")
    with pytest.raises(UsageError, match="PEMDA_WFA_SALT is set but empty"):
        privacy.get_salt()
    data_dir = write_dataset(tmp_path / "data", {"transfers": valid_tables()["transfers"]})
    assert main(["validate", str(data_dir), "--rejects", str(tmp_path / "rj")]) == 2
    assert "PEMDA_WFA_SALT is set but empty" in capsys.readouterr().err


def test_uncreatable_config_home_is_an_error_naming_the_salt_file(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(privacy.SALT_ENV_VAR, raising=False)
    (tmp_path / "config").write_text("a file, not a directory")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(UsageError, match=r"pemda-wfa/salt: cannot read or create the salt file"):
        privacy.get_salt()
    data_dir = write_dataset(tmp_path / "data", {"transfers": valid_tables()["transfers"]})
    assert main(["validate", str(data_dir), "--rejects", str(tmp_path / "rj")]) == 2
    err = capsys.readouterr().err
    assert "salt" in err and "Traceback" not in err


def test_short_or_shared_salt_file_is_used_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.SALT_ENV_VAR, raising=False)
    salt_file = tmp_path / "salt"
    salt_file.write_text("short\n")
    salt_file.chmod(0o600)
    with pytest.warns(privacy.SaltWarning, match=r"salt has 5 characters"):
        assert privacy.get_salt(salt_file) == "short"
    salt_file.write_text("x" * 64 + "\n")
    salt_file.chmod(0o644)
    with pytest.warns(privacy.SaltWarning, match=r"readable by other users.*chmod 600"):
        assert privacy.get_salt(salt_file) == "x" * 64


def test_salt_file_created_concurrently_is_shared(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.SALT_ENV_VAR, raising=False)
    salt_file = tmp_path / "cfg" / "salt"
    first = privacy.get_salt(salt_file)
    assert privacy._create_salt_file(salt_file) == first  # a second creator reads the first one's
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600 and len(first) == 64


# --------------------------------------------------------------------------------------------
# Low: columns without a header, row numbers, overlapping spells
# --------------------------------------------------------------------------------------------

def test_trailing_empty_columns_are_noted_not_a_stop(tmp_path):
    (tmp_path / "transfers.csv").write_text("region_code,period,tkd_idr,,,\n17,2026-01,5,,,\n17,2026-02,5,,x,\n")
    report = data.validate_dataset(tmp_path).tables["transfers"]
    assert report.rows_read == 2 and report.rows_accepted == 1
    assert report.rejected_by_reason == {"(column 5, no header): value_without_header": 1}
    assert _notes(report, "columns_without_header") == [{"file": "transfers.csv", "positions": [4, 5, 6], "values": 1}]


def test_row_numbers_are_the_lines_of_the_file(tmp_path):
    rows = valid_tables()["transfers"].to_csv(index=False).splitlines()
    rows[2] = rows[2].replace("150000000000", "-1")  # line 3 before blank lines are added
    lines = ["", rows[0], rows[1], "", "", rows[2], rows[3], "", rows[4].replace("80000000000", "-1")]
    (tmp_path / "transfers.csv").write_text("\n".join(lines) + "\n")
    report = data.validate_dataset(tmp_path).tables["transfers"]
    assert report.rows_read == 4
    assert report.rejects["row_number"].tolist() == [6, 9]


def test_overlapping_policy_spells_are_noted_with_pemda_and_dates(tmp_path):
    policies = valid_tables()["policies"]
    extra = policies.iloc[[3]].assign(start_date="2025-11-20", end_date="", is_trial="false")
    write_dataset(tmp_path, {"policies": pd.concat([policies, extra], ignore_index=True)})
    report = data.load(tmp_path).validation.tables["policies"]
    assert report.rows_rejected == 0
    assert _notes(report, "overlapping_policy_spells") == [{
        "file": "policies.csv", "region_code": "32", "first_start": "2025-11-06", "first_end": "2025-11-30",
        "first_row": 5, "second_start": "2025-11-20", "second_end": None, "second_row": 6}]


# --------------------------------------------------------------------------------------------
# One way into the data
# --------------------------------------------------------------------------------------------

def test_dataset_gives_tables_paths_metadata_and_truth(tmp_path):
    data_dir = write_dataset(tmp_path / "data", valid_tables())
    dataset = data.load(data_dir)
    assert dataset.tables == ("regions", "policies", "service_requests", "budget", "transfers")
    assert dataset.extracted_at == pd.Timestamp(EXTRACTED_AT) and dataset.extracted_at_source == "dataset.json"
    assert dataset.metadata["source"] == "test" and not dataset.is_simulated and dataset.truth is None
    assert dataset.truth_cells("service") is None
    path = dataset.table_path("service_requests")
    import duckdb

    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall() == [(12,)]
    pd.testing.assert_frame_equal(pd.read_parquet(path), dataset.service_requests, check_dtype=False)
    assert data.load_table(data_dir, "budget") is not None
    (data_dir / "truth.json").write_text(json.dumps({"seed": 5, "budget": {"att": -0.1}}))
    pd.DataFrame({"region_code": ["17"], "effect": [0.1]}).to_parquet(data_dir / "truth_budget_cells.parquet")
    again = data.load(data_dir)
    assert again.is_simulated and again.truth["budget"] == {"att": -0.1}
    assert again.truth_cells("budget")["effect"].tolist() == [0.1]
    only = write_dataset(tmp_path / "only", {"transfers": valid_tables()["transfers"]})
    with pytest.raises(DataContractError, match="no file for table 'budget'"):
        data.load(only).table_path("budget")


def test_uncached_dataset_keeps_its_tables_while_alive_and_cleans_up(tmp_path, isolated_cache):
    data_dir = write_dataset(tmp_path / "data", valid_tables())
    dataset = data.load(data_dir, use_cache=False)
    path = dataset.table_path("budget")
    assert path.is_file() and not isolated_cache.exists()
    del dataset
    import gc

    gc.collect()
    assert not path.exists()


def test_build_on_data_that_cannot_be_read_exits_2_naming_the_file(tmp_path, capsys):
    """The build reads the adopters through ``load``: a broken table is a clear error, exit 2."""
    import nbformat
    import yaml

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('region_code = ""', metadata={"tags": ["parameters"]})]
    nbformat.write(nb, notebooks / "case.ipynb")
    config = tmp_path / "reports.yaml"
    config.write_text(yaml.safe_dump({"reports": [{"notebook": "case", "foreach_adopter": "region_code"}]}))
    data_dir = write_dataset(tmp_path / "data", {"transfers": valid_tables()["transfers"].drop(columns="tkd_idr")})
    code = main(["build", "--config", str(config), "--data", str(data_dir), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "transfers.csv: missing required column 'tkd_idr'" in err and "Traceback" not in err
