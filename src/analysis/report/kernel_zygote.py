"""Report kernels forked from one preloaded interpreter (a "zygote") instead of started cold.

A fresh IPython kernel spends 2-4 s of CPU before a report's first line runs: starting Python and
ipykernel, then importing numpy, pandas, scipy, statsmodels, matplotlib, moderndid, pyfixest and
the ``analysis`` modules the notebook uses. A build runs 50 reports on two cores, so that cost alone
was about a minute of wall time. The zygote imports all of it once per build; every report's kernel
is then a ``fork()`` of it, which takes milliseconds.

Isolation is what a fresh kernel gives, and is kept:

- every report still runs in a process of its own, with its own memory (copy-on-write after the
  fork): nothing one report does reaches another, or the zygote;
- the zygote runs no report code. It imports modules, then fills the caches that depend only on
  the code and its bundled files (:mod:`analysis.report.kernel_warm`: the compiled synthetic-DiD
  solver, the map outlines, the text catalogues), so a forked kernel starts in the state a fresh
  one reaches after the same imports and calls; it then gets the environment, working directory
  and ``sys.path`` that :mod:`ipykernel_launcher` would have had, and runs the same
  ``IPKernelApp`` with the same connection file.

What differs, and why it does not matter here: numpy's legacy global random state is the zygote's
in every kernel (reports seed their own generators; two builds write byte-identical results), and
Python's :mod:`random` is reseeded by Python itself after a fork. The string hash seed is the same
either way: every kernel, forked or fresh, gets ``PYTHONHASHSEED=0``
(:func:`analysis.report.runner.kernel_variables`), and so does the zygote.

How it is wired: the build starts the zygote (:class:`Zygote`) and gives its socket path to the
report jobs; a worker's kernel manager uses :class:`ForkedKernelProvisioner`, a
:class:`jupyter_client.provisioning.LocalProvisioner` whose launch asks the zygote to fork instead
of starting ``python -m ipykernel_launcher``. If anything about that is not possible (no ``fork``,
a kernel spec for another interpreter, the zygote gone), the kernel is started the usual way.
``PEMDA_WFA_FRESH_KERNELS=1`` turns the zygote off for a build.

Protocol (one Unix socket connection per kernel): the worker sends one JSON line
``{"argv", "env", "cwd"}``; the zygote forks, answers ``{"pid": ...}`` once the kernel has its own
session (process group), and later ``{"exit": code}`` when it has reaped it.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FRESH_KERNELS_ENV_VAR = "PEMDA_WFA_FRESH_KERNELS"
#: what every kernel imports (ipykernel, the scientific stack) and the engines the analysis imports
#: lazily, inside functions; the notebooks' own imports are added per build
ENGINES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "numpy", "pandas", "scipy.stats", "statsmodels.api",
           "matplotlib.pyplot", "pyarrow.parquet", "pyarrow.dataset", "duckdb", "moderndid", "moderndid.didhonest",
           # pyfixest imports its estimation API on first use (0.2-0.3 s in every kernel that fits)
           "pyfixest", "pyfixest.estimation", "openpyxl")
#: what a kernel imports while it starts, imported by the zygote first (ipykernel's debugger alone,
#: debugpy, took 0.17 s of each forked kernel's 0.44 s to its kernel_info reply); the environment
#: variables these imports set are given to every forked kernel, as a fresh one has them
KERNEL_START_IMPORTS = ("ipykernel.debugger", "IPython.core.debugger", "IPython.core.completerlib",
                        "IPython.extensions.storemagic", "sqlite3", "tornado.platform.asyncio")
#: imported last: fills the caches every kernel would fill for itself (its module doc)
WARM_MODULE = "analysis.report.kernel_warm"
#: seconds a worker waits for the zygote to answer (it may still be importing) before it starts the
#: kernel the usual way
ANSWER_TIMEOUT_S = 120.0
#: seconds the build waits for a new zygote to listen on its socket before it gives up on forking
BIND_TIMEOUT_S = 30.0
KERNEL_LAUNCHER = "ipykernel_launcher"
FOLDER_PREFIX = "pemda-wfa-zygote-"
#: in the zygote process: the environment variables :data:`KERNEL_START_IMPORTS` set (``serve``)
_SET_BY_IMPORTS: dict[str, str] = {}


def enabled() -> bool:
    """Whether builds fork their kernels from a zygote: on Linux, unless turned off. (On macOS a
    fork after some system frameworks are loaded is unsafe, which is why Python's own
    multiprocessing spawns there; Windows has no fork.)"""
    off = os.environ.get(FRESH_KERNELS_ENV_VAR, "").strip().lower() in {"1", "yes", "true", "on"}
    return sys.platform.startswith("linux") and hasattr(os, "fork") and not off


def notebook_imports(notebook_paths: Iterable[str | Path]) -> list[str]:
    """The modules imported by the code cells of these notebooks, in first-seen order (cells that
    do not parse, e.g. with IPython magics, are skipped)."""
    modules: dict[str, None] = {}
    for path in notebook_paths:
        try:
            cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            try:
                tree = ast.parse(source if isinstance(source, str) else "".join(source))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update((alias.name, None) for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules[node.module] = None
                    modules.update((f"{node.module}.{alias.name}", None) for alias in node.names)
    return list(modules)


# ---------------------------------------------------------------------------------------------
# the build side


class Zygote:
    """A zygote process for one build: ``start()`` launches it (it imports in the background),
    ``address`` is what report jobs carry, ``stop()`` ends it together with any kernel it forked
    that still runs (none after a complete build; after an interrupted one, none may go on writing
    into the output folder). A kernel whose zygote dies otherwise lives on as an orphan: it ends
    with its report, or when its worker is gone."""

    def __init__(self, preload: list[str], threads: int | None = None):
        self.preload = list(dict.fromkeys([*ENGINES, *preload]))
        self.threads = threads
        self.address: str | None = None
        self._folder: str | None = None
        self._process: subprocess.Popen | None = None

    def start(self) -> str | None:
        """Start the zygote; returns its socket path (None when kernels cannot be forked here)."""
        from analysis.report import runner

        if not enabled() or runner.IN_PROCESS:
            return None
        from analysis.report.runner import kernel_variables

        # the zygote imports the same ``analysis`` as the kernels would, and has their hash seed
        # and thread counts (a forked kernel keeps the seed and the thread pools its zygote started with)
        environment = {**os.environ, **kernel_variables(os.environ, self.threads)}
        self._folder = tempfile.mkdtemp(prefix=FOLDER_PREFIX)
        self.address = str(Path(self._folder) / "socket")
        command = [sys.executable, "-m", "analysis.report.kernel_zygote", "--socket", self.address,
                   "--parent", str(os.getpid()), *self.preload]
        self._process = subprocess.Popen(command, cwd=self._folder, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         env=environment, start_new_session=True)
        # it listens before it imports (a kernel asked for meanwhile waits in the backlog), within
        # about 0.1 s: until then a worker would find no socket and start its kernel cold
        deadline = time.monotonic() + BIND_TIMEOUT_S
        while not Path(self.address).exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                return None
            time.sleep(0.01)
        return self.address

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        self.address = None
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


# ---------------------------------------------------------------------------------------------
# the worker side


class ForkedKernelProcess:
    """The part of :class:`subprocess.Popen` that jupyter_client's local provisioner uses, for a
    kernel the zygote forked (it is the zygote's child, so its exit code arrives on the socket)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, channel: socket.socket, received: bytes = b""):
        self.pid = pid
        self.returncode: int | None = None
        self._channel = channel
        self._buffer = b""
        self._take(received)

    def _take(self, data: bytes) -> None:
        """Add what the zygote sent; its ``{"exit": code}`` line sets :attr:`returncode`."""
        self._buffer += data
        if b"\n" in self._buffer:
            self.returncode = int(json.loads(self._buffer.split(b"\n", 1)[0])["exit"])
            self._channel.close()

    def _receive(self, timeout: float) -> None:
        """Take the zygote's exit report if it arrives within ``timeout`` seconds."""
        if not select.select([self._channel], [], [], timeout)[0]:
            return
        chunk = self._channel.recv(4096)
        if not chunk:  # the zygote is gone without a report: from now on, ask the system
            self._channel.close()
            return
        self._take(chunk)

    def poll(self) -> int | None:
        if self.returncode is None and self._channel.fileno() >= 0:
            self._receive(0)
        if self.returncode is None and self._channel.fileno() < 0:
            from analysis.report.runner import _alive

            if not _alive(self.pid):  # an orphan: init reaps it, its exit code is lost
                self.returncode = -1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            if self._channel.fileno() >= 0:
                self._receive(0.1 if left is None else min(0.1, left))
            else:
                time.sleep(0.1)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def fork_kernel(address: str, argv: list[str], env: dict[str, str], cwd: str) -> ForkedKernelProcess | None:
    """Ask the zygote at ``address`` for a kernel running ``argv``; None when it cannot give one
    (the caller then starts the kernel the usual way)."""
    if not can_fork(argv):
        return None
    channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        channel.settimeout(ANSWER_TIMEOUT_S)
        channel.connect(address)
        channel.sendall(json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode() + b"\n")
        answer = b""
        while b"\n" not in answer:
            chunk = channel.recv(4096)
            if not chunk:
                raise ConnectionError("the zygote closed the connection")
            answer += chunk
        line, rest = answer.split(b"\n", 1)
        pid = int(json.loads(line)["pid"])
    except (OSError, ValueError, KeyError):
        channel.close()
        return None
    channel.settimeout(None)
    return ForkedKernelProcess(pid, channel, rest)


def can_fork(argv: list[str]) -> bool:
    """Only ``<this interpreter> -m ipykernel_launcher ...`` can be forked from the zygote."""
    if len(argv) < 3 or argv[1:3] != ["-m", KERNEL_LAUNCHER]:
        return False
    try:
        return os.path.samefile(argv[0], sys.executable)
    except OSError:
        return False


@functools.cache
def provisioner_class():
    """:class:`ForkedKernelProvisioner`, defined on first use (jupyter_client is imported lazily)."""
    from jupyter_client.provisioning import LocalProvisioner

    class ForkedKernelProvisioner(LocalProvisioner):
        """The local provisioner, except that its kernel is forked from the zygote at
        ``zygote_address`` when it can be (set by :func:`analysis.report.runner.quiet_kernel_manager`)."""

        zygote_address: str | None = None

        async def launch_kernel(self, cmd: list[str], **kwargs: Any):
            # as jupyter_client's launcher does for a kernel that is not independent
            env = {**(kwargs.get("env") or os.environ), "JPY_PARENT_PID": str(os.getpid())}
            cwd = str(kwargs.get("cwd") or os.getcwd())
            process = fork_kernel(self.zygote_address, cmd, env, cwd) if self.zygote_address else None
            if process is None:
                return await super().launch_kernel(cmd, **kwargs)
            self.process = process
            self.pid = process.pid
            self.pgid = process.pid  # the kernel called setsid() before its pid was sent
            self.cwd = cwd
            return self.connection_info

    return ForkedKernelProvisioner


# ---------------------------------------------------------------------------------------------
# the zygote process


def _preload(modules: list[str]) -> None:
    """Import what can be imported; a module that fails is imported, or fails, in the kernel as it
    would have anyway."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - e.g. ``from pkg import function``: not a module
            pass


def _become_kernel(request: dict[str, Any], ready: int) -> None:
    """In the forked child: take the kernel's session, environment and directory, then run
    ipykernel exactly as ``python -m ipykernel_launcher ARGS`` would."""
    os.setsid()
    os.write(ready, b"x")
    os.close(ready)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    cwd = request["cwd"]
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(request["env"])
    for name, value in _SET_BY_IMPORTS.items():
        os.environ.setdefault(name, value)
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(quiet, fd)
    # its manager (the report worker) is not its parent, so ipykernel's own parent poller cannot
    # see it go: the kernel watches the worker's pid itself
    parent = os.environ.get("JPY_PARENT_PID", "")
    if parent.isdigit():
        from analysis.report.runner import _exit_with

        threading.Thread(target=_exit_with, args=(int(parent),), daemon=True).start()
    import importlib.util

    from ipykernel import kernelapp

    arguments = request["argv"][3:]  # after ``python -m ipykernel_launcher``
    sys.argv = [importlib.util.find_spec(KERNEL_LAUNCHER).origin, *arguments]
    kernelapp.launch_new_instance(argv=arguments)


def serve(address: str, parent_pid: int, preload: list[str]) -> None:
    """The zygote's main loop: import ``preload``, then fork a kernel per request until the build
    (``parent_pid``) is gone or the zygote is terminated. Single-threaded on purpose: a fork copies
    only the calling thread, so no other Python thread may hold a lock at that moment."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)  # workers may connect while the imports run; they wait in the backlog
    # what a fresh kernel's environment has when the notebook's imports run (ipykernel sets it)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    before = set(os.environ)
    _preload(list(KERNEL_START_IMPORTS))
    # variables these imports set (debugpy sets PYDEVD_USE_FRAME_EVAL): a fresh kernel has them
    # once started, so a forked one gets them too, under its own environment
    _SET_BY_IMPORTS.update({name: value for name, value in os.environ.items() if name not in before})
    _preload(preload)
    _preload([WARM_MODULE])
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    kernels: dict[int, socket.socket] = {}

    def close_inherited() -> None:  # in a forked kernel: the zygote's sockets and pipes are not its
        signal.set_wakeup_fd(-1)
        selector.close()
        listener.close()
        for connection in kernels.values():
            connection.close()
        os.close(wake_read)
        os.close(wake_write)

    # ``stop()`` terminates the zygote: the signal only marks it (its wake-up byte ends the wait
    # below), so that no request is cut between its fork and the kernel's registration
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    from analysis.report.runner import _alive

    try:
        while _alive(parent_pid) and not stopping:
            for key, _ in selector.select(timeout=1.0):
                if key.fileobj is listener:
                    _accept(listener, kernels, close_inherited)
                else:
                    _drain(wake_read)
            _reap(kernels)
    finally:
        _end_kernels(kernels)


def _accept(listener: socket.socket, kernels: dict[int, socket.socket], close_inherited) -> None:
    """Fork the kernel a waiting worker asks for and register it (the connection carries its exit)."""
    connection, _ = listener.accept()
    pid = _fork_one(connection, close_inherited)
    if pid is None:
        connection.close()
    else:
        kernels[pid] = connection


def _drain(wake_read: int) -> None:
    """Empty the signal wake-up pipe (the signal itself was handled already)."""
    try:
        while os.read(wake_read, 4096):
            pass
    except BlockingIOError:
        pass


def _fork_one(connection: socket.socket, close_inherited) -> int | None:
    connection.settimeout(10.0)
    try:
        with connection.makefile("rb") as stream:
            request = json.loads(stream.readline())
    except (OSError, ValueError):
        return None
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the kernel
        code = 1
        try:
            os.close(ready_read)
            close_inherited()
            connection.close()
            _become_kernel(request, ready_write)
            code = 0
        finally:
            os._exit(code)
    os.close(ready_write)
    os.read(ready_read, 1)  # the kernel is in its own session now: its pid is its process group
    os.close(ready_read)
    try:
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    except OSError:
        pass
    return pid


def _reap(kernels: dict[int, socket.socket]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _report_exit(kernels, pid, status)


def _report_exit(kernels: dict[int, socket.socket], pid: int, status: int) -> None:
    """Send a kernel's exit code to the worker that asked for it."""
    connection = kernels.pop(pid, None)
    if connection is not None:
        try:
            connection.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
        except OSError:
            pass
        connection.close()


def _end_kernels(kernels: dict[int, socket.socket]) -> None:
    """When the zygote is stopped: kill the kernels it forked that still run, and wait for them.
    After a complete build there are none (each report shuts its kernel down); after an
    interrupted one they must not go on writing into the output folder the build is clearing
    (their own watch on their worker would notice only within a second)."""
    for pid in kernels:
        try:
            os.killpg(pid, signal.SIGKILL)  # its process group: the kernel and what it started
        except OSError:
            pass
    for pid in list(kernels):
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            kernels.pop(pid, None)
            continue
        _report_exit(kernels, pid, status)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="the build's kernel zygote (started by the build)")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("preload", nargs="*")
    args = parser.parse_args(argv)
    try:
        serve(args.socket, args.parent, args.preload)
    finally:  # the build may be gone without stopping it: leave no socket behind
        socket_path = Path(args.socket)
        socket_path.unlink(missing_ok=True)
        if socket_path.parent.name.startswith(FOLDER_PREFIX):
            try:
                socket_path.parent.rmdir()
            except OSError:
                pass


if __name__ == "__main__":
    # like ipykernel_launcher: the working directory is not on the path (IPython puts '' back)
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    main()
