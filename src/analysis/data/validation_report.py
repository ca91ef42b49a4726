"""What the validation found: per table (:class:`TableReport`) and per dataset
(:class:`ValidationReport`); facts only (counts, reasons, :class:`~analysis.notes.Note` codes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.data.rejects import empty_rejects
from analysis.notes import Note


@dataclass(frozen=True)
class TableReport:
    """What happened to one table: rows read, accepted, and rejected by first reason.

    ``rejected_by_reason`` maps ``"column: reason"`` to the number of rejected rows whose first
    problem it is (its values sum to ``rows_rejected``). ``notes``: facts about the file and its
    values (:class:`~analysis.notes.Note`). ``rejects`` holds up to ``REJECTS_SAMPLE_ROWS`` reject
    lines (columns ``REJECT_COLUMNS``); ``rejects_file`` is where all of them were written (None
    if not written)."""

    table: str
    file: str
    rows_read: int
    rows_accepted: int
    rejected_by_reason: dict[str, int]
    notes: tuple[Note, ...] = ()
    rejects: pd.DataFrame = field(default_factory=empty_rejects, repr=False, compare=False)
    rejects_file: str | None = None

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_accepted

    def to_frame(self) -> pd.DataFrame:
        """Rows per outcome: ``accepted``, then one line per reject reason (``rows`` column)."""
        lines = [("read", "", self.rows_read), ("accepted", "", self.rows_accepted)]
        for reason, count in sorted(self.rejected_by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(("rejected", reason, count))
        return pd.DataFrame(lines, columns=["outcome", "reason", "rows"])


@dataclass(frozen=True)
class ValidationReport:
    """Reports of every table validated, and the tables that could not be read at all."""

    tables: dict[str, TableReport]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def has_rejects(self) -> bool:
        return any(r.rows_rejected for r in self.tables.values())

    @property
    def notes(self) -> tuple[Note, ...]:
        """The notes of every table, in table order."""
        return tuple(n for r in self.tables.values() for n in r.notes)

    def to_frame(self) -> pd.DataFrame:
        rows = [(name, r.file, r.rows_read, r.rows_accepted, r.rows_rejected)
                for name, r in self.tables.items()]
        return pd.DataFrame(rows, columns=["table", "file", "rows_read", "rows_accepted", "rows_rejected"])


@dataclass
class TableResult:
    """One validated table: its report, where the accepted rows were written (or None), the
    accepted region codes (``regions`` only) and the extraction time taken from the data."""

    report: TableReport
    stored: Path | None
    codes: list[str] | None
    extracted_at: pd.Timestamp | None
