"""The build's output folder (``--out``): safe names inside it, atomic writes, one build at a time.

- Every name taken from configuration that becomes a path (a report slug, a notebook name) must
  match :data:`SAFE_NAME` and resolve to a direct child of its folder (:func:`child_path`);
  anything else is a :class:`~analysis.errors.UsageError` (CLI exit 2), never a path outside.
- Files the build writes at the top of the folder (``manifest.json``, ``index.html``,
  ``changes.json``, history records) are written to a temporary file in the same folder and
  renamed into place (:func:`atomic_write_text`): a crash or a full disk leaves the previous
  version, never a truncated one.
- :class:`OutputLock` holds an exclusive ``flock`` on ``OUT/.build.lock`` for the whole build; a
  second build into the same folder stops at once with a usage error (the lock is released by
  the kernel when the holding process ends, even by ``SIGKILL``).
- :func:`check_locations` refuses an ``--out`` that is a file, or that overlaps ``--data`` (the
  build would write into the raw data, or hash its own outputs as inputs).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from analysis.errors import UsageError
from analysis.paths import PROJECT_ROOT

#: a file-name-safe name: starts with a letter or digit (so never ``.``/``..`` or hidden), then
#: letters, digits, ``.``, ``_``, ``-``; at most 120 characters
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")
LOCK_FILE = ".build.lock"


def check_name(name: str, what: str) -> str:
    """``name`` if it is a :data:`SAFE_NAME`, else a :class:`UsageError` saying ``what`` it is."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise UsageError(
            f"{what} {name!r} is not a safe name: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (at most 120 characters)"
        )
    return name


def child_path(root: Path, name: str, what: str = "name") -> Path:
    """``root / name`` for a safe ``name`` that resolves to a direct child of ``root``."""
    check_name(name, what)
    root = Path(root).resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise UsageError(f"{what} {name!r} resolves outside {display_path(root)}")
    return path


def display_path(path: Path | str) -> str:
    """A path for outputs: relative to the project root when inside it, else only its last
    component (no machine paths in reports, manifests or history records)."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).as_posix() or "."
    except ValueError:
        return resolved.name


def display_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` with every absolute path value replaced by its :func:`display_path`."""
    return {
        name: display_path(value) if isinstance(value, str) and os.path.isabs(value) else value
        for name, value in parameters.items()
    }


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, ``fsync`` it and
    rename it into place. On any error the temporary file is removed and the old ``path`` (if
    any) is left as it was; the error is raised."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """:func:`atomic_write_bytes` of UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, document: object) -> Path:
    """:func:`atomic_write_text` of indented JSON (non-JSON values as ``str``)."""
    return atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")


def _overlaps(inner: Path, outer: Path) -> bool:
    return inner == outer or inner.is_relative_to(outer)


def check_locations(data_dir: Path, out_dir: Path) -> tuple[Path, Path]:
    """Resolved ``(data_dir, out_dir)``, or a :class:`UsageError` when ``--out`` is not a folder
    or overlaps ``--data`` (either inside the other). Nothing is created."""
    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir).resolve()
    if _overlaps(out_dir, data_dir):
        raise UsageError(
            f"--out {display_path(out_dir)} is inside --data {display_path(data_dir)}: the build would write "
            "into the raw data; choose an output folder outside the dataset"
        )
    if _overlaps(data_dir, out_dir):
        raise UsageError(
            f"--data {display_path(data_dir)} is inside --out {display_path(out_dir)}: the build replaces "
            "folders there; keep the dataset outside the output folder"
        )
    for parent in (out_dir, *out_dir.parents):
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"--out {display_path(out_dir)}: {display_path(parent)} exists and is not a folder")
            break
    return data_dir, out_dir


def make_out_dir(out_dir: Path) -> Path:
    """Create ``out_dir`` (and parents); an :class:`UsageError` if that is impossible."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out {display_path(out_dir)}: {exc.strerror or exc}") from exc
    if not out_dir.is_dir():
        raise UsageError(f"--out {display_path(out_dir)} is not a folder")
    return out_dir


class BuildLocked(UsageError):
    """Another build holds the output folder's lock."""


class OutputLock:
    """Exclusive lock on an output folder for the duration of a build (``with OutputLock(out):``).

    Raises :class:`BuildLocked` when another process holds it, :class:`UsageError` when the folder
    is not writable. The lock file records the holder's pid and start time (for the message)."""

    def __init__(self, out_dir: Path) -> None:
        self.path = Path(out_dir) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> "OutputLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot write to --out {display_path(self.path.parent)}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip()
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise BuildLocked(
                    f"another build is writing to {display_path(self.path.parent)} ({holder or 'holder unknown'}); "
                    "wait for it to finish or choose another --out"
                ) from None
            raise UsageError(f"cannot lock --out {display_path(self.path.parent)}: {exc.strerror or exc}") from exc
        try:
            os.ftruncate(fd, 0)
            started = datetime.now(timezone.utc).isoformat(timespec="seconds")
            os.write(fd, f"pid {os.getpid()}, started {started}\n".encode())
        except OSError:
            pass  # the holder note is for messages only; the lock itself is held
        self._fd = fd
        return self

    def __exit__(self, *exc_info) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
