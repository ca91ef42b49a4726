"""Benchmark: load and validate a large service_requests file; print rows/s and peak memory.

Uses ``analysis.simulate`` (size ``national``) when available, unless ``--rows N`` is given;
otherwise writes a synthetic service_requests Parquet of N rows (vectorised numpy) to a
temporary directory. Run from the repository root:

    PYTHONPATH=src python benchmarks/load_validate.py --rows 2000000 [--csv]
    PYTHONPATH=src python benchmarks/load_validate.py --data-dir DIR   # an existing dataset

Steps timed: ``validate only`` (validate_dataset), ``load (no cache)`` (``analysis.data.load``
with use_cache=False), ``load (cold)`` (validates and writes the cache), ``load (cached)`` (a
second load of the same files), ``+ as pandas`` (reading the validated service_requests of the
cached load into pandas: ``load`` writes the accepted rows to Parquet and reads a table into
pandas only when asked; before the split, every load built every table in pandas). The cache goes
to a temporary directory, removed at the end. Numbers: ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


def synthetic_requests(n: int, seed: int = 1) -> pd.DataFrame:
    """n service requests with realistic types (vectorised; about 0.1% deliberately invalid)."""
    from analysis import paths
    from analysis.data.schemas import CHANNELS, SERVICE_TYPES

    rng = np.random.default_rng(seed)
    codes = pd.read_csv(paths.REGIONS_CSV, dtype=str)["region_code"].to_numpy()
    submitted = (np.datetime64("2025-01-01T00:00:00") +
                 rng.integers(0, 600 * 86400, n).astype("timedelta64[s]"))
    days = rng.lognormal(1.0, 1.0, n)
    completed = submitted + (days * 86400).astype("int64").astype("timedelta64[s]")
    completed = np.where(rng.random(n) < 0.05, np.datetime64("NaT", "s"), completed)
    frame = pd.DataFrame({
        "request_id": np.char.add("R", np.arange(n).astype(str)),
        "region_code": codes[rng.integers(0, len(codes), n)],
        "service_type": np.array(SERVICE_TYPES)[rng.integers(0, len(SERVICE_TYPES), n)],
        "submitted_at": submitted,
        "completed_at": completed,
        "units_involved": rng.integers(1, 4, n),
        "channel": np.array(CHANNELS)[rng.integers(0, 2, n)],
        "sla_days": rng.choice([1.0, 5.0, 14.0, 30.0], n),
        "applicant_nik": np.char.add("3372", rng.integers(10**11, 10**12 - 1, n).astype(str)),
    })
    bad = rng.choice(n, size=max(n // 1000, 1), replace=False)
    frame.loc[bad, "units_involved"] = 0
    return frame


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="synthetic rows instead of analysis.simulate")
    parser.add_argument("--csv", action="store_true", help="also time the same rows as CSV")
    parser.add_argument("--data-dir", default=None, help="time an existing dataset directory instead")
    parser.add_argument("--size", default=None, help="analysis.simulate size to generate (e.g. default, national)")
    args = parser.parse_args(argv)
    os.environ.setdefault("PEMDA_WFA_SALT", "benchmark")
    from analysis import data

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["PEMDA_WFA_CACHE_DIR"] = str(tmp / "cache")
        data_dir = tmp / "data"
        source = None
        if args.data_dir is not None:
            data_dir = Path(args.data_dir)
            source = f"dataset {data_dir.name}"
        elif args.size is not None:
            from analysis.simulate import simulate_dataset

            data_dir = Path(simulate_dataset(tmp / args.size, size=args.size))
            source = f"analysis.simulate size={args.size}"
        elif args.rows is None:
            try:
                from analysis.simulate import simulate_dataset

                data_dir = Path(simulate_dataset(tmp / "national", size="national"))
                source = "analysis.simulate size=national"
            except ImportError:
                args.rows = 2_000_000
        if source is None:
            data_dir.mkdir()
            synthetic_requests(args.rows).to_parquet(data_dir / "service_requests.parquet", index=False)
            (data_dir / "dataset.json").write_text(json.dumps({"extracted_at": "2026-10-31"}))
            source = f"synthetic {args.rows:,} rows"
        runs = [("parquet", data_dir)]
        if args.csv:
            csv_dir = tmp / "csv"
            csv_dir.mkdir()
            pd.read_parquet(data_dir / "service_requests.parquet").to_csv(
                csv_dir / "service_requests.csv", index=False)
            (csv_dir / "dataset.json").write_text((data_dir / "dataset.json").read_text())
            runs.append(("csv", csv_dir))
        rows = []
        for label, directory in runs:
            steps = (("validate only", data.validate_dataset),
                     ("load (no cache)", lambda d: data.load(d, use_cache=False)),
                     ("load (cold)", data.load), ("load (cached)", data.load),
                     ("+ as pandas", lambda d: data.load(d).service_requests))
            for mode, func in steps:
                start = time.perf_counter()
                result = func(directory)
                seconds = time.perf_counter() - start
                if isinstance(result, pd.DataFrame):
                    read = accepted = len(result)
                else:
                    report = (result.validation if hasattr(result, "validation") else result).tables["service_requests"]
                    read, accepted = report.rows_read, report.rows_accepted
                rows.append((label, mode, read, accepted, seconds, read / seconds, peak_rss_mb()))
                del result

    print(f"machine: {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM, "
          f"Python {platform.python_version()}, duckdb {duckdb.__version__}, pandas {pd.__version__}, "
          f"{platform.machine()}")
    print(f"data: {source}")
    header = f"{'format':<8} {'step':<16} {'rows read':>12} {'accepted':>12} {'seconds':>8} {'rows/s':>12} {'peak RSS MB':>12}"
    print(header)
    print("-" * len(header))
    for label, mode, read, accepted, seconds, rate, rss in rows:
        print(f"{label:<8} {mode:<16} {read:>12,} {accepted:>12,} {seconds:>8.2f} {rate:>12,.0f} {rss:>12,.0f}")
    print("peak RSS is the process maximum so far (it includes generating the data).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
