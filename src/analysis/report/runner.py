"""Execute reports with papermill, one process per running report, in dependency order.

A report runs in a worker process (:func:`execute_report`): its output directory is emptied,
papermill executes the notebook there, the injected-parameters cell gets a stable id (papermill
draws a random one), provenance is attached, and both HTML versions are rendered. A failure in one
report is recorded (exception, failing cell) and never stops the others.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
import multiprocessing
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

import nbformat

from analysis.report.render import render_report

EXECUTED_NOTEBOOK = "report.ipynb"
RESULTS_JSON = "results.json"
PROVENANCE_JSON = "provenance.json"
STATUS_JSON = "build-status.json"


@dataclass(frozen=True)
class ReportJob:
    """Everything a worker needs to run one report (picklable)."""

    slug: str
    notebook_path: str
    output_dir: str
    parameters: dict[str, Any]
    title: str
    lang: str | None
    provenance: dict[str, Any]
    kernel_name: str = "python3"
    execution_timeout: int | None = 3600


@dataclass
class ReportOutcome:
    """What happened to one report."""

    slug: str
    status: str  # "ok" | "failed" | "skipped" (unchanged, reused)
    started_at: str | None = None
    duration_s: float | None = None
    error: dict[str, Any] | None = None
    outputs: dict[str, str] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _error_from_exception(exc: BaseException) -> dict[str, Any]:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return {
            "cell_index": exc.cell_index,
            "exec_count": exc.exec_count,
            "source": exc.source,
            "ename": exc.ename,
            "evalue": exc.evalue,
        }
    return {
        "cell_index": None,
        "exec_count": None,
        "source": None,
        "ename": type(exc).__name__,
        "evalue": str(exc),
        "traceback": traceback.format_exc(limit=5),
    }


def stabilise_notebook(path: Path, provenance: dict[str, Any]) -> None:
    """Give papermill's injected-parameters cell a fixed id and record provenance in metadata."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    nb.metadata["wfa_provenance"] = provenance
    nbformat.write(nb, path)


def kernel_environment() -> None:
    """Make kernels import the same ``analysis`` package as the build (absolute ``PYTHONPATH``:
    a relative one would resolve against the report's output directory)."""
    import analysis

    package_root = str(Path(analysis.__file__).resolve().parents[1])
    entries = [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if package_root not in entries:
        entries.insert(0, package_root)
    os.environ["PYTHONPATH"] = os.pathsep.join(entries)


def execute_report(job: ReportJob) -> ReportOutcome:
    """Run one report end to end in this process; never raises for a notebook failure."""
    import papermill

    kernel_environment()

    out = Path(job.output_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = _now()
    clock = time.perf_counter()
    error = None
    executed = out / EXECUTED_NOTEBOOK
    try:
        papermill.execute_notebook(
            job.notebook_path,
            str(executed),
            parameters=job.parameters,
            kernel_name=job.kernel_name,
            cwd=str(out),
            progress_bar=False,
            log_output=False,
            execution_timeout=job.execution_timeout,
        )
    except Exception as exc:  # noqa: BLE001 - isolation: every failure becomes a record
        error = _error_from_exception(exc)
    duration = round(time.perf_counter() - clock, 3)
    provenance = {**job.provenance, "started_at": started, "duration_s": duration}
    (out / PROVENANCE_JSON).write_text(json.dumps(provenance, indent=2, sort_keys=True, default=str), encoding="utf-8")
    outputs: dict[str, str] = {"provenance": PROVENANCE_JSON}
    if executed.exists():
        outputs["notebook"] = EXECUTED_NOTEBOOK
        try:
            stabilise_notebook(executed, provenance)
            rendered = render_report(executed, title=job.title, lang=job.lang, provenance=provenance, error=error)
            outputs.update({k: p.name for k, p in rendered.items()})
        except Exception as exc:  # noqa: BLE001
            error = error or {**_error_from_exception(exc), "stage": "render"}
    if (out / RESULTS_JSON).exists():
        outputs["results"] = RESULTS_JSON
    status = "failed" if error else "ok"
    (out / STATUS_JSON).write_text(
        json.dumps({"slug": job.slug, "status": status, "error": error}, indent=2, default=str), encoding="utf-8"
    )
    return ReportOutcome(job.slug, status, started, duration, error, outputs)


def _pool_context():
    """Workers forked from a server that has imported papermill once (its import is slow:
    ``jsonschema`` compiles a grammar); the server is reused by every pool of this process."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = get_context("forkserver")
        context.set_forkserver_preload(["papermill", "analysis.report.runner"])
        return context
    return get_context("spawn")


def _run_serially(
    jobs: list[ReportJob], dependencies: dict[str, list[str]], notify: Callable
) -> dict[str, ReportOutcome]:
    """One report after another in this process (``--jobs 1``), dependencies first."""
    order = {job.slug: i for i, job in enumerate(jobs)}
    pending = sorted(jobs, key=lambda job: order[job.slug])
    done: dict[str, ReportOutcome] = {}
    while pending:
        job = next(
            (j for j in pending if all(d in done or d not in order for d in dependencies.get(j.slug, []))),
            pending[0],
        )
        pending.remove(job)
        notify("start", job.slug, None)
        try:
            outcome = execute_report(job)
        except Exception as exc:  # noqa: BLE001
            outcome = ReportOutcome(job.slug, "failed", _now(), None, _error_from_exception(exc))
        done[job.slug] = outcome
        notify("done", job.slug, outcome)
    return done


def run_jobs(
    jobs: list[ReportJob],
    dependencies: dict[str, list[str]],
    *,
    max_workers: int = 1,
    on_event: Callable[[str, str, ReportOutcome | None], None] | None = None,
) -> dict[str, ReportOutcome]:
    """Run ``jobs`` in a process pool, starting a job only once its dependencies have finished
    (successfully or not: a dependent report reports missing inputs itself).

    ``on_event(kind, slug, outcome)`` is called with ``kind`` ``"start"`` or ``"done"``.
    """
    notify = on_event or (lambda *_: None)
    if max_workers <= 1 or len(jobs) <= 1:
        return _run_serially(jobs, dependencies, notify)
    pending = {job.slug: job for job in jobs}
    done: dict[str, ReportOutcome] = {}
    running: dict[Future, str] = {}
    with ProcessPoolExecutor(max_workers=max_workers, mp_context=_pool_context()) as pool:
        while pending or running:
            ready = [
                slug for slug in pending
                if all(dep in done or dep not in pending and dep not in running.values() for dep in dependencies.get(slug, []))
            ]
            for slug in ready:
                if len(running) >= max(1, max_workers):
                    break
                job = pending.pop(slug)
                notify("start", slug, None)
                running[pool.submit(execute_report, job)] = slug
            if not running:
                raise RuntimeError(f"unschedulable reports (dependency cycle?): {sorted(pending)}")
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                slug = running.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker fails only its report
                    outcome = ReportOutcome(slug, "failed", _now(), None, _error_from_exception(exc))
                done[slug] = outcome
                notify("done", slug, outcome)
    return done
