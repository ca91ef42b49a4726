"""The corpus of malformed files in tests/data/malformed/: the message, and nothing lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import data
from analysis.data import privacy
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
    report = data.validate_dataset(data_dir, rejects_dir=tmp_path / "rejects").tables[table]
    assert_nothing_lost(report, rows_in_file=_data_rows(CORPUS / case / f"{table}.csv"))
    return report


def _reasons_by_row(report) -> dict[int, set[str]]:
    return {int(row): set(group["reason"]) for row, group in report.rejects.groupby("row_number")}


def test_wrong_delimiter_names_the_file_columns_and_delimiter(tmp_path):
    with pytest.raises(DataContractError) as err:
        data.load(_copy("wrong_delimiter", tmp_path))
    message = str(err.value)
    assert "service_requests.csv" in message and "'sla_days'" in message
    assert "single column" in message and "delimiter" in message


def test_indonesian_numbers_are_read_and_bad_ones_rejected(tmp_path):
    data_dir = _copy("indonesian_numbers", tmp_path)
    dataset = data.load(data_dir)
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
        data.load(_copy("missing_column", tmp_path))


def test_bad_dates_rejected_good_ones_parsed(tmp_path):
    report = _report("bad_dates", tmp_path, "service_requests")
    assert _reasons_by_row(report) == {4: {"not_a_date"}, 5: {"not_a_date"}, 6: {"not_a_date"},
                                       8: {"not_a_date"}}
    frame = data.load(_copy("bad_dates", tmp_path / "again")).service_requests
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
    frame = data.load(_copy("unknown_region_codes", tmp_path / "again")).service_requests
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
        data.load(_copy("empty_file", tmp_path))


def test_header_only_file_gives_zero_rows_and_a_note(tmp_path):
    report = _report("header_only", tmp_path, "transfers")
    assert report.rows_read == 0
    assert [n.code for n in report.notes] == ["header_only"]


def test_wrong_encoding_falls_back_to_windows_1252_with_a_warning(tmp_path):
    data_dir = _copy("wrong_encoding", tmp_path)
    with pytest.warns(UserWarning, match="not valid UTF-8"):
        dataset = data.load(data_dir)
    assert dataset.regions["name"].tolist()[1:] == ["Kabupaten Aceh Selatan – Tapaktuan", "Kabupaten Pidië"]
    assert [n.params["read_as"] for n in dataset.validation.tables["regions"].notes
            if n.code == "file_not_utf8"] == ["Windows-1252"]
    assert (CORPUS / "wrong_encoding" / "regions.csv").read_bytes() == (data_dir / "regions.csv").read_bytes()


def test_ragged_row_is_an_error_naming_the_line(tmp_path):
    with pytest.raises(DataContractError, match=r"transfers\.csv: cannot parse the CSV at line 3"):
        data.load(_copy("ragged_row", tmp_path))


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


# ------------------------------------------------------------------ cases added for issue #14

def test_notation_outliers_are_rejected_one_by_one_with_a_note(tmp_path):
    report = _report("notation_outliers", tmp_path, "budget")
    assert _reasons_by_row(report) == {3: {"not_a_number"}, 5: {"not_a_number"}, 7: {"not_a_number"},
                                       8: {"not_a_number"}}
    assert set(report.rejects["value"]) == {"rusak", "inf", "invalid", "1.234.567,50"}
    assert [n.params for n in report.notes if n.code == "number_notation_outliers"] == [{
        "file": "budget.csv", "column": "realized_idr", "notation": "decimal_point",
        "values_not_fitting": 4, "fit_other_notation": 1}]


def test_trailing_empty_columns_are_ignored_with_a_note(tmp_path):
    report = _report("trailing_empty_columns", tmp_path, "transfers")
    assert report.rows_accepted == 3
    assert report.rejected_by_reason == {"(column 5, no header): value_without_header": 1}
    assert report.rejects[["row_number", "value"]].values.tolist() == [[4, "x"]]
    assert [n.code for n in report.notes] == ["columns_without_header"]


def test_blank_lines_and_multi_line_values_keep_the_file_line_numbers(tmp_path):
    data_dir = _copy("blank_lines", tmp_path)
    report = data.validate_dataset(data_dir).tables["service_requests"]
    assert_nothing_lost(report, rows_in_file=6)  # 11 lines: header, 3 blank, a value over 2 lines
    assert _reasons_by_row(report) == {4: {"not_allowed_value"}, 7: {"below_minimum"}, 10: {"below_minimum"}}
    frame = data.load(data_dir).service_requests
    assert frame["catatan"].tolist() == ["ok", "baris satu\nbaris dua", "ok"]


@pytest.mark.parametrize("case,file,message", [
    ("random_bytes_xlsx", "regions.xlsx", "not a readable Excel workbook"),
    ("random_bytes_parquet", "service_requests.parquet", "cannot read the file as parquet"),
])
def test_random_bytes_are_a_data_contract_error(tmp_path, case, file, message):
    with pytest.raises(DataContractError, match=f"{file}: {message}"):
        data.load(_copy(case, tmp_path))


def test_identifiers_in_free_text_are_masked_and_never_shown(tmp_path):
    data_dir = _copy("nik_in_free_text", tmp_path)
    dataset = data.load(data_dir, rejects_dir=tmp_path / "rejects")
    policies_report = dataset.validation.tables["policies"]
    assert_nothing_lost(policies_report, rows_in_file=3, frame=dataset.policies)
    assert _reasons_by_row(policies_report) == {4: {"above_maximum"}}
    requests_report = dataset.validation.tables["service_requests"]
    assert_nothing_lost(requests_report, rows_in_file=4, frame=dataset.service_requests)
    assert _reasons_by_row(requests_report) == {5: {"not_allowed_value"}}
    assert set(dataset.service_requests.columns) >= {"applicant_nik", "nama_pemohon", "catatan"}
    written = "".join(p.read_text() for p in (tmp_path / "rejects").iterdir())
    shown = (dataset.policies.to_csv() + dataset.service_requests.to_csv() + written
             + policies_report.rejects.to_csv() + requests_report.rejects.to_csv())
    assert privacy.find_personal_ids(shown) == []
    assert "Siti" not in shown and "3372015708900001" not in shown
    assert dataset.policies["instrument"].str.contains(r"\[NI[KP]:", regex=True).all()
    masked = {n.params["column"]: n.params["values"] for n in policies_report.notes if n.code == "personal_ids_masked"}
    assert masked == {"instrument": 3, "notes": 2}


def test_overlapping_spells_are_noted_per_pair(tmp_path):
    report = _report("overlapping_spells", tmp_path, "policies")
    assert report.rows_rejected == 0
    pairs = [(n.params["region_code"], n.params["first_row"], n.params["second_row"])
             for n in report.notes if n.code == "overlapping_policy_spells"]
    assert pairs == [("32", 2, 3), ("33.72", 6, 7)]  # 17: the second spell starts after the first ends


@pytest.mark.parametrize("case,code", [
    ("notation_outliers", 1), ("trailing_empty_columns", 1), ("blank_lines", 1), ("overlapping_spells", 0),
    ("random_bytes_xlsx", 2), ("random_bytes_parquet", 2), ("nik_in_free_text", 1),
])
def test_cli_exit_code_for_the_new_cases(tmp_path, capsys, case, code):
    data_dir = _copy(case, tmp_path)
    assert main(["validate", str(data_dir), "--rejects", str(tmp_path / "rejects")]) == code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "3372015708900001" not in captured.out + captured.err
    if code == 2:
        assert "error:" in captured.err and case.split("_")[-1] in captured.err
