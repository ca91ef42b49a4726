"""Personal-data and small-count checks on rendered pages.

- Personal identifiers: every rendered page and saved table is scanned for NIK- and NIP-shaped
  values with the rule the loader masks them by (:func:`analysis.data.privacy.find_personal_ids`:
  16 or 18 digits, plain or grouped, with plausible fields). A page holding one fails the build.
  The check needs no input values: the loader hashes personal columns and masks identifiers in
  every other text column before any row reaches a notebook, so an identifier found in an output
  is a leak whatever column it came from, and the check cannot fail on an unreadable input file.
- Small counts: ``analysis.report.exhibits.show_table`` suppresses counts below the threshold at source
  in the columns a notebook declares as counts (listed in ``exhibits.json``, with their threshold).
  This re-check applies the declared columns to every saved ``tables/*.csv`` and, as a safety net
  for undeclared ones, checks every rendered table and CSV by column header for counts of requests
  or applicants (people: :data:`COUNT_HEADER`). Counts of Pemda, months or categories are not
  personal and are not checked. A value in ``1 .. min_count-1`` is a problem.
"""

from __future__ import annotations

import csv
import re
from html.parser import HTMLParser
from pathlib import Path

from analysis.data.privacy import find_personal_ids, mask_id

DEFAULT_MIN_COUNT = 10


def personal_ids(text: str) -> list[str]:
    """Personal identifiers (NIK, NIP) in ``text``, masked to their first 4 digits, sorted."""
    return sorted({mask_id(found) for found in find_personal_ids(text)})


#: headers of columns that count requests or applicants (people): checked for small counts
COUNT_HEADER = re.compile(
    r"(permohonan|pengajuan|request|application|applicant|pemohon|^n_submitted|^n_completed|^n_open|backlog)",
    re.IGNORECASE,
)


class _TableParser(HTMLParser):
    """Collect header and body cells of every ``<table>`` on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._rows: list[list[str]] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._rows = []
        elif self._rows is not None and tag == "tr":
            self._row = []
        elif self._row is not None and tag in ("td", "th"):
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if self._cell is not None and tag in ("td", "th"):
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif self._row is not None and tag == "tr":
            self._rows.append(self._row)
            self._row = None
        elif self._rows is not None and tag == "table":
            self.tables.append(self._rows)
            self._rows = None


def _as_count(text: str) -> float | None:
    cleaned = str(text).replace("\u00a0", "").replace(" ", "")
    if not re.fullmatch(r"\d{1,3}([.,]\d{3})*|\d+", cleaned):
        return None
    return float(re.sub(r"[.,]", "", cleaned))


def small_counts_in_rows(rows: list[list[str]], min_count: int = DEFAULT_MIN_COUNT, where: str = "table",
                         declared: tuple[str, ...] = ()) -> list[str]:
    """Cells of count columns (``declared``, or by header: :data:`COUNT_HEADER`) holding
    1 .. ``min_count``-1."""
    if len(rows) < 2:
        return []
    header = rows[0]
    positions = [i for i, name in enumerate(header) if name in declared or COUNT_HEADER.search(name or "")]
    problems = []
    for row in rows[1:]:
        offset = len(header) - len(row)  # pandas index cells: align from the right
        for position in positions:
            index = position - offset
            if 0 <= index < len(row):
                value = _as_count(row[index])
                if value is not None and 0 < value < min_count:
                    problems.append(f"{where}: {header[position]} = {row[index]}")
    return problems


def small_counts(text: str, min_count: int = DEFAULT_MIN_COUNT) -> list[str]:
    """Small counts in the HTML tables of a page."""
    parser = _TableParser()
    parser.feed(text)
    problems = []
    for number, rows in enumerate(parser.tables, start=1):
        problems += small_counts_in_rows(rows, min_count, where=f"table {number}")
    return problems


def small_counts_in_csv(path: Path, min_count: int = DEFAULT_MIN_COUNT, declared: tuple[str, ...] = ()) -> list[str]:
    """Small counts in a saved exhibit table (``tables/<key>.csv``)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle)]
    return small_counts_in_rows(rows, min_count, where=Path(path).name, declared=declared)


def declared_count_columns(report_dir: Path) -> dict[str, tuple[tuple[str, ...], int | None]]:
    """``tables/<key>.csv`` -> (declared count columns, their threshold) from ``exhibits.json``."""
    listing = Path(report_dir) / "exhibits.json"
    if not listing.exists():
        return {}
    import json

    declared = {}
    for exhibit in json.loads(listing.read_text(encoding="utf-8")):
        if exhibit.get("kind") == "table" and exhibit.get("count_columns"):
            declared[exhibit["file"]] = (tuple(exhibit["count_columns"]), exhibit.get("min_count"))
    return declared


def check_page(path: Path, min_count: int = DEFAULT_MIN_COUNT) -> list[str]:
    """Privacy problems of one rendered page (empty list: clean)."""
    text = Path(path).read_text(encoding="utf-8")
    problems = [f"{Path(path).name}: contains a personal identifier {n}" for n in personal_ids(text)]
    problems += [f"{Path(path).name}: count below {min_count} not suppressed ({p})" for p in small_counts(text, min_count)]
    return problems


def check_report_dir(report_dir: Path, min_count: int = DEFAULT_MIN_COUNT) -> list[str]:
    """Privacy problems of a report's rendered pages and saved tables."""
    report_dir = Path(report_dir)
    problems = []
    for page in sorted(report_dir.glob("*.html")):
        problems += check_page(page, min_count)
    declared = declared_count_columns(report_dir)
    for table in sorted(report_dir.glob("tables/*.csv")):
        columns, threshold = declared.get(f"tables/{table.name}", ((), None))
        problems += [f"tables/{p}" for p in small_counts_in_csv(table, threshold or min_count, declared=columns)]
        problems += [f"{table.name}: contains a personal identifier {n}"
                     for n in personal_ids(table.read_text(encoding="utf-8"))]
    return problems
