"""Provenance: where a report came from (code version, input data, software, parameters)."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.data import read_metadata, read_truth
from analysis.errors import DataContractError
from analysis.paths import PROJECT_ROOT

#: the declared stack whose versions every report records
TRACKED_PACKAGES = (
    "pemda-wfa-analysis", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "moderndid",
    "pyfixest", "duckdb", "pyarrow", "openpyxl", "papermill", "nbformat", "nbconvert",
    "nbclient", "ipykernel", "PyYAML", "Jinja2",
)

#: files of a dataset directory that are never inputs (editor/OS clutter)
_IGNORED_NAMES = {".DS_Store", "Thumbs.db"}


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a string (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_directory(directory: Path) -> dict[str, str]:
    """SHA-256 of the content of every file under ``directory`` (relative POSIX path -> hex
    digest), sorted. Always read in full: size and modification time can be restored after an
    edit, so they never stand in for the content."""
    directory = Path(directory)
    hashes: dict[str, str] = {}
    if not directory.exists():
        return hashes
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if path.name in _IGNORED_NAMES or any(part.startswith(".") for part in path.relative_to(directory).parts):
            continue
        hashes[path.relative_to(directory).as_posix()] = sha256_file(path)
    return hashes


def code_fingerprint(package_dir: Path | None = None) -> str:
    """One SHA-256 over the source of the ``analysis`` package (every ``.py``, path + bytes)."""
    if package_dir is None:
        import analysis

        package_dir = Path(analysis.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def git_state(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None, "branch": name or None}``."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=20, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "branch": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "dirty": bool(status) if status is not None else None,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
    }


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each tracked distribution (``None`` when not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def dataset_seed(data_dir: Path) -> int | None:
    """The simulation seed of a synthetic dataset (``truth.json``, else ``dataset.json``), else None
    (also when either file is not a JSON object: the build reports that when it loads the data)."""
    try:
        documents = (read_truth(data_dir) or {}, read_metadata(data_dir))
    except DataContractError:
        return None
    for document in documents:
        if document.get("seed") is not None:
            return document["seed"]
    return None


def environment_record() -> dict[str, Any]:
    """Git state, package versions and platform: the part shared by every report of a build."""
    return {
        "git": git_state(),
        "packages": package_versions(),
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python_executable": Path(sys.executable).name,
    }
