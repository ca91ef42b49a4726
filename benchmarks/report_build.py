"""Wall time and peak memory of the report build, each build a fresh process (as a user would):

1. cold: every report, both languages, empty caches (a new ``PEMDA_WFA_CACHE_DIR``: the data are
   validated, the aggregation stage built and every estimate computed);
2. no-change rebuild (every report reused);
3. language-only rebuild: ``--force --lang en`` after the full build (the estimates come from the
   compute cache: the build log shows ``estimates: cached`` for each report);
4. ``--jobs 1`` cold (optional, ``--jobs1``).

Prints a table with the earlier numbers next to these, the per-report lines of the cold build's
log (``estimates: computed`` / ``cached``), the load average, and the peak memory of the whole
process tree (build, workers, kernel zygote, kernels; sampled from ``/proc`` every 0.2 s) both as
the sum of resident sizes (RSS, which counts the pages a forked kernel shares with the zygote once
per process) and as the sum of proportional set sizes (PSS: shared pages split between their
sharers, i.e. the memory the tree occupies; sampled once a second).

    python benchmarks/report_build.py [--data DIR] [--only PATTERN] [--jobs 2] [--jobs1]
    python benchmarks/report_build.py --size national   # simulates the national dataset first
    PEMDA_WFA_DUCKDB_MEMORY=3GB nice -n 10 python benchmarks/report_build.py --data DIR --cold-only

``PEMDA_WFA_DUCKDB_MEMORY`` bounds DuckDB in every step (validation, aggregation stage, overview).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: Earlier numbers (benchmarks/README.md) for the side-by-side table.
EARLIER = {
    "cold full build, --jobs 2": "199.3 wall, fresh kernels (quiet; 50 reports, main facb4b2) / 282.6 (22 reports, wave 1)",
    "no-change rebuild, --jobs 2": "1.6-1.9 (quiet, main facb4b2)",
    "language-only rebuild (--force --lang en)": "73.2 (25 reports, fresh kernels, main facb4b2)",
    "cold full build, --jobs 1": "452.7 (22 reports)",
}


def _rss_kb(pid: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        return int(next((line.split()[1] for line in handle if line.startswith("VmRSS:")), "0"))


def _memory_kb(pid: str) -> tuple[int, int]:
    """(resident, proportional) memory of one process in kB. Kernels forked from the build's zygote
    share its pages, which the resident sizes count once per process; the proportional set size
    (PSS) splits each shared page between its sharers, so the PSS sum is what the tree occupies."""
    rss = _rss_kb(pid)
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            pss = int(next((line.split()[1] for line in handle if line.startswith("Pss:")), rss))
    except OSError:
        pss = rss
    return rss, pss


def _tree_memory_kb(root_pid: int, with_pss: bool = True) -> tuple[int, int]:
    """Resident and proportional memory (kB) of ``root_pid`` and all its descendants (the PSS is
    0 unless ``with_pss``: reading it walks every page table, too slow for every sample)."""
    children: dict[int, list[int]] = {}
    memory: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            memory[int(entry)] = _memory_kb(entry) if with_pss else (_rss_kb(entry), 0)
        except (OSError, IndexError, StopIteration, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        rss += memory.get(pid, (0, 0))[0]
        pss += memory.get(pid, (0, 0))[1]
        stack.extend(children.get(pid, []))
    return rss, pss


def timed_build(out: Path, jobs: int, extra: list[str], env: dict, log: Path) -> tuple[float, int, float, float]:
    """(wall seconds, exit code, peak RSS sum and peak PSS sum of the process tree in MB)."""
    command = [sys.executable, "-m", "analysis", "build", "--out", str(out), "--jobs", str(jobs), *extra]
    peak = [0, 0]
    start = time.perf_counter()
    with log.open("w") as handle:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=handle, env=env)
        done = threading.Event()

        def sample() -> None:
            samples = 0
            while not done.is_set():
                rss, pss = _tree_memory_kb(process.pid, with_pss=samples % 5 == 0)  # PSS once a second
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                samples += 1
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    return time.perf_counter() - start, code, peak[0] / 1024, peak[1] / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="", help="dataset directory (default: bundled synthetic data)")
    parser.add_argument("--size", default="", help="simulate a dataset of this size first (e.g. national)")
    parser.add_argument("--only", default="", help="restrict to matching reports")
    parser.add_argument("--config", default="", help="report configuration (default: reports.yaml)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--jobs1", action="store_true", help="also a cold build with --jobs 1")
    parser.add_argument("--keep", default="", help="keep outputs and caches in this directory")
    parser.add_argument("--cold-only", action="store_true", help="only the cold build (e.g. at national size)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.keep or scratch)
        work.mkdir(parents=True, exist_ok=True)
        data = args.data
        if args.size:
            from analysis.simulate import ensure_dataset

            data = str(ensure_dataset(work / f"data-{args.size}", size=args.size))
        extra = (["--data", data] if data else []) + (["--only", args.only] if args.only else []) + (
            ["--config", args.config] if args.config else [])
        rows = []

        def run(name: str, out: Path, jobs: int, more: list[str], cache: Path) -> None:
            env = {**os.environ, "PEMDA_WFA_CACHE_DIR": str(cache)}
            load = os.getloadavg()[0]
            log = work / (name.split(",")[0].replace(" ", "-") + f"-jobs{jobs}.log")
            seconds, code, peak_rss, peak_pss = timed_build(out, jobs, [*extra, *more], env, log)
            rows.append((name, seconds, code, peak_rss, peak_pss, load, log))

        cache = work / "cache"
        run(f"cold full build, --jobs {args.jobs}", work / "out", args.jobs, [], cache)
        if not args.cold_only:
            run(f"no-change rebuild, --jobs {args.jobs}", work / "out", args.jobs, [], cache)
            run("language-only rebuild (--force --lang en)", work / "out", args.jobs, ["--force", "--lang", "en"],
                cache)
        if args.jobs1:
            run("cold full build, --jobs 1", work / "out1", 1, [], work / "cache1")
        print(f"{'case':<44} {'wall s':>8} {'exit':>5} {'RSS MB':>8} {'PSS MB':>8} {'load':>5}  earlier")
        for name, seconds, code, peak_rss, peak_pss, load, _ in rows:
            earlier = EARLIER.get(name.replace(f"--jobs {args.jobs}", "--jobs 2"), "")
            print(f"{name:<44} {seconds:8.1f} {code:5d} {peak_rss:8.0f} {peak_pss:8.0f} {load:5.1f}  {earlier}")
        for name, *_, log in rows:
            if log.exists():
                print(f"\n--- build log: {name}")
                print("\n".join(line for line in log.read_text().splitlines()
                                if line.startswith(("[", "build:", "panels:"))))


if __name__ == "__main__":
    main()
