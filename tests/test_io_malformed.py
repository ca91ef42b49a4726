"""The corpus of malformed files in tests/data/malformed/: the message, and nothing lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import io
from analysis.__main__ import main
from analysis.errors import DataContractError
from test_io_support import assert_nothing_lost, isolated_cache  # noqa: F401

CORPUS = Path(__file__).parent / "data" / "malformed"


def _copy(case: str, tmp_path: Path) -> Path:
    target = tmp_path / case
    shutil.copytree(CORPUS / case, target)
    return target


def _data_rows(path: Path) -> int:
    """Data rows of a corpus CSV, counted independently of the loader (no quoted newlines)."""
    return sum(1 for line in path.read_bytes().splitlines()[1:] if line.strip())


def _report(case: str, tmp_path: Path, table: str):
    data_dir = _copy(case, tmp_path)
    report = io.validate_dataset(data_dir, rejects_dir=tmp_path / "rejects").tables[table]
    assert_nothing_lost(report, rows_in_file=_data_rows(CORPUS / case / f"{table}.csv"))
    return report


def _reasons_by_row(report) -> dict[int, set[str]]:
    return {int(row): set(group["reason"]) for row, group in report.rejects.groupby("row_number")}


def test_wrong_delimiter_names_the_file_columns_and_delimiter(tmp_path):
    with pytest.raises(DataContractError) as err:
        io.load_dataset(_copy("wrong_delimiter", tmp_path))
    message = str(err.value)
    assert "service_requests.csv" in message and "'sla_days'" in message
    assert "single column" in message and "delimiter" in message


def test_indonesian_numbers_are_read_and_bad_ones_rejected(tmp_path):
    data_dir = _copy("indonesian_numbers", tmp_path)
    dataset = io.load_dataset(data_dir)
    report = dataset.validation.tables["budget"]
    assert_nothing_lost(report, rows_in_file=5, frame=dataset.budget)
    budget = dataset.budget
    assert budget["budget_idr"].tolist() == [1_234_567_890.0, 1_234_567_890.0, 500_000_000.0]
    assert budget["realized_idr"].tolist() == [102_880_657.5, 98_000_000.0, 12_500_000.5]
    assert budget["period"].tolist() == ["2026-01", "2026-02", "2026-04"]
    assert budget["category"].tolist() == ["listrik", "listrik", "perjalanan_dinas"]
    # '-' is empty; '30.43' is a dot decimal in a column written with comma decimals
    assert _reasons_by_row(report) == {4: {"missing_value"}, 6: {"not_a_number"}}


def test_missing_column_is_an_error_naming_file_and_column(tmp_path):
    with pytest.raises(DataContractError, match=r"service_requests\.csv: missing required column 'sla_days'"):
        io.load_dataset(_copy("missing_column", tmp_path))


def test_bad_dates_rejected_good_ones_parsed(tmp_path):
    report = _report("bad_dates", tmp_path, "service_requests")
    assert _reasons_by_row(report) == {4: {"not_a_date"}, 5: {"not_a_date"}, 6: {"not_a_date"},
                                       8: {"not_a_date"}}
    frame = io.load_dataset(_copy("bad_dates", tmp_path / "again")).service_requests
    assert frame["submitted_at"].tolist()[:2] == [pd.Timestamp("2026-01-14"), pd.Timestamp("2026-01-14 08:00")]
    assert frame["completed_at"].iloc[0] == pd.Timestamp("2026-01-15 10:30")
    assert pd.isna(frame["completed_at"].iloc[1])  # 0000-00-00 = still open
    assert frame["completed_at"].iloc[2] == pd.Timestamp("2026-08-14")  # "14 Agu 2026"


def test_duplicate_keys_keep_the_first_and_reject_later_copies(tmp_path):
    report = _report("duplicate_keys", tmp_path, "service_requests")
    assert _reasons_by_row(report) == {4: {"duplicate_key"}, 6: {"duplicate_key"}}
    assert report.rejected_by_reason == {"request_id: duplicate_key": 2}
    assert set(report.rejects["value"]) == {"R1"}
    assert report.rejects["expected"].str.contains("first seen at row 2").all()


def test_unknown_and_ambiguous_region_codes(tmp_path):
    report = _report("unknown_region_codes", tmp_path, "service_requests")
    assert _reasons_by_row(report) == {4: {"unknown_region_code"}, 5: {"ambiguous_region_code"},
                                       8: {"unknown_region_code"}}
    ambiguous = report.rejects[report.rejects["reason"] == "ambiguous_region_code"]
    assert "11.01 or 11.10" in ambiguous["expected"].iloc[0]
    frame = io.load_dataset(_copy("unknown_region_codes", tmp_path / "again")).service_requests
    # 3372 -> 33.72 (undotted), 33.7 -> 33.07 (33.70 does not exist), 17.0 -> 17
    assert frame["region_code"].tolist() == ["33.72", "33.72", "33.07", "17"]


def test_negative_amounts_rejected(tmp_path):
    report = _report("negative_amounts", tmp_path, "budget")
    assert _reasons_by_row(report) == {2: {"below_minimum"}, 3: {"below_minimum"}}
    assert report.rejected_by_reason == {"realized_idr: below_minimum": 1, "budget_idr: below_minimum": 1}


def test_completion_before_submission_and_after_extraction(tmp_path):
    report = _report("completion_before_submission", tmp_path, "service_requests")
    assert _reasons_by_row(report) == {2: {"completed_before_submitted"}, 4: {"completed_before_submitted"},
                                       5: {"completed_after_extraction"}}


def test_empty_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(DataContractError, match=r"transfers\.csv: the file is empty"):
        io.load_dataset(_copy("empty_file", tmp_path))


def test_header_only_file_gives_zero_rows_and_a_note(tmp_path):
    report = _report("header_only", tmp_path, "transfers")
    assert report.rows_read == 0
    assert any("no data rows" in note for note in report.notes)


def test_wrong_encoding_falls_back_to_windows_1252_with_a_warning(tmp_path):
    data_dir = _copy("wrong_encoding", tmp_path)
    with pytest.warns(UserWarning, match="not valid UTF-8"):
        dataset = io.load_dataset(data_dir)
    assert dataset.regions["name"].tolist()[1:] == ["Kabupaten Aceh Selatan – Tapaktuan", "Kabupaten Pidië"]
    assert any("Windows-1252" in note for note in dataset.validation.tables["regions"].notes)
    assert (CORPUS / "wrong_encoding" / "regions.csv").read_bytes() == (data_dir / "regions.csv").read_bytes()


def test_ragged_row_is_an_error_naming_the_line(tmp_path):
    with pytest.raises(DataContractError, match=r"transfers\.csv: cannot parse the CSV at line 3"):
        io.load_dataset(_copy("ragged_row", tmp_path))


def test_a_row_with_many_problems_is_rejected_once_with_all_reasons(tmp_path):
    report = _report("mixed_problems", tmp_path, "service_requests")
    assert report.rows_rejected == 1
    assert set(zip(report.rejects["column"], report.rejects["reason"])) == {
        ("region_code", "unknown_region_code"), ("service_type", "not_allowed_value"),
        ("submitted_at", "not_a_date"), ("units_involved", "below_minimum"),
        ("channel", "not_allowed_value"), ("sla_days", "below_minimum")}
    # counted once, under the first problem in schema order
    assert report.rejected_by_reason == {"region_code: unknown_region_code": 1}


@pytest.mark.parametrize("case,code", [
    ("header_only", 0), ("indonesian_numbers", 1), ("duplicate_keys", 1),
    ("wrong_delimiter", 2), ("missing_column", 2), ("empty_file", 2), ("ragged_row", 2),
])
def test_cli_exit_code_per_corpus_case(tmp_path, capsys, case, code):
    data_dir = _copy(case, tmp_path)
    assert main(["validate", str(data_dir), "--rejects", str(tmp_path / "rejects")]) == code
    captured = capsys.readouterr()
    if code == 2:
        assert "error:" in captured.err and "Traceback" not in captured.err
        assert ".csv" in captured.err
