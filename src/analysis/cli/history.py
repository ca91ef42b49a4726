"""List past builds of an output folder with their headline numbers (``OUT/history``).

Two small tables: the builds (id, data as of, code version, reports ok / failed), then the
headline number of each report across those builds (one column per build, oldest first, by its
number in the first table), with the newest build's confidence interval.

Exit codes: 0 listed (also when there is no history yet); 2 ``--out`` not found.
"""

from __future__ import annotations

import argparse
import fnmatch
import math
from pathlib import Path

from analysis.cli import EXIT_OK
from analysis.errors import UsageError
from analysis.paths import REPORTS_DIR

HELP = "list past builds of an output folder and their headline numbers"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", default=str(REPORTS_DIR), help="output directory (default: reports/)")
    parser.add_argument("--last", type=int, default=6, metavar="N", help="show the last N builds (default 6)")
    parser.add_argument("--only", metavar="PATTERN", help="only reports whose slug matches (glob)")


def _number(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value:.4g}"
    if magnitude >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def interval(entry: dict | None) -> str:
    """``[low, high]`` of a history entry (empty without one)."""
    if not entry or entry.get("ci_low") is None or entry.get("ci_high") is None:
        return ""
    return f"[{_number(entry['ci_low'])}, {_number(entry['ci_high'])}]"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a plain text table, columns padded to their widest cell."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return lines


def history_lines(records: list[dict], only: str | None = None) -> list[str]:
    """The two tables for ``records`` (oldest first)."""
    from analysis.report.history import entries  # imported on use: ``--help`` stays fast

    if not records:
        return ["no builds recorded yet"]
    builds = []
    for record in records:
        reports = record.get("reports") or {}
        statuses = [r.get("status") for r in reports.values()]
        code = record.get("code") or {}
        builds.append([
            record.get("build_id", "?"),
            (record.get("data") or {}).get("extracted_at") or "–",
            (code.get("git_commit") or code.get("analysis_code_sha256") or "?")[:10] + ("*" if code.get("git_dirty") else ""),
            str(sum(s in ("ok", "skipped") for s in statuses)),
            str(sum(s == "failed" for s in statuses)),
        ])
    lines = table(["#", "build", "data as of", "code", "ok", "failed"], [[str(i), *b] for i, b in enumerate(builds, 1)])
    slugs = []
    for record in records:
        for slug in record.get("reports") or {}:
            if slug not in slugs and (not only or fnmatch.fnmatch(slug, only)):
                slugs.append(slug)
    rows = []
    for slug in slugs:
        name = next((r["reports"][slug].get("headline") for r in reversed(records)
                     if slug in r.get("reports", {}) and r["reports"][slug].get("headline")), None)
        values, latest = [], None
        for record in records:
            report = (record.get("reports") or {}).get(slug)
            entry = {e["name"]: e for e in entries(report or {})}.get(name)
            values.append(_number(entry.get("estimate")) if entry else "")
            latest = entry if report else latest
        rows.append([slug, name or "–", *values, interval(latest)])
    if rows:
        lines += ["", *table(["report", "headline", *[f"#{i}" for i in range(1, len(records) + 1)], "CI (latest)"], rows)]
    return lines


def run(args: argparse.Namespace) -> int:
    from analysis.report.history import list_records, load_record

    out = Path(args.out)
    if not out.is_dir():
        raise UsageError(f"--out {args.out}: no such output folder")
    if args.last < 1:
        raise UsageError("--last must be at least 1")
    records = []
    for path in list_records(out)[-args.last:]:
        try:
            records.append(load_record(path))
        except UsageError as exc:
            print(f"warning: {exc}")
    for line in history_lines(records, args.only):
        print(line)
    return EXIT_OK
