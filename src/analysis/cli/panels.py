"""Aggregate a dataset's service requests once: the Pemda × month × service panels (Kaplan–Meier
median/p90, SLA share, backlog, counts; by service type and by units group) and the person-period
table of the hazard model, written as Parquet with a panels.json manifest (input fingerprint,
engine, versions, row counts, extraction date). The reports read these tables; they are also a
plain export for Stata or R.

The requests are DATA/service_requests.parquet, or a directory DATA/service_requests/ of Parquet
files, or --requests (files, globs, directories or URIs such as s3a://bucket/requests/ that the
engine can read); a CSV/Excel table is validated and loaded first (DuckDB only). The extraction
date comes from --extracted-at, else DATA/dataset.json, else the latest timestamp in the data
(with a warning).

--engine spark runs the same SQL on Spark (install the 'spark' extra; Java 17+): a local session
by default, or the cluster given by --spark-master (spark://host:7077, yarn, k8s://...).

Exit codes: 0 written (or already current), 2 usage error, unreadable input or missing column.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from analysis.cli import EXIT_OK, EXIT_USAGE
from analysis.errors import DataContractError, UsageError

HELP = "aggregate service requests once into Parquet panels (DuckDB or Spark engine)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", help="dataset directory (data contract)")
    parser.add_argument("--out", metavar="DIR", required=True, help="directory to write the Parquet tables to")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="duckdb (in process, default) or spark")
    parser.add_argument("--spark-master", metavar="URL",
                        help="Spark master (default local[*]): spark://host:7077, yarn, k8s://...")
    parser.add_argument("--spark-conf", metavar="KEY=VALUE", action="append", default=[],
                        help="extra Spark setting (repeatable)")
    parser.add_argument("--memory-limit", metavar="SIZE",
                        help="DuckDB memory limit (spills beyond it) or Spark driver memory, e.g. 4GB")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument("--requests", metavar="PATH", nargs="+",
                        help="service_requests Parquet files, globs, directories or URIs (default: from --data)")
    parser.add_argument("--extracted-at", metavar="DATE", help="extraction date (default: DATA/dataset.json)")
    parser.add_argument("--force", action="store_true", help="recompute even if OUT is current for this input")


def run(args: argparse.Namespace) -> int:
    from analysis.panels.aggregate import aggregate, is_current

    if args.data is None and not args.requests:
        raise UsageError("give --data DIR (a dataset directory) or --requests PATH")
    data_dir = Path(args.data) if args.data else None
    if data_dir is not None and not data_dir.is_dir():
        raise UsageError(f"{data_dir}: no such dataset directory")
    if args.threads is not None and args.threads < 1:
        raise UsageError("--threads must be at least 1")
    conf = {}
    for item in args.spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--spark-conf {item!r}: expected KEY=VALUE")
        conf[key] = value
    try:
        requests = _requests(args, data_dir)
        extracted_at = _extracted_at(args, data_dir, requests)
        out_dir = Path(args.out)
        if not args.force and is_current(out_dir, requests, extracted_at=extracted_at):
            print(f"{out_dir}: current for this input and extraction date (use --force to recompute)")
            return EXIT_OK
        print(f"aggregating service requests with {args.engine} (extracted at {extracted_at})", file=sys.stderr)
        started = time.perf_counter()
        result = aggregate(requests, extracted_at=extracted_at, engine=args.engine, out_dir=out_dir,
                           threads=args.threads, memory_limit=args.memory_limit, spark_master=args.spark_master,
                           spark_conf=conf, progress=_report_progress)
    except DataContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    manifest = result.manifest
    print(f"{out_dir}: {manifest['input']['rows']:,} requests aggregated in {time.perf_counter() - started:.1f} s "
          f"({manifest['engine']})")
    for name, entry in manifest["tables"].items():
        print(f"  {entry['file']:<30} {entry['rows']:>10,} rows")
    return EXIT_OK


def _report_progress(table: str, rows: int, seconds: float) -> None:
    print(f"  {table}: {rows:,} rows in {seconds:.1f} s", file=sys.stderr, flush=True)


def _requests(args, data_dir: Path | None):
    """The requests source: --requests, else the dataset's Parquet file or directory, else its
    CSV/Excel table loaded and validated by analysis.data (DuckDB only)."""
    if args.requests:
        return list(args.requests) if len(args.requests) > 1 else args.requests[0]
    parquet = data_dir / "service_requests.parquet"
    if parquet.is_file():
        return str(parquet)
    lake = data_dir / "service_requests"
    if lake.is_dir():
        return str(lake)
    others = sorted(p.name for p in data_dir.glob("service_requests.*"))
    if not others:
        raise UsageError(f"{data_dir}: no service_requests table (expected service_requests.parquet, a "
                         "service_requests/ directory of Parquet files, or a CSV/Excel file)")
    if args.engine == "spark":
        raise UsageError(f"{data_dir / others[0]}: the Spark engine reads Parquet; convert the table first "
                         "(python -m analysis panels --engine duckdb reads CSV/Excel)")
    from analysis.data import load_table

    return load_table(data_dir, "service_requests")


def _extracted_at(args, data_dir: Path | None, requests):
    if args.extracted_at:
        return args.extracted_at
    meta = data_dir / "dataset.json" if data_dir else None
    if meta is not None and meta.is_file():
        try:
            value = json.loads(meta.read_text(encoding="utf-8")).get("extracted_at")
        except json.JSONDecodeError as exc:
            raise DataContractError(f"{meta}: not valid JSON ({exc})") from exc
        if value:
            return value
    from analysis.panels.aggregate import latest_timestamp

    latest = latest_timestamp(requests)
    print(f"warning: no extraction date (dataset.json or --extracted-at): open requests are censored at the "
          f"latest timestamp in the data, {latest}", file=sys.stderr)
    return latest
