"""Where the aggregation SQL runs: the requests source, and the DuckDB engine.

An engine has ``name``, ``register(requests)`` (make the requests the relation ``src``),
``fetch(sql) -> pandas.DataFrame``, ``versions() -> dict`` and ``close()``. The DuckDB engine is
here; the Spark engine (optional dependency) is :class:`analysis.panels.spark.SparkEngine`.

A requests source is a pandas DataFrame with the ``service_requests`` columns, or Parquet: one
file, a glob (``requests/*.parquet``), a directory of Parquet files (a data-lake layout, Hive
partitions such as ``year=2026/`` allowed) or a list of any of these.
"""

from __future__ import annotations

import glob
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from analysis.data.parsing import sql_literal
from analysis.errors import DataContractError
from analysis.panels.queries import REQUIRED_COLUMNS


def extraction_moment(extracted_at) -> pd.Timestamp:
    """The instant of extraction: a bare date (midnight) is read as the end of that day."""
    ts = pd.Timestamp(extracted_at)
    if ts.tz is not None:
        ts = ts.tz_convert(None)
    if ts == ts.normalize():
        ts = ts + pd.Timedelta(days=1)
    return ts


def parquet_sources(requests) -> list[str]:
    """The Parquet locations of a requests source (not a DataFrame), as given: files, globs or
    directories. Local paths that match nothing are a :class:`DataContractError`; URIs such as
    ``s3a://...`` are passed on untouched (an engine with access reads them)."""
    items = list(requests) if isinstance(requests, (list, tuple)) else [requests]
    if not items:
        raise DataContractError("no service_requests files given")
    out = []
    for item in items:
        text = str(item)
        if "://" in text:
            out.append(text)
            continue
        path = Path(text)
        if any(ch in text for ch in "*?["):
            if not glob.glob(text, recursive=True):
                raise DataContractError(f"{text}: no file matches this pattern")
        elif path.is_dir():
            if not any(path.rglob("*.parquet")):
                raise DataContractError(f"{text}: directory holds no .parquet file")
        elif not path.exists():
            raise DataContractError(f"{text}: no such file")
        elif path.suffix.lower() != ".parquet":
            raise DataContractError(
                f"{text}: give Parquet files or a DataFrame; load CSV/Excel with analysis.data first")
        out.append(text)
    return out


def check_columns(columns, where: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in set(columns)]
    if missing:
        raise DataContractError(f"{where} lacks required column(s): {', '.join(missing)} "
                                f"(service_requests needs {', '.join(REQUIRED_COLUMNS)})")


def connect(*, threads: int | None = None, memory_limit: str | None = None,
            temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that spills to ``temp_directory`` (default: a new private
    temporary directory)."""
    con = duckdb.connect(":memory:")
    spill = temp_directory or tempfile.mkdtemp(prefix="panel_duckdb_")
    con.execute(f"SET temp_directory = {sql_literal(spill)}")
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:  # inside Jupyter without ipywidgets DuckDB refuses to touch the setting
        pass
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if not memory_limit:  # PEMDA_WFA_DUCKDB_MEMORY, else a quarter of the RAM within 1-4 GB (as the loader)
        from analysis.data.connection import duckdb_memory_limit

        memory_limit = duckdb_memory_limit()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def register_duckdb_source(con: duckdb.DuckDBPyConnection, requests) -> str:
    """Make ``requests`` the view ``src`` of ``con`` (only the required columns)."""
    columns = ", ".join(REQUIRED_COLUMNS)
    if isinstance(requests, pd.DataFrame):
        check_columns(requests.columns, "service_requests")
        con.register("src_df", requests[list(REQUIRED_COLUMNS)])
        con.execute(f"CREATE OR REPLACE TEMP VIEW src AS SELECT {columns} FROM src_df")
        return "src"
    locations = []
    for text in parquet_sources(requests):
        if "://" not in text and Path(text).is_dir():
            text = str(Path(text) / "**" / "*.parquet")
        locations.append(sql_literal(text))
    where = ", ".join(str(r) for r in (requests if isinstance(requests, (list, tuple)) else [requests]))
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW src_all AS SELECT * FROM read_parquet([{', '.join(locations)}], "
                    "hive_partitioning = true, union_by_name = true)")
        available = [r[0] for r in con.execute("DESCRIBE src_all").fetchall()]
    except duckdb.Error as exc:
        raise DataContractError(f"{where}: not readable as Parquet ({exc})") from exc
    check_columns(available, where)
    con.execute(f"CREATE OR REPLACE TEMP VIEW src AS SELECT {columns} FROM src_all")
    return "src"


class DuckDBEngine:
    """Runs the aggregation SQL in an in-process DuckDB (out of core, ``memory_limit`` bounded)."""

    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None,
                 con: duckdb.DuckDBPyConnection | None = None):
        self._own = con is None
        self._spill = tempfile.TemporaryDirectory(prefix="panel_duckdb_") if self._own else None
        self.con = con or connect(threads=threads, memory_limit=memory_limit, temp_directory=self._spill.name)

    def register(self, requests) -> None:
        register_duckdb_source(self.con, requests)

    def fetch(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def versions(self) -> dict:
        return {"duckdb": duckdb.__version__}

    def close(self) -> None:
        if self._own:
            self.con.close()
            self._spill.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
