"""One test per schema rule: break one row, check that exactly that row is rejected for that reason.

``test_every_declared_check_has_a_case`` derives the list of checks from ``analysis.data.schemas``, so a
rule added without a test here, or a rule removed from the schema, makes a test fail.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import data
from analysis.data.schemas import SCHEMAS
from test_io_support import assert_nothing_lost, isolated_cache, valid_tables, write_dataset  # noqa: F401

BROKEN_ROW = 2  # 0-based index of the row a case breaks; CSV row number = index + 2

# (table, reported column, reason, {column: new value in row BROKEN_ROW})
CASES = [
    # regions
    ("regions", "region_code", "missing_value", {"region_code": ""}),
    ("regions", "region_code", "bad_region_code", {"region_code": "11.2x"}),
    ("regions", "region_code", "duplicate_key", {"region_code": "11.01"}),
    ("regions", "name", "missing_value", {"name": " "}),
    ("regions", "level", "missing_value", {"level": "-"}),
    ("regions", "level", "not_allowed_value", {"level": "desa"}),
    ("regions", "level", "level_mismatch", {"level": "kota"}),
    ("regions", "province_code", "missing_value", {"province_code": ""}),
    ("regions", "province_code", "bad_format", {"province_code": "1"}),
    ("regions", "province_code", "province_code_mismatch", {"province_code": "12"}),
    ("regions", "population", "missing_value", {"population": ""}),
    ("regions", "population", "not_a_number", {"population": "banyak"}),
    ("regions", "population", "not_an_integer", {"population": "1,5"}),
    ("regions", "population", "below_minimum", {"population": "-5"}),
    ("regions", "population", "above_maximum", {"population": "3372015708900001"}),  # a NIK
    ("regions", "area_km2", "not_a_number", {"area_km2": "luas"}),
    ("regions", "area_km2", "below_minimum", {"area_km2": "0"}),
    ("regions", "area_km2", "above_maximum", {"area_km2": "5000000"}),
    ("regions", "spbe_index", "not_a_number", {"spbe_index": "baik"}),
    ("regions", "spbe_index", "below_minimum", {"spbe_index": "0.5"}),
    ("regions", "spbe_index", "above_maximum", {"spbe_index": "5.5"}),
    ("regions", "asn_count", "not_a_number", {"asn_count": "x"}),
    ("regions", "asn_count", "not_an_integer", {"asn_count": "10.5"}),
    ("regions", "asn_count", "below_minimum", {"asn_count": "-1"}),
    ("regions", "asn_count", "above_maximum", {"asn_count": "20000000"}),
    ("regions", "ekinerja_daily", "not_a_boolean", {"ekinerja_daily": "mungkin"}),
    # policies
    ("policies", "region_code", "missing_value", {"region_code": ""}),
    ("policies", "region_code", "unknown_region_code", {"region_code": "99.99"}),
    ("policies", "region_code", "ambiguous_region_code", {"region_code": "11.1"}),
    ("policies", "region_code + start_date", "duplicate_key", {"region_code": "17", "start_date": "01-01-2026"}),
    ("policies", "start_date", "missing_value", {"start_date": ""}),
    ("policies", "start_date", "not_a_date", {"start_date": "31-02-2026"}),
    ("policies", "start_date", "before_earliest", {"start_date": "1850-01-01"}),
    ("policies", "start_date", "after_latest", {"start_date": "2126-01-01", "end_date": ""}),
    ("policies", "end_date", "not_a_date", {"end_date": "kemarin"}),
    ("policies", "end_date", "end_before_start", {"end_date": "2025-12-31"}),
    ("policies", "end_date", "before_earliest", {"end_date": "0001-01-01"}),
    ("policies", "end_date", "after_latest", {"end_date": "9999-12-31"}),
    ("policies", "wfa_days_per_week", "missing_value", {"wfa_days_per_week": ""}),
    ("policies", "wfa_days_per_week", "not_a_number", {"wfa_days_per_week": "dua"}),
    ("policies", "wfa_days_per_week", "not_an_integer", {"wfa_days_per_week": "1.5"}),
    ("policies", "wfa_days_per_week", "below_minimum", {"wfa_days_per_week": "0"}),
    ("policies", "wfa_days_per_week", "above_maximum", {"wfa_days_per_week": "6"}),
    ("policies", "wfa_weekdays", "bad_format", {"wfa_weekdays": "friday"}),
    ("policies", "is_trial", "missing_value", {"is_trial": ""}),
    ("policies", "is_trial", "not_a_boolean", {"is_trial": "mungkin"}),
    ("policies", "instrument", "missing_value", {"instrument": ""}),
    ("policies", "source", "missing_value", {"source": "N/A"}),
    ("policies", "max_share_wfa", "not_a_number", {"max_share_wfa": "separuh"}),
    ("policies", "max_share_wfa", "below_minimum", {"max_share_wfa": "-0.1"}),
    ("policies", "max_share_wfa", "above_maximum", {"max_share_wfa": "1.5"}),
    ("policies", "confidence", "not_allowed_value", {"confidence": "sure"}),
    # service_requests
    ("service_requests", "request_id", "missing_value", {"request_id": ""}),
    ("service_requests", "request_id", "duplicate_key", {"request_id": "REQ-0000"}),
    ("service_requests", "region_code", "missing_value", {"region_code": ""}),
    ("service_requests", "region_code", "unknown_region_code", {"region_code": "99.99"}),
    ("service_requests", "region_code", "ambiguous_region_code", {"region_code": "11.1"}),
    ("service_requests", "service_type", "missing_value", {"service_type": ""}),
    ("service_requests", "service_type", "not_allowed_value", {"service_type": "pajak"}),
    ("service_requests", "submitted_at", "missing_value", {"submitted_at": "0000-00-00"}),
    ("service_requests", "submitted_at", "not_a_date", {"submitted_at": "2026-13-01"}),
    ("service_requests", "submitted_at", "before_earliest", {"submitted_at": "1850-01-05 08:00"}),
    ("service_requests", "submitted_at", "after_latest", {"submitted_at": "2206-01-05", "completed_at": ""}),
    ("service_requests", "submitted_at", "submitted_after_extraction",
     {"submitted_at": "2026-11-01", "completed_at": ""}),
    ("service_requests", "completed_at", "not_a_date", {"completed_at": "besok"}),
    ("service_requests", "completed_at", "completed_before_submitted", {"completed_at": "2026-01-13"}),
    ("service_requests", "completed_at", "before_earliest", {"completed_at": "0001-01-01"}),
    ("service_requests", "completed_at", "after_latest", {"completed_at": "2206-01-01"}),
    ("service_requests", "completed_at", "completed_after_extraction", {"completed_at": "2026-11-01 00:00"}),
    ("service_requests", "units_involved", "missing_value", {"units_involved": ""}),
    ("service_requests", "units_involved", "not_a_number", {"units_involved": "satu"}),
    ("service_requests", "units_involved", "not_an_integer", {"units_involved": "1,5"}),
    ("service_requests", "units_involved", "below_minimum", {"units_involved": "0"}),
    ("service_requests", "units_involved", "above_maximum", {"units_involved": "1001"}),
    ("service_requests", "channel", "missing_value", {"channel": ""}),
    ("service_requests", "channel", "not_allowed_value", {"channel": "pos"}),
    ("service_requests", "sla_days", "missing_value", {"sla_days": ""}),
    ("service_requests", "sla_days", "not_a_number", {"sla_days": "lima"}),
    ("service_requests", "sla_days", "below_minimum", {"sla_days": "0"}),
    ("service_requests", "sla_days", "above_maximum", {"sla_days": "1e308"}),
    ("service_requests", "applicant_nik", "bad_format", {"applicant_nik": "33720101"}),
    # budget
    ("budget", "region_code", "missing_value", {"region_code": ""}),
    ("budget", "region_code", "unknown_region_code", {"region_code": "17.99"}),
    ("budget", "region_code", "ambiguous_region_code", {"region_code": "111"}),
    ("budget", "region_code + period + account_code", "duplicate_key", {"period": "2026-01"}),
    ("budget", "period", "missing_value", {"period": ""}),
    ("budget", "period", "not_a_period", {"period": "2026-13"}),
    ("budget", "period", "before_earliest", {"period": "1999-12"}),
    ("budget", "period", "after_latest", {"period": "2100-01"}),
    ("budget", "account_code", "missing_value", {"account_code": ""}),
    ("budget", "account_code", "bad_format", {"account_code": "listrik"}),
    ("budget", "category", "missing_value", {"category": ""}),
    ("budget", "budget_idr", "missing_value", {"budget_idr": ""}),
    ("budget", "budget_idr", "not_a_number", {"budget_idr": "satu juta"}),
    ("budget", "budget_idr", "below_minimum", {"budget_idr": "-1.000"}),
    ("budget", "budget_idr", "above_maximum", {"budget_idr": "1.000.000.000.000.001"}),
    ("budget", "realized_idr", "missing_value", {"realized_idr": "-"}),
    ("budget", "realized_idr", "not_a_number", {"realized_idr": "1.2.3"}),
    ("budget", "realized_idr", "below_minimum", {"realized_idr": "-1.000.000"}),
    ("budget", "realized_idr", "above_maximum", {"realized_idr": "Rp 3.372.015.708.900.001"}),
    # transfers
    ("transfers", "region_code", "missing_value", {"region_code": ""}),
    ("transfers", "region_code", "unknown_region_code", {"region_code": "00"}),
    ("transfers", "region_code", "ambiguous_region_code", {"region_code": "11.1"}),
    ("transfers", "region_code + period", "duplicate_key", {"region_code": "17", "period": "2026-01"}),
    ("transfers", "period", "missing_value", {"period": ""}),
    ("transfers", "period", "not_a_period", {"period": "triwulan 1"}),
    ("transfers", "period", "before_earliest", {"period": "01/1850"}),
    ("transfers", "period", "after_latest", {"period": "Januari 2100"}),
    ("transfers", "tkd_idr", "missing_value", {"tkd_idr": ""}),
    ("transfers", "tkd_idr", "not_a_number", {"tkd_idr": "banyak"}),
    ("transfers", "tkd_idr", "below_minimum", {"tkd_idr": "-5"}),
    ("transfers", "tkd_idr", "above_maximum", {"tkd_idr": "1e16"}),
]


def _declared_checks() -> set[tuple[str, str, str]]:
    """Every (table, column, reason) the schemas declare (mirrors analysis.data.validate's rule list)."""
    unparseable = {"int": "not_a_number", "float": "not_a_number", "bool": "not_a_boolean",
                   "date": "not_a_date", "timestamp": "not_a_date", "period": "not_a_period"}
    checks = set()
    for table, schema in SCHEMAS.items():
        for col in schema.columns:
            if not col.nullable:
                checks.add((table, col.name, "missing_value"))
            if col.kind in unparseable:
                checks.add((table, col.name, unparseable[col.kind]))
            if col.kind == "int":
                checks.add((table, col.name, "not_an_integer"))
            if col.kind == "region_code":
                if table == "regions":
                    checks.add((table, col.name, "bad_region_code"))
                else:
                    checks.add((table, col.name, "unknown_region_code"))
                    checks.add((table, col.name, "ambiguous_region_code"))
            if col.allowed is not None:
                checks.add((table, col.name, "not_allowed_value"))
            if col.pattern is not None:
                checks.add((table, col.name, "bad_format"))
            if col.minimum is not None:
                checks.add((table, col.name, "below_minimum"))
            if col.maximum is not None:
                checks.add((table, col.name, "above_maximum"))
            if col.earliest is not None:
                checks.add((table, col.name, "before_earliest"))
                checks.add((table, col.name, "after_latest"))
        for rule in schema.rules:
            checks.add((table, rule.column, rule.reason))
        if schema.key:
            checks.add((table, " + ".join(schema.key), "duplicate_key"))
    return checks


def test_every_declared_check_has_a_case():
    covered = {(table, column, reason) for table, column, reason, _ in CASES}
    missing = _declared_checks() - covered
    assert not missing, f"schema checks without a test case: {sorted(missing)}"


def test_every_case_is_a_declared_check():
    extra = {(t, c, r) for t, c, r, _ in CASES} - _declared_checks()
    assert not extra, f"test cases for checks the schema does not declare: {sorted(extra)}"


@pytest.mark.parametrize("table", list(SCHEMAS))
def test_valid_table_is_accepted_whole(tmp_path, table):
    frame = valid_tables()[table]
    write_dataset(tmp_path, {table: frame})
    dataset = data.load(tmp_path)
    report = dataset.validation.tables[table]
    assert report.rejected_by_reason == {}
    assert_nothing_lost(report, rows_in_file=len(frame), frame=getattr(dataset, table))


def _unique_key_tweak(table: str, index: int) -> dict[str, str]:
    """Values that give the index-th case row a key of its own (so only its own rule fires)."""
    if table == "regions":
        return {"region_code": f"11.{30 + index:02d}", "province_code": "11", "level": "kabupaten"}
    if table == "policies":
        return {"region_code": f"33.{index + 1:02d}"}  # Jawa Tengah has kabupaten 33.01-33.29
    if table == "service_requests":
        return {"request_id": f"CASE-{index:03d}"}
    if table == "budget":
        return {"account_code": f"5.1.02.02.01.{1000 + index}"}
    if table == "transfers":
        return {"period": f"{2030 + index // 12}-{index % 12 + 1:02d}"}
    raise AssertionError(table)


DUPLICATE_OF_FIRST_ROW = {"regions": ("region_code",), "policies": ("region_code", "start_date"),
                          "service_requests": ("request_id",),
                          "budget": ("region_code", "period", "account_code"),
                          "transfers": ("region_code", "period")}


@pytest.mark.parametrize("table", list(SCHEMAS))
def test_each_rule_rejects_its_broken_row_and_only_for_its_reason(tmp_path, table):
    """One file per table: the valid rows, then one broken copy of a valid row per case.

    Every valid row must be accepted; every case row rejected, with exactly its reason."""
    base = valid_tables()[table]
    cases = [case for case in CASES if case[0] == table]
    rows = []
    for index, (_, column, reason, changes) in enumerate(cases):
        row = base.iloc[BROKEN_ROW].copy()
        for name, value in _unique_key_tweak(table, index).items():
            row[name] = value
        if reason == "duplicate_key":  # same key as the first valid row
            for name in DUPLICATE_OF_FIRST_ROW[table]:
                row[name] = base.iloc[0][name]
        for name, value in changes.items():
            row[name] = value
        rows.append(row)
    frame = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    write_dataset(tmp_path, {table: frame})
    report = data.validate_dataset(tmp_path, rejects_dir=tmp_path / "rejects").tables[table]

    assert_nothing_lost(report, rows_in_file=len(frame))
    assert report.rows_accepted == len(base)
    problems = []
    for index, (_, column, reason, _) in enumerate(cases):
        row_number = len(base) + index + 2  # header is row 1
        found = report.rejects[report.rejects["row_number"] == row_number]
        got = sorted(zip(found["column"], found["reason"]))
        if got != [(column, reason)]:
            problems.append(f"row {row_number}: expected [({column!r}, {reason!r})], got {got}")
    assert not problems, "\n".join(problems)
    assert sum(report.rejected_by_reason.values()) == len(cases)
    written = pd.read_csv(tmp_path / "rejects" / f"{table}.rejects.csv", dtype=str)
    assert list(written.columns[:5]) == ["file", "row_number", "column", "value", "reason"]
    assert len(written) == len(report.rejects)
    assert set(written["file"]) == {f"{table}.csv"}
