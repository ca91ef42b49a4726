"""The validation engine: one input file checked against its schema, all in DuckDB SQL.

How a table is validated (memory stays bounded and no Python loop runs per row): the file is
exposed as a view of text (or typed Parquet) columns (:mod:`analysis.data.readers`); each column
is cleaned and parsed with vectorised SQL (:mod:`analysis.data.parsing`); every rule of the
schema is a SQL predicate naming one reject reason. The file is scanned once: the cleaned and
parsed columns and each row's first failing check are stored in a DuckDB temp table, and the
counts, the duplicate-key check (a grouped count), the rejects and the accepted rows are all
taken from it. Parquet columns already of the wanted type are used as they are (no text parsing;
NaN is missing, ±infinity is not a number; a time-zone-aware timestamp becomes the wall-clock
time in the zone the file recorded, never the machine's). Accepted rows are written by DuckDB
straight to Parquet (``store_dir``), personal columns hashed and identifiers in other text
columns masked (:mod:`analysis.data.privacy`); nothing passes through pandas.

Rejected rows: a row is rejected once, however many rules it breaks, so that
``rows_accepted + rows_rejected == rows_read`` always holds. The rejects file lists every
problem found on the row (one line per problem, :mod:`analysis.data.rejects`); the report counts
each rejected row once, under its first problem in schema order (columns in declared order, then
values in columns without a header, then cross-column rules, then duplicate keys). A duplicate
key is looked for only among rows without other problems: the first such row in the file is
kept, later ones are rejected (``duplicate_key``).

Facts worth telling the analyst are :class:`~analysis.notes.Note` values in
``TableReport.notes`` (codes listed in ``docs/interfaces.md``). Failures that stop a table
altogether (unreadable or empty file, missing required column) raise
:class:`~analysis.errors.DataContractError` naming the file and the column.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import duckdb
import pandas as pd

from analysis.data import parsing, privacy, readers
from analysis.data.parsing import quote_ident, sql_literal
from analysis.data.rejects import Check, collect_rejects
from analysis.data.schemas import Column, TableSchema, is_personal_column
from analysis.data.validation_report import TableReport, TableResult
from analysis.errors import DataContractError, DataWarning
from analysis.notes import Note

_UNPARSEABLE_REASON = {
    "int": ("not_a_number", "a whole number (e.g. 1234 or 1.234)"),
    "float": ("not_a_number", "a number (e.g. 1234,5 or 1.234.567,89 or 1234.5)"),
    "bool": ("not_a_boolean", "true/false (also 1/0, ya/tidak)"),
    "date": ("not_a_date", "a date (2026-01-14, 14-01-2026, 14 Januari 2026)"),
    "timestamp": ("not_a_date", "a date or date-time (2026-01-14 08:30, 14/01/2026, 14 Januari 2026)"),
    "period": ("not_a_period", "a month YYYY-MM (also 2026/01, 01/2026, Januari 2026)"),
}
_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL")


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------

def validate_table(con, schema: TableSchema, path: Path, *, salt: str, region_lookup: str | None,
                   extracted_at: pd.Timestamp | None, rejects_dir: Path | None,
                   store_dir: Path | None) -> TableResult:
    """Validate ``path`` as table ``schema``; write accepted rows to ``store_dir/<table>.parquet``
    when ``store_dir`` is given. ``con`` must have the masking function registered
    (:func:`analysis.data.privacy.register_mask_function`)."""
    source = readers.open_source(con, path, f"__src_{schema.name}", schema.required_columns)
    try:
        return _validate_source(con, schema, source, salt=salt, region_lookup=region_lookup,
                                extracted_at=extracted_at, rejects_dir=rejects_dir, store_dir=store_dir)
    except duckdb.InvalidInputException as exc:
        if source.format == "csv":
            raise DataContractError(readers.csv_error_message(path, source, exc)) from exc
        raise DataContractError(f"{path.name}: cannot read the file: {str(exc).splitlines()[0]}") from exc
    finally:
        for temp in source.temp_files:
            temp.unlink(missing_ok=True)
        con.execute(f"DROP VIEW IF EXISTS {quote_ident(source.view)}")
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(source.view + '__lines')}")


def extracted_end(extracted_at: pd.Timestamp | None) -> pd.Timestamp | None:
    """First instant after the extraction: a date-only value covers the whole day."""
    if extracted_at is None:
        return None
    if extracted_at == extracted_at.normalize():
        return extracted_at + pd.Timedelta(days=1)
    return extracted_at + pd.Timedelta(microseconds=1)


def _typed_direct(col: Column, duck_type: str) -> bool:
    """Whether a typed (Parquet) column already holds what ``col`` wants, so its values are used
    as they are instead of being turned into text and parsed."""
    upper = duck_type.upper()
    if upper == "VARCHAR":
        return False
    if col.kind in ("int", "float"):
        return upper in _NUMERIC_TYPES or upper.startswith("DECIMAL")
    if col.kind == "bool":
        return upper == "BOOLEAN"
    if col.kind in ("date", "timestamp", "period"):
        return upper.startswith(("TIMESTAMP", "DATE"))
    return False


def _wall_clock_sql(expr: str, zone: str) -> str:
    """A TIMESTAMP WITH TIME ZONE as the wall-clock TIMESTAMP in ``zone`` (a name such as
    ``Asia/Jakarta``, or a fixed offset such as ``+07:00``)."""
    offset = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", zone)
    if offset:
        minutes = (int(offset.group(2)) * 60 + int(offset.group(3))) * (1 if offset.group(1) == "+" else -1)
        return f"(timezone('UTC', {expr}) + INTERVAL ({minutes}) MINUTE)"
    return f"timezone({sql_literal(zone)}, {expr})"


def _typed_clean_sql(con, source: readers.Source, name: str, expr: str) -> str:
    """A typed value as the engine uses it: NaN is missing (as the text ``nan`` is); a
    time-zone-aware timestamp is the wall-clock time in the zone the file recorded."""
    duck_type = source.column_types[name].upper()
    if duck_type in ("FLOAT", "DOUBLE", "REAL"):
        return f"CASE WHEN isnan({expr}) THEN NULL ELSE {expr} END"
    if name in source.zones:
        zone = source.zones[name]
        try:
            con.execute(f"SELECT {_wall_clock_sql('TIMESTAMPTZ ' + sql_literal('2026-01-01 00:00+00'), zone)}")
        except duckdb.Error as exc:
            raise DataContractError(f"{source.path.name}: column {name!r} records the time zone "
                                    f"{zone!r}, which is not known; store local times without a zone") from exc
        return _wall_clock_sql(expr, zone)
    return expr


def _parse_column(col: Column, clean: str, duck_type: str, direct: bool, decimal_comma: bool,
                  region_lookup: str | None, joins: list[str]):
    """SQL of the parsed value of ``col`` (over the cleaned column ``clean``) and extra select
    columns its checks need. ``direct``: ``clean`` already is a typed value (see _typed_direct)."""
    extra: dict = {}
    if col.kind == "text":
        return (f"lower({clean})" if col.lowercase else clean), extra
    if col.kind in ("int", "float"):
        if direct:
            value = clean if duck_type.upper() == "DOUBLE" else f"CAST({clean} AS DOUBLE)"
            return f"CASE WHEN isfinite({value}) THEN {value} END", extra
        return parsing.number_sql(clean, decimal_comma), extra
    if col.kind == "bool":
        return (clean if direct else parsing.bool_sql(clean)), extra
    if col.kind in ("date", "timestamp", "period"):
        if direct:
            value = f"CAST({clean} AS TIMESTAMP)"
            value = f"CASE WHEN isfinite({value}) THEN {value} END"
            if col.kind == "period":
                return f"strftime({value}, '%Y-%m')", extra
        elif col.kind == "period":
            return parsing.period_sql(clean), extra
        else:
            value = parsing.timestamp_sql(clean)
        if col.kind == "date":
            value = f"CAST(CAST({value} AS DATE) AS TIMESTAMP)"
        return value, extra
    if col.kind == "region_code":
        if region_lookup is None:
            return parsing.own_region_code_sql(clean), extra
        alias = quote_ident(f"__rl_{col.name}")
        joins.append(f"LEFT JOIN {quote_ident(region_lookup)} AS {alias} "
                     f"ON {alias}.variant = {parsing.region_text_sql('c.' + clean)}")
        ambiguous = quote_ident(f"__ambiguous__{col.name}")
        candidates = quote_ident(f"__candidates__{col.name}")
        extra["select"] = [(f"__ambiguous__{col.name}", f"coalesce({alias}.ambiguous, FALSE)"),
                           (f"__candidates__{col.name}", f"{alias}.canonical")]
        return f"CASE WHEN NOT {ambiguous} THEN {candidates} END", extra
    raise AssertionError(col.kind)


def _column_checks(col: Column, raw: str, parsed: str, value_sql: str, extra: dict) -> list[Check]:
    """The checks of one column, in the order they are reported."""
    checks = []
    name = col.name

    def add(reason, expected, predicate):
        expected_sql = expected if expected.startswith("'") else sql_literal(expected)
        checks.append(Check(name, reason, expected_sql, predicate, value_sql))

    if not col.nullable:
        add("missing_value", "a value (column may not be empty)", f"{raw} IS NULL")
    if col.kind in _UNPARSEABLE_REASON:
        reason, expected = _UNPARSEABLE_REASON[col.kind]
        add(reason, expected, f"{raw} IS NOT NULL AND {parsed} IS NULL")
    if col.kind == "region_code":
        if "select" in extra:
            add("ambiguous_region_code",
                f"'an unambiguous code: could be ' || {quote_ident('__candidates__' + name)}",
                f"{raw} IS NOT NULL AND {quote_ident('__ambiguous__' + name)}")
            add("unknown_region_code", "a region_code present in regions (NN or NN.NN)",
                f"{raw} IS NOT NULL AND {parsed} IS NULL AND NOT {quote_ident('__ambiguous__' + name)}")
        else:
            add("bad_region_code", "NN (province) or NN.NN (kabupaten/kota), e.g. 17 or 33.72",
                f"{raw} IS NOT NULL AND {parsed} IS NULL")
    if col.kind == "int":
        add("not_an_integer", "a whole number", f"{parsed} IS NOT NULL AND {parsed} <> round({parsed})")
    if col.allowed is not None:
        allowed = ", ".join(sql_literal(v) for v in col.allowed)
        add("not_allowed_value", "one of: " + ", ".join(col.allowed),
            f"{parsed} IS NOT NULL AND {parsed} NOT IN ({allowed})")
    if col.pattern is not None:
        add("bad_format", col.pattern_hint or col.pattern,
            f"{parsed} IS NOT NULL AND NOT regexp_full_match({parsed}, {sql_literal(col.pattern)})")
    if col.minimum is not None:
        op, words = ("<=", "greater than") if col.minimum_exclusive else ("<", "at least")
        add("below_minimum", f"{words} {col.minimum:g}", f"{parsed} {op} {col.minimum!r}")
    if col.maximum is not None:
        add("above_maximum", f"at most {col.maximum:g}", f"{parsed} > {col.maximum!r}")
    if col.earliest is not None:
        too_early, too_late = _range_sql(col, parsed)
        add("before_earliest", f"on or after {col.earliest[:7] if col.kind == 'period' else col.earliest}",
            too_early)
        add("after_latest", f"on or before {col.latest[:7] if col.kind == 'period' else col.latest}", too_late)
    return checks


def _range_sql(col: Column, parsed: str) -> tuple[str, str]:
    """SQL predicates: ``parsed`` before ``col.earliest``, after ``col.latest`` (a whole day)."""
    if col.kind == "period":
        return f"{parsed} < {sql_literal(col.earliest[:7])}", f"{parsed} > {sql_literal(col.latest[:7])}"
    return (f"{parsed} < TIMESTAMP {sql_literal(col.earliest)}",
            f"{parsed} >= TIMESTAMP {sql_literal(col.latest)} + INTERVAL 1 DAY")


def _rule_listed_if(schema: TableSchema, predicate: str) -> str | None:
    """When a rule is listed for a rejected row: only for dates within their plausible range (a
    date out of range is reported once, by its own column, not again by every rule comparing it).
    The first problem of a row needs no such guard: column checks come before rules."""
    guards = []
    for col in schema.columns:
        if col.earliest is not None and re.search(rf"\b{re.escape(col.name)}\b", predicate):
            too_early, too_late = _range_sql(col, quote_ident(col.name))
            guards.append(f"NOT ({too_early}) AND NOT ({too_late})")
    return f"({predicate}) AND {' AND '.join(guards)}" if guards else None


def _number_notations(con, source: readers.Source, columns: list[Column]) -> dict[str, parsing.NumberNotation]:
    """The notation of each numeric text column, from one aggregate scan of the file."""
    if not columns:
        return {}
    cleaned = ", ".join(f"{parsing.clean_text_sql(quote_ident(c.name))} AS {quote_ident('__n' + str(i))}"
                        for i, c in enumerate(columns))
    aggregates = ", ".join(parsing.number_evidence_sql(quote_ident(f"__n{i}"), f"__n{i}")
                           for i in range(len(columns)))
    row = con.execute(f"SELECT {aggregates} FROM (SELECT {cleaned} FROM {quote_ident(source.view)})").fetchone()
    width = len(parsing.NUMBER_EVIDENCE_FIELDS)
    return {col.name: parsing.choose_notation(dict(zip(parsing.NUMBER_EVIDENCE_FIELDS, row[i * width:(i + 1) * width])))
            for i, col in enumerate(columns)}


def _validate_source(con, schema: TableSchema, source: readers.Source, *, salt: str,
                     region_lookup: str | None, extracted_at: pd.Timestamp | None,
                     rejects_dir: Path | None, store_dir: Path | None) -> TableResult:
    table = schema.name
    path = source.path
    missing = [c for c in schema.required_columns if c not in source.column_types]
    if missing:
        found = ", ".join(source.columns) or "(none)"
        hint = ""
        if len(source.columns) == 1 and source.format == "csv":
            hint = " The header was read as a single column: use ',' or ';' as the delimiter."
        raise DataContractError(
            f"{path.name}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)} for table {table!r}; found columns: {found}.{hint}")
    notes = list(source.notes)
    declared = [c for c in schema.columns if c.name in source.column_types]
    extras = [c for c in source.columns if c not in schema.column_names]
    personal_extras = {c for c in extras if schema.hash_extra_personal_columns and is_personal_column(table, c)}

    numeric_text = [c for c in declared if c.kind in ("int", "float") and not _typed_direct(c, source.column_types[c.name])]
    notations = _number_notations(con, source, numeric_text)
    for name, notation in notations.items():
        if notation.ambiguous:
            notes.append(Note("number_notation_ambiguous", {"file": path.name, "column": name}))
        if notation.not_fitting:
            notes.append(Note("number_notation_outliers", {
                "file": path.name, "column": name, "notation": notation.name,
                "values_not_fitting": notation.not_fitting, "fit_other_notation": notation.fit_other}))

    # Layer 1 (clean): one value per column, computed once. Text is trimmed, the empty tokens of
    # real exports become NULL and identifiers in text columns are masked; a Parquet column
    # already of the type the schema wants is kept as it is (no text round trip, no regex).
    # Layer 2 looks region codes up (a hash join on the cleaned code). Layer 3 parses the
    # remaining text and evaluates every check. The result is materialised once as a temp table
    # (the file is scanned once) and all later steps run over that table.
    clean_select = ["s.__row AS __row"]
    lookup_select = ["c.*"]
    parsed_exprs: list[tuple[str, str]] = []  # (name, SQL over layer 2)
    same_as_clean: dict[str, str] = {}  # parsed name -> cleaned column holding the same value
    stored = ["__row"]
    joins: list[str] = []
    checks: list[Check] = []
    masked_columns: list[str] = []  # stored columns whose identifiers were masked
    for col in declared:
        raw = f"s.{quote_ident(col.name)}"
        duck_type = source.column_types[col.name]
        clean_name = "__raw__" + col.name
        clean_alias = quote_ident(clean_name)
        direct = _typed_direct(col, duck_type)
        if direct:
            clean = _typed_clean_sql(con, source, col.name, raw)
        elif col.kind == "text" and not col.personal and col.allowed is None:
            # (a value of a closed list is no identifier, and a rejected one is masked in the rejects)
            clean = privacy.mask_ids_sql(parsing.clean_text_sql(raw))
            masked_columns.append(clean_alias)
        else:
            clean = parsing.clean_text_sql(raw)
        clean_select.append(f"{clean} AS {clean_alias}")
        stored.append(clean_alias)
        notation = notations.get(col.name)
        parsed_sql, extra_checks = _parse_column(col, clean_alias, duck_type, direct,
                                                 notation.decimal_comma if notation else False, region_lookup, joins)
        for name, sql in extra_checks.get("select", []):
            lookup_select.append(f"{sql} AS {quote_ident(name)}")
            stored.append(quote_ident(name))
        if parsed_sql == clean_alias:
            same_as_clean[col.name] = clean_alias
        else:
            parsed_exprs.append((col.name, parsed_sql))
            stored.append(quote_ident(col.name))
        value_sql = f"CAST({clean_alias} AS VARCHAR)"
        value_sql = (f"'<redacted: ' || length({value_sql}) || ' characters>'" if col.personal
                     else privacy.mask_ids_sql(value_sql))
        checks.extend(_column_checks(col, clean_alias, quote_ident(col.name), value_sql, extra_checks))
        if col.name in source.zones:
            notes.append(Note("timestamps_in_recorded_zone", {"file": path.name, "column": col.name,
                                                              "zone": source.zones[col.name]}))
    for name in extras:
        clean = parsing.clean_text_sql("s." + quote_ident(name))
        if name not in personal_extras:
            clean = privacy.mask_ids_sql(clean)
            masked_columns.append(quote_ident(name))
        clean_select.append(f"{clean} AS {quote_ident(name)}")
        stored.append(quote_ident(name))
    for name in source.unnamed:
        position = name[len(readers.UNNAMED_PREFIX):]
        clean_select.append(f"{parsing.clean_text_sql('s.' + quote_ident(name))} AS {quote_ident(name)}")
        stored.append(quote_ident(name))
        checks.append(Check(f"(column {position}, no header)", "value_without_header",
                            sql_literal("no value: the column has no header name"),
                            f"{quote_ident(name)} IS NOT NULL",
                            privacy.mask_ids_sql(f"CAST({quote_ident(name)} AS VARCHAR)")))

    layer2 = (f"SELECT {', '.join(lookup_select)} FROM (SELECT {', '.join(clean_select)} "
              f"FROM {quote_ident(source.view)} AS s) AS c {' '.join(joins)}")
    parsed_cols = [f"{sql} AS {quote_ident(name)}" for name, sql in parsed_exprs]
    parsed_cols += [f"{alias} AS {quote_ident(name)}" for name, alias in same_as_clean.items()]
    layer3 = f"SELECT *{''.join(', ' + c for c in parsed_cols)} FROM ({layer2})"

    extracted_used = extracted_at
    if table == "service_requests" and extracted_at is None:
        extracted_used = _latest_timestamp(con, schema, layer3, path, notes)
    end = extracted_end(extracted_used)
    for rule in schema.rules:
        if rule.column not in source.column_types:
            continue
        predicate = rule.predicate_sql
        if ":extracted_end" in predicate:
            if end is None:
                continue
            predicate = predicate.replace(":extracted_end", f"TIMESTAMP '{end.isoformat(sep=' ')}'")
        checks.append(Check(rule.column, rule.reason, sql_literal(rule.description.replace("`", "")), predicate,
                            privacy.mask_ids_sql(f"CAST({quote_ident('__raw__' + rule.column)} AS VARCHAR)"),
                            _rule_listed_if(schema, predicate)))

    # the first failing check of each row (NULL = no problem), stored with the row
    first_other = ("CASE " + " ".join(f"WHEN coalesce(({c.predicate}), FALSE) THEN {i}"
                                      for i, c in enumerate(checks)) + " END") \
        if checks else "CAST(NULL AS INTEGER)"
    stored_table = quote_ident(f"__stored_{table}")
    valid_view = quote_ident(f"__valid_{table}")
    dups_table = quote_ident(f"__dups_{table}")
    checked = quote_ident(f"__checked_{table}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {stored_table} AS SELECT {', '.join(stored)}, "
                f"{first_other} AS __first_other FROM ({layer3})")
    try:
        # DuckDB keeps the file order here (scan and joins preserve insertion order); check it
        # cheaply (__row rises by one per stored row) instead of sorting, and sort later only if
        # not (also when rows are not numbered consecutively, e.g. after blank lines).
        in_order = con.execute(f"SELECT coalesce(bool_and(__row - rowid = (SELECT min(__row) FROM {stored_table})), "
                               f"TRUE) FROM {stored_table}").fetchone()[0]
        aliases = "".join(f", {alias} AS {quote_ident(name)}" for name, alias in same_as_clean.items())
        con.execute(f"CREATE OR REPLACE TEMP VIEW {valid_view} AS SELECT *{aliases} FROM {stored_table}")
        has_dups = _duplicate_keys(con, schema, source, valid_view, dups_table, checked, checks)
        counts = con.execute(f"SELECT __first, count(*) FROM {checked} GROUP BY __first").fetchall()
        rows_read = sum(n for _, n in counts)
        rows_accepted = sum(n for first, n in counts if first is None)
        rejected_by_reason: dict[str, int] = {}
        for first, n in counts:
            if first is not None:
                label = f"{checks[first].column}: {checks[first].reason}"
                rejected_by_reason[label] = rejected_by_reason.get(label, 0) + n
        if rows_read == 0:
            notes.append(Note("header_only", {"file": path.name}))
        notes += _file_notes(con, schema, source, checked, masked_columns)
        rejects_frame, rejects_file = collect_rejects(con, checked, checks, path.name, table, rejects_dir,
                                                      rows_read - rows_accepted)
        stored_path = None
        if store_dir is not None:
            stored_path = _write_accepted(con, checked, schema, declared, extras, personal_extras, salt,
                                          Path(store_dir) / f"{table}.parquet", ordered=in_order and not has_dups)
        codes = None
        if table == "regions":
            codes = [r[0] for r in con.execute(
                f"SELECT region_code FROM {checked} WHERE __first IS NULL ORDER BY __row").fetchall()]
    finally:
        for view in (checked, valid_view):
            con.execute(f"DROP VIEW IF EXISTS {view}")
        for temp in (dups_table, stored_table):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    report = TableReport(table=table, file=path.name, rows_read=rows_read, rows_accepted=rows_accepted,
                         rejected_by_reason=rejected_by_reason, notes=tuple(notes),
                         rejects=rejects_frame, rejects_file=rejects_file)
    return TableResult(report, stored_path, codes, extracted_used if table == "service_requests" else None)


def _latest_timestamp(con, schema: TableSchema, layer3: str, path: Path, notes: list) -> pd.Timestamp | None:
    """The extraction time when ``dataset.json`` has none: the latest plausible timestamp in the
    data (within each column's earliest/latest), with a note and a warning."""
    def plausible(name: str) -> str:
        too_early, too_late = _range_sql(schema.column(name), name)
        return f"CASE WHEN NOT ({too_early}) AND NOT ({too_late}) THEN {name} END"

    latest = con.execute(f"SELECT max(greatest({plausible('submitted_at')}, {plausible('completed_at')})) "
                         f"FROM ({layer3})").fetchone()[0]
    if latest is None:
        return None
    latest = pd.Timestamp(latest)
    notes.append(Note("extracted_at_from_data", {"file": path.name, "extracted_at": latest.isoformat(sep=" ")}))
    warnings.warn(f"{path.parent / 'dataset.json'}: no extracted_at; using the latest timestamp in "
                  f"{path.name}, {latest}, as the extraction time (open requests are censored there). "
                  "Add dataset.json with the real extraction date.", DataWarning, stacklevel=5)
    return latest


def _duplicate_keys(con, schema, source, valid_view, dups_table, checked, checks) -> bool:
    """Create view ``checked`` (``__first``: the row's first failing check, duplicate keys among
    otherwise-clean rows included) and say whether any key repeats. A grouped count, joined back
    only if a key repeats."""
    key_present = schema.key and all(k in source.column_types for k in schema.key)
    dup_index = len(checks)
    has_dups = False
    if key_present:
        keys = [quote_ident(k) for k in schema.key]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {dups_table} AS SELECT {', '.join(keys)}, "
                    f"min(__row) AS __first_in_key FROM {valid_view} WHERE __first_other IS NULL "
                    f"GROUP BY ALL HAVING count(*) > 1")
        has_dups = con.execute(f"SELECT count(*) FROM {dups_table}").fetchone()[0] > 0
        key_value = " || ' | ' || ".join(
            f"coalesce(CAST({quote_ident('__raw__' + k)} AS VARCHAR), '')" for k in schema.key)
        checks.append(Check(
            " + ".join(schema.key), "duplicate_key",
            "'unique " + " + ".join(schema.key) + "; first seen at row ' || __first_in_key",
            "__first_other IS NULL AND __first_in_key < __row", key_value))
    if has_dups:
        on = " AND ".join(f"v.{k} IS NOT DISTINCT FROM d.{k}" for k in keys)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {checked} AS SELECT v.*, "
            f"CASE WHEN v.__first_other IS NULL THEN d.__first_in_key END AS __first_in_key, "
            f"coalesce(v.__first_other, CASE WHEN v.__first_other IS NULL AND d.__first_in_key < v.__row "
            f"THEN {dup_index} END) AS __first FROM {valid_view} AS v LEFT JOIN {dups_table} AS d ON {on}")
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {checked} AS SELECT *, "
                    f"CAST(NULL AS BIGINT) AS __first_in_key, __first_other AS __first FROM {valid_view}")
    return has_dups


def _file_notes(con, schema: TableSchema, source: readers.Source, checked: str,
                masked_columns: list[str]) -> list[Note]:
    """Notes about the rows: identifiers masked per column, values in columns without a header,
    and the schema's own notes over the accepted rows (e.g. overlapping policy spells)."""
    notes = []
    file = source.path.name
    counted = [(c, privacy.masked_count_sql(c)) for c in masked_columns]
    counted += [(quote_ident(u), f"count_if({quote_ident(u)} IS NOT NULL)") for u in source.unnamed]
    if counted:
        values = con.execute(f"SELECT {', '.join(sql for _, sql in counted)} FROM {checked}").fetchone()
        masked = dict(zip([c for c, _ in counted], values))
        for column in masked_columns:
            if masked[column]:
                name = column.strip('"').removeprefix("__raw__")
                notes.append(Note("personal_ids_masked", {"file": file, "column": name, "values": int(masked[column])}))
        if source.unnamed:
            notes.append(Note("columns_without_header", {
                "file": file, "positions": [int(u[len(readers.UNNAMED_PREFIX):]) for u in source.unnamed],
                "values": int(sum(masked[quote_ident(u)] for u in source.unnamed))}))
    rows = f"(SELECT * FROM {checked} WHERE __first IS NULL)"
    for table_note in schema.notes:
        result = con.execute(table_note.query_sql.replace("{rows}", rows))
        names = [d[0] for d in result.description]
        for values in result.fetchall():
            notes.append(Note(table_note.code, {"file": file, **dict(zip(names, values))}))
    return notes


def _write_accepted(con, checked: str, schema: TableSchema, declared: list[Column], extras: list[str],
                    personal_extras: set[str], salt: str, target: Path, *, ordered: bool) -> Path:
    """Accepted rows in file order, written by DuckDB to Parquet (personal columns hashed).
    ``ordered``: ``checked`` is a plain scan of the stored table, which was written in ``__row``
    order (DuckDB keeps insertion order), so no sort is needed."""
    select = []
    for col in declared:
        ident = quote_ident(col.name)
        if col.personal:
            select.append(f"{privacy.hash_sql(ident, salt)} AS {ident}")
        elif col.kind == "int":
            select.append(f"CAST({ident} AS BIGINT) AS {ident}")
        else:
            select.append(ident)
    for name in extras:
        ident = quote_ident(name)
        select.append(f"{privacy.hash_sql(ident, salt)} AS {ident}" if name in personal_extras else ident)
    order = "" if ordered else " ORDER BY __row"
    query = f"SELECT {', '.join(select)} FROM {checked} WHERE __first IS NULL{order}"
    con.execute(f"COPY ({query}) TO {sql_literal(str(target))} (FORMAT PARQUET, COMPRESSION SNAPPY)")
    return target


__all__ = ["extracted_end", "validate_table"]
