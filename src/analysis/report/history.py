"""Build history: a compact, versioned record of every build's headline results and inputs.

Each finished build writes ``OUT/history/<build_id>.json`` (a few kilobytes; ``build_id`` is the
UTC start time, ``20260131T020000Z``), shaped::

    {"schema": 1, "build_id", "built_at", "selection": {"only", "lang"},
     "code": {"analysis_code_sha256", "git_commit", "git_dirty", "notebooks": {name: sha256},
              "packages": {name: version}},
     "data": {"label", "readable", "extracted_at", "fingerprint": {file: sha256},
              "tables": {table: {"rows_read", "rows_accepted", "rows_rejected",
                                 "months": ["YYYY-MM/YYYY-MM" runs of consecutive months, or "YYYY-MM"]}},
              "adopters": [[region_code, start_date, end_date or null, is_trial], ...]},
     "reports": {slug: {"notebook", "parameters", "status", "headline",
                        "results": [[name, estimate, se, ci_low, ci_high, unit], ...]}}}

Numbers are kept to :data:`SIGNIFICANT_DIGITS` significant digits (the comparison of two builds
needs no more); :func:`entries` turns a report's rows back into dictionaries.

It holds counts, months, file digests, the public adoption registry (Pemda codes and dates) and
the reports' headline numbers: never the data itself, no row of a table, no personal data. It is
written as compact JSON (``python -m json.tool`` shows it indented).
:func:`data_facts` is the one place that reads the dataset for it (through the validated
loader). :mod:`analysis.report.changes` compares two records.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from analysis.errors import AnalysisError, UsageError
from analysis.data import load
from analysis.data.connection import frame_from_arrow
from analysis.report.output_folder import atomic_write_text, display_parameters, display_path
from analysis.report.results_file import RESULTS_FILE

HISTORY_DIR = "history"
SCHEMA_VERSION = 1
#: the fields of a results.json entry a history record keeps, in the order of its rows
RESULT_FIELDS = ("name", "estimate", "se", "ci_low", "ci_high", "unit")
SIGNIFICANT_DIGITS = 10
#: the column giving each table's months
MONTH_COLUMNS = {"service_requests": "submitted_at", "budget": "period", "transfers": "period"}
_BUILD_ID = re.compile(r"\d{8}T\d{6}Z(-\d+)?")


def build_id_for(moment: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` of a moment (UTC)."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _column(dataset, table: str, column: str) -> pd.Series | None:
    """One column of a validated table, read alone from its Parquet file (never the whole table
    in pandas: the requests of a national dataset are tens of millions of rows); None if the
    dataset has no such table or column."""
    try:
        path = dataset.table_path(table)
    except (AnalysisError, KeyError):
        return None
    if column not in pq.read_schema(path).names:
        return None
    return frame_from_arrow(pq.read_table(path, columns=[column]))[column]


def _months(values: pd.Series) -> list[str]:
    """Months (``YYYY-MM`` runs) present in a column of timestamps or of ``YYYY-MM`` text."""
    values = values.dropna()
    if values.empty:
        return []
    if pd.api.types.is_datetime64_any_dtype(values):
        months = {str(month) for month in np.unique(values.to_numpy().astype("datetime64[M]"))}
    else:
        months = {str(value)[:7] for value in pd.unique(values)}
    return month_runs(sorted(months))


def month_runs(months: list[str]) -> list[str]:
    """Sorted ``YYYY-MM`` months as runs: ``["2023-01/2026-10", "2027-02"]``."""
    periods = sorted(pd.Period(m, freq="M") for m in months)
    runs: list[list[pd.Period]] = []
    for period in periods:
        if runs and period == runs[-1][1] + 1:
            runs[-1][1] = period
        else:
            runs.append([period, period])
    return [f"{a}/{b}" if a != b else str(a) for a, b in runs]


def expand_months(runs: list[str]) -> list[str]:
    """The months of :func:`month_runs` output, one by one."""
    months = []
    for run in runs or []:
        first, _, last = run.partition("/")
        months += [str(p) for p in pd.period_range(first, last or first, freq="M")]
    return months


def _day(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def data_facts(data_dir: Path) -> dict[str, Any]:
    """Row counts, months covered, extraction date and adopters of a dataset, from the
    validated loader (one load). ``readable`` is False (with the error's type) when it cannot
    be loaded; the build's file digests are added by :func:`make_record`."""
    try:
        dataset = load(data_dir)
    except (AnalysisError, OSError, ValueError) as exc:
        return {"readable": False, "error": type(exc).__name__, "extracted_at": None, "tables": {}, "adopters": []}
    tables: dict[str, dict[str, Any]] = {}
    for name, report in dataset.validation.tables.items():
        tables[name] = {
            "rows_read": int(report.rows_read),
            "rows_accepted": int(report.rows_accepted),
            "rows_rejected": int(report.rows_rejected),
        }
        column = MONTH_COLUMNS.get(name)
        values = _column(dataset, name, column) if column else None
        if values is not None:
            tables[name]["months"] = _months(values)
    adopters: list[list[Any]] = []
    if dataset.policies is not None and "region_code" in dataset.policies:
        for row in dataset.policies.sort_values(["region_code", "start_date"]).itertuples(index=False):
            entry = [str(row.region_code), _day(getattr(row, "start_date", None)), _day(getattr(row, "end_date", None)),
                     bool(getattr(row, "is_trial", False))]
            if entry not in adopters:
                adopters.append(entry)
    return {
        "readable": True,
        "extracted_at": _day(dataset.extracted_at),
        "tables": tables,
        "adopters": adopters,
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


def result_rows(report_dir: Path) -> list[list[Any]]:
    """The entries of a report folder's ``results.json`` as rows of :data:`RESULT_FIELDS`."""
    try:
        document = json.loads((Path(report_dir) / RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    found = document.get("results") if isinstance(document, dict) else None
    return [[_rounded(entry.get(f)) for f in RESULT_FIELDS] for entry in found or [] if isinstance(entry, dict)]


def entries(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A history report's result rows as ``{name, estimate, se, ci_low, ci_high, unit}``."""
    return [dict(zip(RESULT_FIELDS, row)) for row in report.get("results") or []]


def make_record(
    *,
    build_id: str,
    built_at: str,
    out_dir: Path,
    data_dir: Path,
    inputs: dict[str, str],
    facts: dict[str, Any],
    code: str,
    environment: dict[str, Any],
    records: list[dict[str, Any]],
    notebooks: dict[str, str],
    only: str | None,
    lang: str | None,
) -> dict[str, Any]:
    """The history record of a finished build (see the module doc). ``records``: the manifest
    records of the reports this build selected; ``notebooks``: notebook name -> SHA-256."""
    git = environment.get("git") or {}
    reports = {}
    for record in records:
        slug = record["slug"]
        reports[slug] = {
            "notebook": record.get("notebook"),
            "parameters": display_parameters(record.get("parameters") or {}),
            "status": record.get("status"),
            "headline": record.get("headline_name"),
            "results": result_rows(Path(out_dir) / slug) if record.get("status") in ("ok", "skipped") else [],
        }
    return {
        "schema": SCHEMA_VERSION,
        "build_id": build_id,
        "built_at": built_at,
        "selection": {"only": only, "lang": lang},
        "code": {
            "analysis_code_sha256": code,
            "git_commit": git.get("commit"),
            "git_dirty": git.get("dirty"),
            "notebooks": dict(sorted(notebooks.items())),
            "packages": environment.get("packages") or {},
        },
        "data": {"label": display_path(data_dir), "fingerprint": dict(sorted(inputs.items())), **facts},
        "reports": reports,
    }


def history_dir(out_dir: Path) -> Path:
    return Path(out_dir) / HISTORY_DIR


def write_record(out_dir: Path, record: dict[str, Any]) -> Path:
    """Write ``OUT/history/<build_id>.json`` atomically (a second build in the same second gets
    ``<build_id>-2`` and so on); return its path."""
    folder = history_dir(out_dir)
    folder.mkdir(exist_ok=True)
    build_id = record["build_id"]
    path = folder / f"{build_id}.json"
    counter = 2
    while path.exists():
        record = {**record, "build_id": f"{build_id}-{counter}"}
        path = folder / f"{record['build_id']}.json"
        counter += 1
    return atomic_write_text(path, json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")


def list_records(out_dir: Path) -> list[Path]:
    """History record files of an output folder, oldest first."""
    folder = history_dir(out_dir)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.glob("*.json") if _BUILD_ID.fullmatch(p.stem)), key=_order)


def _order(path: Path) -> tuple[str, int]:
    stem, _, counter = path.stem.partition("-")
    return stem, int(counter or 1)


def load_record(path: Path) -> dict[str, Any]:
    """Read one history record; :class:`UsageError` if it is not one."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{Path(path).name}: not a readable history record ({exc})") from exc
    if not isinstance(record, dict) or record.get("schema") != SCHEMA_VERSION or "reports" not in record:
        raise UsageError(f"{Path(path).name}: not a history record of schema {SCHEMA_VERSION}")
    return record


def latest_record(out_dir: Path) -> dict[str, Any] | None:
    """The newest readable history record of ``out_dir`` (None if there is none)."""
    for path in reversed(list_records(out_dir)):
        try:
            return load_record(path)
        except UsageError:
            continue
    return None


def resolve_previous(out_dir: Path, compare_to: str | None) -> dict[str, Any] | None:
    """The record ``--compare-to`` names: a record file, a build id in ``OUT/history``, or (None,
    the default) the latest record there. :class:`UsageError` naming the available builds if it
    names nothing."""
    if compare_to is None or compare_to == "":
        return latest_record(out_dir)
    candidate = Path(compare_to)
    if candidate.is_file():
        return load_record(candidate)
    for path in list_records(out_dir):
        if path.stem == compare_to or path.name == compare_to:
            return load_record(path)
    available = ", ".join(p.stem for p in list_records(out_dir)[-10:]) or "none"
    raise UsageError(f"--compare-to {compare_to!r}: no such history record (latest builds: {available})")
