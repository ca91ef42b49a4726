"""Every number on every page, formatted for its language: the one locale-aware formatter.

Decimal and grouping symbols come from Babel (CLDR data: ``1.234,5`` in ``id``, ``1,234.5`` in
``en``); month names too (``Januari 2026`` / ``January 2026``). Unit words, the Rupiah scale words
(ribu / juta / miliar / triliun; thousand / million / billion / trillion) and the range word
(``s.d.`` / ``to``) come from the catalogue's ``unit`` section. Negative numbers carry a real minus
sign (U+2212); a value that rounds to zero carries no sign. A missing value (None, NaN) is ``–``.

A *kind* names how a value is shown; the catalogue's placeholders and the table formatter use the
same names (:data:`KINDS`)::

    dec2    1,23            sdec3   +0,052 / −0,052        count   1.092.659
    pct1    4,7%            spct1   +4,7% / −4,7%          frac1   0.047 → 4,7%
    pp1     1,2 poin persen spp1    +1,2 poin persen       lp3     −0,052 poin log
    days1   3,5 hari        idr     Rp 1,2 miliar          pvalue  0,018 / < 0,001
    month   Januari 2026    period  Januari 2026 / Triwulan I 2026 (2026-Q1)
    date    14 Januari 2026 text    as given

The digit is the number of decimals (0–4). ``pctchange1`` takes a log-point effect and shows the
percent change of the level, 100·(exp(x) − 1): ``−0,048`` → ``−4,7%``.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

import pandas as pd
from babel.dates import format_date
from babel.numbers import format_decimal

from analysis.texts.catalogue import entry
from analysis.texts.languages import check_lang

MINUS = "\u2212"
MISSING = "\u2013"

#: Rupiah scale: (divisor, catalogue word key), largest first.
_IDR_SCALES = ((1e12, "unit.idr.trillion"), (1e9, "unit.idr.billion"), (1e6, "unit.idr.million"),
               (1e3, "unit.idr.thousand"))

_KIND = re.compile(r"(?P<signed>s?)(?P<name>dec|pct|pctchange|frac|pp|lp|days)(?P<digits>[0-4])")
#: Kinds without a decimals digit.
FIXED_KINDS = ("idr", "count", "pvalue", "month", "period", "date", "text")
#: Every kind name, as a pattern (the digit is 0-4): documentation for tests and error messages.
KINDS = ("dec", "sdec", "pct", "spct", "pctchange", "frac", "sfrac", "pp", "spp", "lp", "slp", "days",
         *FIXED_KINDS)


def is_missing(value: Any) -> bool:
    """None, NaN and pandas' missing markers."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _unsign_zero(text: str) -> str:
    """``−0,00`` → ``0,00``: a value that rounds to zero has no sign."""
    return text[1:] if text.startswith(MINUS) and not re.search(r"[1-9]", text) else text


def decimal(value: float, lang: str, digits: int = 0, *, signed: bool = False) -> str:
    """``1234567.891`` → ``1.234.567,89`` (id, 2 digits) / ``1,234,567.89`` (en); ``signed`` adds
    ``+`` to positive values."""
    check_lang(lang)
    if is_missing(value):
        return MISSING
    value = float(value)
    if math.isinf(value):
        return ("" if value > 0 else MINUS) + "\u221e"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    text = _unsign_zero(format_decimal(value, format=pattern, locale=lang).replace("-", MINUS))
    if signed and not text.startswith(MINUS) and re.search(r"[1-9]", text):
        text = "+" + text
    return text


def count(value: float, lang: str) -> str:
    """A whole count with the language's grouping: ``1.092.659`` / ``1,092,659``."""
    return decimal(value, lang, 0)


def percent(value: float, lang: str, digits: int = 1, *, signed: bool = False) -> str:
    """A number already in percent: ``4.72`` → ``4,7%`` / ``4.7%``."""
    text = decimal(value, lang, digits, signed=signed)
    return text if text == MISSING else text + "%"


def pct_change(log_points: float) -> float:
    """A log-point effect as a percent change of the level: ``100·(exp(x) − 1)``."""
    return math.nan if is_missing(log_points) else 100.0 * math.expm1(float(log_points))


def _with_unit(text: str, unit_key: str, lang: str) -> str:
    return text if text == MISSING else f"{text} {entry(unit_key, lang)}"


def days(value: float, lang: str, digits: int = 1) -> str:
    """``3.5`` → ``3,5 hari`` / ``3.5 days`` (``1 day`` in English)."""
    text = decimal(value, lang, digits)
    return _with_unit(text, "unit.day" if text == "1" else "unit.days", lang)


def idr(value: float, lang: str) -> str:
    """Rupiah with a scale word: ``Rp 1,2 miliar``, ``Rp 450 juta``, ``−Rp 3,4 juta`` (id);
    ``IDR 1.2 billion`` (en). One decimal below 100 of the scale unit, none from 100; amounts
    below one thousand in full."""
    check_lang(lang)
    if is_missing(value):
        return MISSING
    value = float(value)
    sign = MINUS if value < 0 else ""
    magnitude = abs(value)
    prefix = entry("unit.idr.prefix", lang)
    for divisor, word_key in _IDR_SCALES:
        scaled = magnitude / divisor
        digits = 0 if scaled >= 99.95 else 1
        if round(scaled, digits) >= 1:  # 999,96 juta is 1,0 miliar, not 1.000,0 juta
            return f"{sign}{prefix} {decimal(scaled, lang, digits)} {entry(word_key, lang)}"
    text = decimal(magnitude, lang, 0)
    return f"{sign if text != '0' else ''}{prefix} {text}"


def idr_axis(max_abs_value: float, lang: str) -> tuple[float, str]:
    """Divisor and unit for an axis of Rupiah amounts of about ``max_abs_value``:
    ``(1e9, "miliar Rp")`` (id) / ``(1e9, "IDR billion")`` (en)."""
    check_lang(lang)
    prefix = entry("unit.idr.prefix", lang)
    for divisor, word_key in _IDR_SCALES:
        if abs(max_abs_value) >= divisor:
            word = entry(word_key, lang)
            return divisor, (f"{word} {prefix}" if lang == "id" else f"{prefix} {word}")
    return 1.0, prefix


def pvalue(value: float, lang: str) -> str:
    """Three decimals, ``< 0,001`` below that."""
    if is_missing(value):
        return MISSING
    return f"< {decimal(0.001, lang, 3)}" if float(value) < 0.0005 else decimal(value, lang, 3)


def _as_timestamp(value: Any) -> pd.Timestamp:
    if isinstance(value, pd.Period):
        return value.to_timestamp()
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return pd.Timestamp(value)
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return pd.Timestamp(text + "-01")
    return pd.Timestamp(text)


def month(value: Any, lang: str) -> str:
    """``"2026-01"`` (or a Period/Timestamp) → ``Januari 2026`` / ``January 2026``."""
    check_lang(lang)
    if is_missing(value):
        return MISSING
    return format_date(_as_timestamp(value).date(), "MMMM yyyy", locale=lang)


def full_date(value: Any, lang: str) -> str:
    """``"2026-01-14"`` → ``14 Januari 2026`` / ``14 January 2026``."""
    check_lang(lang)
    if is_missing(value):
        return MISSING
    return format_date(_as_timestamp(value).date(), "d MMMM yyyy", locale=lang)


def period(value: Any, lang: str) -> str:
    """A panel period: a month (``2026-01`` → ``Januari 2026``) or a quarter (``2026-Q1`` →
    ``Triwulan I 2026`` / ``Q1 2026``, words from the catalogue's ``unit.quarter``)."""
    check_lang(lang)
    if is_missing(value):
        return MISSING
    quarter = re.fullmatch(r"(\d{4})-?Q([1-4])", str(value))
    if quarter:
        year, number = quarter.group(1), int(quarter.group(2))
        return entry("unit.quarter", lang).format(year=year, quarter=number,
                                                  roman=("I", "II", "III", "IV")[number - 1])
    return month(value, lang)


def month_range(start: Any, end: Any, lang: str) -> str:
    """``Januari–Maret 2026`` within a year, ``November 2025 – Januari 2026`` across years,
    one month if both are the same."""
    check_lang(lang)
    if is_missing(start) or is_missing(end):
        return f"{month(start, lang)} \u2013 {month(end, lang)}"
    first, last = _as_timestamp(start), _as_timestamp(end)
    if (first.year, first.month) == (last.year, last.month):
        return month(first, lang)
    if first.year == last.year:
        return f"{format_date(first.date(), 'MMMM', locale=lang)}\u2013{month(last, lang)}"
    return f"{month(first, lang)} \u2013 {month(last, lang)}"


def format_value(value: Any, kind: str, lang: str) -> str:
    """``value`` shown as ``kind`` (module doc) in ``lang``."""
    check_lang(lang)
    if kind == "text":
        return MISSING if is_missing(value) else str(value)
    if isinstance(value, bool):
        raise TypeError(f"a {kind} value must be a number, not {value!r} (booleans are shown through labels)")
    if kind == "idr":
        return idr(value, lang)
    if kind == "count":
        return count(value, lang)
    if kind == "pvalue":
        return pvalue(value, lang)
    if kind == "month":
        return month(value, lang)
    if kind == "period":
        return period(value, lang)
    if kind == "date":
        return full_date(value, lang)
    match = _KIND.fullmatch(kind)
    if not match:
        raise ValueError(f"unknown number format {kind!r}; known: {', '.join(KINDS)} "
                         "(dec, pct, pp, lp, days and their s-forms take 0-4 decimals, e.g. spct1)")
    signed, name, digits = bool(match["signed"]), match["name"], int(match["digits"])
    if name == "dec":
        return decimal(value, lang, digits, signed=signed)
    if name == "pct":
        return percent(value, lang, digits, signed=signed)
    if name == "pctchange":
        return percent(pct_change(value), lang, digits, signed=True)
    if name == "frac":
        return percent(None if is_missing(value) else 100.0 * float(value), lang, digits, signed=signed)
    if name == "pp":
        return _with_unit(decimal(value, lang, digits, signed=signed), "unit.pp", lang)
    if name == "lp":
        return _with_unit(decimal(value, lang, digits, signed=signed), "unit.log_points", lang)
    if name == "days":
        if signed:
            return _with_unit(decimal(value, lang, digits, signed=True), "unit.days", lang)
        return days(value, lang, digits)
    raise AssertionError(name)  # pragma: no cover - the pattern lists every name


def interval(low: Any, high: Any, kind: str, lang: str) -> str:
    """``−0,05 s.d. 0,02`` / ``−0.05 to 0.02`` (both ends as ``kind``, without a ``+``); months
    as a month range."""
    if kind in ("month", "period") and not re.search(r"Q", f"{low}{high}"):
        return month_range(low, high, lang)
    ends = [format_value(value, kind, lang) for value in (low, high)]
    ends = [end[1:] if end.startswith("+") else end for end in ends]  # an interval's ends carry no "+"
    return f"{ends[0]} {entry('unit.range', lang)} {ends[1]}"


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a known format, else raise a ValueError listing them."""
    if kind not in FIXED_KINDS and not _KIND.fullmatch(kind):
        format_value(0.0, kind, "en")  # raises with the list of kinds
    return kind
