"""What changed between two builds, and why: :func:`compare` of two history records.

The result (:class:`Changes`, written as ``OUT/changes.json``) holds facts, no sentences:

- ``reasons``: :class:`~analysis.notes.Note` values the build can establish from its records,
  with codes
  ``extraction_date_changed`` (previous, current), ``new_months`` / ``months_removed`` (table,
  months), ``new_adopters`` / ``removed_adopters`` / ``ended_adopters`` (region_codes),
  ``rows_added`` / ``rows_removed`` (table, previous, current: accepted rows),
  ``rows_rejected_changed`` (table, previous, current), ``rows_changed`` (table: same counts, other
  content: corrected rows), ``files_changed`` (files: other files of the dataset),
  ``data_unreadable`` (previous, current), ``parameters_changed``
  (reports), ``code_changed`` (analysis_code: bool, notebooks), ``packages_changed`` (packages);
- ``numbers``: one :class:`NumberChange` per headline number of a report present in both builds:
  previous and current value with their CIs, whether it moved, whether the new value lies within
  the previous CI, the reason codes that apply to it, and ``flag``: it moved outside the previous
  CI (or had none) with no data, code or parameter reason — for the reviewer to look at.

``status`` is ``no_previous`` (nothing to compare with), ``no_change`` (no reason and no number
moved) or ``changed``.

:func:`changes_for_brief` gives the policy brief (which runs inside a build, before that build's
record exists) the same comparison for its input reports against the latest recorded build.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from analysis.data.schemas import TABLES
from analysis.notes import Note
from analysis.report import history
from analysis.report.history import expand_months, latest_record
from analysis.report.output_folder import display_path
from analysis.report.provenance import hash_directory

#: reasons that come from the data (apply to every report)
DATA_REASONS = (
    "extraction_date_changed", "new_months", "months_removed", "new_adopters", "removed_adopters",
    "ended_adopters", "rows_added", "rows_removed", "rows_rejected_changed", "rows_changed",
    "files_changed", "data_unreadable",
)
#: relative tolerance under which two numbers are the same (JSON round trips, summation order)
SAME_RTOL = 1e-9


@dataclass(frozen=True)
class NumberChange:
    """One headline number in two builds. ``previous``/``current``: ``{"estimate", "ci_low",
    "ci_high", "se"}`` (None when the number is absent on that side); ``change``: current minus
    previous estimate; ``within_previous_ci``: None without a previous CI or estimate."""

    report: str
    name: str
    unit: str
    previous: dict[str, Any] | None
    current: dict[str, Any] | None
    change: float | None
    moved: bool
    within_previous_ci: bool | None
    reasons: tuple[str, ...]
    flag: bool
    headline: bool = False


@dataclass(frozen=True)
class Changes:
    """The comparison of two builds (see the module doc)."""

    status: str
    previous: dict[str, Any] | None
    current: dict[str, Any]
    reasons: tuple[Note, ...] = ()
    numbers: tuple[NumberChange, ...] = ()
    reports_added: tuple[str, ...] = ()
    reports_removed: tuple[str, ...] = ()

    @property
    def moved(self) -> tuple[NumberChange, ...]:
        return tuple(n for n in self.numbers if n.moved)

    @property
    def flagged(self) -> tuple[NumberChange, ...]:
        return tuple(n for n in self.numbers if n.flag)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "previous": self.previous,
            "current": self.current,
            "reasons": [note.as_dict() for note in self.reasons],
            "numbers": [asdict(number) for number in self.numbers],
            "moved": len(self.moved),
            "flagged": len(self.flagged),
            "reports_added": list(self.reports_added),
            "reports_removed": list(self.reports_removed),
        }


def summary_of(record: dict[str, Any]) -> dict[str, Any]:
    """Which build a record is: id, time, data-as-of date, code digest."""
    return {
        "build_id": record.get("build_id"),
        "built_at": record.get("built_at"),
        "data_as_of": (record.get("data") or {}).get("extracted_at"),
        "analysis_code_sha256": (record.get("code") or {}).get("analysis_code_sha256"),
        "git_commit": (record.get("code") or {}).get("git_commit"),
    }


def _active(adopter: list[Any], day: str | None) -> bool:
    """Whether an adopter row ``[region_code, start_date, end_date, is_trial]`` is in force on ``day``."""
    _, start, end = adopter[:3]
    if day is None:
        return end is None
    return (start is None or start <= day) and (end is None or end >= day)


def data_reasons(previous: dict[str, Any], current: dict[str, Any]) -> list[Note]:
    """Reasons found in the ``data`` parts of two records."""
    old, new = previous.get("data") or {}, current.get("data") or {}
    reasons: list[Note] = []
    if old.get("readable", True) != new.get("readable", True):
        reasons.append(Note("data_unreadable", {"previous": not old.get("readable", True),
                                                "current": not new.get("readable", True)}))
    if old.get("extracted_at") != new.get("extracted_at"):
        reasons.append(Note("extraction_date_changed", {"previous": old.get("extracted_at"),
                                                        "current": new.get("extracted_at")}))
    old_tables, new_tables = old.get("tables") or {}, new.get("tables") or {}
    for table in sorted(set(old_tables) | set(new_tables)):
        before, after = old_tables.get(table) or {}, new_tables.get(table) or {}
        months_before, months_after = set(expand_months(before.get("months"))), set(expand_months(after.get("months")))
        added, removed = sorted(months_after - months_before), sorted(months_before - months_after)
        if added:
            reasons.append(Note("new_months", {"table": table, "months": added}))
        if removed:
            reasons.append(Note("months_removed", {"table": table, "months": removed}))
        accepted_before, accepted_after = before.get("rows_accepted", 0), after.get("rows_accepted", 0)
        if accepted_after > accepted_before:
            reasons.append(Note("rows_added", {"table": table, "previous": accepted_before, "current": accepted_after}))
        elif accepted_after < accepted_before:
            reasons.append(Note("rows_removed", {"table": table, "previous": accepted_before, "current": accepted_after}))
        if before.get("rows_rejected", 0) != after.get("rows_rejected", 0):
            reasons.append(Note("rows_rejected_changed", {"table": table, "previous": before.get("rows_rejected", 0),
                                                          "current": after.get("rows_rejected", 0)}))
    changed = sorted(name for name in set(old.get("fingerprint") or {}) | set(new.get("fingerprint") or {})
                     if (old.get("fingerprint") or {}).get(name) != (new.get("fingerprint") or {}).get(name))
    explained = {n.params.get("table") for n in reasons if "table" in n.params}
    other_files = []
    for name in changed:
        table = _table_of(name)
        if table is None:
            if not (name == "dataset.json" and any(n.code == "extraction_date_changed" for n in reasons)):
                other_files.append(name)
        elif table not in explained:
            explained.add(table)
            reasons.append(Note("rows_changed", {"table": table}))
    if other_files:
        reasons.append(Note("files_changed", {"files": other_files}))

    def codes(adopters):
        return {a[0] for a in adopters or []}

    old_adopters, new_adopters = old.get("adopters") or [], new.get("adopters") or []
    added = sorted(codes(new_adopters) - codes(old_adopters))
    removed = sorted(codes(old_adopters) - codes(new_adopters))
    if added:
        reasons.append(Note("new_adopters", {"region_codes": added}))
    if removed:
        reasons.append(Note("removed_adopters", {"region_codes": removed}))
    active_before = {a[0] for a in old_adopters if _active(a, old.get("extracted_at"))}
    active_after = {a[0] for a in new_adopters if _active(a, new.get("extracted_at"))}
    ended = sorted((active_before - active_after) & codes(new_adopters))
    if ended:
        reasons.append(Note("ended_adopters", {"region_codes": ended}))
    return reasons


def _table_of(file_name: str) -> str | None:
    """The input table a dataset file holds (``service_requests.parquet`` -> ``service_requests``)."""
    stem = file_name.rsplit("/", 1)[-1].split(".", 1)[0]
    return stem if stem in TABLES else None


def code_reasons(previous: dict[str, Any], current: dict[str, Any]) -> tuple[list[Note], dict[str, list[str]]]:
    """Build-wide code reasons and, per report slug, the codes that apply to it only."""
    old, new = previous.get("code") or {}, current.get("code") or {}
    reasons: list[Note] = []
    per_report: dict[str, list[str]] = {}
    package_changed = (None not in (old.get("analysis_code_sha256"), new.get("analysis_code_sha256"))
                       and old["analysis_code_sha256"] != new["analysis_code_sha256"])
    old_notebooks, new_notebooks = old.get("notebooks") or {}, new.get("notebooks") or {}
    notebooks = sorted(n for n in set(old_notebooks) & set(new_notebooks) if old_notebooks[n] != new_notebooks[n])
    if package_changed or notebooks:
        reasons.append(Note("code_changed", {"analysis_code": package_changed, "notebooks": notebooks}))
    old_packages, new_packages = old.get("packages") or {}, new.get("packages") or {}
    packages = sorted(p for p in set(old_packages) | set(new_packages) if old_packages.get(p) != new_packages.get(p)) \
        if old_packages and new_packages else []
    if packages:
        reasons.append(Note("packages_changed", {"packages": packages}))
    changed_parameters = []
    for slug, report in (current.get("reports") or {}).items():
        before = (previous.get("reports") or {}).get(slug)
        if before is None:
            continue
        codes = []
        if before.get("parameters") != report.get("parameters"):
            codes.append("parameters_changed")
            changed_parameters.append(slug)
        if report.get("notebook") in notebooks or package_changed:
            codes.append("code_changed")
        if packages:
            codes.append("packages_changed")
        per_report[slug] = codes
    if changed_parameters:
        reasons.append(Note("parameters_changed", {"reports": sorted(changed_parameters)}))
    return reasons, per_report


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=SAME_RTOL, abs_tol=1e-12)


def _values(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {k: _number(entry.get(k)) for k in ("estimate", "ci_low", "ci_high", "se")}


def compare_numbers(slug: str, previous: dict[str, Any], current: dict[str, Any], reasons: tuple[str, ...]) -> list[NumberChange]:
    """Number by number comparison of one report present in both builds."""
    before = {e["name"]: e for e in history.entries(previous)}
    after = {e["name"]: e for e in history.entries(current)}
    headline = current.get("headline") or previous.get("headline")
    changes = []
    for name in list(after) + [n for n in before if n not in after]:
        old, new = _values(before.get(name)), _values(after.get(name))
        if old is None or new is None:
            moved, change, within = True, None, None
        else:
            moved = not all(_same(old[k], new[k]) for k in ("estimate", "ci_low", "ci_high"))
            change = None if old["estimate"] is None or new["estimate"] is None else new["estimate"] - old["estimate"]
            within = None
            if old["ci_low"] is not None and old["ci_high"] is not None and new["estimate"] is not None:
                within = old["ci_low"] <= new["estimate"] <= old["ci_high"]
        entry = after.get(name) or before.get(name)
        changes.append(NumberChange(
            report=slug,
            name=name,
            unit=str(entry.get("unit") or ""),
            previous=old,
            current=new,
            change=change,
            moved=moved,
            within_previous_ci=within,
            reasons=reasons if moved else (),
            flag=moved and not reasons and within is not True,
            headline=name == headline,
        ))
    return changes


def compare(previous: dict[str, Any] | None, current: dict[str, Any]) -> Changes:
    """Compare two history records (``previous`` None: nothing to compare with)."""
    if previous is None:
        return Changes("no_previous", None, summary_of(current))
    reasons = data_reasons(previous, current)
    build_code_reasons, per_report = code_reasons(previous, current)
    reasons += build_code_reasons
    data_codes = tuple(dict.fromkeys(n.code for n in reasons if n.code in DATA_REASONS))
    numbers: list[NumberChange] = []
    old_reports, new_reports = previous.get("reports") or {}, current.get("reports") or {}
    for slug, report in new_reports.items():
        if slug not in old_reports:
            continue
        applying = tuple(dict.fromkeys(data_codes + tuple(per_report.get(slug, []))))
        numbers += compare_numbers(slug, old_reports[slug], report, applying)
    added = tuple(s for s in new_reports if s not in old_reports)
    removed = tuple(s for s in old_reports if s not in new_reports and not _partial(current))
    status = "no_change" if not reasons and not any(n.moved for n in numbers) else "changed"
    return Changes(status, summary_of(previous), summary_of(current), tuple(reasons), tuple(numbers), added, removed)


def _partial(record: dict[str, Any]) -> bool:
    selection = record.get("selection") or {}
    return bool(selection.get("only") or selection.get("lang"))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def current_snapshot(reports_dir: Path, data_dir: Path, report_slugs: list[str]) -> dict[str, Any]:
    """A history-record-shaped snapshot of the reports ``report_slugs`` as they are now in
    ``reports_dir`` (results, status, and the code and parameters from their provenance) and of
    the data in ``data_dir``. Marked partial (only these reports)."""
    reports: dict[str, Any] = {}
    code: dict[str, Any] = {"analysis_code_sha256": None, "notebooks": {}, "packages": {}}
    for slug in report_slugs:
        folder = Path(reports_dir) / slug
        provenance = _read_json(folder / "provenance.json")
        status = _read_json(folder / "build-status.json").get("status") or ("ok" if folder.is_dir() else "missing")
        notebook = Path(str(provenance.get("notebook") or slug)).stem
        reports[slug] = {
            "notebook": notebook,
            "parameters": provenance.get("parameters") or {},
            "status": status,
            "headline": None,
            "results": history.result_rows(folder) if status == "ok" else [],
        }
        code["analysis_code_sha256"] = code["analysis_code_sha256"] or provenance.get("analysis_code_sha256")
        if provenance.get("notebook_sha256"):
            code["notebooks"][notebook] = provenance["notebook_sha256"]
        code["packages"] = code["packages"] or provenance.get("packages") or {}
    return {
        "schema": history.SCHEMA_VERSION,
        "build_id": None,
        "built_at": None,
        "selection": {"only": ",".join(report_slugs), "lang": None},
        "code": code,
        "data": {"label": display_path(data_dir), "fingerprint": hash_directory(data_dir), **history.data_facts(data_dir)},
        "reports": reports,
    }


def changes_for_brief(reports_dir: Path, data_dir: Path, report_slugs: list[str]) -> Changes:
    """What moved since the last recorded build in ``reports_dir`` for the reports
    ``report_slugs`` (the brief's inputs): ``status`` ``no_previous`` when no build was recorded
    yet. ``current["data_as_of"]`` is the data-as-of date the brief states; ``numbers`` hold each
    moved headline number with both CIs and its reasons."""
    return compare(latest_record(reports_dir), current_snapshot(reports_dir, data_dir, report_slugs))
