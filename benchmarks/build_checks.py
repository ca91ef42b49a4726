"""What the build's safety checks cost: hashing the input data by content (every build), the data
facts of the history record (one validated load), verifying reused report folders (every file's
SHA-256) and scanning a finished report for personal data. Prints a table.

    python benchmarks/build_checks.py --data DIR [--out BUILT_OUT] [--repeat 3]

``--out``: an output folder of an earlier build on ``--data`` (for the verification and scan rows).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from analysis.report import history, report_folder
from analysis.report.provenance import hash_directory
from analysis.report.scrub import check_report_dir, input_niks


def timed(function, repeat: int) -> tuple[float, float, object]:
    """Median and minimum seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2], times[0], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="dataset directory")
    parser.add_argument("--out", default="", help="output folder of a build on --data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = Path(args.data)
    size_mb = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 1e6
    rows = []
    median, best, _ = timed(lambda: hash_directory(data), args.repeat)
    rows.append((f"hash input data by content ({size_mb:,.0f} MB)", median, best))
    median, best, facts = timed(lambda: history.data_facts(data), args.repeat)
    rows.append(("history data facts (validated load, cache after the first)", median, best))
    if args.out:
        out = Path(args.out)
        manifest = json.loads((out / "manifest.json").read_text())
        records = [r for r in manifest["reports"] if r["status"] in ("ok", "skipped")]
        folder_mb = sum(p.stat().st_size for r in records for p in (out / r["slug"]).rglob("*") if p.is_file()) / 1e6

        def verify_all():
            return [report_folder.verified_status(out / r["slug"], r["key"]) for r in records]

        median, best, verified = timed(verify_all, args.repeat)
        assert all(verified), "a report folder did not verify"
        rows.append((f"verify {len(records)} report folders ({folder_mb:,.0f} MB)", median, best))
        niks = input_niks(data)

        def scan_all():
            return [check_report_dir(out / r["slug"], niks) for r in records]

        median, best, problems = timed(scan_all, args.repeat)
        rows.append((f"privacy scan of {len(records)} report folders", median, best))
        found = sum(len(p) for p in problems)
        print(f"problems found by the scan: {found}")
    print(f"{'step':<62} {'median s':>9} {'min s':>7}")
    for name, median, best in rows:
        print(f"{name:<62} {median:9.2f} {best:7.2f}")
    print(f"data facts: {json.dumps({k: v for k, v in facts.items() if k != 'adopters'})[:300]}")


if __name__ == "__main__":
    main()
