"""Reading input files into DuckDB and parsing Indonesian formats with vectorised SQL.

Each reader exposes a file as a DuckDB view with lower-case column names and ``__row``, the row
number as the user sees it in the file (CSV: header = row 1, so the first data row is 2; Excel:
the sheet row; Parquet: 1-based data row). Values of text files stay text (VARCHAR); the
``*_sql`` helpers turn text into typed values, returning NULL where a value cannot be parsed.
No Python loop runs per row of a CSV or Parquet file (Excel files are read by openpyxl, which
is per cell anyway; they are small).

Number notation (per column and file, decided on all its values, ``number_mode``):
Indonesian (``.`` thousands, ``,`` decimals) if any value has a comma, an ``Rp``/``IDR`` prefix,
or two thousands groups (``1.234.567``); otherwise a plain dot decimal. A column whose dotted
values all look like one thousands group (``1.234``) is ambiguous: it is read with a dot decimal
and a note is added to the report.
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
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analysis.errors import DataContractError

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".xlsx")

#: Values that mean "empty" in real exports (compared lower-case, after trimming).
NULL_TOKENS = ("", "-", "–", "—", "n/a", "na", "null", "none", "nan", "nat",
               "0000-00-00", "0000-00-00 00:00:00", "00-00-0000", "00/00/0000")

MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "feb": 2, "pebruari": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}


@dataclass
class Source:
    """A file opened as a DuckDB view (``view``) with its column names and DuckDB types."""

    path: Path
    view: str
    column_types: dict[str, str]
    format: str
    delimiter: str | None = None
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    #: temporary files backing the view (a UTF-8 copy of a non-UTF-8 CSV); delete after use
    temp_files: list[Path] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return list(self.column_types)


def sql_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def normalise_column_name(name) -> str:
    text = "" if name is None else str(name)
    return re.sub(r"\s+", "_", text.replace("\ufeff", "").strip()).lower()


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
    try:
        if suffix == ".csv":
            return _open_csv(con, path, view)
        if suffix == ".parquet":
            return _open_parquet(con, path, view)
        if suffix == ".xlsx":
            return _open_excel(con, path, view, required)
    except DataContractError:
        raise
    except (duckdb.Error, OSError, ValueError, KeyError, IndexError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataContractError(f"{path.name}: cannot read the file as {suffix[1:]}: {first_line}") from exc
    raise DataContractError(
        f"{path.name}: unsupported file type {suffix!r}; expected one of {', '.join(SUPPORTED_SUFFIXES)}")


def _detect_encoding(path: Path) -> tuple[str, str | None]:
    """(Python codec, note). UTF-8 (with or without BOM) or UTF-16 (by BOM); a file that is not
    valid UTF-8 is read as Windows-1252 (the usual Indonesian Excel "CSV" export) with a note."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", f"{path.name}: UTF-16 text; converted to UTF-8 to read it"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        try:
            while chunk := handle.read(1 << 24):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return "cp1252", (f"{path.name}: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at "
                              f"offset {offset + exc.start}); read as Windows-1252. Check names with "
                              "accents; save as 'CSV UTF-8' to avoid this")
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
    names = next(csv.reader([header], delimiter=delimiter))
    normalised = [normalise_column_name(n) for n in names]
    _check_duplicate_columns(path, normalised)
    columns = "{" + ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in normalised) + "}"
    reader = (f"read_csv({sql_literal(str(read_path))}, delim={sql_literal(delimiter)}, quote='\"', "
              f"escape='\"', header=true, columns={columns}, "
              f"auto_detect=false, strict_mode=true, null_padding=false)")
    select = ", ".join(quote_ident(n) for n in normalised)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS "
                f"SELECT CAST(row_number() OVER () + 1 AS BIGINT) AS __row, {select} FROM {reader}")
    source = Source(path, view, {n: "VARCHAR" for n in normalised}, "csv", delimiter, encoding,
                    temp_files=temp_files)
    if note:
        source.notes.append(note)
        warnings.warn(note, stacklevel=3)
    return source


def _open_parquet(con, path: Path, view: str) -> Source:
    described = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({sql_literal(str(path))})").fetchall()
    original = [row[0] for row in described]
    normalised = [normalise_column_name(n) for n in original]
    _check_duplicate_columns(path, normalised)
    select = ", ".join(f"{quote_ident(o)} AS {quote_ident(n)}" for o, n in zip(original, normalised))
    con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(view)} AS "
                f"SELECT CAST(file_row_number + 1 AS BIGINT) AS __row, {select} "
                f"FROM read_parquet({sql_literal(str(path))}, file_row_number=true)")
    return Source(path, view, {n: str(row[1]) for n, row in zip(normalised, described)}, "parquet")


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


def _open_excel(con, path: Path, view: str, required: tuple[str, ...]) -> Source:
    raw = pd.read_excel(path, header=None, dtype=object, sheet_name=0, engine="openpyxl")
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
    header = [normalise_column_name(v) if v is not None and v == v else "" for v in raw.iloc[header_index]]
    keep = [i for i, name in enumerate(header) if name]
    names = [header[i] for i in keep]
    _check_duplicate_columns(path, names)
    body = raw.iloc[header_index + 1:, keep]
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
    source = Source(path, view, {n: "VARCHAR" for n in names}, "xlsx")
    if header_index > 0:
        source.notes.append(f"{path.name}: header found on sheet row {header_index + 1}; rows above it ignored")
    return source


def _check_duplicate_columns(path: Path, names: list[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise DataContractError(f"{path.name}: column {name!r} appears twice in the header")
        seen.add(name)


# --------------------------------------------------------------------------------------------
# Vectorised parsing (SQL expressions over a VARCHAR expression)
# --------------------------------------------------------------------------------------------

def clean_text_sql(expr: str) -> str:
    """Trimmed text, NULL for the empty tokens of real exports (``-``, ``N/A``, ``0000-00-00`` …)."""
    tokens = ", ".join(sql_literal(t) for t in NULL_TOKENS)
    text = f"CAST({expr} AS VARCHAR)"
    trimmed = f"trim({text})"
    full = f"CASE WHEN lower({trimmed}) IN ({tokens}) THEN NULL ELSE {trimmed} END"
    # Fast path (most values): starting with a letter or digit that no empty token starts with
    # (not n/N/0) and ending with printable ASCII, the value has nothing to trim and is no token.
    first = f"ascii({text})"
    plain = (f"({first} BETWEEN 49 AND 57 OR {first} BETWEEN 65 AND 77 OR {first} BETWEEN 79 AND 90 "
             f"OR {first} BETWEEN 97 AND 109 OR {first} BETWEEN 111 AND 122) "
             f"AND ascii(right({text}, 1)) BETWEEN 33 AND 126")
    return f"CASE WHEN {plain} THEN {text} ELSE {full} END"


def _number_text_sql(clean: str) -> str:
    # drop currency prefix and inner blanks: "Rp. 1.234.567,00" -> "1.234.567,00"
    return (f"replace(CASE WHEN lower(left({clean}, 1)) IN ('r', 'i') "
            f"THEN regexp_replace(lower({clean}), '^(rp\\.?|idr)\\s*', '') ELSE {clean} END, ' ', '')")


def number_evidence_sql(clean: str, alias: str) -> str:
    """Aggregates deciding the number notation of one column (see module docstring)."""
    text = _number_text_sql(clean)
    dotted = f"contains({clean}, '.')"
    return (f"bool_or(contains({clean}, ',') OR lower(left({clean}, 1)) IN ('r', 'i') "
            f"OR length({clean}) - length(replace({clean}, '.', '')) >= 2) AS {quote_ident(alias + '__comma')}, "
            f"bool_or({dotted} AND regexp_full_match({text}, '[+-]?\\d{{1,3}}\\.\\d{{3}}')) "
            f"AS {quote_ident(alias + '__ambiguous')}, "
            f"bool_or({dotted} AND regexp_full_match({text}, '[+-]?(\\d*\\.(\\d{{1,2}}|\\d{{4,}})|\\d{{4,}}\\.\\d+)')) "
            f"AS {quote_ident(alias + '__dotdecimal')}")


def number_sql(clean: str, decimal_comma: bool) -> str:
    """DOUBLE from cleaned text; NULL if it is not a number in the given notation."""
    text = _number_text_sql(clean)
    # fast path: digits only (no separator, no currency) -> a plain cast
    plain = (f"WHEN NOT contains({clean}, '.') AND NOT contains({clean}, ',') "
             f"AND lower(left({clean}, 1)) NOT IN ('r', 'i') AND isfinite(TRY_CAST({clean} AS DOUBLE)) "
             f"THEN TRY_CAST({clean} AS DOUBLE) ")
    if decimal_comma:
        return (f"CASE {plain}WHEN regexp_full_match({text}, '[+-]?(\\d{{1,3}}(\\.\\d{{3}})+|\\d+)(,\\d+)?') "
                f"THEN TRY_CAST(replace(replace({text}, '.', ''), ',', '.') AS DOUBLE) END")
    return (f"CASE {plain}WHEN regexp_full_match({text}, '[+-]?(\\d+(\\.\\d*)?|\\.\\d+)(e[+-]?\\d+)?') "
            f"THEN TRY_CAST({text} AS DOUBLE) END")


def _month_number_sql(name_expr: str) -> str:
    """Month number (1-12) of an Indonesian or English month name or abbreviation; NULL if unknown."""
    names = ", ".join(sql_literal(k) for k in MONTHS)
    numbers = ", ".join(str(v) for v in MONTHS.values())
    return f"([{numbers}][list_position([{names}], rtrim({name_expr}, '.'))])"


def timestamp_sql(clean: str) -> str:
    """TIMESTAMP from cleaned text; NULL if unparseable or not a real calendar date.

    Accepts ``2026-01-14[ T]08:30[:00[.fff]]``, ``14-01-2026`` / ``14/01/2026`` / ``14.01.2026``
    (day first) with an optional time, and ``14 Januari 2026`` / ``14 Jan 2026`` with an optional
    time. Time-zone offsets are not accepted (store local time)."""
    s = f"lower({clean})"
    time = "([ t]\\d{1,2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?"
    month = _month_number_sql(f"regexp_extract({s}, '^\\d{{1,2}}\\s+([a-z]+\\.?)', 1)")
    named = (f"replace(regexp_replace({s}, '^(\\d{{1,2}})\\s+[a-z]+\\.?\\s+(\\d{{4}})', '\\2-@-\\1'), "
             f"'@', CAST({month} AS VARCHAR))")
    return (
        f"CASE WHEN {clean} IS NULL THEN NULL "
        # fast path: ISO date or date-time (the common case in database exports)
        f"WHEN length({clean}) IN (10, 16, 19) AND substr({clean}, 5, 1) = '-' "
        f"AND substr({clean}, 8, 1) = '-' AND (length({clean}) = 10 OR substr({clean}, 11, 1) IN (' ', 'T')) "
        f"THEN try_strptime(replace({clean}, 'T', ' '), ['%Y-%m-%d', '%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S']) "
        f"WHEN regexp_full_match({s}, '\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}{time}') "
        f"THEN TRY_CAST(replace({s}, 't', ' ') AS TIMESTAMP) "
        f"WHEN regexp_full_match({s}, '\\d{{1,2}}[-/.]\\d{{1,2}}[-/.]\\d{{4}}( \\d{{1,2}}:\\d{{2}}(:\\d{{2}})?)?') "
        f"THEN TRY_CAST(regexp_replace({s}, '^(\\d{{1,2}})[-/.](\\d{{1,2}})[-/.](\\d{{4}})', '\\3-\\2-\\1') AS TIMESTAMP) "
        f"WHEN regexp_full_match({s}, '\\d{{1,2}}\\s+[a-z]+\\.?\\s+\\d{{4}}(\\s+\\d{{1,2}}:\\d{{2}}(:\\d{{2}})?)?') "
        f"THEN TRY_CAST({named} AS TIMESTAMP) "
        f"END"
    )


def period_sql(clean: str) -> str:
    """``YYYY-MM`` text from cleaned text; NULL if not a month.

    Accepts ``2026-01``, ``2026-1``, ``2026/01``, ``01/2026``, ``01-2026``, ``Januari 2026``,
    ``Jan 2026`` and full dates (see :func:`timestamp_sql`; the month is kept)."""
    s = f"lower({clean})"

    def month(y: str, m: str) -> str:
        return f"strftime(TRY_CAST({y} || '-' || {m} || '-01' AS DATE), '%Y-%m')"

    named_month = _month_number_sql(f"regexp_extract({s}, '^([a-z]+\\.?)', 1)")
    return (
        f"CASE WHEN {clean} IS NULL THEN NULL "
        f"WHEN length({clean}) = 7 AND substr({clean}, 5, 1) = '-' "
        f"THEN CASE WHEN TRY_CAST({clean} || '-01' AS DATE) IS NOT NULL THEN {clean} END "
        f"WHEN regexp_full_match({s}, '\\d{{4}}[-/]\\d{{1,2}}') "
        f"THEN {month(f'left({s}, 4)', f'substr({s}, 6)')} "
        f"WHEN regexp_full_match({s}, '\\d{{1,2}}[-/]\\d{{4}}') "
        f"THEN {month(f'right({s}, 4)', f'split_part(replace({s}, chr(47), chr(45)), chr(45), 1)')} "
        f"WHEN regexp_full_match({s}, '[a-z]+\\.?\\s+\\d{{4}}') "
        f"THEN {month(f'right({s}, 4)', f'CAST({named_month} AS VARCHAR)')} "
        f"ELSE strftime({timestamp_sql(clean)}, '%Y-%m') END"
    )


def bool_sql(clean: str) -> str:
    s = f"lower({clean})"
    return (f"CASE WHEN {s} IN ('true', 't', '1', 'ya', 'y', 'yes', 'benar') THEN TRUE "
            f"WHEN {s} IN ('false', 'f', '0', 'tidak', 'n', 'no', 'salah', 'tdk') THEN FALSE END")


def region_text_sql(clean: str) -> str:
    """Region code text with inner blanks removed (``33. 72`` -> ``33.72``)."""
    return f"replace({clean}, ' ', '')"


def region_code_variants(codes) -> pd.DataFrame:
    """Lookup of every accepted spelling of the given canonical codes.

    Columns ``variant`` (text as found in a file), ``canonical`` (the code, or the candidates
    joined by `` or `` when ambiguous), ``ambiguous`` (bool). Spellings:

    * canonical ``NN`` / ``NN.NN``; undotted ``NNNN`` (BPS style); a province as ``NN.0``
      (Excel turned it into a number);
    * one lost zero, ``NN.K`` / ``NNK``: stands for ``NN.K0`` (trailing zero lost, Excel) or
      ``NN.0K`` (leading zero lost, integer pairs). It is accepted only when exactly one of the two
      exists in the regions table; otherwise it is ambiguous (e.g. ``11.1``: both ``11.10`` and
      ``11.01`` exist) and the row is rejected.
    """
    candidates: dict[str, set[str]] = {}

    def add(variant: str, code: str) -> None:
        candidates.setdefault(variant, set()).add(code)

    canonical = {str(c) for c in codes}
    for code in canonical:
        add(code, code)
        if len(code) == 2:
            add(code + ".0", code)
            add(code + ".00", code)
        elif len(code) == 5:
            province, local = code[:2], code[3:]
            add(province + local, code)
            if local.endswith("0"):
                add(f"{province}.{local[0]}", code)
                add(f"{province}{local[0]}", code)
            if local.startswith("0"):
                add(f"{province}.{local[1]}", code)
                add(f"{province}{local[1]}", code)
    rows = []
    for variant, codes_for_variant in candidates.items():
        if variant in canonical:  # an exact code always means itself
            rows.append((variant, variant, False))
        elif len(codes_for_variant) == 1:
            rows.append((variant, next(iter(codes_for_variant)), False))
        else:
            rows.append((variant, " or ".join(sorted(codes_for_variant)), True))
    return pd.DataFrame(rows, columns=["variant", "canonical", "ambiguous"])


def own_region_code_sql(clean: str) -> str:
    """Canonical code for the ``regions`` table itself (no lookup): ``NN``, ``NN.NN``, undotted
    ``NNNN``, or ``NN.0`` for a province; NULL otherwise."""
    s = region_text_sql(clean)
    return (f"CASE WHEN regexp_full_match({s}, '\\d{{2}}(\\.\\d{{2}})?') THEN {s} "
            f"WHEN regexp_full_match({s}, '\\d{{4}}') THEN left({s}, 2) || '.' || right({s}, 2) "
            f"WHEN regexp_full_match({s}, '\\d{{2}}\\.00?') THEN left({s}, 2) END")
