"""Validated-data cache of analysis.data.load: hits, invalidation, atomic entries, no personal data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import data
from analysis.data import cache as cache_module, dataset as dataset_module, privacy
from analysis.data.schemas import TABLES
from test_io_support import valid_tables, write_dataset


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv(cache_module.CACHE_DIR_ENV_VAR, str(root))
    return root


def _dataset(tmp_path: Path) -> Path:
    tables = valid_tables()
    tables["service_requests"]["nama_pemohon"] = [f"Siti Rahayu {i}" for i in range(12)]
    tables["service_requests"].loc[1, "applicant_nik"] = "3372"  # rejected, redacted in the report
    tables["service_requests"].loc[5, "channel"] = "pos"
    return write_dataset(tmp_path / "data", tables)


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _forbid_validation(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("validated again instead of using the cache")

    monkeypatch.setattr(dataset_module._Run, "execute", fail)


def _counting(monkeypatch) -> list:
    calls = []
    original = dataset_module._Run.execute

    def count(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(dataset_module._Run, "execute", count)
    return calls


def _assert_same(a: data.Dataset, b: data.Dataset):
    for table in TABLES:
        left, right = getattr(a, table), getattr(b, table)
        assert (left is None) == (right is None), table
        if left is not None:
            pd.testing.assert_frame_equal(left, right)
    assert a.extracted_at == b.extracted_at and a.metadata == b.metadata
    assert a.validation.tables.keys() == b.validation.tables.keys()
    for name, report in a.validation.tables.items():
        other = b.validation.tables[name]
        assert report == other  # rows, reasons, notes, file
        pd.testing.assert_frame_equal(report.rejects.reset_index(drop=True),
                                      other.rejects.reset_index(drop=True), check_dtype=False)
    assert a.validation.errors == b.validation.errors


def test_second_load_comes_from_the_cache(tmp_path, cache, monkeypatch):
    data_dir = _dataset(tmp_path)
    before = _digest(data_dir)
    first = data.load(data_dir)
    assert first.validation.tables["service_requests"].rows_rejected == 2
    assert len(list(cache.glob("*/entry.json"))) == 1
    _forbid_validation(monkeypatch)
    second = data.load(data_dir)
    _assert_same(first, second)
    assert second.data_dir == data_dir
    assert _digest(data_dir) == before  # the raw directory is never written


def test_uncached_load_is_the_same_and_writes_nothing(tmp_path, cache):
    data_dir = _dataset(tmp_path)
    plain = data.load(data_dir, use_cache=False)
    assert not cache.exists()
    _assert_same(plain, data.load(data_dir))  # stored
    _assert_same(plain, data.load(data_dir))  # read back


def test_changed_input_file_invalidates(tmp_path, cache, monkeypatch):
    data_dir = _dataset(tmp_path)
    calls = _counting(monkeypatch)
    data.load(data_dir)
    data.load(data_dir)
    assert len(calls) == 1
    frame = pd.read_csv(data_dir / "transfers.csv", dtype=str)
    frame.loc[0, "tkd_idr"] = "-1"
    frame.to_csv(data_dir / "transfers.csv", index=False)
    ds = data.load(data_dir)
    assert len(calls) == 2
    assert ds.validation.tables["transfers"].rejected_by_reason == {"tkd_idr: below_minimum": 1}
    metadata = json.loads((data_dir / "dataset.json").read_text())
    (data_dir / "dataset.json").write_text(json.dumps({**metadata, "extracted_at": "2026-10-30"}))
    assert data.load(data_dir).extracted_at == pd.Timestamp("2026-10-30")
    assert len(calls) == 3


def test_same_size_and_mtime_but_other_bytes_invalidates(tmp_path, cache, monkeypatch):
    data_dir = _dataset(tmp_path)
    calls = _counting(monkeypatch)
    data.load(data_dir)
    path = data_dir / "transfers.csv"
    stat = path.stat()
    text = path.read_text().replace("2026-01", "2026-02", 1)
    path.unlink()
    path.write_text(text)  # same size, new file
    import os

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    data.load(data_dir)
    assert len(calls) == 2


def test_different_salt_invalidates_and_is_not_stored(tmp_path, cache, monkeypatch):
    data_dir = _dataset(tmp_path)
    calls = _counting(monkeypatch)
    monkeypatch.setenv(privacy.SALT_ENV_VAR, "salt-one-7f3a")
    one = data.load(data_dir)
    monkeypatch.setenv(privacy.SALT_ENV_VAR, "salt-two-9c1d")
    two = data.load(data_dir)
    assert len(calls) == 2
    assert one.service_requests["applicant_nik"].iloc[0] != two.service_requests["applicant_nik"].iloc[0]
    assert two.service_requests["applicant_nik"].iloc[0] == privacy.hash_value(
        valid_tables()["service_requests"]["applicant_nik"].iloc[0], "salt-two-9c1d")
    monkeypatch.setenv(privacy.SALT_ENV_VAR, "salt-one-7f3a")
    pd.testing.assert_frame_equal(data.load(data_dir).service_requests, one.service_requests)
    assert len(calls) == 2
    for path in cache.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"salt-one-7f3a" not in content and b"salt-two-9c1d" not in content, path


def test_cache_never_holds_raw_personal_data(tmp_path, cache):
    data_dir = _dataset(tmp_path)
    raw = valid_tables()["service_requests"]
    personal = list(raw["applicant_nik"]) + [f"Siti Rahayu {i}" for i in range(12)] + ["3372"]
    data.load(data_dir)
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    for path in files:
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).astype(str).to_csv()
        else:
            text = path.read_text(encoding="utf-8")
        for value in personal[:-1]:
            assert value not in text, path
        if path.name == "service_requests.rejects.parquet":
            assert "<redacted: 4 characters>" in text
    # raw bytes too (uncompressed JSON; Parquet checked above after decoding)
    assert all(personal[0].encode() not in p.read_bytes() for p in files)


def test_a_finished_entry_is_reused_and_a_concurrent_writer_is_harmless(tmp_path, cache, monkeypatch):
    data_dir = _dataset(tmp_path)
    data.load(data_dir)
    key = next(cache.glob("*/entry.json")).parent.name
    staging = cache_module.staging_dir(cache, key)
    (staging / "entry.json").write_text("{}")
    assert cache_module.publish(staging, cache, key) == cache / key  # the finished entry wins
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == [key]  # no staging dirs left
    assert json.loads((cache / key / "entry.json").read_text())["format"] == cache_module.CACHE_FORMAT


def test_rejects_dir_always_validates_and_writes_rejects(tmp_path, cache, monkeypatch):
    data_dir = _dataset(tmp_path)
    data.load(data_dir)
    calls = _counting(monkeypatch)
    ds = data.load(data_dir, rejects_dir=tmp_path / "rejects")
    assert len(calls) == 1
    assert (tmp_path / "rejects" / "service_requests.rejects.csv").is_file()
    assert ds.validation.tables["service_requests"].rows_rejected == 2


def test_missing_extracted_at_warning_is_repeated_on_a_cache_hit(tmp_path, cache):
    data_dir = write_dataset(tmp_path / "data", {"service_requests": valid_tables()["service_requests"]},
                             extracted_at=None)
    with pytest.warns(UserWarning, match="no extracted_at"):
        first = data.load(data_dir)
    with pytest.warns(UserWarning, match="no extracted_at"):
        second = data.load(data_dir)
    assert first.extracted_at == second.extracted_at == pd.Timestamp("2026-01-15 09:30")


def test_nullable_columns_round_trip(tmp_path, cache):
    tables = valid_tables()
    data_dir = write_dataset(tmp_path / "data", tables)
    first = data.load(data_dir)
    assert first.regions["asn_count"].isna().any() and first.regions["ekinerja_daily"].isna().any()
    second = data.load(data_dir)
    _assert_same(first, second)
    assert np.all(first.regions.dtypes.to_numpy() == second.regions.dtypes.to_numpy())
