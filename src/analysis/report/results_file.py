"""Machine-readable headline results of a report (``results.json``).

Every headline number a notebook states is also written here, for the index page, the policy
brief and the tests. Shape::

    {"report": "10_service_time", "parameters": {...},
     "results": [{"name", "estimate", "se", "ci_low", "ci_high", "unit", "label"}, ...]}
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class ResultEntry:
    """One headline number. ``unit`` is e.g. ``log points``, ``percent``, ``percentage points``,
    ``IDR`` or ``days``; ``label`` is a short human description in the report's language."""

    name: str
    estimate: float | None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    unit: str = ""
    label: str = ""


def _clean(value: Any) -> Any:
    """JSON-safe value: NaN/inf → None, numpy scalars → Python numbers."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class ResultsPath(type(Path())):
    """The path of a written results.json; a notebook cell ending with ``write_results(...)``
    shows nothing (a machine path has no place in a rendered report)."""

    def _ipython_display_(self) -> None:
        pass


def write_results(
    output_dir: str | Path,
    report: str,
    parameters: dict[str, Any],
    entries: Iterable[ResultEntry],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``output_dir/results.json`` and return its path.

    Names must be unique. The file is written deterministically (stable key order, no
    timestamps), so two runs on the same inputs give identical files.
    """
    entries = list(entries)
    names = [entry.name for entry in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"duplicate result names: {', '.join(duplicates)}")
    document = {
        "report": report,
        "parameters": _clean(dict(parameters)),
        "results": [_clean(asdict(entry)) for entry in entries],
    }
    if extra:
        document["extra"] = _clean(extra)
    path = ResultsPath(Path(output_dir) / RESULTS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    return path


def read_results(path: str | Path) -> dict[str, Any]:
    """Read a results.json (a file or the directory holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    return json.loads(path.read_text(encoding="utf-8"))


def results_frame(document: dict[str, Any]) -> pd.DataFrame:
    """The ``results`` list of a results document as a DataFrame indexed by ``name``."""
    return pd.DataFrame(document.get("results", [])).set_index("name")
