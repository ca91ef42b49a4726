"""Every number of the brief, formatted by the unit of the ``results.json`` entry it comes from and
tagged with that entry, so a test can trace each number on the page back to its source.

A quoted number is HTML: ``<span class="num" data-src="<report>/<entry>" data-field="estimate"
data-unit="log points">+7,4%</span>``. The format follows the entry's ``unit`` only
(:data:`UNIT_KINDS`): log points are shown as the percent change ``100·(exp(x) − 1)``,
percentage points as points (never rescaled), Rupiah with a scale word, ratios with three
decimals. A unit the brief does not know is an error, not a guess.

Numbers the brief computes from the dataset (the TKD cut, routine spending) carry
``data-src="data/<fact>"``; shares carry ``data-src="share/<numerator>/<denominator>"``.
"""

from __future__ import annotations

import html

from analysis.texts import t
from analysis.texts.numbers import MISSING, format_value, is_missing

#: How the brief shows an entry, by its ``unit`` (analysis.texts.numbers kinds; signed forms).
UNIT_KINDS = {"log points": "pctchange1", "percentage points": "spp1", "IDR": "idr", "ratio": "dec3",
              "percent": "spct1"}


def kind_of(unit: str | None, source: str) -> str:
    """The number format of an entry's ``unit``; ValueError naming the source for any other unit."""
    try:
        return UNIT_KINDS[unit]
    except KeyError:
        raise ValueError(f"{source}: unit {unit!r}; the brief shows only {sorted(UNIT_KINDS)}") from None


def span(value, kind: str, lang: str, *, src: str, field: str, unit: str, unsigned: bool = False) -> str:
    """``value`` formatted as ``kind`` in a traceable ``<span class="num">``; "–" when missing."""
    if is_missing(value):
        return MISSING
    text = format_value(value, kind, lang)
    if unsigned and text.startswith("+"):
        text = text[1:]
    return (f'<span class="num" data-src="{html.escape(src, quote=True)}" data-field="{html.escape(field, quote=True)}" '
            f'data-unit="{html.escape(str(unit), quote=True)}" data-kind="{kind}" data-raw="{float(value)!r}">'
            f'{html.escape(text)}</span>')


def quote(entry: dict | None, source: str, lang: str, field: str = "estimate") -> str:
    """One field of a ``results.json`` entry (``source``: ``<report slug>/<entry name>``)."""
    if not entry or is_missing(entry.get(field)):
        return MISSING
    unit = entry.get("unit")
    return span(entry[field], kind_of(unit, source), lang, src=source, field=field, unit=unit,
                unsigned=field != "estimate")


def quote_interval(entry: dict | None, source: str, lang: str) -> str:
    """The entry's 95% interval: ``4,1% s.d. 10,9%`` (each end traceable; no ``+`` on the ends)."""
    if not entry or is_missing(entry.get("ci_low")) or is_missing(entry.get("ci_high")):
        return MISSING
    return f"{quote(entry, source, lang, 'ci_low')} {t('unit.range', lang)} {quote(entry, source, lang, 'ci_high')}"


def quote_fact(value, kind: str, lang: str, *, src: str, unit: str) -> str:
    """A number the brief computed itself (``src``: ``data/<fact>`` or ``share/<a>/<b>``)."""
    return span(value, kind, lang, src=src, field="value", unit=unit, unsigned=True)


def trace(value, kind: str, lang: str, *, src: str, field: str) -> str:
    """A test statistic or count recorded with an entry (``field``: its path inside the entry or
    report, e.g. ``inference.pvalue``, ``inference.details.pretrend.pvalue``), formatted as
    ``kind`` (``pvalue``, ``count``, ``dec3``...)."""
    return span(value, kind, lang, src=src, field=field, unit=kind)
