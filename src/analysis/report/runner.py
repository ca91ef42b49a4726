"""Execute reports with papermill, one process per running report, in dependency order.

A report runs (:func:`execute_report`) in the staging folder the build made for it
(:mod:`analysis.report.report_folder`): papermill executes the notebook there (the kernel's working
directory), provenance is attached, machine paths are replaced by display paths, both HTML
versions are rendered and, for a report meant to be printed (``ReportJob.pdf_name``), the page is
printed to PDF. A failure in one report is recorded (exception, failing cell) and never
stops the others. Kernels write nothing to the build's terminal (their stdout and stderr are
discarded: a notebook's own output is in the executed notebook).

Every report runs in a worker process of its own (also with ``--jobs 1``), so the build process
never hosts a notebook client: interrupting the build (``SIGINT``, Ctrl-C) raises
``KeyboardInterrupt`` in the caller only after the workers and their kernels have been stopped.
Workers ignore ``SIGINT`` and write nothing to the terminal (their stdout and stderr go to the null
device; what went wrong comes back in the :class:`ReportOutcome`).
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import signal
import subprocess
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing import get_context
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable, Mapping

from analysis.report import compute_cache
from analysis.report.pdf import add_pdf

# nbformat (via portable and render) and jupyter_client are imported on first use, not with this
# module: the build process needs them only when a report runs (a no-change rebuild never does;
# nbformat's import alone takes seconds), and the workers get them from the fork server's preload.


def machine_paths(*args, **kwargs):
    from analysis.report.portable import machine_paths as function

    return function(*args, **kwargs)


def replace_machine_paths(*args, **kwargs):
    from analysis.report.portable import replace_machine_paths as function

    return function(*args, **kwargs)


def stabilise_notebook(*args, **kwargs):
    from analysis.report.portable import stabilise_notebook as function

    return function(*args, **kwargs)


def render_report(*args, **kwargs):
    from analysis.report.render import render_report as function

    return function(*args, **kwargs)

EXECUTED_NOTEBOOK = "report.ipynb"
RESULTS_JSON = "results.json"
PROVENANCE_JSON = "provenance.json"
#: seconds a stopped worker gets to shut its kernel down before it is killed
STOP_GRACE_S = 5.0
#: run reports in the calling process, one after another (for tests that replace
#: :func:`run_notebook`; a build never does: its process must not host a notebook client)
IN_PROCESS = False


@dataclass(frozen=True)
class ReportJob:
    """Everything a worker needs to run one report (picklable).

    ``output_dir``: the staging folder to run in (exists, empty); ``parameters``: what the kernel
    gets (real paths); ``recorded_parameters``: what the executed notebook shows (display paths);
    ``machine_paths``: machine path -> display form, replaced in every text output."""

    slug: str
    notebook_path: str
    output_dir: str
    parameters: dict[str, Any]
    title: str
    lang: str | None
    provenance: dict[str, Any]
    kernel_name: str = "python3"
    execution_timeout: int | None = 3600
    recorded_parameters: dict[str, Any] = field(default_factory=dict)
    machine_paths: dict[str, str] = field(default_factory=dict)
    #: socket of the build's kernel zygote (:mod:`analysis.report.kernel_zygote`); None: the kernel
    #: is started cold
    kernel_zygote: str | None = None
    #: threads of the kernel's numeric libraries (:func:`kernel_threads`); None: their defaults
    kernel_threads: int | None = None
    #: file name of the PDF the worker prints the rendered page to (:mod:`analysis.report.pdf`:
    #: reports meant to be printed); None: no PDF
    pdf_name: str | None = None


@dataclass
class ReportOutcome:
    """What happened to one report."""

    slug: str
    status: str  # "ok" | "failed" | "skipped" (unchanged, reused)
    started_at: str | None = None
    duration_s: float | None = None
    error: dict[str, Any] | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    #: how its heavy steps went (:func:`analysis.report.compute_cache.summary`: ``cached``,
    #: ``computed``, ``mixed (...)``; None when the notebook made no ``ctx.compute`` call)
    estimates: str | None = None
    #: why the report's PDF was not printed (one line); None when it was, or when none was asked
    pdf_skipped: str | None = None


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


@functools.cache
def prompt_kernel_client():
    """The client class of report kernels: jupyter_client's, except that once the kernel has
    answered ``kernel_info`` and IOPub is shown to be connected, it does not wait for 0.2 s of
    silence on IOPub before the first cell (about 0.2 s idle per report, measured). What that wait
    drops are status messages of the start-up and of the ``kernel_info`` request; nbclient reads
    only messages whose parent is the cell it runs, so they change nothing."""
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.utils import ensure_async

    class PromptKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.time() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    message = await ensure_async(self.shell_channel.get_msg(timeout=1))
                except Empty:
                    message = None
                if message is not None and message["msg_type"] == "kernel_info_reply":
                    try:   # IOPub is connected once the request's own status messages arrive there
                        await ensure_async(self.iopub_channel.get_msg(timeout=0.2))
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(message)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.time() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
            while True:   # what is already there is dropped; nothing more is waited for
                try:
                    await ensure_async(self.iopub_channel.get_msg(timeout=0))
                except Empty:
                    break

    return PromptKernelClient


@functools.cache
def quiet_kernel_manager(zygote: str | None = None):
    """A kernel manager class whose kernels write nothing to the build's terminal (their start-up
    warnings and shutdown tracebacks would interleave with the progress lines), forked from the
    kernel zygote listening at ``zygote`` when there is one."""
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class QuietKernelManager(AsyncKernelManager):
        @default("client_factory")
        def _prompt_client(self):
            return prompt_kernel_client()

        async def _async_wait(self, pollinterval: float = 0.01) -> None:
            # jupyter_client looks every 0.1 s whether a killed kernel is gone; it is gone within
            # milliseconds, and each report would wait out the rest of the interval
            await super()._async_wait(pollinterval)

        async def _async_pre_start_kernel(self, **kw: Any):
            if self.provisioner is None and zygote:
                from analysis.report.kernel_zygote import provisioner_class

                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = provisioner_class()(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                       parent=self)
                self.provisioner.zygote_address = zygote
            return await super()._async_pre_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw.setdefault("stdout", subprocess.DEVNULL)
            kw.setdefault("stderr", subprocess.DEVNULL)
            await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


#: The hash seed of every kernel (unless the caller set ``PYTHONHASHSEED``). Python randomises
#: string hashing per process, and set iteration order follows it: pyfixest's fixed-effect sweeps,
#: for one, then converge in another order, which moved Sun-Abraham and TWFE estimates in their
#: 11th-16th digit from one build to the next. A fixed seed makes a rebuild bit-identical. (Hash
#: randomisation guards servers against inputs crafted to collide; a report kernel is not one.)
KERNEL_HASH_SEED = "0"


#: The thread-pool sizes of the numeric libraries a kernel loads (OpenBLAS, MKL, OpenMP, Accelerate,
#: numexpr, polars, Rust's rayon). Each library reads its variable once, when it loads.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "POLARS_MAX_THREADS", "RAYON_NUM_THREADS")


def kernel_threads(jobs: int, cpus: int | None = None) -> int:
    """Threads each report kernel's numeric libraries may use when ``jobs`` reports run at once:
    the CPUs this process may run on (``cpus``), shared out, at least one. Two kernels each
    running two BLAS threads on two cores slow each other down (issue #13: the cold default build
    took 142.5 s with them, 124.5 s with one thread per kernel; ``benchmarks/README.md``)."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpus // max(1, jobs))


def kernel_variables(environ: Mapping[str, str], threads: int | None = None) -> dict[str, str]:
    """The environment variables every report kernel gets on top of the caller's: ``PYTHONPATH``
    with the root of this ``analysis`` package first (absolute: a relative entry would resolve
    against the report's output directory), ``PYTHONHASHSEED`` (:data:`KERNEL_HASH_SEED`) and,
    when ``threads`` is given (:func:`kernel_threads`), every :data:`THREAD_VARIABLES` entry the
    caller has not set. The thread count changes results only in the last digits (the order of
    floating-point sums in BLAS); a build with the same count is bit-reproducible."""
    import analysis

    package_root = str(Path(analysis.__file__).resolve().parents[1])
    entries = [str(Path(p).resolve()) for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if package_root not in entries:
        entries.insert(0, package_root)
    variables = {"PYTHONPATH": os.pathsep.join(entries),
                 "PYTHONHASHSEED": environ.get("PYTHONHASHSEED", KERNEL_HASH_SEED)}
    if threads is not None:
        variables.update((name, str(threads)) for name in THREAD_VARIABLES if name not in environ)
    return variables


def kernel_environment(threads: int | None = None) -> None:
    """Give this process (a report worker, whose kernels inherit it) :func:`kernel_variables`."""
    os.environ.update(kernel_variables(os.environ, threads))


#: A kernel can die before its first reply when several start at once on a busy machine (its
#: TCP ports are picked at random and may collide); such a start is retried, a failing cell never.
KERNEL_START_ATTEMPTS = 3


def _is_kernel_start_failure(exc: BaseException) -> bool:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return False
    text = f"{type(exc).__name__}: {exc}"
    return any(marker in text for marker in ("Kernel died", "ZMQError", "Address already in use", "kernel_info"))


def run_notebook(job: ReportJob, executed: Path) -> None:
    """Execute the job's notebook into ``executed`` with papermill (the seam tests replace)."""
    import papermill

    from analysis.report.papermill_engine import ENGINE_NAME

    papermill.execute_notebook(
        job.notebook_path,
        str(executed),
        engine_name=ENGINE_NAME,  # papermill's nbclient engine, writing the running notebook less often
        parameters=job.parameters,
        kernel_name=job.kernel_name,
        cwd=job.output_dir,
        progress_bar=False,
        log_output=False,
        execution_timeout=job.execution_timeout,
        kernel_manager_class=quiet_kernel_manager(job.kernel_zygote),
        # the last cell has finished and every file it wrote is in place: waiting for a polite
        # kernel shutdown (about 1 s of idle time per report, 0.5-2.5 s measured) buys nothing
        shutdown_kernel="immediate",
    )


def execute_report(job: ReportJob) -> ReportOutcome:
    """Run one report end to end in this process, in ``job.output_dir``; never raises for a
    notebook failure."""
    kernel_environment(job.kernel_threads)
    out = Path(job.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = _now()
    clock = time.perf_counter()
    error = None
    executed = out / EXECUTED_NOTEBOOK
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            run_notebook(job, executed)
            error = None
            break
        except Exception as exc:  # noqa: BLE001 - isolation: every failure becomes a record
            error = _error_from_exception(exc)
            if not _is_kernel_start_failure(exc) or attempt == KERNEL_START_ATTEMPTS:
                break
            time.sleep(attempt)  # a kernel that died on start-up (port race under load): try again
    duration = round(time.perf_counter() - clock, 3)
    compute_log = out / compute_cache.COMPUTE_LOG
    calls = compute_cache.read_log(compute_log)
    compute_log.unlink(missing_ok=True)
    provenance = {**job.provenance, "started_at": started, "duration_s": duration}
    if calls:
        provenance["compute"] = [{k: c.get(k) for k in ("function", "key", "status")} for c in calls]
    (out / PROVENANCE_JSON).write_text(json.dumps(provenance, indent=2, sort_keys=True, default=str), encoding="utf-8")
    outputs: dict[str, str] = {"provenance": PROVENANCE_JSON}
    if executed.exists():
        outputs["notebook"] = EXECUTED_NOTEBOOK
        try:
            stabilise_notebook(executed, provenance, job.recorded_parameters or job.parameters, job.kernel_name)
            replace_machine_paths(out, job.machine_paths)
            rendered = render_report(executed, title=job.title, lang=job.lang, provenance=provenance, error=error)
            outputs.update({k: p.name for k, p in rendered.items()})
        except Exception as exc:  # noqa: BLE001
            error = error or {**_error_from_exception(exc), "stage": "render"}
    else:
        replace_machine_paths(out, job.machine_paths)
    pdf_skipped = None
    if job.pdf_name and not error:
        pdf_skipped = add_pdf(out, job.pdf_name)  # in this worker: Chromium's seconds are the report's
    if error:
        error = _portable_error(error, job.machine_paths)
    if (out / RESULTS_JSON).exists():
        outputs["results"] = RESULTS_JSON
    return ReportOutcome(job.slug, "failed" if error else "ok", started, duration, error, outputs,
                         compute_cache.summary(calls), pdf_skipped)


def _portable_error(error: dict[str, Any], replacements: dict[str, str]) -> dict[str, Any]:
    """The error record with machine paths replaced (it goes into the manifest and the index)."""
    text = json.dumps(error, default=str)
    for machine, shown in machine_paths(replacements):
        text = text.replace(json.dumps(machine)[1:-1], json.dumps(shown)[1:-1])
    return json.loads(text)


def _pool_context():
    """Workers forked from a server that has imported papermill once (its import is slow:
    ``jsonschema`` compiles a grammar); the server is reused by every pool of this process."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = get_context("forkserver")
        context.set_forkserver_preload(["papermill", "jupyter_client.manager", "analysis.report.runner",
                                        "analysis.report.portable", "analysis.report.render", "analysis.report.warm",
                                        "analysis.report.papermill_engine"])
        return context
    return get_context("spawn")


def warm_up() -> None:
    """Start the fork server (its ``papermill`` import takes seconds) in the background, so that
    it is ready when the first report starts instead of delaying it; a no-op in process."""
    if IN_PROCESS:
        return
    context = _pool_context()
    if context.get_start_method() != "forkserver":
        return

    def start() -> None:
        try:
            from multiprocessing import forkserver

            forkserver.ensure_running()
            # a throw-away worker: returns once the server has imported its preload
            process = context.Process(target=_noop, daemon=True)
            process.start()
            process.join(60)
        except Exception:  # noqa: BLE001 - only an optimisation; run_jobs starts it otherwise
            pass

    threading.Thread(target=start, name="forkserver warm-up", daemon=True).start()


def _noop() -> None:
    return None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _exit_with(watched_pid: int) -> None:
    """Watchdog thread: end this process when ``watched_pid`` is gone, e.g. killed with
    ``SIGKILL``, so that nothing keeps writing into the output folder. A worker watches the build
    (its kernel then ends too); a kernel forked from the zygote watches its worker."""
    while _alive(watched_pid):
        time.sleep(1.0)
    os._exit(1)


def _worker(job: ReportJob, connection, build_pid: int) -> None:
    """Body of a worker process: run one report, send its outcome back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    threading.Thread(target=_exit_with, args=(build_pid,), daemon=True).start()
    try:
        outcome = execute_report(job)
    except BaseException as exc:  # noqa: BLE001 - reported, never raised in a worker
        outcome = ReportOutcome(job.slug, "failed", _now(), None, _error_from_exception(exc))
    connection.send(outcome)
    connection.close()


def _stop(processes: list) -> None:
    """Stop worker processes: ``SIGTERM`` (their notebook client shuts its kernel down), then
    ``SIGKILL`` after :data:`STOP_GRACE_S` (a kernel whose parent is gone exits by itself)."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)


def _ready(slug: str, dependencies: dict[str, list[str]], pending: dict, running: set[str]) -> bool:
    return all(dep not in pending and dep not in running for dep in dependencies.get(slug, []))


def run_jobs(
    jobs: list[ReportJob],
    dependencies: dict[str, list[str]],
    *,
    max_workers: int = 1,
    on_event: Callable[[str, str, ReportOutcome | None], None] | None = None,
    on_finish: Callable[[ReportOutcome], ReportOutcome] | None = None,
) -> dict[str, ReportOutcome]:
    """Run ``jobs``, starting a job only once its dependencies have finished (successfully or
    not: a dependent report reports missing inputs itself).

    ``on_finish(outcome)`` runs in this process as soon as a report has finished, before any
    report depending on it starts (the build checks and publishes the report there) and returns
    the final outcome. ``on_event(kind, slug, outcome)`` is called with ``kind`` ``"start"`` or
    ``"done"``. Each report runs in its own worker process, at most ``max_workers`` at a time.
    """
    notify = on_event or (lambda *_: None)
    finish = on_finish or (lambda outcome: outcome)
    max_workers = max(1, max_workers)
    order = {job.slug: i for i, job in enumerate(jobs)}
    pending = {job.slug: job for job in sorted(jobs, key=lambda j: order[j.slug])}
    done: dict[str, ReportOutcome] = {}
    if IN_PROCESS:
        while pending:
            slug = next((s for s in pending if _ready(s, dependencies, pending, set())), next(iter(pending)))
            job = pending.pop(slug)
            notify("start", slug, None)
            done[slug] = finish(execute_report(job))
            notify("done", slug, done[slug])
        return done
    context = _pool_context()
    running: dict[str, tuple[Any, Any]] = {}  # slug -> (process, receiving connection)
    exiting: list = []  # workers that sent their outcome and may still be exiting

    def start_ready(finishing: set[str]) -> None:
        busy = set(running) | finishing
        for slug in [s for s in pending if _ready(s, dependencies, pending, busy)]:
            if len(running) >= max_workers:
                break
            job = pending.pop(slug)
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_worker, args=(job, send, os.getpid()), name=f"report {slug}",
                                      daemon=True)
            notify("start", slug, None)
            process.start()
            send.close()
            running[slug] = (process, receive)

    try:
        while pending or running:
            start_ready(set())
            if not running:
                raise RuntimeError(f"unschedulable reports (dependency cycle?): {sorted(pending)}")
            wait([receive for _, receive in running.values()] + [p.sentinel for p, _ in running.values()])
            finished: dict[str, tuple[ReportOutcome | None, Any]] = {}
            for slug, (process, receive) in list(running.items()):
                outcome = None
                if receive.poll():
                    try:
                        outcome = receive.recv()
                    except (EOFError, OSError):
                        outcome = None
                elif process.is_alive():
                    continue
                receive.close()
                del running[slug]
                exiting.append(process)
                finished[slug] = (outcome, process)
            # The next reports start before the finished ones are checked and published (which
            # takes this process a moment per report); reports that depend on them still wait.
            start_ready(set(finished))
            for slug, (outcome, process) in finished.items():
                if outcome is None:
                    process.join()
                    outcome = ReportOutcome(slug, "failed", _now(), None, {
                        "cell_index": None, "exec_count": None, "source": None, "ename": "WorkerDied",
                        "evalue": f"the worker process ended with exit code {process.exitcode}"})
                done[slug] = finish(outcome)
                notify("done", slug, done[slug])
            exiting = [process for process in exiting if process.is_alive()]
    except BaseException:
        _stop([process for process, _ in running.values()] + exiting)
        raise
    for process in exiting:
        process.join()
    return done
