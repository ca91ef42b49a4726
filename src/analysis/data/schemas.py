"""The data contract: one declared schema per input table, plus the shared category lists.

Every module that needs a list of service types, budget categories, channels, levels or the SPBE
bands imports it from here. The schemas are declarations only (no I/O); ``analysis.data.validate``
turns each declaration into SQL predicates, one reject reason per rule.

Kinds of column (``Column.kind``):

- ``text``: free text, trimmed; empty = missing.
- ``int`` / ``float``: numbers; Indonesian (``1.234.567,89``, ``Rp 1.234.567``) or plain
  (``1234567.89``) notation, see ``analysis.data.readers``.
- ``bool``: ``true/false``, ``1/0``, ``ya/tidak``, ``y/n``, ``yes/no``.
- ``date`` / ``timestamp``: ISO (``2026-01-14``, ``2026-01-14 08:30``), ``14-01-2026``,
  ``14/01/2026`` (day first), ``14 Januari 2026``, ``14 Jan 2026``; ``0000-00-00`` = empty.
- ``period``: a month, canonical ``YYYY-MM``; also accepts ``2026-1``, ``2026/01``, ``01/2026``,
  ``Januari 2026`` and full dates (the month is kept).
- ``region_code``: a Kemendagri code, canonical ``NN`` (province) or ``NN.NN`` (kabupaten/kota).

Plausible ranges. Every number has an upper bound far above any real value (a typo, a value in
the wrong unit or an identifier in a number column is rejected instead of entering a sum): amounts
at most 10^15 Rupiah per row (Rp 1.000 triliun: DKI Jakarta's whole annual budget is about
Rp 80 triliun, all central transfers about Rp 900 triliun a year); a 16-digit NIK (at least
1.1 × 10^15) can therefore never pass as an amount. Dates lie in 2000-01-01 .. 2099-12-31
(e-government records, WFA policies and budgets of this study are all after 2000; year 1 or 1850
is a typo or an export default); service timestamps must also not be after the extraction date
(through the end of that day: a date-only ``extracted_at`` covers the whole day).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------------------
# Shared constants
# --------------------------------------------------------------------------------------------

TABLES = ("regions", "policies", "service_requests", "budget", "transfers")

SERVICE_TYPES = ("perizinan", "adminduk", "bansos", "layanan_dasar")
#: Budget categories WFA is expected to affect (office running costs).
ROUTINE_CATEGORIES = ("listrik", "air", "telepon_internet", "atk", "bbm", "perjalanan_dinas")
#: Budget categories WFA should not affect (placebo outcomes).
PLACEBO_CATEGORIES = ("penerangan_jalan", "pemeliharaan")
#: Other categories seen in real exports; any other non-empty category is accepted as well.
OTHER_KNOWN_CATEGORIES = ("pegawai", "mamin")
CHANNELS = ("online", "loket")
LEVELS = ("provinsi", "kabupaten", "kota")
WEEKDAYS = ("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu")

#: SPBE predicate bands (PermenPANRB 59/2020): (label, lower bound inclusive, upper exclusive).
SPBE_BANDS = (
    ("Kurang", -np.inf, 1.8),
    ("Cukup", 1.8, 2.6),
    ("Baik", 2.6, 3.5),
    ("Sangat Baik", 3.5, 4.2),
    ("Memuaskan", 4.2, np.inf),
)


def spbe_band(index_values) -> pd.Series:
    """SPBE predicate label of each index value (scale 1-5), as an ordered categorical Series.

    Bands are closed below and open above (2.6 is ``Baik``); missing values stay missing.
    Accepts a scalar, list, array or Series (a Series keeps its index).
    """
    if np.isscalar(index_values) or index_values is None:
        values = pd.Series([index_values], dtype="float64")
    else:
        values = pd.Series(index_values, dtype="float64") if not isinstance(
            index_values, pd.Series) else index_values.astype("float64")
    labels = [label for label, _, _ in SPBE_BANDS]
    edges = [SPBE_BANDS[0][1]] + [upper for _, _, upper in SPBE_BANDS]
    return pd.cut(values, bins=edges, labels=labels, right=False).astype(
        pd.CategoricalDtype(labels, ordered=True))


# --------------------------------------------------------------------------------------------
# Schema declarations
# --------------------------------------------------------------------------------------------

KINDS = ("text", "int", "float", "bool", "date", "timestamp", "period", "region_code")


#: Plausible range of every date, timestamp and period (inclusive; see the module docstring).
EARLIEST_DATE = "2000-01-01"
LATEST_DATE = "2099-12-31"
#: Upper bound of an amount in Rupiah in one row (see the module docstring).
MAX_AMOUNT_IDR = 1e15


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``required``: the column must be present in the file. ``nullable``: its values may be empty.
    ``minimum``/``maximum`` are inclusive unless ``minimum_exclusive``. ``earliest``/``latest``:
    inclusive ISO dates bounding a ``date``, ``timestamp`` or ``period`` column. ``pattern`` is a
    full-match regular expression on the trimmed text (for ``text`` columns). ``personal``:
    personal data, replaced by a salted hash at load time. ``lowercase``: values are compared and
    stored lower-case.
    """

    name: str
    kind: str
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    minimum_exclusive: bool = False
    earliest: str | None = None
    latest: str | None = None
    pattern: str | None = None
    pattern_hint: str | None = None
    personal: bool = False
    lowercase: bool = False
    description: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: unknown kind {self.kind!r}")
        if self.kind in ("date", "timestamp", "period"):
            object.__setattr__(self, "earliest", self.earliest or EARLIEST_DATE)
            object.__setattr__(self, "latest", self.latest or LATEST_DATE)
        elif self.earliest or self.latest:
            raise ValueError(f"column {self.name}: earliest/latest apply to dates, not {self.kind!r}")


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row, declared as a SQL predicate that is TRUE for a bad row.

    The predicate sees the parsed (typed) columns by name and ``:extracted_end`` (the first
    instant after the extraction date, a TIMESTAMP). A NULL predicate means the rule does not apply;
    a rule must not fire on values that already fail their own column's checks (so that every
    problem is reported once, where it is).
    """

    reason: str
    column: str
    predicate_sql: str
    description: str


@dataclass(frozen=True)
class TableNote:
    """A fact about the accepted rows worth telling the analyst, not a reason to reject them.

    ``query_sql`` runs over the accepted rows (``{rows}``: the typed columns by name and
    ``__row``, the row number in the file); every row it returns becomes one
    ``Note(code, {file, <its columns>})`` in the table's validation report."""

    code: str
    query_sql: str
    description: str


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    rules: tuple[RowRule, ...] = ()
    notes: tuple[TableNote, ...] = ()
    #: region-code columns that must exist in the regions table (not for ``regions`` itself)
    region_columns: tuple[str, ...] = ()
    description: str = ""
    #: extra columns matching personal-data names are hashed too (not the Pemda ``name``)
    hash_extra_personal_columns: bool = True

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


#: Names of columns holding a person's identity (NIK, KK, NIP, names, contacts). Matched as whole
#: ``_``-separated words of a lower-case column name; e.g. ``applicant_nik``, ``nama_pemohon``,
#: ``n_pemohon``, ``applicant_name``, ``telp_pemohon``.
_PERSONAL_WORDS = {
    "nik", "nip", "kk", "no_kk", "nama", "name", "pemohon", "applicant", "telp", "phone",
    "email", "alamat", "address", "nama_lgkp", "npwp", "officer", "petugas",
}
_ORGANISATION_NAME_COLUMNS = {"name"}  # the Pemda name in regions/policies


def is_personal_column(table: str, column: str) -> bool:
    """Whether an extra (undeclared) column of ``table`` holds personal data and must be hashed.

    Conservative: any column whose name contains a personal-data word (any letter case:
    ``Applicant_NIK``, ``NIP``, ``Nama Pemohon``) is hashed, except the ``name`` column of
    ``regions`` and ``policies`` (a Pemda name)."""
    col = column.lower()
    if table in ("regions", "policies") and col in _ORGANISATION_NAME_COLUMNS:
        return False
    words = set(re.split(r"[^a-z0-9]+", col))
    words.discard("")
    joined = {"_".join(p) for p in zip(col.split("_"), col.split("_")[1:])}
    return bool((words | joined) & _PERSONAL_WORDS)


_REGION_DESC = "Kemendagri code: `NN` (province) or `NN.NN` (kabupaten/kota)"

REGIONS = TableSchema(
    name="regions",
    description="One row per Pemda (province, kabupaten or kota).",
    columns=(
        Column("region_code", "region_code", description=_REGION_DESC),
        Column("name", "text", description="official Pemda name (not personal data)"),
        Column("level", "text", allowed=LEVELS, lowercase=True, description="provinsi, kabupaten or kota"),
        Column("province_code", "text", pattern=r"\d{2}", pattern_hint="2 digits",
               description="2-digit parent province code (equals `region_code` for a province)"),
        Column("population", "int", minimum=0, maximum=1e9, description="residents (persons)"),
        Column("area_km2", "float", required=False, nullable=True, minimum=0, maximum=2e6,
               minimum_exclusive=True, description="land area, km² (Indonesia: 1.9 million)"),
        Column("spbe_index", "float", required=False, nullable=True, minimum=1, maximum=5,
               description="SPBE index (1-5, PermenPANRB 59/2020)"),
        Column("asn_count", "int", required=False, nullable=True, minimum=0, maximum=1e7,
               description="civil servants (ASN) employed by the Pemda, persons (Indonesia: 4.3 million)"),
        Column("ekinerja_daily", "bool", required=False, nullable=True,
               description="daily output-based performance records (e-Kinerja) in use"),
    ),
    key=("region_code",),
    rules=(
        RowRule("province_code_mismatch", "province_code",
                "regexp_full_match(province_code, '\\d{2}') AND province_code <> left(region_code, 2)",
                "`province_code` must be the first two digits of `region_code`"),
        RowRule("level_mismatch", "level",
                "level IN ('provinsi', 'kabupaten', 'kota') AND region_code IS NOT NULL AND "
                "NOT ((length(region_code) = 2 AND level = 'provinsi') OR "
                "(length(region_code) = 5 AND level = 'kabupaten' AND "
                "  TRY_CAST(right(region_code, 2) AS INTEGER) BETWEEN 1 AND 69) OR "
                "(length(region_code) = 5 AND level = 'kota' AND "
                "  TRY_CAST(right(region_code, 2) AS INTEGER) BETWEEN 71 AND 99))",
                "`level` must match the code: provinsi = `NN`, kabupaten = `NN.01`-`NN.69`, "
                "kota = `NN.71`-`NN.99` (Permendagri 58/2021)"),
    ),
)

POLICIES = TableSchema(
    name="policies",
    description="One row per WFA adoption (or trial) by a Pemda.",
    columns=(
        Column("region_code", "region_code", description=_REGION_DESC),
        Column("start_date", "date", description="first day WFA applies"),
        Column("end_date", "date", nullable=True, description="last day WFA applies; empty = ongoing"),
        Column("wfa_days_per_week", "int", minimum=1, maximum=5, description="WFA days per week (1-5)"),
        Column("wfa_weekdays", "text", nullable=True, lowercase=True,
               pattern=r"(senin|selasa|rabu|kamis|jumat|sabtu|minggu)"
                       r"(\s*;\s*(senin|selasa|rabu|kamis|jumat|sabtu|minggu))*",
               pattern_hint="`;`-separated Indonesian day names, e.g. `kamis;jumat`",
               description="`;`-separated Indonesian day names (`senin` … `jumat`); empty = chosen per employee"),
        Column("is_trial", "bool", description="a trial (uji coba) rather than a standing policy"),
        Column("instrument", "text", description="legal act (e.g. Surat Edaran, Pergub)"),
        Column("source", "text", description="where the adoption is documented (URL or reference)"),
        Column("name", "text", required=False, nullable=True, description="Pemda name"),
        Column("max_share_wfa", "float", required=False, nullable=True, minimum=0, maximum=1,
               description="cap on the share of a unit's staff away on a WFA day (0-1)"),
        Column("scope_exclusions", "text", required=False, nullable=True,
               description="units or staff excluded from WFA"),
        Column("confidence", "text", required=False, nullable=True,
               allowed=("high", "medium", "low", "simulated"), lowercase=True,
               description="high, medium or low for reported adoptions; simulated for the "
               "adopters that analysis.simulate adds"),
        Column("notes", "text", required=False, nullable=True, description="free text"),
    ),
    key=("region_code", "start_date"),
    rules=(
        RowRule("end_before_start", "end_date", "end_date < start_date",
                "`end_date` must not be before `start_date`"),
    ),
    notes=(
        TableNote(
            "overlapping_policy_spells",
            "SELECT a.region_code, strftime(a.start_date, '%Y-%m-%d') AS first_start, "
            "strftime(a.end_date, '%Y-%m-%d') AS first_end, a.__row AS first_row, "
            "strftime(b.start_date, '%Y-%m-%d') AS second_start, "
            "strftime(b.end_date, '%Y-%m-%d') AS second_end, b.__row AS second_row "
            "FROM {rows} AS a JOIN {rows} AS b ON a.region_code = b.region_code AND a.__row < b.__row "
            # an empty end_date is open-ended: the comparison with it always holds
            "WHERE a.start_date <= coalesce(b.end_date, a.start_date) "
            "AND b.start_date <= coalesce(a.end_date, b.start_date) ORDER BY a.__row, b.__row",
            "two adoptions of one Pemda whose spells overlap (both rows are kept)"),
    ),
    region_columns=("region_code",),
)

SERVICE_REQUESTS = TableSchema(
    name="service_requests",
    description="One row per application for a public service.",
    columns=(
        Column("request_id", "text", description="unique id of the application"),
        Column("region_code", "region_code", description=_REGION_DESC + " of the Pemda serving it"),
        Column("service_type", "text", allowed=SERVICE_TYPES, lowercase=True,
               description="perizinan, adminduk, bansos or layanan_dasar"),
        Column("submitted_at", "timestamp", description="when the complete application was received"),
        Column("completed_at", "timestamp", nullable=True,
               description="when it was completed; empty (or `0000-00-00`) = still open at extraction"),
        Column("units_involved", "int", minimum=1, maximum=1000,
               description="work units involved (1 = single unit; a Pemda has fewer than 100)"),
        Column("channel", "text", allowed=CHANNELS, lowercase=True, description="online or loket"),
        Column("sla_days", "float", minimum=0, minimum_exclusive=True, maximum=3650,
               description="service standard (SLA), days, > 0 and at most ten years"),
        Column("applicant_nik", "text", required=False, nullable=True, pattern=r"\d{16}",
               pattern_hint="16 digits", personal=True,
               description="applicant NIK (16 digits); personal data, replaced by a salted hash at load"),
    ),
    key=("request_id",),
    rules=(
        RowRule("completed_before_submitted", "completed_at", "completed_at < submitted_at",
                "`completed_at` must not be before `submitted_at`"),
        RowRule("submitted_after_extraction", "submitted_at", "submitted_at >= :extracted_end",
                "`submitted_at` must not be after the extraction date"),
        RowRule("completed_after_extraction", "completed_at", "completed_at >= :extracted_end",
                "`completed_at` must not be after the extraction date"),
    ),
    region_columns=("region_code",),
)

BUDGET = TableSchema(
    name="budget",
    description="Realised spending of a Pemda in a month on one account.",
    columns=(
        Column("region_code", "region_code", description=_REGION_DESC),
        Column("period", "period", description="month, `YYYY-MM`"),
        Column("account_code", "text", pattern=r"\d+(\.\d+)*", pattern_hint="dotted digits, e.g. 5.1.02.02.01.0061",
               description="Permendagri 90/2019 account code (text, e.g. `5.1.02.02.01.0061`)"),
        Column("category", "text", lowercase=True,
               description="spending category: routine " + ", ".join(ROUTINE_CATEGORIES)
               + "; placebo " + ", ".join(PLACEBO_CATEGORIES) + "; other values allowed"),
        Column("budget_idr", "float", minimum=0, maximum=MAX_AMOUNT_IDR,
               description="annual appropriation of the account that year, Rupiah ≥ 0"),
        Column("realized_idr", "float", minimum=0, maximum=MAX_AMOUNT_IDR,
               description="spending realised in that month, Rupiah ≥ 0"),
    ),
    key=("region_code", "period", "account_code"),
    region_columns=("region_code",),
)

TRANSFERS = TableSchema(
    name="transfers",
    description="Central transfers (TKD) received by a Pemda in a month.",
    columns=(
        Column("region_code", "region_code", description=_REGION_DESC),
        Column("period", "period", description="month, `YYYY-MM`"),
        Column("tkd_idr", "float", minimum=0, maximum=MAX_AMOUNT_IDR,
               description="transfers received in the month, Rupiah ≥ 0"),
    ),
    key=("region_code", "period"),
    region_columns=("region_code",),
)

SCHEMAS: dict[str, TableSchema] = {
    s.name: s for s in (REGIONS, POLICIES, SERVICE_REQUESTS, BUDGET, TRANSFERS)
}


def get_schema(table: str) -> TableSchema:
    """The declared schema of ``table``; ``KeyError`` with the known names otherwise."""
    try:
        return SCHEMAS[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}") from None


def recognised_categories() -> tuple[str, ...]:
    return ROUTINE_CATEGORIES + PLACEBO_CATEGORIES + OTHER_KNOWN_CATEGORIES


def describe_rules(schema: TableSchema) -> Iterable[str]:
    """Human-readable lines describing every check applied to ``schema`` (for the data dictionary)."""
    for col in schema.columns:
        if not col.nullable:
            yield f"`{col.name}` must not be empty"
    if schema.key:
        yield "no two rows with the same " + " + ".join(f"`{k}`" for k in schema.key)
    for rule in schema.rules:
        yield rule.description
    for col in schema.columns:
        if col.earliest:
            yield f"`{col.name}` must lie in {col.earliest} .. {col.latest}"
    for col in schema.region_columns:
        yield f"`{col}` must exist in `regions`"
