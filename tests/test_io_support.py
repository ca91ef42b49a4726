"""Small valid tables for the loader tests (no tests here; imported by the test_io* modules).

Every table is built as text, exactly as a user's CSV export would hold it, so a test can break one
cell and check that exactly that row is rejected with the expected reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

EXTRACTED_AT = "2026-10-31"


def valid_tables() -> dict[str, pd.DataFrame]:
    """One small valid text table per input table (region codes from the bundled regions)."""
    regions = pd.DataFrame({
        "region_code": ["11", "11.01", "11.02", "11.10", "17", "33", "33.72", "71", "71.11", "32"],
        "name": ["Aceh", "Kabupaten Aceh Selatan", "Kabupaten Aceh Tenggara", "Kabupaten Aceh Singkil",
                 "Bengkulu", "Jawa Tengah", "Kota Surakarta", "Sulawesi Utara",
                 "Kabupaten Bolaang Mongondow Selatan", "Jawa Barat"],
        "level": ["provinsi", "kabupaten", "kabupaten", "kabupaten", "provinsi", "provinsi", "kota",
                  "provinsi", "kabupaten", "provinsi"],
        "province_code": ["11", "11", "11", "11", "17", "33", "33", "71", "71", "32"],
        "population": ["5623479", "239629", "235589", "133000", "2127957", "37000000", "589242",
                       "2700000", "76105", "50000000"],
        "area_km2": ["56835.019", "4174.211", "4179.123", "2185.000", "20122.210", "32800.690",
                     "46.802", "13892.470", "1772.832", "35377.760"],
        "spbe_index": ["3.1", "2.2", "", "1.5", "3.6", "4.3", "3.9", "2.7", "2.0", "4.1"],
        "asn_count": ["20000", "4000", "3900", "", "10275", "50000", "6000", "12000", "2500", "60000"],
        "ekinerja_daily": ["true", "false", "true", "false", "true", "true", "ya", "tidak", "", "true"],
    })
    policies = pd.DataFrame({
        "region_code": ["17", "33.72", "71.11", "32"],
        "start_date": ["2026-01-01", "2026-01-14", "12 Januari 2026", "2025-11-06"],
        "end_date": ["", "2026-01-28", "", "2025-11-30"],
        "wfa_days_per_week": ["2", "1", "2", "1"],
        "wfa_weekdays": ["kamis;jumat", "rabu", "senin;selasa", "kamis"],
        "is_trial": ["true", "true", "false", "true"],
        "instrument": ["Kebijakan Gubernur", "SE Sekda 1/2026", "Kebijakan Bupati", "SE 150/KPG.03/BKD"],
        "source": ["https://example.org/a", "https://example.org/b", "https://example.org/c",
                   "https://example.org/d"],
        "max_share_wfa": ["0.75", "0.5", "", "1"],
        "confidence": ["high", "high", "medium", "high"],
    })
    n = 12
    service_requests = pd.DataFrame({
        "request_id": [f"REQ-{i:04d}" for i in range(n)],
        "region_code": (["17", "33.72", "71.11", "3372"] * 3)[:n],
        "service_type": (["perizinan", "adminduk", "bansos", "layanan_dasar"] * 3)[:n],
        "submitted_at": ["2026-01-05 08:00", "2026-01-06", "14 Januari 2026", "15/01/2026 09:30"] * 3,
        "completed_at": ["2026-01-07 10:00", "2026-01-06 15:00", "", "0000-00-00"] * 3,
        "units_involved": (["1", "2", "1", "3"] * 3)[:n],
        "channel": (["online", "loket"] * 6)[:n],
        "sla_days": (["5", "1", "14", "2,5"] * 3)[:n],
        "applicant_nik": [f"33720101019{i:05d}" for i in range(n)],
    })
    budget = pd.DataFrame({
        "region_code": ["17"] * 4 + ["33.72"] * 4,
        "period": ["2026-01", "2026-02", "2026-03", "2026-04"] * 2,
        "account_code": ["5.1.02.02.01.0061"] * 4 + ["5.1.02.04.01.0001"] * 4,
        "category": ["listrik"] * 4 + ["perjalanan_dinas"] * 4,
        "budget_idr": ["1.200.000.000"] * 4 + ["900.000.000,00"] * 4,
        "realized_idr": ["100.500.000", "98.000.000", "97.250.000", "0"] + ["70.000.000,50"] * 4,
    })
    transfers = pd.DataFrame({
        "region_code": ["17", "17", "33.72", "33.72"],
        "period": ["2026-01", "2026-02", "2026-01", "2026-02"],
        "tkd_idr": ["150000000000", "150000000000", "80000000000", "80000000000"],
    })
    return {"regions": regions, "policies": policies, "service_requests": service_requests,
            "budget": budget, "transfers": transfers}


def write_table(frame: pd.DataFrame, path: Path, *, sep: str = ",") -> Path:
    """Write a text table as a user would: every cell as text, empty for missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False, sep=sep)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        raise ValueError(suffix)
    return path


def write_dataset(directory: Path, tables: dict[str, pd.DataFrame] | None = None, *,
                  extracted_at: str | None = EXTRACTED_AT, suffix: str = ".csv") -> Path:
    """A dataset directory holding the given tables (default: all valid tables) and dataset.json."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = valid_tables() if tables is None else tables
    for name, frame in tables.items():
        write_table(frame, directory / f"{name}{suffix}")
    if extracted_at is not None:
        (directory / "dataset.json").write_text(json.dumps({"extracted_at": extracted_at, "source": "test"}))
    return directory


def assert_nothing_lost(report, *, rows_in_file: int, frame: pd.DataFrame | None = None) -> None:
    """The loader's invariant, checked against independent counts: every data row of the file is
    read, and is either accepted (present in ``frame``) or rejected (in the rejects, once)."""
    assert report.rows_read == rows_in_file
    if frame is not None:
        assert len(frame) == report.rows_accepted
    rejected_rows = report.rejects["row_number"].nunique() if len(report.rejects) else 0
    assert report.rows_accepted + rejected_rows == report.rows_read
    assert sum(report.rejected_by_reason.values()) == rejected_rows


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Keep the validated-data cache of each test in its own temporary directory."""
    monkeypatch.setenv("PEMDA_WFA_CACHE_DIR", str(tmp_path / "validated-cache"))
    return tmp_path / "validated-cache"


@pytest.mark.parametrize("ram_gb, expected", [(2, "1GB"), (8, "2GB"), (24, "4GB"), (256, "4GB")])
def test_duckdb_memory_default_is_a_quarter_of_the_ram_within_1_to_4_gb(monkeypatch, ram_gb, expected):
    """Per connection, and a build has several at once (loader or stage, two report kernels): a
    national build peaked at 8.1 GB with half the RAM as the default, 3.7 GB with 3 GB."""
    import os

    from analysis.data import connection

    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": ram_gb * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    monkeypatch.delenv(connection.MEMORY_ENV_VAR, raising=False)
    assert connection.duckdb_memory_limit() == expected
    monkeypatch.setenv(connection.MEMORY_ENV_VAR, "6GB")
    assert connection.duckdb_memory_limit() == "6GB"
