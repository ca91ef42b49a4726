"""Personal-data and small-count checks on every file of a finished report.

:func:`check_report_dir` scans every file of a report folder (``report.html``,
``report-full.html``, ``report.ipynb``, ``results.json``, ``exhibits.json``, ``provenance.json``,
``tables/*.csv`` and ``*.xlsx``, ``figures/*.svg``, ...) and returns the problems as
:class:`~analysis.notes.Note` values (codes, no sentences):

- ``personal_id_in_output`` (``file``, ``masked``): any NIK- or NIP-shaped value, by the rule the
  loader masks them by (:func:`analysis.data.privacy.find_personal_ids`: 16 or 18 digits, plain or
  grouped, with plausible fields; SHA-256 digests and other long hex strings are skipped). The
  check needs no input values: the loader hashes personal columns and masks identifiers in every
  other text column before any row reaches a notebook, so an identifier found in an output is a
  leak whatever column it came from, and the check cannot fail on an unreadable input file;
- ``small_count_in_output`` (``file``, ``table``, ``column``, ``value``, ``min_count``): a count of
  requests or applicants (people) in ``1 .. min_count-1``. ``analysis.report.exhibits.show_table``
  suppresses counts below the threshold at source in the columns a notebook declares as counts
  (listed in ``exhibits.json``, with their threshold); this re-check applies the declared columns
  to every saved ``tables/*.csv`` and, as a safety net for undeclared ones, checks every HTML table
  and CSV by column header (:data:`COUNT_HEADER`). Counts of Pemda, months or categories are not
  personal and are not checked.

Values are reported masked (:func:`analysis.data.privacy.mask_id`), never in full.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path


from analysis.data.privacy import find_personal_ids, mask_id
from analysis.notes import Note

DEFAULT_MIN_COUNT = 10


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
                         declared: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Cells of count columns (``declared``, or by header: :data:`COUNT_HEADER`) holding
    1 .. ``min_count``-1, as ``{"table": where, "column", "value"}``."""
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
                    problems.append({"table": where, "column": header[position], "value": row[index]})
    return problems


def small_counts(text: str, min_count: int = DEFAULT_MIN_COUNT) -> list[dict[str, str]]:
    """Small counts in the HTML tables of a page."""
    parser = _TableParser()
    parser.feed(text)
    problems = []
    for number, rows in enumerate(parser.tables, start=1):
        problems += small_counts_in_rows(rows, min_count, where=f"table {number}")
    return problems


def small_counts_in_csv(path: Path, min_count: int = DEFAULT_MIN_COUNT,
                        declared: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Small counts in a saved exhibit table (``tables/<key>.csv``)."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        rows = [row for row in csv.reader(handle)]
    return small_counts_in_rows(rows, min_count, where=Path(path).name, declared=declared)


def declared_count_columns(report_dir: Path) -> dict[str, tuple[tuple[str, ...], int | None]]:
    """``tables/<key>.csv`` -> (declared count columns, their threshold) from ``exhibits.json``."""
    listing = Path(report_dir) / "exhibits.json"
    if not listing.exists():
        return {}
    declared = {}
    for exhibit in json.loads(listing.read_text(encoding="utf-8")):
        if exhibit.get("kind") == "table" and exhibit.get("count_columns"):
            declared[exhibit["file"]] = (tuple(exhibit["count_columns"]), exhibit.get("min_count"))
    return declared


#: SHA-256 digests, commit ids and other long hex strings: their digit runs are not identifiers
#: (a run of 32 or more hex characters between non-alphanumerics; written first character first,
#: like ``privacy._ID_RUN``, for the engine's scan)
_HEX_DIGEST = re.compile(r"[0-9A-Fa-f](?<![0-9A-Za-z][0-9A-Fa-f])[0-9A-Fa-f]{31,}(?![0-9A-Za-z])")


#: the base64 payload of an image embedded in a page or notebook (``data:image/png;base64,...``):
#: pixels, which no text scan can read, and most of a page's bytes (a figure's PNG file is still
#: scanned as a file)
_EMBEDDED_IMAGE = re.compile(r"(?<=data:image/)([a-z+.-]+;base64,)[A-Za-z0-9+/=]+")


def readable_text(path: Path) -> str:
    """The text a reader of ``path`` could see: a zip container (``.xlsx``, ``.docx``) as the text
    of its members, any other file as UTF-8 (undecodable bytes replaced), the base64 payloads of
    embedded images left out (:data:`_EMBEDDED_IMAGE`)."""
    data = Path(path).read_bytes()
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
        except (zipfile.BadZipFile, OSError, RuntimeError):
            pass
    return _EMBEDDED_IMAGE.sub(r"\1", data.decode("utf-8", "replace"))


def personal_ids(text: str) -> list[str]:
    """NIK/NIP-shaped values in ``text``, masked, once each (hex digests skipped)."""
    return list(dict.fromkeys(mask_id(value) for value in find_personal_ids(_HEX_DIGEST.sub(" ", text))))


def personal_ids_in_text(text: str, where: str) -> list[Note]:
    """NIK/NIP-shaped values in ``text`` (masked), once each."""
    notes, seen = [], set()
    for value in find_personal_ids(_HEX_DIGEST.sub(" ", text)):
        masked = mask_id(value)
        if masked not in seen:
            seen.add(masked)
            notes.append(Note("personal_id_in_output", {"file": where, "masked": masked}))
    return notes


def _small_count_notes(found: list[dict[str, str]], where: str, min_count: int) -> list[Note]:
    return [Note("small_count_in_output", {"file": where, **cell, "min_count": min_count}) for cell in found]


def check_report_dir(report_dir: Path, min_count: int = DEFAULT_MIN_COUNT) -> list[Note]:
    """Privacy problems of every file of a report folder (empty list: clean); see the module doc."""
    report_dir = Path(report_dir)
    declared = declared_count_columns(report_dir)
    problems: list[Note] = []
    for path in sorted(p for p in report_dir.rglob("*") if p.is_file()):
        where = path.relative_to(report_dir).as_posix()
        text = readable_text(path)
        problems += personal_ids_in_text(text, where)
        if path.suffix == ".html":
            problems += _small_count_notes(small_counts(text, min_count), where, min_count)
        elif path.suffix == ".csv" and where.startswith("tables/"):
            columns, threshold = declared.get(where, ((), None))
            limit = threshold or min_count
            problems += _small_count_notes(small_counts_in_csv(path, limit, declared=columns), where, limit)
    return problems
