"""One way into the data: :func:`load` a dataset directory into a validated, cached
:class:`Dataset`.

A dataset directory holds one file per table (``regions``, ``policies``, ``service_requests``,
``budget``, ``transfers``; ``.csv``, ``.parquet`` or ``.xlsx``) and ``dataset.json``
(``{"extracted_at": "2026-10-31", ...}``); a synthetic one (``analysis.simulate``) also holds the
true effects (``truth.json``, ``truth_service_cells.parquet``, ``truth_budget_cells.parquet``).
Raw files are only ever read. ``dataset.json`` and ``truth.json`` are parsed here and nowhere
else (:func:`read_metadata`, :func:`read_truth`).

Every table is validated by :mod:`analysis.data.validate` (every format alike, Parquet included),
personal data hashed or masked on the way; the accepted rows are written as Parquet to the
validated-data cache (:mod:`analysis.data.cache`), and the :class:`Dataset` reads them from there:
as pandas on first access (``dataset.budget``), or, for DuckDB to scan out of core, by path
(``dataset.table_path("service_requests")``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analysis import paths
from analysis.data import cache, privacy, readers
from analysis.data.connection import connection, frame_from_arrow
from analysis.data.parsing import region_code_variants
from analysis.data.rejects import REJECT_COLUMNS, prepare_rejects_dir
from analysis.data.schemas import SCHEMAS, TABLES
from analysis.data.validate import validate_table
from analysis.data.validation_report import TableReport, TableResult, ValidationReport
from analysis.errors import DataContractError, DataWarning
from analysis.notes import Note

TRUTH_KINDS = ("service", "budget")


# --------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------

class _Store:
    """A directory of validated tables. A temporary one (no cache) is removed when the last
    :class:`Dataset` using it is garbage-collected, or at exit."""

    def __init__(self, path: Path, temporary: bool):
        self.path = path
        if temporary:
            weakref.finalize(self, shutil.rmtree, str(path), True)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: its validated tables, how they were checked, and (synthetic data) the
    true effects.

    Tables are read from the validated store on first access and kept: ``dataset.regions``,
    ``.policies``, ``.service_requests``, ``.budget``, ``.transfers`` (None when the dataset has
    no such table), or :meth:`table`. :meth:`table_path` gives the validated Parquet file for
    DuckDB to scan without pandas (it stays valid while the dataset object is alive).

    ``extracted_at``: the extraction time of the service data, from ``dataset.json``
    (``extracted_at_source == "dataset.json"``) or, failing that, the latest plausible timestamp
    in ``service_requests`` (``"data"``, with the note ``extracted_at_from_data``); None without
    either. ``metadata``: ``dataset.json``. ``validation``: rows read, accepted, rejected and the
    notes, per table."""

    data_dir: Path
    extracted_at: pd.Timestamp | None
    metadata: dict
    validation: ValidationReport
    extracted_at_source: str | None = None
    _store: _Store | None = field(default=None, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)

    def __cache_token__(self) -> str:
        """What identifies this dataset's content (:func:`dataset_fingerprint`), for
        :mod:`analysis.report.compute_cache`."""
        if "fingerprint" not in self._memo:
            self._memo["fingerprint"] = dataset_fingerprint(self.data_dir)
        return self._memo["fingerprint"]

    @property
    def tables(self) -> tuple[str, ...]:
        """Names of the tables the dataset has (validated; the bundled reference tables count)."""
        return tuple(t for t in TABLES if self._stored(t) is not None)

    def _stored(self, table: str) -> Path | None:
        if table not in SCHEMAS:
            raise KeyError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
        if self._store is None:
            return None
        path = self._store.path / f"{table}.parquet"
        return path if path.is_file() else None

    def table_path(self, table: str) -> Path:
        """The validated Parquet file of ``table`` (accepted rows, file order, personal columns
        hashed). DataContractError if the dataset has no such table."""
        path = self._stored(table)
        if path is None:
            raise DataContractError(f"{self.data_dir}: no file for table {table!r} "
                                    f"(expected {table}.csv, {table}.parquet or {table}.xlsx)")
        return path

    def table(self, table: str, *, required: bool = False) -> pd.DataFrame | None:
        """Accepted rows of ``table`` as pandas, read once, then kept; None if the dataset has no
        such table (DataContractError with ``required``)."""
        if required:
            self.table_path(table)
        if table not in self._memo:
            path = self._stored(table)
            self._memo[table] = None if path is None else frame_from_arrow(pq.read_table(path))
        return self._memo[table]

    @property
    def regions(self) -> pd.DataFrame | None:
        return self.table("regions")

    @property
    def policies(self) -> pd.DataFrame | None:
        return self.table("policies")

    @property
    def service_requests(self) -> pd.DataFrame | None:
        return self.table("service_requests")

    @property
    def budget(self) -> pd.DataFrame | None:
        return self.table("budget")

    @property
    def transfers(self) -> pd.DataFrame | None:
        return self.table("transfers")

    @property
    def truth(self) -> dict | None:
        """The true effects of a synthetic dataset (``truth.json``), None for real data."""
        if "truth" not in self._memo:
            self._memo["truth"] = read_truth(self.data_dir)
        return self._memo["truth"]

    @property
    def is_simulated(self) -> bool:
        """Whether the dataset was made by ``analysis.simulate`` (it has ``truth.json``)."""
        return self.truth is not None

    def truth_cells(self, kind: str) -> pd.DataFrame | None:
        """The per-cell true effects (``kind``: ``service`` or ``budget``) of a synthetic dataset,
        None for real data (see ``analysis.simulate`` for the columns)."""
        return read_truth_cells(self.data_dir, kind)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def load(data_dir, *, rejects_dir=None, use_cache: bool = True) -> Dataset:
    """Read and validate every table of ``data_dir``: the one way into the data.

    ``regions`` and ``policies`` fall back to the bundled reference files
    (``analysis.paths.REGIONS_CSV`` / ``POLICIES_CSV``) when the dataset has none. Rejected rows
    are written to ``rejects_dir`` (``<table>.rejects.csv``) if given (UsageError, before any
    work, if it cannot be written). Raises DataContractError for an unreadable file or a missing
    required column.

    ``use_cache``: reuse the result of an earlier load of the very same files (same bytes, code
    and salt; see :mod:`analysis.data.cache`), and store this one. With ``rejects_dir`` the data
    are always validated (to write the rejects files), and the result is stored. Without the
    cache (or when it cannot be written, with a warning) the tables go to a temporary directory
    removed with the dataset object.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataContractError(f"{data_dir}: not a directory (expected a dataset directory)")
    salt = privacy.get_salt()
    root = cache.cache_dir() if use_cache else None
    if root is not None and root.resolve().is_relative_to(data_dir.resolve()):
        root = None  # never write inside a raw data directory
    key = None
    if root is not None:
        key = cache.cache_key(data_dir.resolve(), root, _input_files(data_dir), salt)
        entry = cache.find_entry(root, key) if rejects_dir is None else None
        if entry is not None:
            cached = _from_entry(entry, data_dir)
            if cached is not None:
                return cached
    if rejects_dir is not None:
        rejects_dir = prepare_rejects_dir(rejects_dir)
    staging, temporary = _staging(root, key)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = _Run(data_dir, salt, rejects_dir=rejects_dir, store_dir=staging, include_bundled=True,
                       raise_errors=True)
            run.execute()
        for item in caught:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        validation = ValidationReport(dict(run.reports), dict(run.errors))
        for name, report in validation.tables.items():
            if len(report.rejects):
                report.rejects.to_parquet(staging / f"{name}.rejects.parquet", index=False)
        cache.write_meta(staging, {
            "extracted_at": None if run.extracted_at is None else run.extracted_at.isoformat(),
            "extracted_at_source": run.extracted_at_source,
            "metadata": run.metadata,
            "validation": _report_to_json(validation),
            "warnings": [(item.category.__name__, str(item.message)) for item in caught],
        })
        store = staging
        if not temporary:
            try:
                store = cache.publish(staging, root, key)
            except OSError as exc:
                warnings.warn(f"could not cache the validated dataset in {root}: {exc}", DataWarning, stacklevel=2)
                temporary = True
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Dataset(data_dir, run.extracted_at, run.metadata, validation, run.extracted_at_source,
                   _Store(store, temporary))


def dataset_fingerprint(data_dir) -> str:
    """SHA-256 identifying what :func:`load` would return for ``data_dir`` and the true effects
    of a synthetic dataset: the validated-data cache key (every input file's bytes, the
    validating code, the salt; file hashes reused while a file's size, times and inode are
    unchanged) and the bytes of ``truth.json`` and ``truth_*_cells.parquet``. Validates nothing."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataContractError(f"{data_dir}: not a directory (expected a dataset directory)")
    key = cache.cache_key(data_dir.resolve(), cache.cache_dir(), _input_files(data_dir), privacy.get_salt())
    digest = hashlib.sha256(key.encode())
    for path in sorted([*data_dir.glob("truth.json"), *data_dir.glob("truth_*_cells.parquet")]):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load_table(data_dir, table: str) -> pd.DataFrame:
    """Accepted rows of one table of ``data_dir``: ``load(data_dir).table(table)`` (cached), with
    DataContractError if the dataset has no such table."""
    if table not in SCHEMAS:
        raise KeyError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    return load(data_dir).table(table, required=True)


def validate_dataset(data_dir, *, rejects_dir=None) -> ValidationReport:
    """Validate every table present in ``data_dir`` (no bundled tables, nothing stored).

    Errors that stop a table (unreadable file, missing column) are collected in
    ``ValidationReport.errors`` instead of raised, so every table gets checked."""
    if rejects_dir is not None:
        rejects_dir = prepare_rejects_dir(rejects_dir)
    run = _Run(Path(data_dir), privacy.get_salt(), rejects_dir=rejects_dir, store_dir=None,
               include_bundled=False, raise_errors=False)
    run.execute()
    return ValidationReport(dict(run.reports), dict(run.errors))


def _staging(root: Path | None, key: str | None) -> tuple[Path, bool]:
    """(directory to validate into, whether it is temporary rather than a cache entry)."""
    if root is not None:
        try:
            return cache.staging_dir(root, key), False
        except OSError as exc:
            warnings.warn(f"could not cache the validated dataset in {root} ({exc.strerror or exc}); "
                          "validating into a temporary directory", DataWarning, stacklevel=3)
    return Path(tempfile.mkdtemp(prefix="pemda-wfa-dataset-")), True


def _input_files(data_dir: Path) -> list[Path]:
    inputs = [p for _, p in sorted(find_table_files(data_dir).items())]
    if (data_dir / "dataset.json").is_file():
        inputs.append(data_dir / "dataset.json")
    return inputs


def _report_to_json(report: ValidationReport) -> dict:
    return {
        "tables": {name: {"table": r.table, "file": r.file, "rows_read": r.rows_read,
                          "rows_accepted": r.rows_accepted, "rejected_by_reason": r.rejected_by_reason,
                          "notes": [n.as_dict() for n in r.notes]}
                   for name, r in report.tables.items()},
        "errors": report.errors,
    }


_WARNING_CATEGORIES = {c.__name__: c for c in (UserWarning, RuntimeWarning, FutureWarning,
                                                 DeprecationWarning, DataWarning, privacy.SaltWarning)}


def _from_entry(entry: Path, data_dir: Path) -> Dataset | None:
    try:
        meta = cache.read_meta(entry)
        tables = {}
        for name, r in meta["validation"]["tables"].items():
            rejects_path = entry / f"{name}.rejects.parquet"
            rejects = (pd.read_parquet(rejects_path) if rejects_path.is_file()
                       else pd.DataFrame(columns=list(REJECT_COLUMNS)))
            notes = tuple(Note(n["code"], n["params"]) for n in r["notes"])
            tables[name] = TableReport(r["table"], r["file"], r["rows_read"], r["rows_accepted"],
                                       dict(r["rejected_by_reason"]), notes, rejects, None)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged entry: validate again
        warnings.warn(f"ignoring unreadable cache entry {entry}: {exc}", DataWarning, stacklevel=3)
        return None
    for category, message in meta.get("warnings", []):
        warnings.warn(message, _WARNING_CATEGORIES.get(category, UserWarning), stacklevel=3)
    extracted_at = meta["extracted_at"]
    return Dataset(data_dir, None if extracted_at is None else pd.Timestamp(extracted_at), meta["metadata"],
                   ValidationReport(tables, dict(meta["validation"]["errors"])),
                   meta.get("extracted_at_source"), _Store(entry, temporary=False))


# --------------------------------------------------------------------------------------------
# One pass over a dataset directory
# --------------------------------------------------------------------------------------------

class _Run:
    """Validate the tables of a directory with one DuckDB connection: ``regions`` first (its
    codes are the reference of every other table's region codes), then the others."""

    def __init__(self, data_dir: Path, salt: str, *, rejects_dir: Path | None, store_dir: Path | None,
                 include_bundled: bool, raise_errors: bool):
        self.data_dir = data_dir
        self.salt = salt
        self.rejects_dir = rejects_dir
        self.store_dir = store_dir
        self.include_bundled = include_bundled
        self.raise_errors = raise_errors
        self.reports: dict[str, TableReport] = {}
        self.errors: dict[str, str] = {}
        self.metadata: dict = {}
        self.extracted_at: pd.Timestamp | None = None
        self.extracted_at_source: str | None = None

    def execute(self) -> None:
        if not self.data_dir.is_dir():
            raise DataContractError(f"{self.data_dir}: not a directory (expected a dataset directory)")
        files = find_table_files(self.data_dir)
        self.metadata = read_metadata(self.data_dir)
        self.extracted_at = _parse_extracted_at(self.metadata)
        self.extracted_at_source = "dataset.json" if self.extracted_at is not None else None
        with connection() as con:
            privacy.register_mask_function(con, self.salt)
            codes = self._regions(con, files)
            con.register("__region_lookup", region_code_variants(codes))
            for table in TABLES[1:]:
                path = files.get(table)
                if path is None and table == "policies" and self.include_bundled:
                    path = paths.POLICIES_CSV
                if path is not None:
                    self._table(con, table, path, region_lookup="__region_lookup")

    def _regions(self, con, files: dict[str, Path]) -> list[str]:
        path = files.get("regions")
        if path is not None:
            result = self._table(con, "regions", path, region_lookup=None)
            if result is not None:
                return result.codes
            # the dataset's regions could not be read: check the other tables against the bundled list
            return bundled_region_codes()
        if not self.include_bundled:
            return bundled_region_codes()
        result = self._table(con, "regions", paths.REGIONS_CSV, region_lookup=None)
        if result is None:
            raise DataContractError(f"{paths.REGIONS_CSV.name}: the bundled regions table does not validate")
        return result.codes

    def _table(self, con, table: str, path: Path, *, region_lookup) -> TableResult | None:
        bundled = path in (paths.REGIONS_CSV, paths.POLICIES_CSV)
        try:
            result = validate_table(con, SCHEMAS[table], path, salt=self.salt, region_lookup=region_lookup,
                                    extracted_at=self.extracted_at,
                                    rejects_dir=None if bundled else self.rejects_dir, store_dir=self.store_dir)
        except DataContractError as exc:
            if self.raise_errors:
                raise
            self.errors[table] = str(exc)
            return None
        if table == "service_requests" and self.extracted_at is None and result.extracted_at is not None:
            self.extracted_at = result.extracted_at
            self.extracted_at_source = "data"
        self.reports[table] = result.report
        return result


_BUNDLED_CODES_CACHE: dict[tuple, list[str]] = {}


def bundled_region_codes() -> list[str]:
    """Accepted codes of the bundled regions table (validated once per process and file version)."""
    stat = paths.REGIONS_CSV.stat()
    key = (str(paths.REGIONS_CSV), stat.st_mtime_ns, stat.st_size)
    if key not in _BUNDLED_CODES_CACHE:
        with connection() as con:
            privacy.register_mask_function(con, "")
            result = validate_table(con, SCHEMAS["regions"], paths.REGIONS_CSV, salt="", region_lookup=None,
                                    extracted_at=None, rejects_dir=None, store_dir=None)
        if result.report.rows_rejected:
            raise DataContractError(f"{paths.REGIONS_CSV.name}: the bundled regions table has "
                                    f"{result.report.rows_rejected} invalid rows")
        _BUNDLED_CODES_CACHE[key] = result.codes
    return list(_BUNDLED_CODES_CACHE[key])


# --------------------------------------------------------------------------------------------
# Files of a dataset directory
# --------------------------------------------------------------------------------------------

def find_table_files(data_dir: Path) -> dict[str, Path]:
    """The file of each table present in ``data_dir``; DataContractError if a table has two."""
    data_dir = Path(data_dir)
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


def _read_json_object(path: Path, example: str) -> dict | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataContractError(f"{path.name}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise DataContractError(f"{path.name}: expected a JSON object like {example}")
    return value


def read_metadata(data_dir) -> dict:
    """Contents of ``dataset.json`` ({} if absent); DataContractError if it is not a JSON object."""
    return _read_json_object(Path(data_dir) / "dataset.json", '{"extracted_at": "2026-10-31"}') or {}


def read_truth_cells(data_dir, kind: str) -> pd.DataFrame | None:
    """``truth_<kind>_cells.parquet`` of a synthetic dataset (``kind``: ``service`` or
    ``budget``), None when absent (real data)."""
    if kind not in TRUTH_KINDS:
        raise ValueError(f"kind must be one of {TRUTH_KINDS}, got {kind!r}")
    path = Path(data_dir) / f"truth_{kind}_cells.parquet"
    return pd.read_parquet(path) if path.is_file() else None


def read_truth(data_dir) -> dict | None:
    """Contents of ``truth.json`` (the true effects of a synthetic dataset), None if absent."""
    return _read_json_object(Path(data_dir) / "truth.json", '{"service": {...}, "budget": {...}}')


def _parse_extracted_at(metadata: dict) -> pd.Timestamp | None:
    value = metadata.get("extracted_at")
    if value in (None, ""):
        return None
    try:
        extracted_at = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataContractError(f"dataset.json: extracted_at {value!r} is not a date "
                                "(expected e.g. \"2026-10-31\")") from exc
    # with an offset: the wall-clock time there, as every timestamp of the data
    return extracted_at.tz_localize(None) if extracted_at.tzinfo is not None else extracted_at
