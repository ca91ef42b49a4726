"""Build every report configured in ``reports.yaml``: execute the notebooks with papermill (in
parallel, skipping unchanged ones), render reviewer and full HTML, check every output file for
personal data, and write ``OUT/manifest.json``, ``OUT/index.html``, a history record
(``OUT/history/<build_id>.json``) and ``OUT/changes.json`` (what changed since the previous build,
or since ``--compare-to``).

Exit codes: 0 every report ok; 1 a report failed or was withheld (the others still ran); 2 usage
problem, nothing or not everything written: invalid configuration or parameters, an unsafe slug,
``--only`` matching nothing, ``--out`` not a writable folder or overlapping ``--data``, another
build writing to the same ``--out``, an output that cannot be written (disk full); 130
interrupted (Ctrl-C): reports finished so far are in place, the one running is discarded.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from analysis.cli import EXIT_USAGE
from analysis.paths import REPORTS_DIR
from analysis.simulate import data_dir_or_default

HELP = "run every configured report (papermill) and write OUT/index.html"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", metavar="PATTERN", help="build only reports whose slug or notebook matches "
                        "(glob or substring; comma-separated), plus what they depend on")
    parser.add_argument("--jobs", "-j", type=int, default=max(1, min(4, (os.cpu_count() or 2))),
                        help="reports run in parallel (default: CPU count, at most 4)")
    parser.add_argument("--data", metavar="DIR", default="",
                        help="dataset directory in the data contract (default: bundled synthetic data, "
                             "generated on first use)")
    parser.add_argument("--out", metavar="DIR", default=str(REPORTS_DIR), help="output directory (default: reports/)")
    parser.add_argument("--lang", choices=("id", "en"), help="only reports in this language")
    parser.add_argument("--force", action="store_true", help="rerun reports even if nothing changed")
    parser.add_argument("--config", metavar="FILE", help="report configuration (default: reports.yaml)")
    parser.add_argument("--min-count", type=int, default=10,
                        help="smallest count a rendered table may show (default 10)")
    parser.add_argument("--compare-to", metavar="PREVIOUS", default=None,
                        help="history record (file or build id in OUT/history) to compare with in "
                             "changes.json and index.html (default: the latest record in OUT/history)")


def run(args: argparse.Namespace) -> int:
    from analysis.errors import DataContractError, ParameterError, UsageError
    from analysis.report.build import DEFAULT_CONFIG, build_reports

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.data and not Path(args.data).is_dir():
        raise UsageError(f"data directory {args.data} not found")
    try:
        data_dir = data_dir_or_default(args.data)
        summary = build_reports(
            config_path=Path(args.config) if args.config else DEFAULT_CONFIG,
            data_dir=Path(data_dir),
            out_dir=Path(args.out),
            only=args.only,
            lang=args.lang,
            jobs=args.jobs,
            force=args.force,
            min_count=args.min_count,
            compare_to=args.compare_to,
        )
    except (ParameterError, DataContractError) as exc:  # a bad configuration, or data that cannot be read
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"index: {summary.index_path}")
    return summary.exit_code
