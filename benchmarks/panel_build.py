"""Benchmark: service panel (KM medians per Pemda × month × service) in DuckDB vs plain pandas.

Usage: python benchmarks/panel_build.py [--size national|default|small] [--data-dir DIR] [--pandas-rows N]

Prints rows/second and peak memory (process RSS high-water mark) for each implementation. The
pandas reference computes the same KM quantiles cell by cell with ``analysis.panels.km`` (on a row
subset with ``--pandas-rows`` when the full size would not fit in memory or time).
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


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_duckdb(path: str, extracted_at: str) -> tuple[int, float]:
    import duckdb

    from analysis.panels.service import build_service_panel

    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
    t0 = time.perf_counter()
    build_service_panel(path, extracted_at=extracted_at, memory_limit="4GB")
    return n, time.perf_counter() - t0


def run_pandas(path: str, extracted_at: str, rows: int | None) -> tuple[int, float]:
    import pandas as pd

    from analysis.panels.km import kaplan_meier, km_quantile
    from analysis.panels.service import extraction_moment

    cols = ["region_code", "service_type", "submitted_at", "completed_at"]
    df = pd.read_parquet(path, columns=cols)
    if rows:
        df = df.iloc[:rows]
    t0 = time.perf_counter()
    ext = extraction_moment(extracted_at)
    df["month"] = df["submitted_at"].dt.strftime("%Y-%m")
    df["done"] = df["completed_at"].notna()
    df["days"] = ((df["completed_at"].fillna(ext) - df["submitted_at"]).dt.total_seconds() / 86400).clip(lower=0)
    out = []
    for key, cell in df.groupby(["region_code", "month", "service_type"], sort=False):
        curve = kaplan_meier(cell["days"].to_numpy(), cell["done"].to_numpy())
        out.append((*key, len(cell), km_quantile(curve, 0.5), km_quantile(curve, 0.9)))
    return len(df), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="national")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--pandas-rows", type=int, default=2_000_000)
    ap.add_argument("--impl", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    data_dir = Path(args.data_dir or Path(tempfile.gettempdir()) / f"wfa_synthetic_{args.size}")
    if args.impl:  # child process: one implementation, so peak memory is its own
        path = str(data_dir / "service_requests.parquet")
        if args.impl == "duckdb":
            n, secs = run_duckdb(path, "2026-10-31")
        else:
            n, secs = run_pandas(path, "2026-10-31", args.pandas_rows or None)
        print(f"{args.impl}\t{n}\t{secs:.1f}\t{n / secs:,.0f}\t{_peak_mb():,.0f}")
        return
    from analysis.simulate import ensure_dataset

    ensure_dataset(data_dir, size=args.size)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, Python {platform.python_version()}")
    print("implementation\trows\tseconds\trows/s\tpeak RSS MB")
    for impl in ("duckdb", "pandas"):
        res = subprocess.run([sys.executable, __file__, "--size", args.size, "--data-dir", str(data_dir),
                              "--pandas-rows", str(args.pandas_rows), "--impl", impl], capture_output=True, text=True)
        print(res.stdout.strip() or f"{impl}\tfailed: {res.stderr.strip()[-300:]}")


if __name__ == "__main__":
    main()
