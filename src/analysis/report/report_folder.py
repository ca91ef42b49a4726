"""One report's folder ``OUT/<slug>/``: built aside, checked, then put in place whole.

A report runs in ``OUT/.staging/<slug>/``. When it has finished and passed the privacy check, the
build writes ``build-status.json`` last (status, the key it was built for, and the SHA-256 of
every other file of the folder) and swaps the staging folder into ``OUT/<slug>`` with two
renames (:func:`publish`). So ``OUT/<slug>`` is always a complete report of one run, or absent:
an interrupted build leaves the previous complete report and a staging folder that the next build
removes (:func:`clear_leftovers`).

A report is reused by an incremental build only if :func:`verified_status` confirms its folder:
the status file says ``ok``, names the same key, and every listed file still has its recorded
content (nothing missing, nothing edited).

A report that fails the privacy check is withheld (:func:`withhold`): its staging folder and any
earlier ``OUT/<slug>`` are deleted, so no file of it stays readable in the output folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from analysis.report.output_folder import atomic_write_json, child_path
from analysis.report.provenance import sha256_file

STATUS_JSON = "build-status.json"
STAGING_DIR = ".staging"
TRASH_DIR = ".trash"


def staging_folder(out_dir: Path, slug: str) -> Path:
    """A fresh, empty ``OUT/.staging/<slug>/`` to run the report in."""
    root = Path(out_dir) / STAGING_DIR
    root.mkdir(exist_ok=True)
    folder = child_path(root, slug, "report slug")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    return folder


def clear_leftovers(out_dir: Path) -> None:
    """Remove the staging and trash folders an interrupted build may have left."""
    for name in (STAGING_DIR, TRASH_DIR):
        shutil.rmtree(Path(out_dir) / name, ignore_errors=True)


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` except the status file (relative POSIX path)."""
    folder = Path(folder)
    return {
        path.relative_to(folder).as_posix(): sha256_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != STATUS_JSON
    }


def write_status(folder: Path, *, slug: str, status: str, key: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """Write ``build-status.json`` into ``folder`` (last, after every other file) and return it."""
    document = {"slug": slug, "status": status, "key": key, "error": error, "files": file_hashes(folder)}
    atomic_write_json(Path(folder) / STATUS_JSON, document)
    return document


def read_status(folder: Path) -> dict[str, Any] | None:
    """The folder's status document, or None if absent or unreadable."""
    try:
        document = json.loads((Path(folder) / STATUS_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def verified_status(folder: Path, key: str) -> dict[str, Any] | None:
    """The status of a folder that can be reused for ``key``: status ``ok``, the same key, and
    every recorded file present with its recorded SHA-256. None otherwise."""
    status = read_status(folder)
    if not status or status.get("status") != "ok" or status.get("key") != key:
        return None
    recorded = status.get("files")
    if not isinstance(recorded, dict) or not recorded:
        return None
    for name, digest in recorded.items():
        path = Path(folder) / name
        if not path.is_file() or sha256_file(path) != digest:
            return None
    return status


def publish(staging: Path, out_dir: Path, slug: str) -> Path:
    """Replace ``OUT/<slug>`` by the finished ``staging`` folder; return the final path."""
    final = child_path(out_dir, slug, "report slug")
    if final.exists() or final.is_symlink():
        trash_root = Path(out_dir) / TRASH_DIR
        trash_root.mkdir(exist_ok=True)
        trash = trash_root / f"{slug}.{os.getpid()}"
        if trash.exists():
            shutil.rmtree(trash)
        os.replace(final, trash)
        os.replace(staging, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, final)
    return final


def withhold(staging: Path, out_dir: Path, slug: str) -> None:
    """Delete a report that failed the privacy check: its staging folder and ``OUT/<slug>``."""
    shutil.rmtree(staging, ignore_errors=True)
    final = child_path(out_dir, slug, "report slug")
    if final.is_symlink() or final.is_file():
        final.unlink()
    elif final.exists():
        shutil.rmtree(final)
