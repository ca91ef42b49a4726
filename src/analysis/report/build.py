"""The whole build: configuration -> incremental plan -> papermill -> checks -> publish -> history.

:func:`build_reports` is what ``python -m analysis build`` calls; it returns a :class:`BuildSummary`
and never raises for a failing report. It raises :class:`~analysis.errors.UsageError` (CLI exit 2)
for a usage problem, before anything is written where possible: an invalid configuration, a slug
or notebook name that is not a safe name, ``--only`` matching nothing, an ``--out`` that is a file,
not writable, or overlapping ``--data``, another build holding the output folder, and an output
that cannot be written (e.g. a full disk: the previous manifest and index stay as they were).

Order of work, under an exclusive lock on the output folder:

1. leftovers of an interrupted build are removed; the data files are hashed (content, SHA-256);
2. a report is reused only if its folder's ``build-status.json`` names the same key (notebook,
   parameters, data, code, inputs from the reports it depends on) and every file still has its
   recorded content; its dependents rerun when it reruns;
3. each report runs in ``OUT/.staging/<slug>``; when it finishes, every file is checked for
   personal data, then the folder is published whole (or withheld whole), and the manifest and
   index are rewritten (atomically) — so they never list a half-written report;
4. at the end: the history record (``OUT/history/<build_id>.json``), ``OUT/changes.json``
   (what changed since ``compare_to``, default the latest record) and the final index.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from analysis.data import load
from analysis.data.names import pemda_names
from analysis.errors import UsageError
from analysis.paths import PROJECT_ROOT
from analysis.report import history, pdf
from analysis.report import provenance as prov
from analysis.report import report_folder as folders
from analysis.report.changes import Changes, compare
from analysis.report.config import (
    ReportSpec,
    load_reports,
    resolve_dependencies,
    select_reports,
)
from analysis.report.index import INDEX_HTML, headline, write_index
from analysis.report.kernel_zygote import Zygote, notebook_imports
from analysis.report.output_folder import (
    OutputLock,
    atomic_write_json,
    check_locations,
    display_parameters,
    display_path,
    make_out_dir,
)
from analysis.report.runner import (
    RESULTS_JSON,
    ReportJob,
    ReportOutcome,
    kernel_threads,
    run_jobs,
    warm_up,
)
from analysis.report.scrub import DEFAULT_MIN_COUNT, check_report_dir

MANIFEST_JSON = "manifest.json"
CHANGES_JSON = "changes.json"
DEFAULT_CONFIG = PROJECT_ROOT / "reports.yaml"
#: names at the top of the output folder that belong to the build, never to a report
RESERVED_NAMES = frozenset({MANIFEST_JSON, CHANGES_JSON, INDEX_HTML, history.HISTORY_DIR})
#: output names a report may produce, as listed in its manifest record
OUTPUT_FILES = {"html": "report.html", "full_html": "report-full.html", "notebook": "report.ipynb",
                "results": RESULTS_JSON, "provenance": "provenance.json"}


class OutputWriteError(UsageError):
    """The build could not write its output (disk full, permissions): CLI exit 2."""


@dataclass
class BuildSummary:
    """Outcome of a build: the records of the reports this build selected (as in the manifest)
    and where things are. ``changes``: the comparison with the previous build."""

    out_dir: Path
    manifest_path: Path
    index_path: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    changes: Changes | None = None
    history_path: Path | None = None

    @property
    def failed(self) -> list[str]:
        return [r["slug"] for r in self.records if r["status"] == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _now() -> datetime:
    return datetime.now(timezone.utc)


def load_adopters(data_dir: Path) -> list[str]:
    """Region codes of the adopters in the dataset's validated ``policies`` table (sorted, unique;
    the bundled registry when the dataset has none)."""
    policies = load(data_dir).policies
    if policies is None or "region_code" not in policies:
        return []
    return sorted(set(policies["region_code"].dropna().astype(str)))


def load_region_names(data_dir: Path) -> dict[str, str]:
    """Region code -> name from the dataset's ``regions`` table (titles' ``{region_name}``): a
    province's name is prefixed with "Provinsi" (kabupaten and kota names carry their kind)."""
    return pemda_names(load(data_dir).regions)


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
    reports = manifest.get("reports", []) if isinstance(manifest, dict) else []
    return {r["slug"]: r for r in reports if isinstance(r, dict) and "slug" in r}


def _record(outcome: ReportOutcome) -> dict[str, Any]:
    """The manifest's record of an outcome (a skipped PDF is logged, not recorded)."""
    record = asdict(outcome)
    del record["pdf_skipped"]
    return record


def _title(spec: ReportSpec) -> str:
    lang = spec.lang or "id"
    if spec.title:
        return spec.title.get(lang) or next(iter(spec.title.values()))
    return spec.slug


def _outputs(folder: Path) -> dict[str, str]:
    return {kind: name for kind, name in OUTPUT_FILES.items() if (folder / name).is_file()}


def _headline_name(spec: ReportSpec, folder: Path) -> str | None:
    if spec.headline:
        return spec.headline
    try:
        entries = json.loads((folder / RESULTS_JSON).read_text(encoding="utf-8")).get("results") or []
    except (OSError, ValueError, AttributeError):
        return None
    return entries[0].get("name") if entries else None


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
            if outcome is not None and outcome.estimates:
                line += f"  estimates: {outcome.estimates}"
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
    compare_to: str | None = None,
) -> BuildSummary:
    """Run the configured reports on ``data_dir`` into ``out_dir``; see the module docstring."""
    stream = stream or sys.stderr
    data_dir, out_dir = check_locations(data_dir, out_dir)
    if not data_dir.is_dir():
        raise UsageError(f"data directory {display_path(data_dir)} not found")
    specs = load_reports(Path(config_path), adopters=lambda: load_adopters(data_dir),
                         region_names=lambda: load_region_names(data_dir))
    taken = sorted({spec.slug for spec in specs} & RESERVED_NAMES)
    if taken:
        raise UsageError(f"reports.yaml: slug(s) {', '.join(taken)} name the build's own files; choose other slugs")
    selected = select_reports(specs, only=only, lang=lang)
    if not selected:
        wanted = " and ".join(part for part in (f"--only {only!r}" if only else "", f"--lang {lang}" if lang else "") if part)
        raise UsageError(f"{wanted or 'the selection'} matches no report; available: {', '.join(s.slug for s in specs)}")
    make_out_dir(out_dir)
    with OutputLock(out_dir):
        previous_record = history.resolve_previous(out_dir, compare_to)
        try:
            return _build_locked(
                specs, selected, config_path=Path(config_path), data_dir=data_dir, out_dir=out_dir, only=only,
                lang=lang, jobs=jobs, force=force, min_count=min_count, stream=stream, kernel_name=kernel_name,
                previous_record=previous_record,
            )
        except OSError as exc:
            where = display_path(exc.filename) if getattr(exc, "filename", None) else display_path(out_dir)
            raise OutputWriteError(f"build stopped: cannot read or write {where}: {exc.strerror or exc}") from exc


def _build_locked(
    specs: list[ReportSpec],
    selected: list[ReportSpec],
    *,
    config_path: Path,
    data_dir: Path,
    out_dir: Path,
    only: str | None,
    lang: str | None,
    jobs: int,
    force: bool,
    min_count: int,
    stream: TextIO,
    kernel_name: str,
    previous_record: dict[str, Any] | None,
) -> BuildSummary:
    started = _now()
    clock = time.perf_counter()
    folders.clear_leftovers(out_dir)
    inputs = prov.hash_directory(data_dir)
    code = prov.code_fingerprint()
    environment = prov.environment_record()
    seed = prov.dataset_seed(data_dir)
    previous = _previous_records(out_dir)
    notebooks = {spec.notebook: prov.sha256_file(spec.notebook_path) for spec in selected}

    keys: dict[str, str] = {}
    rerun: set[str] = set()
    for spec in selected:  # dependencies first (select_reports keeps the topological order)
        dep_slugs = resolve_dependencies(spec, specs)
        key = report_key(spec, notebooks[spec.notebook], inputs, code, [keys.get(d, "") for d in dep_slugs])
        keys[spec.slug] = key
        reusable = folders.verified_status(out_dir / spec.slug, key) is not None
        if force or not reusable or any(d in rerun for d in dep_slugs):
            rerun.add(spec.slug)

    build_info = {
        **environment,
        "started_at": started.isoformat(timespec="seconds"),
        "data_label": display_path(data_dir),
        "inputs": inputs,
        "seed": seed,
        "analysis_code_sha256": code,
        "config": display_path(config_path),
        "jobs": jobs,
        "only": only,
        "lang": lang,
        "force": force,
        "complete": False,
    }
    selected_slugs = {s.slug for s in selected}
    records: dict[str, dict[str, Any]] = {
        slug: record for slug, record in previous.items()
        if slug in {s.slug for s in specs} and slug not in selected_slugs
    }
    for spec in selected:
        if spec.slug in previous and spec.slug in rerun:
            records[spec.slug] = previous[spec.slug]  # its folder is still the last complete run

    def base_record(spec: ReportSpec) -> dict[str, Any]:
        folder = out_dir / spec.slug
        return {
            "slug": spec.slug,
            "notebook": spec.notebook,
            "title": _title(spec),
            "lang": spec.lang,
            "parameters": display_parameters(spec.parameters),
            "depends_on": resolve_dependencies(spec, specs),
            "key": keys[spec.slug],
            "headline": headline(folder / RESULTS_JSON, spec.lang, name=spec.headline),
            "headline_name": _headline_name(spec, folder),
        }

    def write_manifest(complete: bool, changes: Changes | None = None) -> tuple[Path, Path, dict[str, Any]]:
        build = {**build_info, "complete": complete, "duration_s": round(time.perf_counter() - clock, 3)}
        manifest = {"build": build, "reports": [records[s.slug] for s in specs if s.slug in records]}
        manifest_path = atomic_write_json(out_dir / MANIFEST_JSON, manifest)
        return manifest_path, write_index(out_dir, manifest, changes.as_dict() if changes else None), manifest

    for spec in selected:
        if spec.slug not in rerun:
            old = previous.get(spec.slug, {})
            records[spec.slug] = {
                **{k: old.get(k) for k in ("started_at", "duration_s")},
                "status": "skipped", "error": None, "outputs": _outputs(out_dir / spec.slug), **base_record(spec),
            }

    by_slug = {spec.slug: spec for spec in selected}

    def finish(outcome: ReportOutcome) -> ReportOutcome:
        spec = by_slug[outcome.slug]
        staging = out_dir / folders.STAGING_DIR / spec.slug
        if outcome.pdf_skipped:  # printed by the report's worker (runner.execute_report)
            print(f"pdf: {spec.slug}: skipped, {outcome.pdf_skipped}", file=stream, flush=True)
        record = _record(outcome)
        problems = check_report_dir(staging, min_count) if staging.exists() else []
        if problems:
            folders.withhold(staging, out_dir, spec.slug)
            outcome = ReportOutcome(outcome.slug, "failed", outcome.started_at, outcome.duration_s, {
                "ename": "PrivacyCheckFailed",
                "evalue": "; ".join(sorted({f"{n.code} {n.params['file']}" for n in problems})),
                "source": None,
                "problems": [n.as_dict() for n in problems[:50]],
            })
            record = {**_record(outcome), "outputs": {}, "withheld": True}
        else:
            folders.write_status(staging, slug=spec.slug, status=outcome.status, key=keys[spec.slug], error=outcome.error)
            folders.publish(staging, out_dir, spec.slug)
            record["outputs"] = _outputs(out_dir / spec.slug)
        records[spec.slug] = {**record, **base_record(spec)}
        write_manifest(complete=False)
        return outcome

    job_list = [
        _job(spec, out_dir=out_dir, data_dir=data_dir, key=keys[spec.slug], code=code, inputs=inputs,
             environment=environment, seed=seed, kernel_name=kernel_name)
        for spec in selected if spec.slug in rerun
    ]
    print(
        f"build: {len(selected)} report(s) selected, {len(job_list)} to run, {len(selected) - len(job_list)} unchanged; "
        f"jobs={jobs}; data={display_path(data_dir)}",
        file=stream,
        flush=True,
    )
    write_manifest(complete=False)
    threads = kernel_threads(jobs)   # the CPUs shared out between the reports running at once
    zygote = Zygote(notebook_imports(sorted({job.notebook_path for job in job_list})), threads=threads)
    try:
        if job_list:
            warm_up()  # the fork server imports papermill while the panels are prepared (not when nothing runs)
            address = zygote.start()  # ... and the kernels' zygote imports what the notebooks use
            job_list = [replace(job, kernel_zygote=address, kernel_threads=threads) for job in job_list]
            prepare_panels(data_dir, stream)
        job_list = schedule(job_list, previous, {spec.slug: spec.expected_seconds for spec in specs
                                                 if spec.expected_seconds is not None})
        dependencies = {spec.slug: resolve_dependencies(spec, specs) for spec in selected}
        run_jobs(job_list, dependencies, max_workers=jobs, on_event=Progress(len(job_list), stream), on_finish=finish)
    finally:
        zygote.stop()
        folders.clear_leftovers(out_dir)

    this_build = [records[s.slug] for s in selected]
    facts = history.data_facts(data_dir)
    record = history.make_record(
        build_id=history.build_id_for(started), built_at=started.isoformat(timespec="seconds"), out_dir=out_dir,
        data_dir=data_dir, inputs=inputs, facts=facts, code=code, environment=environment, records=this_build,
        notebooks=notebooks, only=only, lang=lang,
    )
    changes = compare(previous_record, record)
    history_path = history.write_record(out_dir, record)
    atomic_write_json(out_dir / CHANGES_JSON, changes.as_dict())
    manifest_path, index_path, manifest = write_manifest(complete=True, changes=changes)

    summary = BuildSummary(out_dir, manifest_path, index_path, this_build, changes, history_path)
    failed = summary.failed
    print(
        f"build: {sum(r['status'] == 'ok' for r in this_build)} ran ok, "
        f"{sum(r['status'] == 'skipped' for r in this_build)} unchanged, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else "")
        + f"; {manifest['build']['duration_s']:.1f} s",
        file=stream,
        flush=True,
    )
    if changes.status != "no_previous":
        print(
            f"changes since {changes.previous['build_id']}: {changes.status}, {len(changes.moved)} number(s) moved, "
            f"{len(changes.flagged)} flagged for review ({CHANGES_JSON})",
            file=stream,
            flush=True,
        )
    return summary


def prepare_panels(data_dir: Path, stream: TextIO) -> None:
    """Make sure the dataset's aggregation stage is current before the reports run
    (:func:`analysis.panels.stage.ensure_panels`: aggregated once into the cache, then read by
    every service-time report, case study and pilot design instead of scanning the requests).
    A dataset without requests, or a failure here, is left to the reports to report."""
    from analysis.panels.stage import ensure_panels

    started = time.perf_counter()
    try:
        dataset = load(data_dir)
        if "service_requests" not in dataset.tables or dataset.extracted_at is None:
            return
        directory = ensure_panels(dataset)
    except Exception as exc:  # noqa: BLE001 - each report meets the same problem and records it
        print(f"panels: not prepared ({type(exc).__name__}: {exc})", file=stream, flush=True)
        return
    print(f"panels: {directory.name} ready in {time.perf_counter() - started:.1f} s", file=stream, flush=True)


def schedule(job_list: list[ReportJob], previous: dict[str, dict[str, Any]],
             expected: dict[str, float] | None = None) -> list[ReportJob]:
    """The order the reports start in (dependencies still come first: :func:`run_jobs` waits for
    them): every report in the first language before any in another, so that the second
    language's run finds the first one's estimates in the compute cache instead of computing
    them at the same time; within a language, the longest first, by the previous build's
    durations or else ``expected`` (slug -> seconds: reports.yaml's ``expected_seconds``), so
    that a cold build does not end with one long report running alone."""
    languages: dict[Any, int] = {}
    for job in job_list:
        languages.setdefault(job.lang, len(languages))
    expected = expected or {}

    def duration(job: ReportJob) -> float:
        value = previous.get(job.slug, {}).get("duration_s")
        if not isinstance(value, (int, float)):
            value = expected.get(job.slug)
        return -float(value) if isinstance(value, (int, float)) else 0.0

    return sorted(job_list, key=lambda job: (languages[job.lang], duration(job)))


def _job(spec: ReportSpec, *, out_dir: Path, data_dir: Path, key: str, code: str, inputs: dict[str, str],
         environment: dict[str, Any], seed: Any, kernel_name: str) -> ReportJob:
    """The job of one report: run in a fresh staging folder, record display paths only."""
    staging = folders.staging_folder(out_dir, spec.slug)
    final = out_dir / spec.slug
    declared = set(spec.declared_parameters)
    locations = {"data_dir": (data_dir, display_path(data_dir)), "output_dir": (staging, display_path(final)),
                 "reports_dir": (out_dir, display_path(out_dir))}
    parameters, recorded = dict(spec.parameters), display_parameters(spec.parameters)
    for name, (path, shown) in locations.items():
        if name in declared:
            parameters[name] = str(path)
            recorded[name] = shown
    provenance = {
        **environment,
        "report": spec.slug,
        "notebook": display_path(spec.notebook_path),
        "notebook_sha256": prov.sha256_file(spec.notebook_path),
        "analysis_code_sha256": code,
        "parameters": display_parameters(spec.parameters),
        "seed": spec.parameters.get("seed", seed),
        "data": display_path(data_dir),
        "inputs": inputs,
        "key": key,
    }
    return ReportJob(
        slug=spec.slug,
        notebook_path=str(spec.notebook_path),
        output_dir=str(staging),
        parameters=parameters,
        title=_title(spec),
        lang=spec.lang,
        provenance=provenance,
        kernel_name=kernel_name,
        recorded_parameters=recorded,
        pdf_name=pdf.report_pdf_name(spec.slug, spec.notebook),
        machine_paths={str(staging): ".", str(out_dir): display_path(out_dir), str(data_dir): display_path(data_dir),
                       str(spec.notebook_path.parent): display_path(spec.notebook_path.parent)},
    )
