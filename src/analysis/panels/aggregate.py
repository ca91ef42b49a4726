"""The aggregation stage: everything the reports need from request-level rows, computed once.

:func:`aggregate` runs three queries of :mod:`analysis.panels.queries` on one engine (DuckDB in
process, or Spark for data that outgrows one machine) and, with ``out_dir``, writes them as
Parquet with a ``panels.json`` manifest:

=====================================  ==========================================================
file                                   content
=====================================  ==========================================================
``service_panel.parquet``              ``build_service_panel(requests)``: Pemda × month × service
``service_panel_units.parquet``        ``build_service_panel(requests, by_units=True)``
``person_periods.parquet``             completions and days at risk by Pemda × service × month ×
                                       day bin (all Pemda and months; :func:`person_period_counts`
                                       adds the WFA flag for a treatment table)
``panels.json``                        the manifest (:func:`read_manifest`), written last
=====================================  ==========================================================

:func:`read_aggregated` reads them back, optionally one service type only, as frames equal to
what ``analysis.panels.service.build_service_panel`` and ``analysis.durations.person_period_counts``
return. The manifest's ``input.fingerprint`` (see :func:`input_fingerprint`) and extraction date
tell whether the files are current for a dataset (:func:`is_current`).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analysis.errors import DataContractError, UsageError
from analysis.panels.engines import DuckDBEngine, extraction_moment, parquet_sources
from analysis.panels.queries import (
    DAY_BINS,
    PERSON_PERIOD_KEYS,
    REQUIRED_COLUMNS,
    count_sql,
    finish_person_periods,
    finish_service_panel,
    person_periods_sql,
    service_panel_sql,
)

#: Version of the stage's file layout and table definitions; a change makes old outputs stale.
FORMAT_VERSION = 1

MANIFEST = "panels.json"

#: table name → file name
FILES = {
    "service_panel": "service_panel.parquet",
    "units_panel": "service_panel_units.parquet",
    "person_periods": "person_periods.parquet",
}

ENGINES = ("duckdb", "spark")

#: ``progress(table, rows, seconds)`` is called after each table is computed.
Progress = Callable[[str, int, float], None]


@dataclass(frozen=True)
class AggregatedPanels:
    """The stage's tables (DataFrames) and its manifest.

    ``service_panel`` and ``units_panel`` have the columns of
    :func:`analysis.panels.service.build_service_panel` (without and with ``units``);
    ``person_periods`` has ``region_code, service_type, month, bin, exposure_days, events,
    n_requests`` for every Pemda and month. ``directory`` is where they were written or read
    (None when computed without ``out_dir``).
    """

    service_panel: pd.DataFrame
    units_panel: pd.DataFrame
    person_periods: pd.DataFrame
    manifest: dict = field(repr=False)
    directory: Path | None = None

    def person_period_counts(self, treatment: pd.DataFrame, *, start: str = "2025-01",
                             end: str | None = None) -> pd.DataFrame:
        """:func:`person_period_counts` on this stage's person-period table."""
        return person_period_counts(self.person_periods, treatment, start=start, end=end)


def person_period_counts(person_periods: pd.DataFrame, treatment: pd.DataFrame, *, start: str = "2025-01",
                         end: str | None = None) -> pd.DataFrame:
    """What ``analysis.durations.person_period_counts(requests, treatment, ...)`` returns, from the
    stored person-period table: the Pemda of the staggered sample (``in_staggered_sample``), months
    ``start``..``end``, and ``wfa`` = 1 from the Pemda's cohort month on. Columns
    ``region_code, service_type, month, wfa`` (int32) ``, bin, exposure_days, events, n_requests``
    (the last two int64), sorted by the keys.
    """
    sample = treatment.loc[treatment["in_staggered_sample"].astype(bool), ["region_code", "cohort"]]
    cohorts = dict(zip(sample["region_code"].astype(str), sample["cohort"]))
    if len(cohorts) != len(sample):
        raise ValueError("treatment has a region_code more than once")
    # a look-up, not a merge: the same rows (sorted below) at a fraction of the cost
    keep = person_periods["region_code"].isin(list(cohorts)) & (person_periods["month"] >= start)
    if end:
        keep &= person_periods["month"] <= end
    rows = person_periods[keep]
    cohort = rows["region_code"].map(cohorts)
    wfa = (cohort.notna() & (rows["month"] >= cohort.fillna(""))).astype("int32")
    out = pd.DataFrame({
        "region_code": rows["region_code"], "service_type": rows["service_type"], "month": rows["month"],
        "wfa": wfa, "bin": rows["bin"].astype("int64"), "exposure_days": rows["exposure_days"].astype("float64"),
        "events": rows["events"].astype("int64"), "n_requests": rows["n_requests"].astype("int64"),
    })
    return out.sort_values(list(PERSON_PERIOD_KEYS), kind="stable", ignore_index=True)


# --------------------------------------------------------------------------------------------
# Running the stage
# --------------------------------------------------------------------------------------------

def make_engine(engine: str = "duckdb", *, threads: int | None = None, memory_limit: str | None = None,
                spark_master: str | None = None, spark_conf: dict | None = None):
    """An engine by name (``duckdb`` or ``spark``; Spark needs the ``spark`` extra and Java 17+)."""
    if engine == "duckdb":
        return DuckDBEngine(threads=threads, memory_limit=memory_limit)
    if engine == "spark":
        try:
            from analysis.panels.spark import SparkEngine  # optional heavy dependency
        except ModuleNotFoundError as exc:
            raise UsageError(f"the Spark engine needs the 'spark' extra (pip install -e '.[spark]'): {exc}") from exc
        return SparkEngine(master=spark_master, memory=memory_limit, conf=spark_conf)
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")


def aggregate(
    requests,
    *,
    extracted_at,
    engine="duckdb",
    out_dir=None,
    threads: int | None = None,
    memory_limit: str | None = None,
    spark_master: str | None = None,
    spark_conf: dict | None = None,
    progress: Progress | None = None,
) -> AggregatedPanels:
    """Compute the stage's tables from ``requests`` (DataFrame or Parquet files, see
    :mod:`analysis.panels.engines`) censored at ``extracted_at``.

    ``engine`` is ``"duckdb"``, ``"spark"`` or an engine object (kept open: the caller closes
    it). ``memory_limit`` bounds DuckDB (e.g. ``"4GB"``) or sets Spark's driver memory.
    ``out_dir``: write the Parquet files and ``panels.json`` there (each file atomically; the
    manifest last).
    """
    moment = extraction_moment(extracted_at)
    own = isinstance(engine, str)
    runner = make_engine(engine, threads=threads, memory_limit=memory_limit, spark_master=spark_master,
                         spark_conf=spark_conf) if own else engine
    tables = {}
    try:
        runner.register(requests)  # checks the source and its columns first
        fingerprint = input_fingerprint(requests)
        n_input = int(runner.fetch(count_sql())["n"].iloc[0])
        steps = {
            "service_panel": (service_panel_sql(moment), lambda f: finish_service_panel(f, by_units=False)),
            "units_panel": (service_panel_sql(moment, by_units=True), lambda f: finish_service_panel(f, by_units=True)),
            "person_periods": (person_periods_sql(moment), finish_person_periods),
        }
        for name, (sql, finish) in steps.items():
            started = time.perf_counter()
            tables[name] = finish(runner.fetch(sql))
            if progress:
                progress(name, len(tables[name]), time.perf_counter() - started)
        versions = runner.versions()
    finally:
        if own:
            runner.close()
    manifest = {
        "format": FORMAT_VERSION,
        "engine": runner.name,
        "versions": {"pemda-wfa-analysis": _package_version(), "pandas": pd.__version__, **versions},
        "extracted_at": str(extracted_at),
        "extraction_moment": moment.isoformat(),
        "day_bins": list(DAY_BINS),
        "input": {**fingerprint, "rows": n_input,
                  "rows_used": int(tables["service_panel"]["n_submitted"].sum())},
        "tables": {name: {"file": FILES[name], "rows": len(frame)} for name, frame in tables.items()},
        "created_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
    }
    directory = None
    if out_dir is not None:
        directory = Path(out_dir)
        write_aggregated(directory, tables, manifest)
    return AggregatedPanels(tables["service_panel"], tables["units_panel"], tables["person_periods"], manifest,
                            directory)


def write_aggregated(directory: Path, tables: dict, manifest: dict) -> None:
    """Write the tables and, last, the manifest; every file via a temporary name and a rename."""
    directory.mkdir(parents=True, exist_ok=True)
    stale = directory / MANIFEST
    if stale.exists():
        stale.unlink()  # half-rewritten outputs must not look current
    for name, frame in tables.items():
        target = directory / FILES[name]
        partial = target.with_name(target.name + ".partial")
        frame.to_parquet(partial, index=False)
        os.replace(partial, target)
    partial = directory / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, directory / MANIFEST)


def _package_version() -> str:
    try:
        return metadata.version("pemda-wfa-analysis")
    except metadata.PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------------------------
# Reading the stage's output
# --------------------------------------------------------------------------------------------

def read_manifest(directory) -> dict:
    """``panels.json`` of an aggregation directory (:class:`DataContractError` if absent or of
    another format version)."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise DataContractError(f"{path}: no aggregation manifest (run: python -m analysis panels --data DIR "
                                f"--out {directory})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataContractError(f"{path}: not valid JSON ({exc})") from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise DataContractError(f"{path}: format {manifest.get('format')!r}, this code reads format "
                                f"{FORMAT_VERSION}; rerun python -m analysis panels")
    return manifest


def read_aggregated(directory, *, service_type: str | None = None) -> AggregatedPanels:
    """The stage's tables from ``directory``; with ``service_type`` only that slice (a Parquet
    filter while reading: the other rows never become a DataFrame). The frames equal
    ``build_service_panel(...)`` (filtered to the service type, index reset) and the input of
    :func:`person_period_counts`."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    filters = [("service_type", "=", service_type)] if service_type is not None else None
    frames = {}
    for name, file in FILES.items():
        path = directory / file
        if not path.exists():
            raise DataContractError(f"{path}: missing although {directory / MANIFEST} lists it; rerun "
                                    "python -m analysis panels")
        frames[name] = pq.read_table(path, filters=filters).to_pandas()
    return AggregatedPanels(
        finish_service_panel(frames["service_panel"], by_units=False),
        finish_service_panel(frames["units_panel"], by_units=True),
        finish_person_periods(frames["person_periods"]),
        manifest, directory,
    )


def latest_timestamp(requests) -> pd.Timestamp:
    """The latest ``submitted_at`` or ``completed_at`` of a requests source (the extraction moment
    to assume when a dataset does not state one)."""
    with DuckDBEngine() as engine:
        engine.register(requests)
        value = engine.fetch("SELECT greatest(max(submitted_at), max(completed_at)) AS latest FROM src")["latest"].iloc[0]
    if pd.isna(value):
        raise DataContractError("service_requests has no timestamps and no extraction date was given")
    return pd.Timestamp(value)


# --------------------------------------------------------------------------------------------
# Is it current?
# --------------------------------------------------------------------------------------------

def input_fingerprint(requests) -> dict:
    """``{"kind", "fingerprint", "files"}`` identifying a requests source without reading it all.

    Parquet files: SHA-256 over each file's name, size and Parquet footer (schema, row counts and
    per-row-group column statistics), in name order; a rewritten file changes it, a copied one
    does not. A DataFrame: SHA-256 of pandas' row hashes of the required columns. Remote URIs
    (``s3a://``...) cannot be checked from here: ``fingerprint`` is None.
    """
    if isinstance(requests, pd.DataFrame):
        hashed = pd.util.hash_pandas_object(requests[list(REQUIRED_COLUMNS)], index=False).to_numpy()
        return {"kind": "dataframe", "fingerprint": hashlib.sha256(hashed.tobytes()).hexdigest(), "files": 0}
    locations = parquet_sources(requests)
    if any("://" in loc for loc in locations):
        return {"kind": "remote", "fingerprint": None, "files": None}
    files = []
    for loc in locations:
        path = Path(loc)
        if path.is_dir():
            files += [(p.relative_to(path).as_posix(), p) for p in path.rglob("*.parquet")]
        elif any(ch in loc for ch in "*?["):
            files += [(Path(p).name, Path(p)) for p in glob.glob(loc, recursive=True) if Path(p).is_file()]
        else:
            files.append((path.name, path))
    digest = hashlib.sha256()
    for name, path in sorted(files):
        digest.update(name.encode())
        digest.update(str(path.stat().st_size).encode())
        digest.update(_parquet_footer(path))
    return {"kind": "parquet", "fingerprint": digest.hexdigest(), "files": len(files)}


def _parquet_footer(path: Path) -> bytes:
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size < 12:
            return handle.read()
        handle.seek(size - 8)
        tail = handle.read(8)
        length = int.from_bytes(tail[:4], "little")
        if tail[4:] != b"PAR1" or length + 8 > size:
            handle.seek(0)
            return hashlib.sha256(handle.read()).digest()
        handle.seek(size - 8 - length)
        return handle.read(length)


def is_current(directory, requests, *, extracted_at) -> bool:
    """True when ``directory`` holds this stage's output (this format) for ``requests`` extracted
    at ``extracted_at`` (same input fingerprint; remote inputs are never judged current)."""
    try:
        manifest = read_manifest(directory)
    except DataContractError:
        return False
    fingerprint = input_fingerprint(requests)
    return (fingerprint["fingerprint"] is not None
            and manifest["input"].get("fingerprint") == fingerprint["fingerprint"]
            and manifest.get("extraction_moment") == extraction_moment(extracted_at).isoformat()
            and all((Path(directory) / entry["file"]).exists() for entry in manifest["tables"].values()))
