"""Validate a dataset directory against the data contract.

Checks every table present (regions, policies, service_requests, budget, transfers) and prints,
per table, the rows read, accepted and rejected by reason, and the notes (facts about the file:
an encoding guessed, the number notation and the values that did not fit it, identifiers masked,
overlapping policy spells, ...). Rejected rows are written, one line per problem (file,
row_number, column, value, reason, expected), to DATA_DIR/../rejects/<DATA_DIR name>/<table>.rejects.csv
or to --rejects DIR; if that directory cannot be written (e.g. the data sit on a read-only share)
nothing is validated and the command says so (exit 2). The raw files are never modified.

Exit codes: 0 every row accepted; 1 some rows rejected; 2 usage error, unwritable rejects
directory, unusable salt, unreadable file or missing required column.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from analysis.cli import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE
from analysis.data import default_rejects_dir, find_table_files, validate_dataset
from analysis.errors import DataContractError, DataWarning, UsageError
from analysis.notes import Note

HELP = "check a dataset directory against the data contract; write rejected rows with reasons"


def configure(parser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR", help="dataset directory (one file per table)")
    parser.add_argument("--rejects", metavar="DIR", default=None,
                        help="where to write <table>.rejects.csv (default: DATA_DIR/../rejects/<name>/)")


def run(args) -> int:
    data_dir = Path(args.data_dir)
    if not data_dir.is_dir():
        raise UsageError(f"{data_dir}: no such dataset directory")
    try:
        files = find_table_files(data_dir)
    except DataContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not files:
        raise UsageError(f"{data_dir}: no table files found (expected e.g. service_requests.csv, "
                         "budget.parquet, regions.xlsx)")
    rejects_dir = Path(args.rejects) if args.rejects else default_rejects_dir(data_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            report = validate_dataset(data_dir, rejects_dir=rejects_dir)
        except DataContractError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    for line in format_report(report):
        print(line)
    for warning in caught:
        if not issubclass(warning.category, DataWarning):  # those are notes, printed above
            print(f"warning: {warning.message}", file=sys.stderr)
    for table, message in report.errors.items():
        print(f"error: {table}: {message}", file=sys.stderr)
    if report.errors:
        return EXIT_USAGE
    return EXIT_DATA_PROBLEMS if report.has_rejects else EXIT_OK


def format_note(note: Note) -> str:
    """A note as its code and parameters (the words for each code are in ``analysis.texts``)."""
    params = ", ".join(f"{name}={value}" for name, value in note.params.items() if name != "file")
    return f"{note.code} ({params})" if params else note.code


def format_report(report) -> list[str]:
    """Lines of the printed report: one block per table."""
    lines = []
    for table, tr in report.tables.items():
        status = "ok" if tr.rows_rejected == 0 else "REJECTS"
        lines.append(f"{table} ({tr.file}): {tr.rows_read:,} rows read, {tr.rows_accepted:,} accepted, "
                     f"{tr.rows_rejected:,} rejected [{status}]")
        for reason, count in sorted(tr.rejected_by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {count:>10,}  {reason}")
        if tr.rejects_file:
            lines.append(f"    rejected rows: {tr.rejects_file}")
        for note in tr.notes:
            lines.append(f"    note: {format_note(note)}")
    return lines
