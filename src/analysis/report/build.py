"""The whole build: configuration -> incremental plan -> papermill pool -> checks -> manifest, index.

:func:`build_reports` is what ``python -m analysis build`` calls; it returns a :class:`BuildSummary`
and never raises for a failing report (only for an invalid configuration or unreadable data).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from analysis.data import load
from analysis.paths import PROJECT_ROOT
from analysis.report import provenance as prov
from analysis.report.config import ReportSpec, load_reports, resolve_dependencies, select_reports
from analysis.report.index import headline, write_index
from analysis.report.runner import RESULTS_JSON, ReportJob, ReportOutcome, run_jobs
from analysis.report.scrub import DEFAULT_MIN_COUNT, check_report_dir

MANIFEST_JSON = "manifest.json"
HASH_CACHE = ".input-hashes.json"
DEFAULT_CONFIG = PROJECT_ROOT / "reports.yaml"


@dataclass
class BuildSummary:
    """Outcome of a build: per-report records (as in the manifest) and where things are."""

    out_dir: Path
    manifest_path: Path
    index_path: Path
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [r["slug"] for r in self.records if r["status"] == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _display_path(path: Path) -> str:
    """A path relative to the project root when inside it (no machine paths in reports)."""
    try:
        return Path(path).resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return Path(path).name


def load_adopters(data_dir: Path) -> list[str]:
    """Region codes of the adopters in the dataset's validated ``policies`` table (sorted, unique;
    the bundled registry when the dataset has none)."""
    policies = load(data_dir).policies
    if policies is None:
        return []
    return sorted(set(policies["region_code"].dropna().astype(str)))


def report_key(spec: ReportSpec, notebook_sha: str, inputs: dict[str, str], code: str, dep_keys: list[str]) -> str:
    """Hash of everything a report's outputs depend on (notebook, parameters, data, code, inputs
    from reports it depends on)."""
    payload = {
        "notebook": notebook_sha,
        "parameters": spec.parameters,
        "inputs": inputs,
        "code": code,
        "depends_on": dep_keys,
    }
    return prov.sha256_text(json.dumps(payload, sort_keys=True, default=str))


def _previous_records(out_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        manifest = json.loads((out_dir / MANIFEST_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {r["slug"]: r for r in manifest.get("reports", []) if "slug" in r}


def _title(spec: ReportSpec) -> str:
    lang = spec.lang or "id"
    if spec.title:
        return spec.title.get(lang) or next(iter(spec.title.values()))
    return spec.slug


class Progress:
    """Progress lines on a stream: reports done / total, the report, elapsed time, running ones."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.running: list[str] = []
        self.start = time.perf_counter()
        self.stream = stream or sys.stderr

    def _elapsed(self) -> str:
        seconds = int(time.perf_counter() - self.start)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def __call__(self, kind: str, slug: str, outcome: ReportOutcome | None) -> None:
        if kind == "start":
            self.running.append(slug)
            line = f"[{self.done}/{self.total}] {self._elapsed()} start   {slug}"
        else:
            self.done += 1
            if slug in self.running:
                self.running.remove(slug)
            took = f" ({outcome.duration_s:.1f} s)" if outcome and outcome.duration_s is not None else ""
            status = outcome.status if outcome else "?"
            line = f"[{self.done}/{self.total}] {self._elapsed()} {status:<7} {slug}{took}"
            if self.running:
                line += f"  | running: {', '.join(self.running)}"
        print(line, file=self.stream, flush=True)


def build_reports(
    *,
    config_path: Path = DEFAULT_CONFIG,
    data_dir: Path,
    out_dir: Path,
    only: str | None = None,
    lang: str | None = None,
    jobs: int = 1,
    force: bool = False,
    min_count: int = DEFAULT_MIN_COUNT,
    stream: TextIO | None = None,
    kernel_name: str = "python3",
) -> BuildSummary:
    """Run the configured reports on ``data_dir`` into ``out_dir``; see the module docstring."""
    started_at = _now()
    clock = time.perf_counter()
    stream = stream or sys.stderr
    data_dir = Path(data_dir).resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    specs = load_reports(Path(config_path), adopters=lambda: load_adopters(data_dir))
    selected = select_reports(specs, only=only, lang=lang)

    cache_path = out_dir / HASH_CACHE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    inputs = prov.hash_directory(data_dir, cache=cache)
    cache_path.write_text(json.dumps(cache, sort_keys=True), encoding="utf-8")
    code = prov.code_fingerprint()
    environment = prov.environment_record()
    seed = prov.dataset_seed(data_dir)
    previous = _previous_records(out_dir)

    keys: dict[str, str] = {}
    plan: list[tuple[ReportSpec, str, bool]] = []  # (spec, key, rerun)
    for spec in selected:
        dep_slugs = resolve_dependencies(spec, specs)
        notebook_sha = prov.sha256_file(spec.notebook_path)
        key = report_key(spec, notebook_sha, inputs, code, [keys.get(d, previous.get(d, {}).get("key", "")) for d in dep_slugs])
        keys[spec.slug] = key
        old = previous.get(spec.slug, {})
        unchanged = (
            old.get("key") == key
            and old.get("status") in ("ok", "skipped")
            and (out_dir / spec.slug / "report.html").exists()
        )
        plan.append((spec, key, force or not unchanged))

    rerun_slugs = {spec.slug for spec, _, rerun in plan if rerun}
    # a dependent of a rerun report reruns too (its inputs may change)
    for spec, key, _ in plan:
        if any(d in rerun_slugs for d in resolve_dependencies(spec, specs)):
            rerun_slugs.add(spec.slug)

    job_list = []
    for spec, key, _ in plan:
        if spec.slug not in rerun_slugs:
            continue
        report_dir = out_dir / spec.slug
        parameters = dict(spec.parameters)
        declared = set(spec.declared_parameters)
        if "data_dir" in declared:
            parameters["data_dir"] = str(data_dir)
        if "output_dir" in declared:
            parameters["output_dir"] = str(report_dir)
        if "reports_dir" in declared:
            parameters["reports_dir"] = str(out_dir)
        report_provenance = {
            **environment,
            "report": spec.slug,
            "notebook": _display_path(spec.notebook_path),
            "notebook_sha256": prov.sha256_file(spec.notebook_path),
            "analysis_code_sha256": code,
            "parameters": spec.parameters,
            "seed": spec.parameters.get("seed", seed),
            "data": _display_path(data_dir),
            "inputs": inputs,
            "key": key,
        }
        job_list.append(
            ReportJob(
                slug=spec.slug,
                notebook_path=str(spec.notebook_path),
                output_dir=str(report_dir),
                parameters=parameters,
                title=_title(spec),
                lang=spec.lang,
                provenance=report_provenance,
                kernel_name=kernel_name,
            )
        )

    skipped = len(selected) - len(job_list)
    print(
        f"build: {len(selected)} report(s) selected, {len(job_list)} to run, {skipped} unchanged; "
        f"jobs={jobs}; data={_display_path(data_dir)}",
        file=stream,
        flush=True,
    )
    dependencies = {spec.slug: resolve_dependencies(spec, specs) for spec in selected}
    outcomes = run_jobs(job_list, dependencies, max_workers=jobs, on_event=Progress(len(job_list), stream))

    records: dict[str, dict[str, Any]] = {
        slug: record for slug, record in previous.items()
        if slug in {s.slug for s in specs} and slug not in {s.slug for s in selected}
    }
    for spec, key, _ in plan:
        report_dir = out_dir / spec.slug
        if spec.slug in outcomes:
            outcome = outcomes[spec.slug]
            record = {**asdict(outcome)}
            problems = check_report_dir(report_dir, min_count) if report_dir.exists() else []
            if problems:
                record["status"] = "failed"
                record["error"] = {"ename": "PrivacyCheckFailed", "evalue": "; ".join(problems[:10]), "source": None}
                _withhold_pages(report_dir, problems)
        else:
            record = {**previous[spec.slug], "status": "skipped"}
        record.update(
            {
                "slug": spec.slug,
                "notebook": spec.notebook,
                "title": _title(spec),
                "lang": spec.lang,
                "parameters": spec.parameters,
                "depends_on": resolve_dependencies(spec, specs),
                "key": key,
                "headline": headline(report_dir / RESULTS_JSON, spec.lang, name=spec.headline),
            }
        )
        records[spec.slug] = record
    ordered = [records[s.slug] for s in specs if s.slug in records]

    manifest = {
        "build": {
            **environment,
            "started_at": started_at,
            "duration_s": round(time.perf_counter() - clock, 3),
            "data_label": _display_path(data_dir),
            "inputs": inputs,
            "seed": seed,
            "analysis_code_sha256": code,
            "config": _display_path(Path(config_path)),
            "jobs": jobs,
            "only": only,
            "lang": lang,
            "force": force,
        },
        "reports": ordered,
    }
    manifest_path = out_dir / MANIFEST_JSON
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=False, default=str), encoding="utf-8")
    index_path = write_index(out_dir, manifest)
    summary = BuildSummary(out_dir, manifest_path, index_path, ordered)
    failed = summary.failed
    print(
        f"build: {sum(r['status'] == 'ok' for r in ordered)} ran ok, "
        f"{sum(r['status'] == 'skipped' for r in ordered)} unchanged, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else "")
        + f"; {manifest['build']['duration_s']:.1f} s",
        file=stream,
        flush=True,
    )
    return summary


def _withhold_pages(report_dir: Path, problems: list[str]) -> None:
    """Replace the rendered pages of a report that failed the privacy check by a notice."""
    notice = (
        "<!DOCTYPE html><html lang=\"id\"><head><meta charset=\"utf-8\"><title>withheld</title></head><body>"
        "<div class=\"report-error\" role=\"alert\"><strong>Laporan ditahan: pemeriksaan data pribadi gagal / "
        "Report withheld: personal-data check failed</strong><ul>"
        + "".join(f"<li>{p}</li>" for p in problems[:20])
        + "</ul></div></body></html>"
    )
    for page in report_dir.glob("*.html"):
        page.write_text(notice, encoding="utf-8")
