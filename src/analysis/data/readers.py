"""Opening input files (CSV, Parquet, Excel) as DuckDB views, for the validation engine.

Each reader exposes a file as a DuckDB view with lower-case column names and ``__row``, the row
number as the user sees it in the file: for a CSV the physical line of the row (header = line 1
unless blank lines precede it; blank lines and values spanning several lines are counted), for
Excel the sheet row, for Parquet the 1-based data row. Values of text files stay text (VARCHAR;
:mod:`analysis.data.parsing` turns them into typed values); Parquet columns keep their types.
No Python loop runs per row of a CSV or Parquet file (Excel files are read by openpyxl, which is
per cell anyway; they are small).

Columns without a header name (``a,b,c,,,``: trailing separators of spreadsheet exports) are kept
under internal names (``Source.unnamed``) so that the validation can note them and reject a row
holding a value in one, instead of stopping the table.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import math
import os
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.data.parsing import quote_ident, sql_literal
from analysis.errors import DataContractError, DataWarning
from analysis.notes import Note

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".xlsx")
#: Prefix of the internal name of a column without a header name (followed by its position).
UNNAMED_PREFIX = "__unnamed_"


@dataclass
class Source:
    """A file opened as a DuckDB view (``view``) with its column names and DuckDB types.

    ``zones``: time zone recorded in the file for each time-zone-aware timestamp column
    (Parquet), e.g. ``Asia/Jakarta`` or ``+07:00``. ``unnamed``: internal names of the columns
    without a header name (``UNNAMED_PREFIX`` + 1-based position)."""

    path: Path
    view: str
    column_types: dict[str, str]
    format: str
    delimiter: str | None = None
    encoding: str | None = None
    notes: list[Note] = field(default_factory=list)
    zones: dict[str, str] = field(default_factory=dict)
    unnamed: list[str] = field(default_factory=list)
    #: temporary files backing the view (a UTF-8 copy of a non-UTF-8 CSV); delete after use
    temp_files: list[Path] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """Named columns (without the unnamed ones)."""
        return [c for c in self.column_types if c not in self.unnamed]


def normalise_column_name(name) -> str:
    text = "" if name is None else str(name)
    return re.sub(r"\s+", "_", text.replace("\ufeff", "").strip()).lower()


def _column_names(path: Path, names: list) -> tuple[list[str], list[str]]:
    """(normalised names with internal names for empty ones, the internal names); a name that
    appears twice stops the table."""
    normalised = [normalise_column_name(n) for n in names]
    unnamed = []
    for position, name in enumerate(normalised, start=1):
        if not name:
            normalised[position - 1] = f"{UNNAMED_PREFIX}{position}"
            unnamed.append(normalised[position - 1])
    seen = set()
    for name in normalised:
        if name in seen:
            raise DataContractError(f"{path.name}: column {name!r} appears twice in the header")
        seen.add(name)
    return normalised, unnamed


# --------------------------------------------------------------------------------------------
# Opening files
# --------------------------------------------------------------------------------------------

def csv_error_message(path: Path, source: "Source", exc: Exception) -> str:
    """Message for a structural CSV error (ragged row, bad quote) met while scanning the file."""
    message = str(exc)
    line = re.search(r"[Ll]ine:?\s*(\d+)", message)
    where = f" at line {line.group(1)}" if line else ""
    first = message.strip().splitlines()[0]
    return (f"{path.name}: cannot parse the CSV{where} with delimiter {source.delimiter!r} "
            f"({len(source.column_types)} columns in the header): {first}")


def open_source(con: duckdb.DuckDBPyConnection, path: Path, view: str,
                required: tuple[str, ...] = ()) -> Source:
    """Expose ``path`` as view ``view``. Raises DataContractError if the file cannot be read."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataContractError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise DataContractError(f"{path.name}: the file is empty (0 bytes; expected a header row)")
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataContractError(
            f"{path.name}: unsupported file type {suffix!r}; expected one of {', '.join(SUPPORTED_SUFFIXES)}")
    try:
        if suffix == ".csv":
            return _open_csv(con, path, view)
        if suffix == ".parquet":
            return _open_parquet(con, path, view)
        return _open_excel(con, path, view, required)
    except DataContractError:
        raise
    except (duckdb.Error, OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile,
            pa.ArrowException) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataContractError(f"{path.name}: cannot read the file as {suffix[1:]} "
                                f"({type(exc).__name__}: {first_line})") from exc


def _detect_encoding(path: Path) -> tuple[str, Note | None]:
    """(Python codec, note). UTF-8 (with or without BOM) or UTF-16 (by BOM); a file that is not
    valid UTF-8 is read as Windows-1252 (the usual Indonesian Excel "CSV" export) with a note."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", Note("file_utf16", {"file": path.name})
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        try:
            while chunk := handle.read(1 << 24):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return "cp1252", Note("file_not_utf8", {"file": path.name, "byte": f"0x{exc.object[exc.start]:02x}",
                                                    "offset": offset + exc.start, "read_as": "Windows-1252"})
    return "utf-8", None


def _transcode_to_utf8(path: Path, encoding: str) -> Path:
    """A temporary UTF-8 copy of a non-UTF-8 text file (the raw file is left untouched)."""
    handle, name = tempfile.mkstemp(prefix=f"{path.stem}.", suffix=".utf8.csv")
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out, \
            path.open("r", encoding=encoding, errors="replace", newline="") as src:
        while chunk := src.read(1 << 22):
            out.write(chunk)
    return Path(name)


def _header_line(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        for line in handle:
            if line.strip():
                return line.rstrip("\r\n")
    return ""


def record_line_runs(path: Path, chunk_bytes: int = 1 << 22) -> tuple[int, list[tuple[int, int]]]:
    """Where the header and the records of a CSV start: ``(header line, [(first record, its
    line), ...])``, one pair per run of records on consecutive lines (record 0 is the first data
    row; lines are 1-based).

    DuckDB skips empty lines and reads a quoted value across line breaks, so its record count is
    not the line number. One vectorised pass (numpy) finds the empty lines and the lines with an
    odd number of ``"`` (which open or close a quoted value); only those lines are walked in
    Python. A file with neither gives ``[(0, header line + 1)]``."""
    events: list[tuple[int, bool]] = []  # (line, odd quote count; else the line is empty)
    lines_before = 0
    carry = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(chunk_bytes)
            data = carry + block
            if not block:
                if data:
                    data += b"\n"  # the last line has no newline
                else:
                    break
            cut = data.rfind(b"\n") + 1
            carry, data = data[cut:], data[:cut]
            if data:
                arr = np.frombuffer(data, dtype=np.uint8)
                newlines = np.flatnonzero(arr == 10)
                starts = np.concatenate(([0], newlines[:-1] + 1))
                length = newlines - starts - (arr[np.maximum(newlines - 1, 0)] == 13)
                empty = np.flatnonzero(length <= 0)
                odd = np.empty(0, dtype=np.int64)
                if b'"' in data:
                    quotes = np.cumsum(arr == 34)[newlines]
                    odd = np.flatnonzero(np.diff(quotes, prepend=0) % 2 == 1)
                events += [(int(i) + lines_before + 1, False) for i in empty]
                events += [(int(i) + lines_before + 1, True) for i in odd]
                lines_before += len(newlines)
            if not block:
                break
    events.sort()
    runs: list[tuple[int, int]] = []
    state = {"record": -1, "header": 0}  # record -1 is the header; its line once found

    def starts_records(first: int, stop: int) -> None:  # lines [first, stop): one record each
        if first >= stop:
            return
        if not state["header"]:
            state["header"] = first
            first += 1
            if first >= stop:
                return
        record = state["record"] + 1
        if not runs or runs[-1][1] + (record - runs[-1][0]) != first:
            runs.append((record, first))
        state["record"] += stop - first

    inside, line = False, 1
    for event_line, odd in events:
        if not inside:
            starts_records(line, event_line)
        if odd:
            if not inside:
                starts_records(event_line, event_line + 1)
            inside = not inside
        line = event_line + 1
    if not inside:
        starts_records(line, lines_before + 1)
    header = state["header"] or 1
    return header, runs or [(0, header + 1)]


def _open_csv(con, path: Path, view: str) -> Source:
    encoding, note = _detect_encoding(path)
    read_path = path
    temp_files = []
    if encoding != "utf-8":
        read_path = _transcode_to_utf8(path, encoding)
        temp_files.append(read_path)
    header = _header_line(read_path)
    if not header.strip():
        raise DataContractError(f"{path.name}: the file is empty (no header row)")
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        delimiter = ","
    names, unnamed = _column_names(path, next(csv.reader([header], delimiter=delimiter)))
    columns = "{" + ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in names) + "}"
    header_line, runs = record_line_runs(read_path)
    # DuckDB takes the first line as the header even when it is blank: skip the lines above it
    reader = (f"read_csv({sql_literal(str(read_path))}, delim={sql_literal(delimiter)}, quote='\"', "
              f"escape='\"', header=true, skip={header_line - 1}, columns={columns}, "
              f"auto_detect=false, strict_mode=true, null_padding=false)")
    select = ", ".join(quote_ident(n) for n in names)
    record = "CAST(row_number() OVER () - 1 AS BIGINT)"
    if len(runs) == 1:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS "
                    f"SELECT {record} + {runs[0][1] - runs[0][0]} AS __row, {select} FROM {reader}")
    else:
        lines = quote_ident(f"{view}__lines")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {lines} (first_record BIGINT, first_line BIGINT)")
        con.executemany(f"INSERT INTO {lines} VALUES (?, ?)", runs)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS "
                    f"SELECT r.__record - l.first_record + l.first_line AS __row, {select} "
                    f"FROM (SELECT {record} AS __record, * FROM {reader}) AS r "
                    f"ASOF JOIN {lines} AS l ON r.__record >= l.first_record")
    source = Source(path, view, {n: "VARCHAR" for n in names}, "csv", delimiter, encoding,
                    temp_files=temp_files, unnamed=unnamed)
    if note:
        source.notes.append(note)
        if note.code == "file_not_utf8":
            warnings.warn(f"{path.name}: not valid UTF-8 (byte {note.params['byte']} at offset "
                          f"{note.params['offset']}); read as Windows-1252. Check names with accents; "
                          "save as 'CSV UTF-8' to avoid this", DataWarning, stacklevel=3)
    return source


def _arrow_zone(kind: pa.DataType) -> str | None:
    return kind.tz if pa.types.is_timestamp(kind) and kind.tz else None


def _open_parquet(con, path: Path, view: str) -> Source:
    described = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({sql_literal(str(path))})").fetchall()
    original = [row[0] for row in described]
    normalised, unnamed = _column_names(path, original)
    schema = pq.read_schema(path)
    zones = {}
    for name, row in zip(normalised, described):
        if str(row[1]).upper() == "TIMESTAMP WITH TIME ZONE":
            index = schema.get_field_index(row[0])
            zone = _arrow_zone(schema.field(index).type) if index >= 0 else None
            zones[name] = zone or "UTC"  # adjusted to UTC, no zone recorded
    select = ", ".join(f"{quote_ident(o)} AS {quote_ident(n)}" for o, n in zip(original, normalised))
    con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS "
                f"SELECT CAST(file_row_number + 1 AS BIGINT) AS __row, {select} "
                f"FROM read_parquet({sql_literal(str(path))}, file_row_number=true)")
    return Source(path, view, {n: str(row[1]) for n, row in zip(normalised, described)}, "parquet",
                  zones=zones, unnamed=unnamed)


def _excel_cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _read_workbook(path: Path) -> pd.DataFrame:
    try:
        return pd.read_excel(path, header=None, dtype=object, sheet_name=0, engine="openpyxl")
    except Exception as exc:  # a damaged workbook raises many types (BadZipFile, KeyError, XML errors)
        raise DataContractError(f"{path.name}: not a readable Excel workbook (.xlsx) "
                                f"({type(exc).__name__}: {str(exc).strip() or 'no detail'}); "
                                "save it again from Excel, or export it as CSV") from exc


def _cell_or_none(value):
    return None if value is None or value != value else value


def _open_excel(con, path: Path, view: str, required: tuple[str, ...]) -> Source:
    raw = _read_workbook(path)
    if raw.empty:
        raise DataContractError(f"{path.name}: the first sheet is empty (expected a header row)")
    # Real exports put title rows above the header: take the first row holding every required
    # column name (or, failing that, the first non-empty row).
    header_index = None
    for index in range(min(len(raw), 30)):
        cells = {normalise_column_name(v) for v in raw.iloc[index] if v is not None and v == v}
        if required and set(required) <= cells:
            header_index = index
            break
    if header_index is None:
        non_empty = raw.notna().any(axis=1)
        header_index = int(non_empty.to_numpy().argmax())
    body = raw.iloc[header_index + 1:]
    # columns without a header: kept (to reject rows holding a value there) unless entirely empty
    keep = [i for i, v in enumerate(raw.iloc[header_index])
            if str(_cell_or_none(v) or "").strip() or body.iloc[:, i].notna().any()]
    names, unnamed = _column_names(path, [_cell_or_none(raw.iloc[header_index, i]) for i in keep])
    body = body.iloc[:, keep]
    frame = pd.DataFrame({name: body.iloc[:, j].map(_excel_cell_text).astype(object)
                          for j, name in enumerate(names)})
    frame = frame.astype({name: "string" for name in names}) if names else frame
    # pandas row index 0 is sheet row 1 (header=None keeps every row)
    frame.insert(0, "__row", (body.index.to_numpy() + 1).astype("int64"))
    # drop fully empty rows at the end of the sheet (formatting residue), not counted as read
    data_cells = frame[names].notna().any(axis=1) if names else pd.Series(False, index=frame.index)
    frame = frame[data_cells.to_numpy()]
    registered = f"{view}__frame"
    con.register(registered, frame)
    select = ", ".join(quote_ident(n) for n in names)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS "
                f"SELECT __row, {select} FROM {quote_ident(registered)}")
    source = Source(path, view, {n: "VARCHAR" for n in names}, "xlsx", unnamed=unnamed)
    if header_index > 0:
        source.notes.append(Note("header_below_title_rows", {"file": path.name, "sheet_row": header_index + 1}))
    return source
