"""Machine-readable headline results of a report (``results.json``).

Every headline number a notebook states is also written here, for the index page, the policy
brief and the tests. Shape::

    {"report": "10_service_time", "parameters": {...},   # without the build's locations

     "results": [{"name", "estimate", "se", "ci_low", "ci_high", "unit", "label",
                  "estimand", "sample", "inference"}, ...]}

``estimand``, ``sample`` and ``inference`` are facts, not sentences (the words are in
``analysis.texts``): a headline entry says what it measures (:class:`Estimand`), on whom
(:class:`Sample`), and how its uncertainty was computed (:class:`Inference`). They are ``null``
for plain counts.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from analysis.notes import Note

RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class Estimand:
    """What a number measures, in codes the text catalogue renders.

    ``outcome``: the measured quantity (e.g. ``log_median_days``, ``log_routine_spending_real``,
    ``savings_idr``); ``scale``: ``log_points``, ``percent``, ``percentage_points``, ``idr``,
    ``idr_per_year``, ``ratio`` or ``days``; ``units``: whose effect (e.g.
    ``treated_pemda_service_lines``, ``treated_pemda``, ``target_pemda``); ``periods``: which
    periods (e.g. ``post_adoption_months_wfa_in_force``); ``weights``: how cells are weighted
    (e.g. ``treated_cells_equal``, ``requests``); ``estimator``: short name (``imputation``,
    ``cs``, ``sdid``, ...); ``details``: anything else that pins it down (window, base year,
    days per week), JSON-safe values.
    """

    outcome: str
    scale: str
    units: str
    periods: str
    weights: str
    estimator: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """On whom a number was estimated: Pemda counted on each side and who was left out, why.

    ``treated``: region codes of the treated Pemda in the estimate; ``comparison_count``: number
    of comparison Pemda; ``excluded``: one mapping per Pemda left out, ``{"region_code",
    "reason"}`` (``reason`` a code, e.g. ``switched_off``, ``single_pemda_cohort``,
    ``cohort_after_window``), plus optional fields; ``real_adopters_included``: the region codes
    of real (registry) adopters among ``treated``.
    """

    treated: tuple[str, ...]
    comparison_count: int
    excluded: tuple[dict[str, Any], ...] = ()
    real_adopters_included: tuple[str, ...] = ()

    @property
    def treated_count(self) -> int:
        return len(self.treated)


@dataclass(frozen=True)
class Inference:
    """How the uncertainty of a number was computed. ``method``: ``cluster_robust``,
    ``randomization``, ``wild_cluster_bootstrap``, ``multiplier_bootstrap``, ``placebo`` ...;
    ``reason``: why this method (a code, e.g. ``few_treated_clusters``); ``n_treated_clusters``;
    ``pvalue``: of the null of no effect under this method; ``details``: draws, seed, weights."""

    method: str
    reason: str = ""
    n_treated_clusters: int | None = None
    pvalue: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResultEntry:
    """One headline number. ``unit`` is e.g. ``log points``, ``percent``, ``percentage points``,
    ``IDR`` or ``days``; ``label`` is a short description (not shown to readers: pages take their
    words from ``analysis.texts``); ``estimand``, ``sample``, ``inference``: see the module doc."""

    name: str
    estimate: float | None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    unit: str = ""
    label: str = ""
    estimand: Estimand | None = None
    sample: Sample | None = None
    inference: Inference | None = None


def _clean(value: Any) -> Any:
    """JSON-safe value: NaN/inf → None, numpy scalars → Python numbers."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Note):
        return _clean(value.as_dict())
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, Sample):
        return {**_clean(asdict(value)), "treated_count": value.treated_count}
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
    timestamps), so two runs on the same inputs give identical files. It holds no machine path:
    the build's location parameters (``data_dir``, ``output_dir``, ``reports_dir``) are left out
    (they say where, not what; ``provenance.json`` names the data) and any other absolute path
    value is shown relative to the project (or by its last component).
    """
    entries = list(entries)
    names = [entry.name for entry in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"duplicate result names: {', '.join(duplicates)}")
    document = {
        "report": report,
        "parameters": _clean(_portable_parameters(parameters)),
        "results": [entry_as_dict(entry) for entry in entries],
    }
    if extra:
        document["extra"] = _clean(extra)
    path = ResultsPath(Path(output_dir) / RESULTS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    return path


def _portable_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    from analysis.report.config import BUILD_PARAMETERS
    from analysis.report.output_folder import display_parameters

    return display_parameters({k: v for k, v in dict(parameters).items() if k not in BUILD_PARAMETERS})


def entry_as_dict(entry: ResultEntry) -> dict[str, Any]:
    """``entry`` as it is written to results.json (plain JSON values)."""
    out = {}
    for name in ("name", "estimate", "se", "ci_low", "ci_high", "unit", "label"):
        out[name] = _clean(getattr(entry, name))
    for name in ("estimand", "sample", "inference"):
        value = getattr(entry, name)
        out[name] = None if value is None else _clean(value if isinstance(value, Sample) else asdict(value))
    return out


def read_results(path: str | Path) -> dict[str, Any]:
    """Read a results.json (a file or the directory holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    return json.loads(path.read_text(encoding="utf-8"))


def results_frame(document: dict[str, Any]) -> pd.DataFrame:
    """The ``results`` list of a results document as a DataFrame indexed by ``name``."""
    return pd.DataFrame(document.get("results", [])).set_index("name")
