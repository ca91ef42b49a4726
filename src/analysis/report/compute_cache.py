"""Compute once, render per language: a content-addressed cache of a report's expensive results.

A notebook's heavy step goes through :meth:`analysis.report.context.ReportContext.compute`
(``ctx.compute(run_analysis, inputs, outcome=...)``), which calls :func:`cached_call`. The result
(estimates, bootstrap draws, fitted models, the data of the figures: whatever the function returns)
is pickled under ``<cache dir>/compute/<key[:2]>/<key>.pkl`` (the cache dir is
``PEMDA_WFA_CACHE_DIR``, as for :mod:`analysis.data.cache`), where the key is a SHA-256 over

- the function (module and qualified name);
- the validated data's fingerprint (:func:`analysis.data.dataset_fingerprint`: the key of the
  validated-data cache entry: every input file's bytes, the validating code and the salt);
- the notebook's parameters **without** ``lang`` and ``output_dir`` (so the ``-id`` and ``-en``
  reports share their estimates);
- a token of every argument (:func:`token`: content hashes of frames, the cache key of a
  :class:`~analysis.data.Dataset`, the fingerprint of a dataset directory, recursively through
  dataclasses and containers; a value an earlier cached call returned is represented by that
  call's key, so a step on the result of another, e.g. the budget's event studies on the budget
  analysis, is cached too);
- the analysis code version (:func:`code_version`): a digest of every file of ``src/analysis``
  except ``texts/`` (the wording) and ``figures/`` (the drawing), so a change of wording or of a
  figure's look does not invalidate estimates, while any change of analysis code does.

Writes are atomic (a temporary file in the same directory, then a rename) and each key has a lock
file (``fcntl.flock``): when two processes ask for the same result at once (the ``-id`` and
``-en`` runs of one report), the second waits for the first and reads its result instead of
computing it again. A lock held by a process that died is released by the operating system. An
entry that cannot be read back (truncated, corrupt, written by another library version) is
computed again and overwritten.

Why not ``joblib.Memory``: it keys a call by the function's own source and the pickled
arguments; a change in the analysis code that function calls, or new files behind the same
dataset directory (an argument ``data_dir`` hashes as its path, not its content), would reuse a stale
entry, and two processes asking for the same entry both compute it.

``PEMDA_WFA_COMPUTE_CACHE=off`` disables the cache (every call computes). Each call is logged:
to ``ctx.output_dir / COMPUTE_LOG`` (one JSON line per call: function, ``cached`` or
``computed``, seconds), which the build turns into the per-report ``estimates: cached`` line of
its log (:mod:`analysis.report.runner`).
"""

from __future__ import annotations

import dataclasses
import enum
import fcntl
import hashlib
import json
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Environment variable: ``off`` (or ``0``, ``no``, ``false``) disables the compute cache.
ENV_VAR = "PEMDA_WFA_COMPUTE_CACHE"
#: Version of the entry format; a change makes every old entry unreachable.
FORMAT_VERSION = 1
#: The per-report log the build reads (a hidden file in the report's output folder, removed by the build).
COMPUTE_LOG = ".compute-log.jsonl"
#: Directories of ``src/analysis`` left out of the code version (wording and drawing only).
PRESENTATION_DIRS = ("texts", "figures")
#: Parameters that never change an estimate.
IGNORED_PARAMETERS = frozenset({"lang", "output_dir"})

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def enabled() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() not in {"off", "0", "no", "false"}


def cache_root() -> Path:
    """``<cache dir>/compute`` (``PEMDA_WFA_CACHE_DIR`` or the project's ``.cache``)."""
    from analysis.data.cache import cache_dir

    return cache_dir() / "compute"


def _code_files(root: Path) -> list[Path]:
    files = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix in {".pyc", ".pyo"}:
            continue
        if rel.parts and rel.parts[0] in PRESENTATION_DIRS:
            continue
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def code_version(root: Path | None = None) -> str:
    """SHA-256 over every file of the ``analysis`` package (names and bytes) except
    :data:`PRESENTATION_DIRS` and byte code. Computed once per process for the installed package."""
    if root is None:
        return _installed_code_version()
    digest = hashlib.sha256(f"compute-cache {FORMAT_VERSION}".encode())
    for path in _code_files(Path(root)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _installed_code_version() -> str:
    return code_version(_PACKAGE_ROOT)


# --------------------------------------------------------------------------------------------
# Tokens: what an argument contributes to the key
# --------------------------------------------------------------------------------------------

def _frame_token(frame: pd.DataFrame | pd.Series) -> list:
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    columns = list(map(str, frame.columns)) if isinstance(frame, pd.DataFrame) else [str(frame.name)]
    dtypes = [str(t) for t in (frame.dtypes if isinstance(frame, pd.DataFrame) else [frame.dtype])]
    return ["frame", columns, dtypes, len(frame), hashlib.sha256(hashed.tobytes()).hexdigest()]


#: id -> (value, key) of every value a cached call returned in this process: an argument that is
#: such a value is keyed by the key it came from (its content follows from it), not by hashing
#: it, which would be slow for big results and unstable for results that memoise lazily.
_ORIGINS: dict[int, tuple[Any, str]] = {}


def token(value: Any) -> Any:
    """A JSON-able stand-in for ``value`` that changes when its content does.

    An object may define ``__cache_token__()`` (a :class:`~analysis.data.Dataset` gives its
    validated-data key; inputs loaded from a dataset name the dataset and the loading call; None
    when it cannot say); frames and arrays are hashed; a directory path is fingerprinted like a
    dataset when it holds one; dataclasses, mappings and sequences are walked. Anything else is
    pickled and hashed (TypeError if it cannot be pickled: such an argument cannot be keyed)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    origin = _ORIGINS.get(id(value))
    if origin is not None and origin[0] is value:  # the result of an earlier cached call
        return ["result", origin[1]]
    if isinstance(value, float):
        return repr(value)
    own = value.__cache_token__() if hasattr(value, "__cache_token__") else None
    if own is not None:  # None: the object cannot name its content; walked like any other
        return [type(value).__name__, own]
    if isinstance(value, enum.Enum):
        return [type(value).__name__, value.name]
    if isinstance(value, Path):
        return ["path", _path_token(value)]
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return _frame_token(value)
    if isinstance(value, pd.Timestamp):
        return ["timestamp", value.isoformat()]
    if isinstance(value, np.ndarray):
        return ["array", str(value.dtype), list(value.shape), hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()]
    if isinstance(value, np.generic):
        return token(value.item())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [type(value).__module__ + "." + type(value).__qualname__,
                {f.name: token(getattr(value, f.name)) for f in dataclasses.fields(value)}]
    if isinstance(value, Mapping):
        return ["map", sorted(([str(k), token(v)] for k, v in value.items()), key=lambda kv: kv[0])]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [token(v) for v in value]]
    if isinstance(value, (set, frozenset)):
        return ["set", sorted(json.dumps(token(v), sort_keys=True) for v in value)]
    if callable(value) and hasattr(value, "__qualname__"):
        return ["callable", getattr(value, "__module__", ""), value.__qualname__]
    return ["pickle", hashlib.sha256(pickle.dumps(value, protocol=4)).hexdigest()]


def _path_token(path: Path) -> str:
    from analysis.data import dataset_fingerprint

    if path.is_dir():
        try:
            return "dataset:" + dataset_fingerprint(path)
        except Exception:  # noqa: BLE001 - not a dataset directory: its name only
            pass
    return str(path)


def make_key(function: Callable, args: tuple, kwargs: dict, *, context: Mapping[str, Any] | None = None,
             code: str | None = None) -> str:
    """The entry key of ``function(*args, **kwargs)`` (module doc); ``context``: e.g. the data
    fingerprint and the parameters without ``lang``."""
    payload = {
        "format": FORMAT_VERSION,
        "function": f"{function.__module__}.{function.__qualname__}",
        "context": token(dict(context or {})),
        "args": token(tuple(args)),
        "kwargs": token(dict(kwargs)),
        "code": code or code_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Store
# --------------------------------------------------------------------------------------------

def entry_path(key: str, root: Path | None = None) -> Path:
    return (root or cache_root()) / key[:2] / f"{key}.pkl"


def _read(path: Path) -> tuple[bool, Any]:
    try:
        with path.open("rb") as handle:
            return True, pickle.load(handle)
    except FileNotFoundError:
        return False, None
    except Exception:  # noqa: BLE001 - a corrupt or unreadable entry is recomputed
        return False, None


def _write(path: Path, value: Any) -> bool:
    """Pickle ``value`` to ``path`` atomically; False (nothing written) if it cannot be pickled
    or the cache cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, path)
        return True
    except Exception:  # noqa: BLE001 - an unpicklable result is simply not cached
        try:
            os.unlink(name)
        except OSError:
            pass
        return False


class _KeyLock:
    """An exclusive ``flock`` on ``<entry>.lock`` (no-op if the cache cannot be written)."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_suffix(".lock")
        self.handle = None

    def __enter__(self) -> "_KeyLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.path.open("a")
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX)
        except OSError:
            self.handle = None
        return self

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()


@dataclasses.dataclass(frozen=True)
class CallRecord:
    """How one cached call went: ``status`` ``cached`` (read back), ``computed`` (and stored) or
    ``uncached`` (computed; the cache is off or the result could not be stored)."""

    function: str
    key: str
    status: str
    seconds: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def cached_call(function: Callable, args: tuple = (), kwargs: Mapping[str, Any] | None = None, *,
                context: Mapping[str, Any] | None = None, root: Path | None = None,
                log: Path | None = None) -> Any:
    """``function(*args, **kwargs)``, read from the cache when the same call (module doc) was
    computed before, else computed and stored. ``log``: append a :class:`CallRecord` line there."""
    args, kwargs = tuple(args), dict(kwargs or {})
    name = f"{function.__module__}.{function.__qualname__}"
    started = time.perf_counter()
    if not enabled():
        value = function(*args, **kwargs)
        _log(log, CallRecord(name, "", "uncached", time.perf_counter() - started))
        return value
    key = make_key(function, args, kwargs, context=context)
    path = entry_path(key, root)
    found, value = _read(path)
    if not found:
        with _KeyLock(path):
            found, value = _read(path)  # another process may have finished it while we waited
            if not found:
                value = function(*args, **kwargs)
                status = "computed" if _write(path, value) else "uncached"
    if found:
        status = "cached"
    if value is not None and not isinstance(value, (bool, int, float, str)):
        _ORIGINS[id(value)] = (value, key)
    _log(log, CallRecord(name, key, status, time.perf_counter() - started))
    return value


def _log(log: Path | None, record: CallRecord) -> None:
    if log is None:
        return
    try:
        with Path(log).open("a", encoding="utf-8") as out:
            out.write(json.dumps(record.as_dict()) + "\n")
    except OSError:
        pass


def read_log(log: Path) -> list[dict]:
    """The records of a compute log (empty if there is none)."""
    try:
        lines = Path(log).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def summary(records: list[dict]) -> str | None:
    """``cached``, ``computed`` or ``mixed (1 cached, 2 computed)`` for a report's calls (None: no call)."""
    if not records:
        return None
    statuses = [r.get("status") for r in records]
    if all(s == "cached" for s in statuses):
        return "cached"
    if not any(s == "cached" for s in statuses):
        return "computed"
    n_cached = sum(s == "cached" for s in statuses)
    return f"mixed ({n_cached} cached, {len(statuses) - n_cached} computed)"
