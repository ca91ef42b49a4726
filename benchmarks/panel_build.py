"""Benchmark: the service panel (KM medians per Pemda × month × service) and the aggregation stage.

Usage: python benchmarks/panel_build.py [--size default|small|national] [--data-dir DIR]
           [--pandas-rows N] [--runs N] [--threads N] [--memory-limit 4GB] [--spark]

Implementations, each in its own subprocess (so peak RSS is its own), the best of ``--runs``:

- ``panel``: ``analysis.panels.service.build_service_panel`` (the stage's SQL, one table)
- ``reference``: the panel SQL before the aggregation stage (tests/reference_service_panel.py)
- ``bare``: a bare DuckDB ``median`` + ``quantile_cont(0.9)`` group-by over the same rows and keys
  (durations computed from the timestamps the same way): the floor for any exact quantile panel
- ``stage``: ``analysis.panels.aggregate`` (service panel, units panel, person periods)
- ``person_periods``: ``analysis.durations.person_period_counts`` today (all Pemda, all months)
- ``pandas``: the KM quantiles cell by cell with ``analysis.panels.km`` (on ``--pandas-rows``)
- ``spark`` (with ``--spark``): the stage on a local Spark session (session start excluded)

Prints rows/second by wall time and by CPU time (user + system, all threads) and the two target
ratios: panel vs pandas (target ≥ 10×) and panel vs bare (target ≤ 3×). CPU time is the steadier
measure on a shared machine; both are printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRACTED_AT = "2026-10-31"
IMPLEMENTATIONS = ("panel", "reference", "bare", "stage", "person_periods", "pandas")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn) -> tuple[float, float]:
    cpu0, wall0 = _cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - wall0, _cpu() - cpu0


def run(impl: str, path: str, args) -> tuple[int, float, float]:
    """(rows, wall seconds, CPU seconds) of one implementation."""
    import duckdb

    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
    if impl == "panel":
        from analysis.panels.service import build_service_panel

        return n, *_timed(lambda: build_service_panel(path, extracted_at=EXTRACTED_AT, threads=args.threads,
                                                      memory_limit=args.memory_limit))
    if impl == "reference":
        sys.path.insert(0, str(ROOT / "tests"))
        from reference_service_panel import reference_service_panel

        return n, *_timed(lambda: reference_service_panel(path, extracted_at=EXTRACTED_AT, threads=args.threads,
                                                          memory_limit=args.memory_limit))
    if impl == "bare":
        from analysis.panels.engines import DuckDBEngine, extraction_moment
        from analysis.panels.queries import requests_cte

        engine = DuckDBEngine(threads=args.threads, memory_limit=args.memory_limit)
        engine.register(path)
        sql = (f"WITH {requests_cte(extraction_moment(EXTRACTED_AT))} SELECT region_code, month_start, service_type, "
               "median(days) AS median_days, quantile_cont(days, 0.9) AS p90_days FROM req GROUP BY ALL")
        return n, *_timed(lambda: engine.fetch(sql))
    if impl in ("stage", "spark"):
        from analysis.panels.aggregate import aggregate, make_engine

        engine = make_engine("spark" if impl == "spark" else "duckdb", threads=args.threads,
                             memory_limit=args.memory_limit)
        try:
            return n, *_timed(lambda: aggregate(path, extracted_at=EXTRACTED_AT, engine=engine))
        finally:
            engine.close()
    if impl == "person_periods":
        import duckdb as db

        from analysis.durations import person_period_counts

        regions = db.sql(f"SELECT DISTINCT CAST(region_code AS VARCHAR) AS region_code, NULL::VARCHAR AS cohort, "
                         f"true AS in_staggered_sample FROM read_parquet('{path}')").df()
        return n, *_timed(lambda: person_period_counts(path, regions, extracted_at=EXTRACTED_AT, start="1900-01"))
    if impl == "pandas":
        return run_pandas(path, args.pandas_rows or None)
    raise ValueError(impl)


def run_pandas(path: str, rows: int | None) -> tuple[int, float, float]:
    import pandas as pd

    from analysis.panels.km import kaplan_meier, km_quantile
    from analysis.panels.service import extraction_moment

    cols = ["region_code", "service_type", "submitted_at", "completed_at"]
    df = pd.read_parquet(path, columns=cols)
    if rows:
        df = df.iloc[:rows]

    def build():
        ext = extraction_moment(EXTRACTED_AT)
        df["month"] = df["submitted_at"].dt.strftime("%Y-%m")
        df["done"] = df["completed_at"].notna()
        df["days"] = ((df["completed_at"].fillna(ext) - df["submitted_at"]).dt.total_seconds() / 86400).clip(lower=0)
        out = []
        for key, cell in df.groupby(["region_code", "month", "service_type"], sort=False):
            curve = kaplan_meier(cell["days"].to_numpy(), cell["done"].to_numpy())
            out.append((*key, len(cell), km_quantile(curve, 0.5), km_quantile(curve, 0.9)))

    return len(df), *_timed(build)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="default")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--pandas-rows", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--spark", action="store_true", help="also time the stage on a local Spark session")
    ap.add_argument("--only", default=None, help="comma-separated implementations")
    ap.add_argument("--impl", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    data_dir = Path(args.data_dir or Path(tempfile.gettempdir()) / f"wfa_synthetic_{args.size}")
    path = str(data_dir / "service_requests.parquet")
    if args.impl:  # child process: one implementation, so peak memory is its own
        best = None
        for _ in range(1 if args.impl in ("pandas", "spark") else args.runs):
            n, wall, cpu = run(args.impl, path, args)
            best = (n, wall, cpu) if best is None or wall < best[1] else best
        n, wall, cpu = best
        print(f"{args.impl}\t{n}\t{wall:.2f}\t{cpu:.2f}\t{_peak_mb():.0f}")
        return
    if args.data_dir is None:  # a dataset of the user's (--data-dir) is read as it is, never re-simulated
        from analysis.simulate import ensure_dataset

        ensure_dataset(data_dir, size=args.size)
    elif not Path(path).is_file():
        raise SystemExit(f"{path}: no such file (--data-dir must hold service_requests.parquet)")
    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, Python "
          f"{platform.python_version()}; load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    impls = list(IMPLEMENTATIONS) + (["spark"] if args.spark else [])
    if args.only:
        impls = [i for i in impls if i in args.only.split(",")]
    results = {}
    print("implementation\trows\twall s\tCPU s\trows/s (wall)\trows/s (CPU)\tpeak RSS MB")
    for impl in impls:
        cmd = [sys.executable, __file__, "--size", args.size, "--data-dir", str(data_dir), "--pandas-rows",
               str(args.pandas_rows), "--runs", str(args.runs), "--memory-limit", args.memory_limit, "--impl", impl]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        line = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
        if res.returncode or not line.startswith(impl):
            print(f"{impl}\tfailed: {res.stderr.strip()[-300:]}")
            continue
        _, n, wall, cpu, peak = line.split("\t")
        n, wall, cpu = int(n), float(wall), float(cpu)
        if impl == "spark":  # the work runs in the JVM, a child process: its CPU and memory are not ours
            print(f"{impl}\t{n:,}\t{wall:.2f}\tn/a\t{n / wall:,.0f}\tn/a\tn/a (JVM)")
            continue
        results[impl] = (n / wall, n / cpu)
        print(f"{impl}\t{n:,}\t{wall:.2f}\t{cpu:.2f}\t{n / wall:,.0f}\t{n / cpu:,.0f}\t{float(peak):,.0f}")
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    for other, target in (("pandas", "target >= 10"), ("bare", "target <= 3 (bare/panel speed)"),
                          ("reference", "before -> after")):
        if "panel" in results and other in results:
            wall_ratio = results["panel"][0] / results[other][0]
            cpu_ratio = results["panel"][1] / results[other][1]
            if other == "bare":
                print(f"bare aggregation is {1 / wall_ratio:.2f}x faster than the panel by wall time, "
                      f"{1 / cpu_ratio:.2f}x by CPU time ({target})")
            else:
                print(f"panel vs {other}: {wall_ratio:.1f}x by wall time, {cpu_ratio:.1f}x by CPU time ({target})")


if __name__ == "__main__":
    main()
