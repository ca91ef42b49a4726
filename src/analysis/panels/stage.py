"""The aggregation stage of a loaded dataset, computed once and shared by every report.

:func:`ensure_panels` makes sure ``<cache dir>/panels/<key>`` holds the stage's output
(:func:`analysis.panels.aggregate.aggregate`) for a :class:`~analysis.data.Dataset`, where the key
hashes the validated requests' fingerprint (:func:`~analysis.panels.aggregate.input_fingerprint`),
the extraction moment and the stage's format version. It aggregates only when the directory is
not current (:func:`~analysis.panels.aggregate.is_current`); the build calls it once before the
reports run, so the reports find it current. Concurrent callers are safe: the stage is written
into a temporary directory and renamed into place under a lock (``flock``), and a second caller
waits for the first and reuses its output.

:func:`dataset_panels` reads it back (optionally one service type's slice): the service-time
analyses, the case studies' service outcome and the power simulation read these Parquet files
instead of scanning the requests. DuckDB's memory is bounded by ``PEMDA_WFA_DUCKDB_MEMORY``
(default: a quarter of the RAM within 1-4 GB).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from analysis.panels.aggregate import FORMAT_VERSION, AggregatedPanels, aggregate, input_fingerprint, is_current, \
    read_aggregated
from analysis.panels.engines import extraction_moment

PANELS_DIR = "panels"


def stage_root() -> Path:
    from analysis.data.cache import cache_dir

    return cache_dir() / PANELS_DIR


def stage_key(requests, extracted_at) -> str:
    """Directory name of the stage for a requests source and extraction date."""
    fingerprint = input_fingerprint(requests)["fingerprint"]
    text = f"format {FORMAT_VERSION}|{fingerprint}|{extraction_moment(extracted_at).isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _source(dataset):
    return str(dataset.table_path("service_requests"))


def stage_dir(dataset, root: Path | None = None) -> Path:
    """Where the stage of ``dataset`` is (or will be) stored."""
    return Path(root or stage_root()) / stage_key(_source(dataset), dataset.extracted_at)


def ensure_panels(dataset, *, root: Path | None = None, memory_limit: str | None = None,
                  threads: int | None = None) -> Path:
    """The stage directory of ``dataset``, aggregated first if it is not current (module doc)."""
    source = _source(dataset)
    directory = stage_dir(dataset, root)
    if is_current(directory, source, extracted_at=dataset.extracted_at):
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / f".{directory.name}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            if is_current(directory, source, extracted_at=dataset.extracted_at):
                return directory
            staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
            try:
                aggregate(source, extracted_at=dataset.extracted_at, out_dir=staging, memory_limit=memory_limit,
                          threads=threads)
                if directory.exists():  # stale (another format, a damaged file): replaced whole
                    shutil.rmtree(directory)
                os.rename(staging, directory)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return directory


def dataset_panels(dataset, *, service_type: str | None = None, root: Path | None = None) -> AggregatedPanels:
    """The stage's tables for ``dataset`` (``service_type``: only that slice), aggregating first
    if needed (:func:`ensure_panels`)."""
    return read_aggregated(ensure_panels(dataset, root=root), service_type=service_type)


def service_panel_of(dataset, *, service_type: str | None = None):
    """The Pemda × month × service type panel of ``dataset`` (``build_service_panel``'s frame)
    from its aggregation stage; an object that is not a loaded :class:`~analysis.data.Dataset`
    (no validated Parquet) gets it built from its ``service_requests`` frame."""
    if hasattr(dataset, "table_path"):
        return dataset_panels(dataset, service_type=service_type).service_panel
    from analysis.panels.service import build_service_panel

    panel = build_service_panel(dataset.service_requests, extracted_at=dataset.extracted_at)
    if service_type is not None:
        panel = panel[panel["service_type"] == service_type].reset_index(drop=True)
    return panel
