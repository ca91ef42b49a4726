"""Load and validate a dataset directory against the data contract (``analysis.data.schemas``).

A dataset directory holds one file per table (``regions``, ``policies``, ``service_requests``,
``budget``, ``transfers``; ``.csv``, ``.parquet`` or ``.xlsx``) and ``dataset.json``
(``{"extracted_at": "2026-10-31", ...}``). Raw files are only ever read.

How a table is validated (all in DuckDB SQL over the file, so memory stays bounded and no Python
loop runs per row): the file is exposed as a view of text (or typed Parquet) columns; each column
is parsed with vectorised SQL (Indonesian numbers and dates, see ``analysis.data.readers``); every
rule of the schema is a SQL predicate naming one reject reason. The file is scanned once: the
cleaned and parsed columns and each row's first failing check are stored in a DuckDB temp table,
and the counts, the duplicate-key check (a grouped count), the rejects and the accepted rows are
all taken from it. Parquet columns already of the wanted type are used as they are (no text
parsing). Only accepted rows are materialised into pandas (through Arrow).

:func:`load_dataset` caches its result (accepted tables as Parquet, the report as JSON) outside the
data directory, keyed on the input files' bytes, the code and a fingerprint of the salt; see
"Validated-data cache" below and :func:`cache_dir`.

Rejected rows: a row is rejected once, however many rules it breaks, so that
``rows_accepted + rows_rejected == rows_read`` always holds. The rejects file lists every
problem found on the row (one line per problem); the report counts each rejected row once,
under its first problem in schema order (columns in declared order, then cross-column rules,
then duplicate keys). A duplicate key is looked for only among rows without other problems:
the first such row in the file is kept, later ones are rejected (``duplicate_key``).

Failures that stop a table altogether (unreadable or empty file, missing required column,
two files for one table) raise :class:`~analysis.errors.DataContractError` naming the file and
the column.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from analysis import paths
from analysis.data import privacy, readers
from analysis.errors import DataContractError
from analysis.data.readers import quote_ident, sql_literal
from analysis.data.schemas import SCHEMAS, TABLES, Column, TableSchema

#: Reject lines kept in memory per table (all of them go to the rejects file).
REJECTS_SAMPLE_ROWS = 1000
REJECT_COLUMNS = ("file", "row_number", "column", "value", "reason", "expected")

_UNPARSEABLE_REASON = {
    "int": ("not_a_number", "a whole number (e.g. 1234 or 1.234)"),
    "float": ("not_a_number", "a number (e.g. 1234,5 or 1.234.567,89 or 1234.5)"),
    "bool": ("not_a_boolean", "true/false (also 1/0, ya/tidak)"),
    "date": ("not_a_date", "a date (2026-01-14, 14-01-2026, 14 Januari 2026)"),
    "timestamp": ("not_a_date", "a date or date-time (2026-01-14 08:30, 14/01/2026, 14 Januari 2026)"),
    "period": ("not_a_period", "a month YYYY-MM (also 2026/01, 01/2026, Januari 2026)"),
}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableReport:
    """What happened to one table: rows read, accepted, and rejected by first reason.

    ``rejected_by_reason`` maps ``"column: reason"`` to the number of rejected rows whose first
    problem it is (its values sum to ``rows_rejected``). ``rejects`` holds up to
    ``REJECTS_SAMPLE_ROWS`` reject lines (columns ``REJECT_COLUMNS``); ``rejects_file`` is where
    all of them were written (None if not written)."""

    table: str
    file: str
    rows_read: int
    rows_accepted: int
    rejected_by_reason: dict[str, int]
    notes: tuple[str, ...] = ()
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(REJECT_COLUMNS)),
                                  repr=False, compare=False)
    rejects_file: str | None = None

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_accepted

    def to_frame(self) -> pd.DataFrame:
        """Rows per outcome: ``accepted``, then one line per reject reason (``rows`` column)."""
        lines = [("read", "", self.rows_read), ("accepted", "", self.rows_accepted)]
        for reason, count in sorted(self.rejected_by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(("rejected", reason, count))
        return pd.DataFrame(lines, columns=["outcome", "reason", "rows"])


@dataclass(frozen=True)
class ValidationReport:
    """Reports of every table validated, and the tables that could not be read at all."""

    tables: dict[str, TableReport]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def has_rejects(self) -> bool:
        return any(r.rows_rejected for r in self.tables.values())

    def to_frame(self) -> pd.DataFrame:
        rows = [(name, r.file, r.rows_read, r.rows_accepted, r.rows_rejected)
                for name, r in self.tables.items()]
        return pd.DataFrame(rows, columns=["table", "file", "rows_read", "rows_accepted", "rows_rejected"])


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: accepted rows of every table (None if absent) and how they were checked."""

    regions: pd.DataFrame | None
    policies: pd.DataFrame | None
    service_requests: pd.DataFrame | None
    budget: pd.DataFrame | None
    transfers: pd.DataFrame | None
    extracted_at: pd.Timestamp | None
    metadata: dict
    validation: ValidationReport
    data_dir: Path


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

def load_dataset(data_dir, *, rejects_dir=None, use_cache: bool = True) -> Dataset:
    """Read and validate every table of ``data_dir``; return the accepted rows, typed.

    ``regions`` and ``policies`` fall back to the bundled reference files
    (``analysis.paths.REGIONS_CSV`` / ``POLICIES_CSV``) when the dataset has none. Rejected rows
    are written to ``rejects_dir`` (``<table>.rejects.csv``) if given. Raises DataContractError
    for an unreadable file or a missing required column.

    ``use_cache``: reuse the result of an earlier load of the very same files (same bytes, code
    and salt; see :func:`cache_dir`), and store this one. With ``rejects_dir`` the data are always
    validated (to write the rejects files), and the result is stored.
    """
    data_dir = Path(data_dir)
    root = cache_dir() if use_cache else None
    if root is not None and data_dir.is_dir():
        resolved = data_dir.resolve()
        if root.resolve().is_relative_to(resolved):
            root = None  # never write inside a raw data directory
    key = None
    if root is not None and data_dir.is_dir():
        key = _cache_key(data_dir.resolve(), root)
        if rejects_dir is None:
            cached = _read_cache_entry(root, key, data_dir)
            if cached is not None:
                return cached
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = _load_dataset_uncached(data_dir, rejects_dir)
    for item in caught:
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    if key is not None:
        try:
            _write_cache_entry(root, key, dataset,
                               [(item.category.__name__, str(item.message)) for item in caught])
        except OSError as exc:
            warnings.warn(f"could not cache the validated dataset in {root}: {exc}", stacklevel=2)
    return dataset


def _load_dataset_uncached(data_dir: Path, rejects_dir) -> Dataset:
    run = _DatasetRun(data_dir, rejects_dir=rejects_dir, materialise=True,
                      include_bundled=True, raise_errors=True)
    run.execute()
    return Dataset(
        regions=run.frames.get("regions"),
        policies=run.frames.get("policies"),
        service_requests=run.frames.get("service_requests"),
        budget=run.frames.get("budget"),
        transfers=run.frames.get("transfers"),
        extracted_at=run.extracted_at,
        metadata=run.metadata,
        validation=ValidationReport(dict(run.reports), dict(run.errors)),
        data_dir=run.data_dir,
    )


def load_table(data_dir, table: str) -> pd.DataFrame:
    """Accepted rows of one table of ``data_dir`` (validated as in :func:`load_dataset`).

    Region codes are checked against the dataset's ``regions`` (or the bundled one)."""
    if table not in SCHEMAS:
        raise KeyError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    run = _DatasetRun(Path(data_dir), rejects_dir=None, materialise=True,
                      include_bundled=True, raise_errors=True, only=table)
    run.execute()
    frame = run.frames.get(table)
    if frame is None:
        raise DataContractError(f"{run.data_dir}: no file for table {table!r} "
                                f"(expected {table}.csv, {table}.parquet or {table}.xlsx)")
    return frame


def validate_dataset(data_dir, *, rejects_dir=None) -> ValidationReport:
    """Validate every table present in ``data_dir`` without materialising accepted rows.

    Errors that stop a table (unreadable file, missing column) are collected in
    ``ValidationReport.errors`` instead of raised, so every table gets checked."""
    run = _DatasetRun(Path(data_dir), rejects_dir=rejects_dir, materialise=False,
                      include_bundled=False, raise_errors=False)
    run.execute()
    return ValidationReport(dict(run.reports), dict(run.errors))


def find_table_files(data_dir: Path) -> dict[str, Path]:
    """The file of each table present in ``data_dir``; DataContractError if a table has two."""
    found: dict[str, Path] = {}
    for table in TABLES:
        matches = [data_dir / f"{table}{suffix}" for suffix in readers.SUPPORTED_SUFFIXES
                   if (data_dir / f"{table}{suffix}").is_file()]
        if len(matches) > 1:
            raise DataContractError(
                f"{data_dir}: table {table!r} has several files ({', '.join(p.name for p in matches)}); "
                "keep exactly one")
        if matches:
            found[table] = matches[0]
    return found


def read_metadata(data_dir: Path) -> dict:
    """Contents of ``dataset.json`` ({} if absent); DataContractError if it is not a JSON object."""
    path = data_dir / "dataset.json"
    if not path.is_file():
        return {}
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataContractError(f"{path.name}: not valid JSON ({exc})") from exc
    if not isinstance(metadata, dict):
        raise DataContractError(f"{path.name}: expected a JSON object like "
                                '{"extracted_at": "2026-10-31"}')
    return metadata


def default_rejects_dir(data_dir: Path) -> Path:
    """``DATA_DIR/../rejects/<name of DATA_DIR>/``: next to, never inside, the raw data."""
    data_dir = Path(data_dir).resolve()
    return data_dir.parent / "rejects" / data_dir.name


# --------------------------------------------------------------------------------------------
# Validated-data cache (load_dataset)
# --------------------------------------------------------------------------------------------
#
# An entry holds what load_dataset returns, already validated: the accepted tables as Parquet
# (personal columns already hashed: no raw NIK or name is ever written), the validation report
# and the rejects samples (personal values redacted) and metadata as JSON. Its key (the entry's
# directory name) is a SHA-256 over: the resolved data directory, the name, size and SHA-256 of
# every input file (the dataset's tables and dataset.json, and the bundled reference tables), the
# code that validates (io, readers, schemas, privacy), the library versions, and a fingerprint of
# the salt (a hash of it; the salt itself is never written). Any change to any of them gives a
# new key, so an entry is never updated in place. Entries are written to a temporary directory
# and renamed into place (atomic), so concurrent loads are safe. Raw data directories are never
# written. Delete the cache directory at any time to reclaim space.

#: Environment variable overriding ``analysis.paths.CACHE_DIR``.
CACHE_DIR_ENV_VAR = "PEMDA_WFA_CACHE_DIR"
CACHE_FORMAT = 1
_FILE_HASHES = "file-hashes.json"


def cache_dir() -> Path:
    """Where validated datasets are cached (``PEMDA_WFA_CACHE_DIR`` or ``paths.CACHE_DIR``)."""
    configured = os.environ.get(CACHE_DIR_ENV_VAR, "").strip()
    return Path(configured).expanduser() if configured else paths.CACHE_DIR


def _file_sha256(path: Path, known: dict) -> str:
    """SHA-256 of the file's bytes; reused while its path, size, mtime, ctime and inode are unchanged
    (ctime changes on every write or ``touch``, and cannot be set back)."""
    stat = path.stat()
    fast = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
    entry = known.get(str(path))
    if entry and entry[:-1] == fast:
        return entry[-1]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    known[str(path)] = fast + [digest.hexdigest()]
    return digest.hexdigest()


def _code_fingerprint() -> str:
    digest = hashlib.sha256(f"format {CACHE_FORMAT} duckdb {duckdb.__version__} "
                            f"pandas {pd.__version__}".encode())
    from analysis.data import schemas

    for module in (readers, schemas, privacy):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def _cache_key(data_dir: Path, root: Path) -> str:
    known_path = root / _FILE_HASHES
    try:
        known = json.loads(known_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    before = dict(known)
    inputs = [p for _, p in sorted(find_table_files(data_dir).items())]
    if (data_dir / "dataset.json").is_file():
        inputs.append(data_dir / "dataset.json")
    inputs += [paths.REGIONS_CSV, paths.POLICIES_CSV]
    salt = privacy.get_salt()
    parts = {
        "data_dir": str(data_dir),
        "files": [[str(p), p.stat().st_size, _file_sha256(p, known)] for p in inputs],
        "code": _code_fingerprint(),
        "salt": hashlib.sha256(f"pemda-wfa cache salt fingerprint|{salt}".encode()).hexdigest(),
    }
    if known != before:
        try:
            _atomic_write_text(known_path, json.dumps(known))
        except OSError:
            pass  # the pre-check is an optimisation only
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(name, path)


def _report_to_json(report: ValidationReport) -> dict:
    return {
        "tables": {name: {"table": r.table, "file": r.file, "rows_read": r.rows_read,
                          "rows_accepted": r.rows_accepted, "rejected_by_reason": r.rejected_by_reason,
                          "notes": list(r.notes)}
                   for name, r in report.tables.items()},
        "errors": report.errors,
    }


def _write_cache_entry(root: Path, key: str, dataset: "Dataset", caught: list[tuple[str, str]]) -> None:
    """Write ``dataset`` as entry ``key`` (temp directory + rename; a concurrent writer may win)."""
    target = root / key
    if target.exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", dir=root))
    try:
        for table in TABLES:
            frame = getattr(dataset, table)
            if frame is not None:
                frame.to_parquet(staging / f"{table}.parquet", index=False)
        for name, report in dataset.validation.tables.items():
            if len(report.rejects):
                report.rejects.to_parquet(staging / f"{name}.rejects.parquet", index=False)
        meta = {
            "format": CACHE_FORMAT,
            "extracted_at": None if dataset.extracted_at is None else dataset.extracted_at.isoformat(),
            "metadata": dataset.metadata,
            "validation": _report_to_json(dataset.validation),
            "warnings": caught,
        }
        (staging / "entry.json").write_text(json.dumps(meta, default=str), encoding="utf-8")
        try:
            os.rename(staging, target)
        except OSError:
            if not target.exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read_cache_entry(root: Path, key: str, data_dir: Path) -> "Dataset | None":
    entry = root / key
    meta_path = entry / "entry.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        frames = {table: pd.read_parquet(entry / f"{table}.parquet")
                  for table in TABLES if (entry / f"{table}.parquet").is_file()}
        tables = {}
        for name, r in meta["validation"]["tables"].items():
            rejects_path = entry / f"{name}.rejects.parquet"
            rejects = (pd.read_parquet(rejects_path) if rejects_path.is_file()
                       else pd.DataFrame(columns=list(REJECT_COLUMNS)))
            tables[name] = TableReport(r["table"], r["file"], r["rows_read"], r["rows_accepted"],
                                       dict(r["rejected_by_reason"]), tuple(r["notes"]), rejects, None)
    except (OSError, ValueError, KeyError) as exc:  # a damaged entry: validate again
        warnings.warn(f"ignoring unreadable cache entry {entry}: {exc}", stacklevel=3)
        return None
    for category, message in meta.get("warnings", []):
        warnings.warn(message, _WARNING_CATEGORIES.get(category, UserWarning), stacklevel=3)
    extracted_at = meta["extracted_at"]
    return Dataset(
        regions=frames.get("regions"), policies=frames.get("policies"),
        service_requests=frames.get("service_requests"), budget=frames.get("budget"),
        transfers=frames.get("transfers"),
        extracted_at=None if extracted_at is None else pd.Timestamp(extracted_at),
        metadata=meta["metadata"],
        validation=ValidationReport(tables, dict(meta["validation"]["errors"])),
        data_dir=data_dir,
    )


_WARNING_CATEGORIES = {c.__name__: c for c in (UserWarning, RuntimeWarning, FutureWarning,
                                                 DeprecationWarning)}


# --------------------------------------------------------------------------------------------
# Implementation
# --------------------------------------------------------------------------------------------

class _DatasetRun:
    """One pass over a dataset directory (a single DuckDB connection, closed at the end)."""

    def __init__(self, data_dir: Path, *, rejects_dir, materialise: bool, include_bundled: bool,
                 raise_errors: bool, only: str | None = None):
        self.data_dir = data_dir
        self.rejects_dir = Path(rejects_dir) if rejects_dir is not None else None
        self.materialise = materialise
        self.include_bundled = include_bundled
        self.raise_errors = raise_errors
        self.only = only
        self.frames: dict[str, pd.DataFrame] = {}
        self.reports: dict[str, TableReport] = {}
        self.errors: dict[str, str] = {}
        self.metadata: dict = {}
        self.extracted_at: pd.Timestamp | None = None
        self.region_codes_digest = ""

    def execute(self) -> None:
        if not self.data_dir.is_dir():
            raise DataContractError(f"{self.data_dir}: not a directory (expected a dataset directory)")
        files = find_table_files(self.data_dir)
        self.metadata = read_metadata(self.data_dir)
        self.extracted_at = _parse_extracted_at(self.metadata)
        with _connection() as con:
            salt = privacy.get_salt()
            regions_codes = self._regions(con, files, salt)
            self.region_codes_digest = hashlib.sha256("\n".join(sorted(regions_codes)).encode()).hexdigest()
            con.register("__region_lookup", readers.region_code_variants(regions_codes))
            for table in TABLES[1:]:
                if self.only is not None and table != self.only:
                    continue
                path = files.get(table)
                if path is None and table == "policies" and self.include_bundled:
                    path = paths.POLICIES_CSV
                if path is None:
                    continue
                self._run_table(con, table, path, salt, region_lookup="__region_lookup")

    def _regions(self, con, files: dict[str, Path], salt: str) -> list[str]:
        path = files.get("regions")
        report_it = path is not None or (self.include_bundled and self.only in (None, "regions"))
        if path is not None:
            validated = self._run_table(con, "regions", path, salt, region_lookup=None,
                                        keep_codes=True, report=report_it)
            if validated is not None:
                return validated
            # the dataset's regions could not be read: check the other tables against the bundled list
        report_bundled = report_it and path is None
        if not report_bundled:
            return _bundled_region_codes()
        validated = self._run_table(con, "regions", paths.REGIONS_CSV, salt, region_lookup=None,
                                    keep_codes=True, report=True)
        if validated is None:
            raise DataContractError(f"{paths.REGIONS_CSV.name}: the bundled regions table does not validate")
        return validated

    def _run_table(self, con, table, path, salt, *, region_lookup, keep_codes=False, report=True):
        materialise = self.materialise and report and (self.only in (None, table))
        rejects_dir = self.rejects_dir if report else None
        bundled = path in (paths.REGIONS_CSV, paths.POLICIES_CSV) and rejects_dir is None
        cache_key = None
        if bundled:
            stat = path.stat()
            cache_key = (table, str(path), stat.st_mtime_ns, stat.st_size, materialise,
                         hashlib.sha256(salt.encode()).hexdigest(), self.region_codes_digest)
        try:
            if cache_key is not None and cache_key in _BUNDLED_RESULTS_CACHE:
                result = _BUNDLED_RESULTS_CACHE[cache_key].copy()
            else:
                result = _validate_table(
                    con, SCHEMAS[table], path, salt=salt, region_lookup=region_lookup,
                    extracted_at=self.extracted_at, rejects_dir=rejects_dir, materialise=materialise)
                if cache_key is not None:
                    _BUNDLED_RESULTS_CACHE[cache_key] = result.copy()
        except DataContractError as exc:
            if self.raise_errors:
                raise
            self.errors[table] = str(exc)
            return None
        if table == "service_requests" and self.extracted_at is None and result.extracted_at is not None:
            self.extracted_at = result.extracted_at
        if report:
            self.reports[table] = result.report
            if result.frame is not None:
                self.frames[table] = result.frame
        if keep_codes:
            return result.codes
        return True


_BUNDLED_CODES_CACHE: dict[tuple, list[str]] = {}


def _bundled_region_codes() -> list[str]:
    """Accepted codes of the bundled regions table (validated once per process and file version)."""
    stat = paths.REGIONS_CSV.stat()
    key = (str(paths.REGIONS_CSV), stat.st_mtime_ns, stat.st_size)
    if key not in _BUNDLED_CODES_CACHE:
        with _connection() as con:
            result = _validate_table(con, SCHEMAS["regions"], paths.REGIONS_CSV, salt="",
                                     region_lookup=None, extracted_at=None, rejects_dir=None,
                                     materialise=False)
        if result.report.rows_rejected:
            raise DataContractError(f"{paths.REGIONS_CSV.name}: the bundled regions table has "
                                    f"{result.report.rows_rejected} invalid rows")
        _BUNDLED_CODES_CACHE[key] = result.codes
    return list(_BUNDLED_CODES_CACHE[key])


#: Environment variable bounding DuckDB's memory (e.g. ``4GB``); default: half the RAM, 1-8 GB.
MEMORY_ENV_VAR = "PEMDA_WFA_DUCKDB_MEMORY"


def duckdb_memory_limit() -> str:
    """DuckDB memory limit: ``PEMDA_WFA_DUCKDB_MEMORY`` if set, else half the RAM within 1-8 GB.
    Beyond it DuckDB spills to a private temporary directory instead of exhausting the machine."""
    configured = os.environ.get(MEMORY_ENV_VAR, "").strip()
    if configured:
        return configured
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 4 * 2**30
    return f"{max(1, min(8, ram // 2 // 2**30))}GB"


@contextlib.contextmanager
def _connection():
    """A DuckDB connection using every core, a bounded memory limit, and a temporary directory
    of its own for spilling (removed afterwards; never the current or the data directory)."""
    spill = tempfile.mkdtemp(prefix="pemda-wfa-duckdb-")
    con = duckdb.connect(config={"threads": os.cpu_count() or 1, "memory_limit": duckdb_memory_limit(),
                                 "temp_directory": spill, "preserve_insertion_order": True})
    try:
        try:
            con.execute("SET enable_progress_bar = false")
        except duckdb.Error:
            pass  # inside a Jupyter kernel the setting is locked (and already off)
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _parse_extracted_at(metadata: dict) -> pd.Timestamp | None:
    value = metadata.get("extracted_at")
    if value in (None, ""):
        return None
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataContractError(f"dataset.json: extracted_at {value!r} is not a date "
                                "(expected e.g. \"2026-10-31\")") from exc


def _extracted_end(extracted_at: pd.Timestamp | None) -> pd.Timestamp | None:
    """First instant after the extraction: a date-only value covers the whole day."""
    if extracted_at is None:
        return None
    if extracted_at == extracted_at.normalize():
        return extracted_at + pd.Timedelta(days=1)
    return extracted_at + pd.Timedelta(microseconds=1)


@dataclass
class _TableResult:
    report: TableReport
    frame: pd.DataFrame | None
    codes: list[str] | None
    extracted_at: pd.Timestamp | None

    def copy(self) -> "_TableResult":
        return _TableResult(self.report, None if self.frame is None else self.frame.copy(),
                            None if self.codes is None else list(self.codes), self.extracted_at)


#: Validated bundled reference tables (regions, policies), per process: they are read by every
#: notebook and never change during a run. Keyed on file version, salt and the region codes.
_BUNDLED_RESULTS_CACHE: dict[tuple, _TableResult] = {}


@dataclass(frozen=True)
class _Check:
    column: str
    reason: str
    expected: str
    predicate: str  # SQL over the parsed view, TRUE = problem
    value_sql: str  # SQL giving the value to show in the rejects file


def _is_typed(duck_type: str) -> bool:
    return duck_type.upper() != "VARCHAR"


def _validate_table(con, schema: TableSchema, path: Path, **options) -> _TableResult:
    source = readers.open_source(con, path, f"__src_{schema.name}", schema.required_columns)
    try:
        return _validate_source(con, schema, source, **options)
    except duckdb.InvalidInputException as exc:
        if source.format == "csv":
            raise DataContractError(readers.csv_error_message(path, source, exc)) from exc
        raise DataContractError(f"{path.name}: cannot read the file: {str(exc).splitlines()[0]}") from exc
    finally:
        for temp in source.temp_files:
            temp.unlink(missing_ok=True)


def _validate_source(con, schema: TableSchema, source: readers.Source, *, salt: str,
                     region_lookup: str | None, extracted_at: pd.Timestamp | None,
                     rejects_dir: Path | None, materialise: bool) -> _TableResult:
    table = schema.name
    path = source.path
    missing = [c for c in schema.required_columns if c not in source.column_types]
    if missing:
        found = ", ".join(source.columns) or "(none)"
        hint = ""
        if len(source.columns) == 1 and source.format == "csv":
            hint = " The header was read as a single column: use ',' or ';' as the delimiter."
        raise DataContractError(
            f"{path.name}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)} for table {table!r}; found columns: {found}.{hint}")
    notes = list(source.notes)
    declared = [c for c in schema.columns if c.name in source.column_types]
    extras = [c for c in source.columns if c not in schema.column_names]

    # decide number notation per numeric text column (one aggregate scan)
    numeric_text = [c for c in declared if c.kind in ("int", "float") and not _is_typed(source.column_types[c.name])]
    decimal_comma: dict[str, bool] = {}
    if numeric_text:
        aggregates = ", ".join(
            readers.number_evidence_sql(readers.clean_text_sql(quote_ident(c.name)), c.name) for c in numeric_text)
        evidence = con.execute(f"SELECT {aggregates} FROM {quote_ident(source.view)}").fetchone()
        for i, col in enumerate(numeric_text):
            comma, ambiguous, dot_decimal = (bool(v) for v in evidence[3 * i:3 * i + 3])
            decimal_comma[col.name] = comma
            if not comma and ambiguous and not dot_decimal:
                notes.append(f"{path.name}: column {col.name!r} has values like 1.234 and no other "
                             "clue to the notation; read '.' as a decimal point. If '.' separates "
                             "thousands, write the numbers without separators or with a ',' decimal.")

    # Layer 1 (clean): one value per column, computed once. Text is trimmed and the empty tokens
    # of real exports become NULL; a Parquet column already of the type the schema wants is kept
    # as it is (no text round trip, no regex). Layer 2 looks region codes up (a hash join on the
    # cleaned code). Layer 3 parses the remaining text and evaluates every check. The result is
    # materialised once as a temp table (the file is scanned once) and all later steps (counts,
    # duplicate keys, rejects, accepted rows) run over that table.
    clean_select = ["s.__row AS __row"]
    lookup_select = ["c.*"]
    parsed_exprs: list[tuple[str, str]] = []  # (name, SQL over layer 2)
    same_as_clean: dict[str, str] = {}  # parsed name -> cleaned column holding the same value
    stored = ["__row"]
    joins: list[str] = []
    checks: list[_Check] = []
    for col in declared:
        raw = f"s.{quote_ident(col.name)}"
        duck_type = source.column_types[col.name]
        clean_name = "__raw__" + col.name
        clean_alias = quote_ident(clean_name)
        direct = _typed_direct(col, duck_type)
        clean_select.append(f"{_typed_clean_sql(raw, duck_type) if direct else readers.clean_text_sql(raw)} "
                            f"AS {clean_alias}")
        stored.append(clean_alias)
        parsed_sql, extra_checks = _parse_column(col, clean_alias, duck_type, direct,
                                                 decimal_comma.get(col.name, False), region_lookup, joins)
        for name, sql in extra_checks.get("select", []):
            lookup_select.append(f"{sql} AS {quote_ident(name)}")
            stored.append(quote_ident(name))
        if parsed_sql == clean_alias:
            same_as_clean[col.name] = clean_alias
        else:
            parsed_exprs.append((col.name, parsed_sql))
            stored.append(quote_ident(col.name))
        value_sql = f"CAST({clean_alias} AS VARCHAR)"
        if col.personal:
            value_sql = f"'<redacted: ' || length({value_sql}) || ' characters>'"
        checks.extend(_column_checks(col, clean_alias, quote_ident(col.name), value_sql, extra_checks))
    for name in extras:
        clean_select.append(f"{readers.clean_text_sql('s.' + quote_ident(name))} AS {quote_ident(name)}")
        stored.append(quote_ident(name))

    layer2 = (f"SELECT {', '.join(lookup_select)} FROM (SELECT {', '.join(clean_select)} "
              f"FROM {quote_ident(source.view)} AS s) AS c {' '.join(joins)}")
    parsed_cols = [f"{sql} AS {quote_ident(name)}" for name, sql in parsed_exprs]
    parsed_cols += [f"{alias} AS {quote_ident(name)}" for name, alias in same_as_clean.items()]
    layer3 = f"SELECT *{''.join(', ' + c for c in parsed_cols)} FROM ({layer2})"

    extracted_used = extracted_at
    if table == "service_requests" and extracted_at is None:
        latest = con.execute(
            f"SELECT max(greatest(submitted_at, coalesce(completed_at, submitted_at))) FROM ({layer3})"
        ).fetchone()[0]
        if latest is not None:
            extracted_used = pd.Timestamp(latest)
            message = (f"{path.parent / 'dataset.json'}: no extracted_at; using the latest timestamp in "
                       f"{path.name}, {extracted_used}, as the extraction time (open requests are "
                       "censored there). Add dataset.json with the real extraction date.")
            warnings.warn(message, stacklevel=4)
            notes.append(message)
    end = _extracted_end(extracted_used)
    for rule in schema.rules:
        if rule.column not in source.column_types and rule.column not in {c.name for c in declared}:
            continue
        predicate = rule.predicate_sql
        if ":extracted_end" in predicate:
            if end is None:
                continue
            predicate = predicate.replace(":extracted_end", f"TIMESTAMP '{end.isoformat(sep=' ')}'")
        checks.append(_Check(rule.column, rule.reason, rule.description.replace("`", ""),
                             predicate, f"CAST({quote_ident('__raw__' + rule.column)} AS VARCHAR)"))

    # the first failing check of each row (NULL = no problem), stored with the row
    first_other = ("CASE " + " ".join(f"WHEN coalesce(({c.predicate}), FALSE) THEN {i}"
                                      for i, c in enumerate(checks)) + " END") \
        if checks else "CAST(NULL AS INTEGER)"
    stored_table = quote_ident(f"__stored_{table}")
    valid_view = quote_ident(f"__valid_{table}")
    dups_table = quote_ident(f"__dups_{table}")
    checked = quote_ident(f"__checked_{table}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {stored_table} AS SELECT {', '.join(stored)}, "
                f"{first_other} AS __first_other FROM ({layer3})")
    # DuckDB keeps the file order here (scan and joins preserve insertion order); check it cheaply
    # (__row rises by one per stored row) instead of sorting, and sort later only if not.
    in_order = con.execute(f"SELECT coalesce(bool_and(__row - rowid = (SELECT min(__row) FROM {stored_table})), "
                           f"TRUE) FROM {stored_table}").fetchone()[0]
    aliases = "".join(f", {alias} AS {quote_ident(name)}" for name, alias in same_as_clean.items())
    con.execute(f"CREATE OR REPLACE TEMP VIEW {valid_view} AS SELECT *{aliases} FROM {stored_table}")

    # duplicate keys among otherwise-clean rows: a grouped count, joined back only if any key repeats
    key_present = schema.key and all(k in source.column_types for k in schema.key)
    dup_index = len(checks)
    has_dups = False
    if key_present:
        keys = [quote_ident(k) for k in schema.key]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {dups_table} AS SELECT {', '.join(keys)}, "
                    f"min(__row) AS __first_in_key FROM {valid_view} WHERE __first_other IS NULL "
                    f"GROUP BY ALL HAVING count(*) > 1")
        has_dups = con.execute(f"SELECT count(*) FROM {dups_table}").fetchone()[0] > 0
        key_value = " || ' | ' || ".join(
            f"coalesce(CAST({quote_ident('__raw__' + k)} AS VARCHAR), '')" for k in schema.key)
        checks.append(_Check(
            " + ".join(schema.key), "duplicate_key",
            "'unique " + " + ".join(schema.key) + "; first seen at row ' || __first_in_key",
            "__first_other IS NULL AND __first_in_key < __row", key_value))
    if has_dups:
        on = " AND ".join(f"v.{k} IS NOT DISTINCT FROM d.{k}" for k in keys)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {checked} AS SELECT v.*, "
            f"CASE WHEN v.__first_other IS NULL THEN d.__first_in_key END AS __first_in_key, "
            f"coalesce(v.__first_other, CASE WHEN v.__first_other IS NULL AND d.__first_in_key < v.__row "
            f"THEN {dup_index} END) AS __first FROM {valid_view} AS v LEFT JOIN {dups_table} AS d ON {on}")
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {checked} AS SELECT *, "
                    f"CAST(NULL AS BIGINT) AS __first_in_key, __first_other AS __first FROM {valid_view}")

    counts = con.execute(f"SELECT __first, count(*) FROM {checked} GROUP BY __first").fetchall()
    rows_read = sum(n for _, n in counts)
    rows_accepted = sum(n for first, n in counts if first is None)
    rejected_by_reason: dict[str, int] = {}
    for first, n in counts:
        if first is not None:
            check = checks[first]
            label = f"{check.column}: {check.reason}"
            rejected_by_reason[label] = rejected_by_reason.get(label, 0) + n
    if rows_read == 0:
        notes.append(f"{path.name}: header only, no data rows")

    try:
        rejects_frame, rejects_file = _collect_rejects(con, checked, checks, path, table, rejects_dir,
                                                       rows_read - rows_accepted)
        frame = None
        if materialise:
            frame = _accepted_frame(con, checked, schema, declared, extras, salt, ordered=in_order and not has_dups)
        codes = None
        if table == "regions":
            codes = [r[0] for r in con.execute(
                f"SELECT region_code FROM {checked} WHERE __first IS NULL ORDER BY __row").fetchall()]
    finally:
        for view in (checked, valid_view, quote_ident(source.view)):
            con.execute(f"DROP VIEW IF EXISTS {view}")
        for temp in (dups_table, stored_table):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    report = TableReport(table=table, file=path.name, rows_read=rows_read, rows_accepted=rows_accepted,
                         rejected_by_reason=rejected_by_reason, notes=tuple(notes),
                         rejects=rejects_frame, rejects_file=rejects_file)
    return _TableResult(report, frame, codes, extracted_used if table == "service_requests" else None)


_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL")


def _typed_direct(col: Column, duck_type: str) -> bool:
    """Whether a typed (Parquet) column already holds what ``col`` wants, so its values are used
    as they are instead of being turned into text and parsed."""
    upper = duck_type.upper()
    if upper == "VARCHAR":
        return False
    if col.kind in ("int", "float"):
        return upper in _NUMERIC_TYPES or upper.startswith("DECIMAL")
    if col.kind == "bool":
        return upper == "BOOLEAN"
    if col.kind in ("date", "timestamp", "period"):
        return upper.startswith(("TIMESTAMP", "DATE"))
    return False


def _typed_clean_sql(expr: str, duck_type: str) -> str:
    """A typed value with NaN as missing (as the text ``nan`` is)."""
    if duck_type.upper() in ("FLOAT", "DOUBLE", "REAL"):
        return f"CASE WHEN isnan({expr}) THEN NULL ELSE {expr} END"
    return expr


def _parse_column(col: Column, clean: str, duck_type: str, direct: bool, decimal_comma: bool,
                  region_lookup: str | None, joins: list[str]):
    """SQL of the parsed value of ``col`` (over the cleaned column ``clean``) and extra select
    columns its checks need. ``direct``: ``clean`` already is a typed value (see _typed_direct)."""
    extra: dict = {}
    upper = duck_type.upper()
    if col.kind == "text":
        return (f"lower({clean})" if col.lowercase else clean), extra
    if col.kind in ("int", "float"):
        if direct:
            return (clean if upper == "DOUBLE" else f"CAST({clean} AS DOUBLE)"), extra
        return readers.number_sql(clean, decimal_comma), extra
    if col.kind == "bool":
        return (clean if direct else readers.bool_sql(clean)), extra
    if col.kind in ("date", "timestamp"):
        if direct:
            value = clean if upper == "TIMESTAMP" and col.kind == "timestamp" else f"CAST({clean} AS TIMESTAMP)"
        else:
            value = readers.timestamp_sql(clean)
        if col.kind == "date":
            value = f"CAST(CAST({value} AS DATE) AS TIMESTAMP)"
        return value, extra
    if col.kind == "period":
        if direct:
            return f"strftime({clean}, '%Y-%m')", extra
        return readers.period_sql(clean), extra
    if col.kind == "region_code":
        if region_lookup is None:
            return readers.own_region_code_sql(clean), extra
        alias = quote_ident(f"__rl_{col.name}")
        joins.append(f"LEFT JOIN {quote_ident(region_lookup)} AS {alias} "
                     f"ON {alias}.variant = {readers.region_text_sql('c.' + clean)}")
        ambiguous = quote_ident(f"__ambiguous__{col.name}")
        candidates = quote_ident(f"__candidates__{col.name}")
        extra["select"] = [(f"__ambiguous__{col.name}", f"coalesce({alias}.ambiguous, FALSE)"),
                           (f"__candidates__{col.name}", f"{alias}.canonical")]
        return f"CASE WHEN NOT {ambiguous} THEN {candidates} END", extra
    raise AssertionError(col.kind)


def _column_checks(col: Column, raw: str, parsed: str, value_sql: str, extra: dict) -> list[_Check]:
    """The checks of one column, in the order they are reported."""
    checks = []
    name = col.name

    def add(reason, expected, predicate):
        checks.append(_Check(name, reason, expected, predicate, value_sql))

    if not col.nullable:
        add("missing_value", "a value (column may not be empty)", f"{raw} IS NULL")
    if col.kind in _UNPARSEABLE_REASON:
        reason, expected = _UNPARSEABLE_REASON[col.kind]
        add(reason, expected, f"{raw} IS NOT NULL AND {parsed} IS NULL")
    if col.kind == "region_code":
        if "select" in extra:
            add("ambiguous_region_code",
                f"'an unambiguous code: could be ' || {quote_ident('__candidates__' + name)}",
                f"{raw} IS NOT NULL AND {quote_ident('__ambiguous__' + name)}")
            add("unknown_region_code", "a region_code present in regions (NN or NN.NN)",
                f"{raw} IS NOT NULL AND {parsed} IS NULL AND NOT {quote_ident('__ambiguous__' + name)}")
        else:
            add("bad_region_code", "NN (province) or NN.NN (kabupaten/kota), e.g. 17 or 33.72",
                f"{raw} IS NOT NULL AND {parsed} IS NULL")
    if col.kind == "int":
        add("not_an_integer", "a whole number", f"{parsed} IS NOT NULL AND {parsed} <> round({parsed})")
    if col.allowed is not None:
        allowed = ", ".join(sql_literal(v) for v in col.allowed)
        add("not_allowed_value", "one of: " + ", ".join(col.allowed),
            f"{parsed} IS NOT NULL AND {parsed} NOT IN ({allowed})")
    if col.pattern is not None:
        add("bad_format", col.pattern_hint or col.pattern,
            f"{parsed} IS NOT NULL AND NOT regexp_full_match({parsed}, {sql_literal(col.pattern)})")
    if col.minimum is not None:
        op, words = ("<=", "greater than") if col.minimum_exclusive else ("<", "at least")
        add("below_minimum", f"{words} {col.minimum:g}", f"{parsed} {op} {col.minimum!r}")
    if col.maximum is not None:
        add("above_maximum", f"at most {col.maximum:g}", f"{parsed} > {col.maximum!r}")
    return [_Check(c.column, c.reason, c.expected if c.expected.startswith("'") else sql_literal(c.expected),
                   c.predicate, c.value_sql) for c in checks]


def _collect_rejects(con, checked: str, checks: list[_Check], path: Path, table: str,
                     rejects_dir: Path | None, n_rejected: int):
    target = None
    if rejects_dir is not None:
        rejects_dir.mkdir(parents=True, exist_ok=True)
        target = rejects_dir / f"{table}.rejects.csv"
        target.unlink(missing_ok=True)  # a stale file from an earlier run would mislead
    empty = pd.DataFrame(columns=list(REJECT_COLUMNS))
    if n_rejected == 0:
        return empty, None
    rejected = quote_ident(f"__rejected_{table}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {rejected} AS SELECT * FROM {checked} WHERE __first IS NOT NULL")
    parts = []
    for i, check in enumerate(checks):
        flag = f"coalesce(({check.predicate}), FALSE)"  # re-evaluated on rejected rows only
        expected = check.expected if check.expected.startswith("'") else sql_literal(check.expected)
        parts.append(
            f"SELECT __row AS row_number, {i} AS __check, {sql_literal(check.column)} AS \"column\", "
            f"CAST({check.value_sql} AS VARCHAR) AS value, {sql_literal(check.reason)} AS reason, "
            f"CAST({expected} AS VARCHAR) AS expected FROM {rejected} WHERE {flag}")
    query = (f"SELECT {sql_literal(path.name)} AS file, row_number, \"column\", value, reason, expected "
             f"FROM ({' UNION ALL '.join(parts)}) ORDER BY row_number, __check")
    try:
        if target is not None:
            con.execute(f"COPY ({query}) TO {sql_literal(str(target))} (HEADER, DELIMITER ',')")
        sample = con.execute(f"{query} LIMIT {REJECTS_SAMPLE_ROWS}").df()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rejected}")
    return sample, (str(target) if target is not None else None)


def _accepted_frame(con, checked: str, schema: TableSchema, declared: list[Column], extras: list[str],
                    salt: str, *, ordered: bool) -> pd.DataFrame:
    """Accepted rows in file order. ``ordered``: ``checked`` is a plain scan of the stored table,
    which was written in ``__row`` order (DuckDB keeps insertion order), so no sort is needed."""
    select = []
    for col in declared:
        ident = quote_ident(col.name)
        if col.personal:
            select.append(f"{privacy.hash_sql(ident, salt)} AS {ident}")
        elif col.kind == "int":
            select.append(f"CAST({ident} AS BIGINT) AS {ident}")
        else:
            select.append(ident)
    for name in extras:
        ident = quote_ident(name)
        if schema.hash_extra_personal_columns and _is_personal_extra(schema.name, name):
            select.append(f"{privacy.hash_sql(ident, salt)} AS {ident}")
        else:
            select.append(ident)
    order = "" if ordered else " ORDER BY __row"
    return fetch_frame(con, f"SELECT {', '.join(select)} FROM {checked} WHERE __first IS NULL{order}")


def fetch_frame(con, query: str) -> pd.DataFrame:
    """Result of ``query`` as pandas, with the same dtypes as DuckDB's ``.df()`` but via Arrow,
    which is several times faster for text columns (``.df()`` builds them value by value).

    As ``.df()`` does: an integer column with NULLs is ``Int64``, a boolean one with NULLs
    ``boolean``, a text column that is empty or entirely NULL ``object`` (holding None)."""
    import pyarrow as pa

    table = con.sql(query).to_arrow_table()
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


def _is_personal_extra(table: str, column: str) -> bool:
    from analysis.data.schemas import is_personal_column

    return is_personal_column(table, column)
