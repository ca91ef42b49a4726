"""Vectorised parsing of Indonesian formats: SQL expressions over a VARCHAR expression that
turn text into typed values, NULL where a value cannot be parsed (no Python loop per row).

Number notation (per column and file, decided by the majority of its values, ``choose_notation``):
each value that parses as a number in a notation and carries that notation's clue votes for it:
Indonesian (``.`` thousands, ``,`` decimals) for a comma, an ``Rp``/``IDR`` prefix or two
thousands groups (``1.234.567``); plain dot decimal for ``12.5``, ``1234.56``. The notation with
more votes is used for the whole column; values that are no number in it (a typo such as
``rusak``, ``inf``, or a value written in the other notation) are rejected one by one, and the
validation report says how many did not fit. A column whose dotted values all look like one
thousands group (``1.234``) and give no other clue is ambiguous: it is read with a dot decimal and
noted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: Values that mean "empty" in real exports (compared lower-case, after trimming).
NULL_TOKENS = ("", "-", "–", "—", "n/a", "na", "null", "none", "nan", "nat",
               "0000-00-00", "0000-00-00 00:00:00", "00-00-0000", "00/00/0000")

MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "feb": 2, "pebruari": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nov": 11, "nop": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}


def sql_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def clean_text_sql(expr: str) -> str:
    """Trimmed text, NULL for the empty tokens of real exports (``-``, ``N/A``, ``0000-00-00`` …)."""
    tokens = ", ".join(sql_literal(t) for t in NULL_TOKENS)
    text = f"CAST({expr} AS VARCHAR)"
    trimmed = f"trim({text})"
    full = f"CASE WHEN lower({trimmed}) IN ({tokens}) THEN NULL ELSE {trimmed} END"
    # Fast path (most values): starting with a letter or digit that no empty token starts with
    # (not n/N/0) and ending with printable ASCII, the value has nothing to trim and is no token.
    first = f"ascii({text})"
    plain = (f"({first} BETWEEN 49 AND 57 OR {first} BETWEEN 65 AND 77 OR {first} BETWEEN 79 AND 90 "
             f"OR {first} BETWEEN 97 AND 109 OR {first} BETWEEN 111 AND 122) "
             f"AND ascii(right({text}, 1)) BETWEEN 33 AND 126")
    return f"CASE WHEN {plain} THEN {text} ELSE {full} END"


def _number_text_sql(clean: str) -> str:
    # drop currency prefix and inner blanks: "Rp. 1.234.567,00" -> "1.234.567,00"
    return (f"replace(CASE WHEN lower(left({clean}, 1)) IN ('r', 'i') "
            f"THEN regexp_replace(lower({clean}), '^(rp\\.?|idr)\\s*', '') ELSE {clean} END, ' ', '')")


def number_evidence_sql(clean: str, alias: str) -> str:
    """Aggregates deciding the number notation of one column (see the module docstring): votes
    for each notation, whether a ``1.234``-shaped value was seen, and how many values fail under
    the comma notation, the dot notation, and both. Columns ``<alias>__<name>``."""
    text = _number_text_sql(clean)
    comma, dot = number_sql(clean, True), number_sql(clean, False)
    comma_clue = (f"(contains({clean}, ',') OR regexp_matches(lower({clean}), '^(rp\\.?|idr)\\s*[+-]?\\d') "
                  f"OR length({clean}) - length(replace({clean}, '.', '')) >= 2)")
    dot_clue = (f"(contains({clean}, '.') AND "
                f"regexp_full_match({text}, '[+-]?(\\d*\\.(\\d{{1,2}}|\\d{{4,}})|\\d{{4,}}\\.\\d+)(e[+-]?\\d+)?'))")
    ambiguous = f"(contains({clean}, '.') AND regexp_full_match({text}, '[+-]?\\d{{1,3}}\\.\\d{{3}}'))"
    parts = {
        "comma_votes": f"count_if({comma} IS NOT NULL AND {comma_clue})",
        "dot_votes": f"count_if({dot} IS NOT NULL AND {dot_clue})",
        "ambiguous": f"coalesce(bool_or({ambiguous}), FALSE)",
        "bad_comma": f"count_if({clean} IS NOT NULL AND {comma} IS NULL)",
        "bad_dot": f"count_if({clean} IS NOT NULL AND {dot} IS NULL)",
        "bad_both": f"count_if({clean} IS NOT NULL AND {comma} IS NULL AND {dot} IS NULL)",
    }
    return ", ".join(f"{sql} AS {quote_ident(alias + '__' + name)}" for name, sql in parts.items())


NUMBER_EVIDENCE_FIELDS = ("comma_votes", "dot_votes", "ambiguous", "bad_comma", "bad_dot", "bad_both")


@dataclass(frozen=True)
class NumberNotation:
    """The notation chosen for one numeric text column, from the majority of its values.

    ``decimal_comma``: Indonesian notation (``.`` thousands, ``,`` decimals). ``ambiguous``:
    no value told the notations apart but some look like ``1.234`` (read as a dot decimal).
    ``not_fitting``: non-empty values that are no number in the chosen notation (rejected, one
    by one, as ``not_a_number``); ``fit_other``: how many of them are numbers in the other one."""

    decimal_comma: bool
    ambiguous: bool
    not_fitting: int
    fit_other: int

    @property
    def name(self) -> str:
        return "decimal_comma" if self.decimal_comma else "decimal_point"


def choose_notation(evidence: dict) -> NumberNotation:
    """The notation with more votes (values that parse in it and carry its clue: a comma, an
    ``Rp``/``IDR`` prefix or two thousands groups; a dot decimal like ``12.5`` or ``1234.56``);
    a tie with votes goes to the comma notation (Indonesian exports), no votes to the dot."""
    counts = {name: int(value or 0) for name, value in evidence.items()}  # NULL over no rows
    comma_votes, dot_votes = counts["comma_votes"], counts["dot_votes"]
    decimal_comma = comma_votes >= dot_votes and comma_votes > 0
    not_fitting = counts["bad_comma"] if decimal_comma else counts["bad_dot"]
    return NumberNotation(
        decimal_comma=decimal_comma,
        ambiguous=bool(evidence["ambiguous"]) and comma_votes == 0 and dot_votes == 0,
        not_fitting=not_fitting,
        fit_other=not_fitting - counts["bad_both"],
    )


def number_sql(clean: str, decimal_comma: bool) -> str:
    """DOUBLE from cleaned text; NULL if it is not a number in the given notation."""
    text = _number_text_sql(clean)
    # fast path: digits only (no separator, no currency) -> a plain cast
    plain = (f"WHEN NOT contains({clean}, '.') AND NOT contains({clean}, ',') "
             f"AND lower(left({clean}, 1)) NOT IN ('r', 'i') AND isfinite(TRY_CAST({clean} AS DOUBLE)) "
             f"THEN TRY_CAST({clean} AS DOUBLE) ")
    if decimal_comma:
        return (f"CASE {plain}WHEN regexp_full_match({text}, '[+-]?(\\d{{1,3}}(\\.\\d{{3}})+|\\d+)(,\\d+)?') "
                f"THEN TRY_CAST(replace(replace({text}, '.', ''), ',', '.') AS DOUBLE) END")
    return (f"CASE {plain}WHEN regexp_full_match({text}, '[+-]?(\\d+(\\.\\d*)?|\\.\\d+)(e[+-]?\\d+)?') "
            f"THEN TRY_CAST({text} AS DOUBLE) END")


def _month_number_sql(name_expr: str) -> str:
    """Month number (1-12) of an Indonesian or English month name or abbreviation; NULL if unknown."""
    names = ", ".join(sql_literal(k) for k in MONTHS)
    numbers = ", ".join(str(v) for v in MONTHS.values())
    return f"([{numbers}][list_position([{names}], rtrim({name_expr}, '.'))])"


def timestamp_sql(clean: str) -> str:
    """TIMESTAMP from cleaned text; NULL if unparseable or not a real calendar date.

    Accepts ``2026-01-14[ T]08:30[:00[.fff]]``, ``14-01-2026`` / ``14/01/2026`` / ``14.01.2026``
    (day first) with an optional time, and ``14 Januari 2026`` / ``14 Jan 2026`` with an optional
    time. Time-zone offsets are not accepted (store local time)."""
    s = f"lower({clean})"
    time = "([ t]\\d{1,2}:\\d{2}(:\\d{2}(\\.\\d+)?)?)?"
    month = _month_number_sql(f"regexp_extract({s}, '^\\d{{1,2}}\\s+([a-z]+\\.?)', 1)")
    named = (f"replace(regexp_replace({s}, '^(\\d{{1,2}})\\s+[a-z]+\\.?\\s+(\\d{{4}})', '\\2-@-\\1'), "
             f"'@', CAST({month} AS VARCHAR))")
    return (
        f"CASE WHEN {clean} IS NULL THEN NULL "
        # fast path: ISO date or date-time (the common case in database exports)
        f"WHEN length({clean}) IN (10, 16, 19) AND substr({clean}, 5, 1) = '-' "
        f"AND substr({clean}, 8, 1) = '-' AND (length({clean}) = 10 OR substr({clean}, 11, 1) IN (' ', 'T')) "
        f"THEN try_strptime(replace({clean}, 'T', ' '), ['%Y-%m-%d', '%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S']) "
        f"WHEN regexp_full_match({s}, '\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}{time}') "
        f"THEN TRY_CAST(replace({s}, 't', ' ') AS TIMESTAMP) "
        f"WHEN regexp_full_match({s}, '\\d{{1,2}}[-/.]\\d{{1,2}}[-/.]\\d{{4}}( \\d{{1,2}}:\\d{{2}}(:\\d{{2}})?)?') "
        f"THEN TRY_CAST(regexp_replace({s}, '^(\\d{{1,2}})[-/.](\\d{{1,2}})[-/.](\\d{{4}})', '\\3-\\2-\\1') AS TIMESTAMP) "
        f"WHEN regexp_full_match({s}, '\\d{{1,2}}\\s+[a-z]+\\.?\\s+\\d{{4}}(\\s+\\d{{1,2}}:\\d{{2}}(:\\d{{2}})?)?') "
        f"THEN TRY_CAST({named} AS TIMESTAMP) "
        f"END"
    )


def period_sql(clean: str) -> str:
    """``YYYY-MM`` text from cleaned text; NULL if not a month.

    Accepts ``2026-01``, ``2026-1``, ``2026/01``, ``01/2026``, ``01-2026``, ``Januari 2026``,
    ``Jan 2026`` and full dates (see :func:`timestamp_sql`; the month is kept)."""
    s = f"lower({clean})"

    def month(y: str, m: str) -> str:
        return f"strftime(TRY_CAST({y} || '-' || {m} || '-01' AS DATE), '%Y-%m')"

    named_month = _month_number_sql(f"regexp_extract({s}, '^([a-z]+\\.?)', 1)")
    return (
        f"CASE WHEN {clean} IS NULL THEN NULL "
        f"WHEN length({clean}) = 7 AND substr({clean}, 5, 1) = '-' "
        f"THEN CASE WHEN TRY_CAST({clean} || '-01' AS DATE) IS NOT NULL THEN {clean} END "
        f"WHEN regexp_full_match({s}, '\\d{{4}}[-/]\\d{{1,2}}') "
        f"THEN {month(f'left({s}, 4)', f'substr({s}, 6)')} "
        f"WHEN regexp_full_match({s}, '\\d{{1,2}}[-/]\\d{{4}}') "
        f"THEN {month(f'right({s}, 4)', f'split_part(replace({s}, chr(47), chr(45)), chr(45), 1)')} "
        f"WHEN regexp_full_match({s}, '[a-z]+\\.?\\s+\\d{{4}}') "
        f"THEN {month(f'right({s}, 4)', f'CAST({named_month} AS VARCHAR)')} "
        f"ELSE strftime({timestamp_sql(clean)}, '%Y-%m') END"
    )


def bool_sql(clean: str) -> str:
    s = f"lower({clean})"
    return (f"CASE WHEN {s} IN ('true', 't', '1', 'ya', 'y', 'yes', 'benar') THEN TRUE "
            f"WHEN {s} IN ('false', 'f', '0', 'tidak', 'n', 'no', 'salah', 'tdk') THEN FALSE END")


def region_text_sql(clean: str) -> str:
    """Region code text with inner blanks removed (``33. 72`` -> ``33.72``)."""
    return f"replace({clean}, ' ', '')"


def region_code_variants(codes) -> pd.DataFrame:
    """Lookup of every accepted spelling of the given canonical codes.

    Columns ``variant`` (text as found in a file), ``canonical`` (the code, or the candidates
    joined by `` or `` when ambiguous), ``ambiguous`` (bool). Spellings:

    * canonical ``NN`` / ``NN.NN``; undotted ``NNNN`` (BPS style); a province as ``NN.0``
      (Excel turned it into a number);
    * one lost zero, ``NN.K`` / ``NNK``: stands for ``NN.K0`` (trailing zero lost, Excel) or
      ``NN.0K`` (leading zero lost, integer pairs). It is accepted only when exactly one of the two
      exists in the regions table; otherwise it is ambiguous (e.g. ``11.1``: both ``11.10`` and
      ``11.01`` exist) and the row is rejected.
    """
    candidates: dict[str, set[str]] = {}

    def add(variant: str, code: str) -> None:
        candidates.setdefault(variant, set()).add(code)

    canonical = {str(c) for c in codes}
    for code in canonical:
        add(code, code)
        if len(code) == 2:
            add(code + ".0", code)
            add(code + ".00", code)
        elif len(code) == 5:
            province, local = code[:2], code[3:]
            add(province + local, code)
            if local.endswith("0"):
                add(f"{province}.{local[0]}", code)
                add(f"{province}{local[0]}", code)
            if local.startswith("0"):
                add(f"{province}.{local[1]}", code)
                add(f"{province}{local[1]}", code)
    rows = []
    for variant, codes_for_variant in candidates.items():
        if variant in canonical:  # an exact code always means itself
            rows.append((variant, variant, False))
        elif len(codes_for_variant) == 1:
            rows.append((variant, next(iter(codes_for_variant)), False))
        else:
            rows.append((variant, " or ".join(sorted(codes_for_variant)), True))
    return pd.DataFrame(rows, columns=["variant", "canonical", "ambiguous"])


def own_region_code_sql(clean: str) -> str:
    """Canonical code for the ``regions`` table itself (no lookup): ``NN``, ``NN.NN``, undotted
    ``NNNN``, or ``NN.0`` for a province; NULL otherwise."""
    s = region_text_sql(clean)
    return (f"CASE WHEN regexp_full_match({s}, '\\d{{2}}(\\.\\d{{2}})?') THEN {s} "
            f"WHEN regexp_full_match({s}, '\\d{{4}}') THEN left({s}, 2) || '.' || right({s}, 2) "
            f"WHEN regexp_full_match({s}, '\\d{{2}}\\.00?') THEN left({s}, 2) END")
