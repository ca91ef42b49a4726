"""Rejected rows: where their file goes, and the lines it holds (one per problem found).

The rejects file ``<table>.rejects.csv`` has the columns :data:`REJECT_COLUMNS`; a row with
several problems has several lines. Values of personal columns are shown as
``<redacted: N characters>`` and personal identifiers in any other value are masked (see
:mod:`analysis.data.privacy`), so a rejects file can be shared with the data provider.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.data.parsing import quote_ident, sql_literal
from analysis.errors import UsageError

#: Reject lines kept in memory per table (all of them go to the rejects file).
REJECTS_SAMPLE_ROWS = 1000
REJECT_COLUMNS = ("file", "row_number", "column", "value", "reason", "expected")


@dataclass(frozen=True)
class Check:
    """One check of the validation: a SQL predicate (TRUE = problem) and what a reject shows."""

    column: str
    reason: str
    expected: str   # SQL giving the expected text (a literal, or an expression over the row)
    predicate: str  # SQL over the parsed view, TRUE = problem
    value_sql: str  # SQL giving the value to show in the rejects file (personal data masked)
    #: SQL deciding whether the problem is listed for a rejected row, when it differs from
    #: ``predicate`` (a rule is not listed again for a value its column already reports)
    listed_if: str | None = None


def default_rejects_dir(data_dir: Path) -> Path:
    """``DATA_DIR/../rejects/<name of DATA_DIR>/``: next to, never inside, the raw data."""
    data_dir = Path(data_dir).resolve()
    return data_dir.parent / "rejects" / data_dir.name


def prepare_rejects_dir(rejects_dir: Path) -> Path:
    """Create ``rejects_dir`` and check that files can be written there, before any validation.

    Raises UsageError naming the directory (and suggesting ``--rejects``) when it cannot be
    created or written, e.g. next to a data directory on a read-only share."""
    rejects_dir = Path(rejects_dir)
    try:
        rejects_dir.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test.", dir=rejects_dir)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{rejects_dir}: cannot write the rejected rows there "
                         f"({exc.strerror or exc}); give a writable directory with --rejects DIR") from exc
    return rejects_dir


def empty_rejects() -> pd.DataFrame:
    return pd.DataFrame(columns=list(REJECT_COLUMNS))


def collect_rejects(con, checked: str, checks: list[Check], file_name: str, table: str,
                    rejects_dir: Path | None, n_rejected: int) -> tuple[pd.DataFrame, str | None]:
    """Reject lines of the rejected rows of view ``checked`` (``__first`` not NULL): all of them
    to ``rejects_dir/<table>.rejects.csv`` when given, the first ``REJECTS_SAMPLE_ROWS`` returned.
    A stale rejects file of an earlier run is removed even when nothing is rejected now."""
    target = None
    if rejects_dir is not None:
        target = Path(rejects_dir) / f"{table}.rejects.csv"
        target.unlink(missing_ok=True)
    if n_rejected == 0:
        return empty_rejects(), None
    rejected = quote_ident(f"__rejected_{table}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {rejected} AS SELECT * FROM {checked} WHERE __first IS NOT NULL")
    parts = []
    for i, check in enumerate(checks):
        flag = f"coalesce(({check.listed_if or check.predicate}), FALSE)"  # re-evaluated on rejected rows only
        parts.append(
            f"SELECT __row AS row_number, {i} AS __check, {sql_literal(check.column)} AS \"column\", "
            f"CAST({check.value_sql} AS VARCHAR) AS value, {sql_literal(check.reason)} AS reason, "
            f"CAST({check.expected} AS VARCHAR) AS expected FROM {rejected} WHERE {flag}")
    query = (f"SELECT {sql_literal(file_name)} AS file, row_number, \"column\", value, reason, expected "
             f"FROM ({' UNION ALL '.join(parts)}) ORDER BY row_number, __check")
    try:
        if target is not None:
            con.execute(f"COPY ({query}) TO {sql_literal(str(target))} (HEADER, DELIMITER ',')")
        sample = con.execute(f"{query} LIMIT {REJECTS_SAMPLE_ROWS}").df()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rejected}")
    return sample, (str(target) if target is not None else None)
