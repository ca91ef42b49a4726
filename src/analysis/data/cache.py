"""The validated-data cache of :func:`analysis.data.load`.

An entry is a directory holding what ``load`` returns, already validated: the accepted tables as
Parquet written by the validation itself (personal columns hashed, identifiers in text masked:
no raw NIK or name is ever written), the rejects samples (personal values redacted) and
``entry.json`` (validation report with its notes, metadata, extraction time, the warnings given).
A loaded :class:`~analysis.data.dataset.Dataset` reads its tables from the entry, so a big table
can be scanned by DuckDB without ever being held in pandas.

The key (the entry's directory name) is a SHA-256 over: the resolved data directory, the name,
size and SHA-256 of every input file (the dataset's tables and ``dataset.json``, and the bundled
reference tables), the code that validates (every module of ``analysis.data``), the library
versions, and a fingerprint of the salt (a hash of it; the salt itself is never written). Any
change to any of them gives a new key, so an entry is never updated in place. Entries are
written to a staging directory inside the cache and renamed into place (atomic), so concurrent
loads are safe. Raw data directories are never written. Delete the cache directory at any time
to reclaim space (but not while a notebook still reads a dataset loaded from it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from analysis import paths

#: Environment variable overriding ``analysis.paths.CACHE_DIR``.
CACHE_DIR_ENV_VAR = "PEMDA_WFA_CACHE_DIR"
CACHE_FORMAT = 2
ENTRY_JSON = "entry.json"
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


def code_fingerprint() -> str:
    """Hash of the modules that validate (all of ``analysis.data``) and of the library versions."""
    digest = hashlib.sha256(f"format {CACHE_FORMAT} duckdb {duckdb.__version__} "
                            f"pandas {pd.__version__}".encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + module.read_bytes())
    return digest.hexdigest()


def cache_key(data_dir: Path, root: Path, inputs: list[Path], salt: str) -> str:
    """The key of the entry for ``inputs`` (the dataset's files) read from ``data_dir``."""
    known_path = root / _FILE_HASHES
    try:
        known = json.loads(known_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    before = dict(known)
    files = list(inputs) + [paths.REGIONS_CSV, paths.POLICIES_CSV]
    parts = {
        "data_dir": str(data_dir),
        "files": [[str(p), p.stat().st_size, _file_sha256(p, known)] for p in files],
        "code": code_fingerprint(),
        "salt": hashlib.sha256(f"pemda-wfa cache salt fingerprint|{salt}".encode()).hexdigest(),
    }
    if known != before:
        try:
            atomic_write_text(known_path, json.dumps(known))
        except OSError:
            pass  # the pre-check is an optimisation only
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(name, path)


def find_entry(root: Path, key: str) -> Path | None:
    """The finished entry ``key`` (None if there is none)."""
    entry = root / key
    return entry if (entry / ENTRY_JSON).is_file() else None


def staging_dir(root: Path, key: str) -> Path:
    """A new directory inside the cache to validate into (renamed into place by :func:`publish`).
    Raises OSError when the cache cannot be written."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", dir=root))


def publish(staging: Path, root: Path, key: str) -> Path:
    """Rename ``staging`` to the entry ``key``; if a concurrent load finished it first, keep that
    one and remove ``staging``. Returns the entry."""
    target = root / key
    try:
        os.rename(staging, target)
    except OSError:
        if not find_entry(root, key):
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return target


def write_meta(directory: Path, meta: dict) -> None:
    (directory / ENTRY_JSON).write_text(json.dumps({"format": CACHE_FORMAT, **meta}, default=str),
                                        encoding="utf-8")


def read_meta(entry: Path) -> dict:
    """``entry.json`` of an entry; ValueError if it is damaged or of another format."""
    meta = json.loads((entry / ENTRY_JSON).read_text(encoding="utf-8"))
    if meta.get("format") != CACHE_FORMAT:
        raise ValueError(f"format {meta.get('format')!r}, expected {CACHE_FORMAT}")
    return meta
