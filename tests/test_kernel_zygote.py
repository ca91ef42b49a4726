"""Kernels forked from the build's zygote (:mod:`analysis.report.kernel_zygote`) start in the state
a fresh kernel starts in, are still one process per report, and are stopped, interrupted and
reaped like any kernel; when the zygote cannot serve, the kernel is started the usual way."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import nbformat
import pytest

from analysis.report import kernel_zygote
from analysis.report.kernel_zygote import (
    Zygote,
    can_fork,
    fork_kernel,
    notebook_imports,
)
from analysis.report.runner import THREAD_VARIABLES, _alive, kernel_threads, kernel_variables, quiet_kernel_manager

PROBE = r"""
import json, os, sys
import matplotlib
from IPython import get_ipython
shell = get_ipython()
print(json.dumps({
    "cwd": os.getcwd(),
    "sys_path": sys.path,
    "argv": sys.argv[:2],
    "environ": dict(os.environ),
    "backend": matplotlib.get_backend(),
    "rc": {k: repr(v) for k, v in matplotlib.rcParams.items()},
    "post_execute": sorted(getattr(f, "__qualname__", repr(f)) for f in shell.events.callbacks["post_execute"]),
    "display_formatters": sorted(k for k, f in shell.display_formatter.formatters.items() if f.enabled),
    "name": __name__,
    "pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0),
    "preloaded": "moderndid" in sys.modules,
    "string_hash": hash("Kabupaten Bolaang Mongondow Selatan"),
}))
"""


@pytest.fixture(autouse=True)
def kernel_variables_set(monkeypatch):
    """What a report worker does before it starts a kernel (:func:`runner.kernel_environment`)."""
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    for name, value in kernel_variables(os.environ).items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def own_zygote():
    """``start(threads=None)`` -> a started zygote of this test's own (stopped afterwards)."""
    if not kernel_zygote.enabled():
        pytest.skip("no fork() here")
    started = []

    def start(threads=None):
        running = Zygote([], threads=threads)
        assert running.start() == running.address is not None
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture(scope="module")
def zygote():
    if not kernel_zygote.enabled():
        pytest.skip("no fork() here")
    running = Zygote(["analysis.report.context"])
    assert running.start() == running.address
    yield running
    running.stop()


async def _run(address, cwd, code, *, interrupt_after=None, env=None):
    """Start a kernel (forked when ``address`` is given), run ``code``, return (stdout text, error
    name, kernel manager); the kernel is shut down at once, as the build does."""
    manager = quiet_kernel_manager(address)()
    await manager.start_kernel(cwd=str(cwd), **({"env": env} if env else {}))
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=120)
        message_id = client.execute(code)
        if interrupt_after is not None:
            await asyncio.sleep(interrupt_after)
            await manager.interrupt_kernel()
        text, error = "", None
        while True:
            message = await client.get_iopub_msg(timeout=120)
            if message["parent_header"].get("msg_id") != message_id:
                continue
            kind = message["msg_type"]
            if kind == "stream":
                text += message["content"]["text"]
            elif kind == "error":
                error = message["content"]["ename"]
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                break
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)
    return text, error, manager


def probe(address, cwd):
    text, error, manager = asyncio.run(_run(address, cwd, PROBE))
    assert error is None
    return json.loads(text), manager


def test_a_forked_kernel_starts_as_a_fresh_one_would(zygote, tmp_path):
    forked, forked_manager = probe(zygote.address, tmp_path)
    fresh, fresh_manager = probe(None, tmp_path)
    assert type(forked_manager.provisioner).__name__ == "ForkedKernelProvisioner"
    assert type(fresh_manager.provisioner).__name__ == "LocalProvisioner"
    # it really was forked from the zygote, with the imports already done, in a session of its own
    assert forked["ppid"] != os.getpid() and forked["preloaded"]
    assert forked["pgid"] == forked["pid"] and fresh["pgid"] == fresh["pid"]
    # ... and everything a notebook can see is what a fresh kernel sees
    for key in ("cwd", "sys_path", "argv", "environ", "backend", "rc", "post_execute", "display_formatters", "name",
                "string_hash"):
        assert forked[key] == fresh[key], key
    assert forked["cwd"] == str(tmp_path)
    # the kernel is gone after the immediate shutdown, and the zygote has reaped it
    assert forked_manager.provisioner.process is None and not _alive(forked["pid"])


def test_every_kernel_has_the_same_hash_seed(zygote, tmp_path):
    """Set iteration order follows string hashes; a fixed seed makes estimates bit-reproducible
    (pyfixest's fixed-effect sweeps moved results in their last digits with the seed)."""
    forked, _ = probe(zygote.address, tmp_path)
    fresh, _ = probe(None, tmp_path)
    assert forked["environ"]["PYTHONHASHSEED"] == fresh["environ"]["PYTHONHASHSEED"] == "0"
    seeded = subprocess.run([sys.executable, "-c", "print(hash('Kabupaten Bolaang Mongondow Selatan'))"],
                            env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True)
    assert forked["string_hash"] == fresh["string_hash"] == int(seeded.stdout)


def test_a_hash_seed_the_user_set_is_kept():
    assert kernel_variables({"PYTHONHASHSEED": "17"})["PYTHONHASHSEED"] == "17"
    assert kernel_variables({})["PYTHONHASHSEED"] == "0"


def test_kernel_threads_share_out_the_cpus():
    assert kernel_threads(2, cpus=2) == 1
    assert kernel_threads(1, cpus=2) == 2
    assert kernel_threads(4, cpus=2) == 1
    assert kernel_threads(2, cpus=8) == 4
    assert kernel_threads(0, cpus=3) == 3


def test_thread_variables_are_set_unless_the_user_set_them():
    assert all(name not in kernel_variables({}) for name in THREAD_VARIABLES)
    variables = kernel_variables({"OMP_NUM_THREADS": "3"}, threads=1)
    assert "OMP_NUM_THREADS" not in variables   # the caller's value stays
    assert all(variables[name] == "1" for name in THREAD_VARIABLES if name != "OMP_NUM_THREADS")


BLAS_THREADS = """
import ctypes, json, os
import numpy
counts = []
for path in {line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line.lower()}:
    function = getattr(ctypes.CDLL(path), "scipy_openblas_get_num_threads64_", None)
    if function is not None:
        counts.append(function())
print(json.dumps({"variable": os.environ.get("OPENBLAS_NUM_THREADS"), "counts": counts}))
"""


def test_a_forked_kernel_has_the_builds_thread_pools(own_zygote, tmp_path, monkeypatch):
    """The zygote loads OpenBLAS with the build's thread count; its forked kernels keep that pool."""
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    running = own_zygote(threads=1)
    for name, value in kernel_variables(os.environ, 1).items():   # the worker's side
        monkeypatch.setenv(name, value)
    text, error, manager = asyncio.run(_run(running.address, tmp_path, BLAS_THREADS))
    assert error is None and type(manager.provisioner).__name__ == "ForkedKernelProvisioner"
    seen = json.loads(text)
    assert seen["variable"] == "1"
    assert all(count == 1 for count in seen["counts"])   # empty where numpy uses another BLAS


def test_the_first_cell_is_read_whole_without_waiting_for_silence(zygote, tmp_path):
    """The report kernels' client does not wait for 0.2 s of IOPub silence after ``kernel_info``
    (runner.prompt_kernel_client); IOPub is still connected before the first cell, so its
    output is never lost, forked or fresh."""
    manager = quiet_kernel_manager(zygote.address)()
    assert manager.client().wait_for_ready.__qualname__.startswith("prompt_kernel_client")
    for address in (zygote.address, None, zygote.address, zygote.address):
        text, error, _ = asyncio.run(_run(address, tmp_path, "print('first'); print('cell', 1 + 1)"))
        assert error is None and text == "first\ncell 2\n"


def test_every_report_gets_its_own_process(zygote, tmp_path):
    first, _ = probe(zygote.address, tmp_path)
    second, _ = probe(zygote.address, tmp_path)
    assert first["pid"] != second["pid"] and first["ppid"] == second["ppid"]


def test_state_does_not_leak_from_one_kernel_to_the_next(zygote, tmp_path):
    leak = "import numpy, matplotlib; numpy.LEAKED = 1; matplotlib.rcParams['lines.linewidth'] = 9; print('set')"
    assert asyncio.run(_run(zygote.address, tmp_path, leak))[0].strip() == "set"
    check = "import numpy, matplotlib; print(hasattr(numpy, 'LEAKED'), matplotlib.rcParams['lines.linewidth'])"
    text, _, _ = asyncio.run(_run(zygote.address, tmp_path, check))
    assert text.split() == ["False", str(__import__("matplotlib").rcParamsDefault["lines.linewidth"])]


def test_a_forked_kernel_can_be_interrupted(zygote, tmp_path):
    """papermill's execution timeout interrupts the kernel (SIGINT to its process group)."""
    _, error, _ = asyncio.run(_run(zygote.address, tmp_path, "import time\ntime.sleep(60)", interrupt_after=2.0))
    assert error == "KeyboardInterrupt"


def _fork_watching(address, worker_pid, folder):
    """A kernel forked straight from the zygote (no kernel manager), watching ``worker_pid``."""
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", str(folder / "kernel.json")]
    return fork_kernel(address, argv, {**os.environ, "JPY_PARENT_PID": str(worker_pid)}, str(folder))


def test_a_forked_kernel_ends_when_its_worker_is_gone(zygote, tmp_path):
    """Its worker is not its parent; the kernel watches the worker's pid (``JPY_PARENT_PID``)."""
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    process = _fork_watching(zygote.address, worker.pid, tmp_path)
    assert process is not None and process.poll() is None
    worker.wait()
    assert process.wait(timeout=30) == 1
    assert not _alive(process.pid)


def test_a_kernel_outlives_a_zygote_that_dies_and_is_still_seen_to_end(own_zygote, tmp_path):
    """A zygote that dies (not stopped) leaves its kernels as orphans, still stoppable."""
    own = own_zygote()
    process = _fork_watching(own.address, os.getpid(), tmp_path)
    own._process.kill()
    own._process.wait()
    own.stop()
    assert process is not None and process.poll() is None and _alive(process.pid)
    process.kill()
    assert process.wait(timeout=30) == -1
    assert not _alive(process.pid)


def test_stopping_the_zygote_ends_the_kernels_it_forked(own_zygote, tmp_path):
    """An interrupted build stops its zygote: a kernel still running must not go on writing."""
    own = own_zygote()
    process = _fork_watching(own.address, os.getpid(), tmp_path)
    assert process is not None and _alive(process.pid)
    own.stop()   # returns once the zygote has exited, so its kernels are gone by then
    assert not _alive(process.pid)
    assert process.wait(timeout=30) == -9   # the exit code still reached the worker's side


def test_without_a_zygote_the_kernel_starts_the_usual_way(tmp_path):
    gone = Zygote([])
    address = gone.start()
    if address is None:
        pytest.skip("no fork() here")
    gone.stop()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", str(tmp_path / "kernel.json")]
    assert fork_kernel(address, argv, dict(os.environ), str(tmp_path)) is None
    text, error, manager = asyncio.run(_run(address, tmp_path, "print(6 * 7)"))
    assert (text.strip(), error) == ("42", None)
    assert type(manager.provisioner).__name__ == "ForkedKernelProvisioner"  # and it fell back to Popen
    assert manager.provisioner.pid is not None


def test_only_this_interpreters_ipykernel_is_forked(tmp_path):
    assert can_fork([sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not can_fork([sys.executable, "-m", "other_kernel", "-f", "k.json"])
    assert not can_fork(["/bin/sh", "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not can_fork([sys.executable])


def test_fresh_kernels_can_be_asked_for(monkeypatch):
    monkeypatch.setenv(kernel_zygote.FRESH_KERNELS_ENV_VAR, "1")
    assert not kernel_zygote.enabled()
    assert Zygote(["json"]).start() is None


def test_the_zygote_preloads_what_the_notebooks_import(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import pandas as pd\nfrom analysis.analyses import overview, brief"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport not_parsed"),
        nbformat.v4.new_markdown_cell("import markdown_is_not_code"),
        nbformat.v4.new_code_cell("from . import relative_is_skipped\nimport pandas"),
    ])
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, path)
    assert notebook_imports([path, tmp_path / "missing.ipynb"]) == [
        "pandas", "analysis.analyses", "analysis.analyses.overview", "analysis.analyses.brief"]


def test_the_zygote_ends_with_the_build(tmp_path):
    """A build killed outright leaves no zygote behind (it watches the build's pid)."""
    script = ("import time, sys\nfrom analysis.report.kernel_zygote import Zygote\n"
              "z = Zygote([]); z.start(); print(z._process.pid, flush=True); time.sleep(60)")
    build = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    zygote_pid = int(build.stdout.readline())
    assert _alive(zygote_pid)
    build.kill()
    build.wait()
    deadline = time.monotonic() + 30
    while _alive(zygote_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(zygote_pid)


WARMED = r"""
import json
from analysis.figures import maps
from analysis.synth import weights
print(json.dumps({"outlines": maps.load_polygons.cache_info().currsize,
                  "compiled": len(weights._compiled_steps().signatures)}))
"""


def test_a_forked_kernel_starts_with_the_caches_the_zygote_warmed(tmp_path):
    """analysis.report.kernel_warm: with the modules the notebooks import preloaded, the compiled
    solver and the map outlines are in every forked kernel before its first cell; a fresh kernel
    starts without them (and fills them itself)."""
    if not kernel_zygote.enabled():
        pytest.skip("no fork() here")
    warmed = Zygote(["analysis.report.context", "analysis.figures.maps", "analysis.synth.weights"])
    try:
        assert warmed.start() == warmed.address
        text, error, _ = asyncio.run(_run(warmed.address, tmp_path, WARMED))
    finally:
        warmed.stop()
    assert error is None, text
    assert json.loads(text) == {"outlines": 2, "compiled": 1}
    text, error, _ = asyncio.run(_run(None, tmp_path, WARMED))
    assert error is None, text
    assert json.loads(text) == {"outlines": 0, "compiled": 0}
