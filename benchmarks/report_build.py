"""Wall time of the report build: full default build with --jobs 1 and --jobs 2, then a
no-change rebuild. Prints a table; each build runs in a fresh process (as a user would).

    python benchmarks/report_build.py [--data DIR] [--only PATTERN]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_build(out: Path, jobs: int, extra: list[str]) -> tuple[float, int]:
    command = [sys.executable, "-m", "analysis", "build", "--out", str(out), "--jobs", str(jobs), *extra]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="", help="dataset directory (default: bundled synthetic data)")
    parser.add_argument("--only", default="", help="restrict to matching reports")
    parser.add_argument("--config", default="", help="report configuration (default: reports.yaml)")
    args = parser.parse_args()
    extra = (["--data", args.data] if args.data else []) + (["--only", args.only] if args.only else []) + (
        ["--config", args.config] if args.config else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for jobs in (1, 2):
            out = Path(tmp) / f"jobs{jobs}"
            seconds, code = timed_build(out, jobs, [*extra, "--force"])
            rows.append((f"full build, --jobs {jobs}", seconds, code))
        seconds, code = timed_build(Path(tmp) / "jobs2", 2, extra)
        rows.append(("no-change rebuild, --jobs 2", seconds, code))
    print(f"{'case':<32} {'wall s':>8} {'exit':>5}")
    for name, seconds, code in rows:
        print(f"{name:<32} {seconds:8.1f} {code:5d}")


if __name__ == "__main__":
    main()
