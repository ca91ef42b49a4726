"""The DuckDB connection the loader validates with, and Arrow -> pandas with DuckDB's dtypes."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import duckdb
import pandas as pd
import pyarrow as pa

#: Environment variable bounding DuckDB's memory (e.g. ``4GB``); default: a quarter of the RAM, 1-4 GB.
MEMORY_ENV_VAR = "PEMDA_WFA_DUCKDB_MEMORY"


def duckdb_memory_limit() -> str:
    """DuckDB memory limit: ``PEMDA_WFA_DUCKDB_MEMORY`` if set, else a quarter of the RAM within
    1-4 GB. Beyond it DuckDB spills to a private temporary directory instead of exhausting the
    machine. The limit is per connection, and a build runs the loader, the aggregation stage and
    two reports' kernels at once: with half the RAM (8 GB on 24 GB) a national build's processes
    together peaked at 8.1 GB, with 3 GB at 3.7 GB, in the same time (benchmarks/README.md)."""
    configured = os.environ.get(MEMORY_ENV_VAR, "").strip()
    if configured:
        return configured
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 4 * 2**30
    return f"{max(1, min(4, ram // 4 // 2**30))}GB"


@contextlib.contextmanager
def connection():
    """A DuckDB connection using every core, a bounded memory limit, a temporary directory of its
    own for spilling (removed afterwards; never the current or the data directory), and the UTC
    session time zone (so that no value depends on the machine's zone)."""
    spill = tempfile.mkdtemp(prefix="pemda-wfa-duckdb-")
    con = duckdb.connect(config={"threads": os.cpu_count() or 1, "memory_limit": duckdb_memory_limit(),
                                 "temp_directory": spill, "preserve_insertion_order": True})
    try:
        con.execute("SET TimeZone = 'UTC'")
        try:
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:
            pass  # inside a Jupyter kernel the setting is locked (and already off)
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def frame_from_arrow(table: pa.Table) -> pd.DataFrame:
    """``table`` as pandas, with the dtypes of DuckDB's ``.df()``: an integer column with NULLs is
    ``Int64``, a boolean one with NULLs ``boolean``, a text column that is empty or entirely NULL
    ``object`` (holding None). Much faster than ``.df()`` for text columns."""
    frame = table.to_pandas()
    n = table.num_rows
    for name, column in zip(table.column_names, table.columns):
        kind = column.type
        if pa.types.is_integer(kind) and column.null_count:
            frame[name] = column.to_pandas(types_mapper=lambda _t: pd.Int64Dtype()).array
        elif pa.types.is_boolean(kind) and column.null_count:
            frame[name] = column.to_pandas(types_mapper=lambda _t: pd.BooleanDtype()).array
        elif (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and column.null_count == n:
            frame[name] = pd.Series([None] * n, index=frame.index, dtype=object)
    return frame


def fetch_frame(con, query: str) -> pd.DataFrame:
    """Result of ``query`` as pandas (see :func:`frame_from_arrow`)."""
    return frame_from_arrow(con.sql(query).to_arrow_table())
