"""Tables for the reader: headers, codes and numbers in the page's language.

:func:`for_display` turns a DataFrame of facts (codes, raw numbers) into one of text: every
header from the catalogue (``label.column.<name>``), every code column through its labels
(``label.<domain>.<code>``), every number through :mod:`analysis.texts.numbers` by column kind.
The CSV a report writes next to a table keeps the raw numbers (``analysis.report.exhibits``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from analysis.notes import Note
from analysis.texts.catalogue import entry, has
from analysis.texts.languages import check_lang
from analysis.texts.numbers import MISSING, check_kind, format_value, is_missing
from analysis.texts.template import label, label_key, note

#: Number format of the columns that recur in our tables (callers add or override per table).
COLUMN_KINDS: dict[str, str] = {
    "att": "sdec3", "ci_low": "sdec3", "ci_high": "sdec3", "truth": "sdec3", "se": "dec3",
    "stat": "dec2", "df": "count", "pvalue": "pvalue", "pretrend_pvalue": "pvalue",
    "rows": "count", "pemda": "count", "rows_read": "count", "rows_accepted": "count", "rows_rejected": "count",
    "treated_months": "count", "year": "text", "median_days": "days1", "wfa_days_per_week": "dec0",
    "cohort": "period", "first_period": "period", "last_period": "period", "last_treated": "period",
    "start_date": "date", "end_date": "date", "sc_weight": "dec3", "sdid_weight": "dec3",
    "beta_per_day": "sdec4", "estimate": "sdec3", "at_risk_att": "sdec3", "comparison_att": "sdec3",
    "difference": "sdec3", "pvalue_holm": "pvalue", "months_in_force": "dec1",
    "mean_dose": "dec2", "beta_ci_low": "sdec4", "beta_ci_high": "sdec4",
}
#: Number format by name pattern, when the column is not in COLUMN_KINDS.
NAME_KINDS: tuple[tuple[str, str], ...] = ((r"^n_", "count"), (r"_idr$", "idr"), (r"^share(_|$)", "frac1"))
#: Columns whose values are codes: column → label domain (``label.<domain>.<code>``).
COLUMN_LABELS: dict[str, str] = {
    "category": "category", "status": "status", "service_type": "service_type", "split": "split",
    "group": "group", "estimator": "estimator", "table": "table", "reason": "reject_reason",
    "adjusted": "adjusted", "is_trial": "bool", "method": "method", "risk": "risk", "verdict": "verdict",
    "measure": "result", "level": "level", "instrument": "instrument",
}
#: Label domains whose codes come from the data ("other values allowed" in the schema): a code
#: without a text is shown as it is, underscores as spaces, rather than stopping the report.
OPEN_DOMAINS = ("category", "instrument")
#: Formats whose input is text (periods, dates); a text cell in any other number column is shown
#: as it is.
TEXT_KINDS = ("text", "period", "month", "date")


def column_kind(column: str, kinds: Mapping[str, str]) -> str | None:
    """The number format of ``column``: given, known, by name pattern, or None (not a number)."""
    if column in kinds:
        return kinds[column]
    if column in COLUMN_KINDS:
        return COLUMN_KINDS[column]
    for pattern, kind in NAME_KINDS:
        if re.search(pattern, column):
            return kind
    return None


def code_label(domain: str, value, lang: str) -> str:
    """``label.<domain>.<value>`` (a merged code ``a–b`` part by part); in an open domain
    (:data:`OPEN_DOMAINS`) a code without a text is shown as it is."""
    if is_missing(value):
        return MISSING
    if domain in OPEN_DOMAINS and not has(f"label.{domain}.{label_key(value)}", lang):
        return label_key(value).replace("_", " ")
    return label(domain, value, lang)


def _notes(value, lang: str) -> str:
    if is_missing(value) if not isinstance(value, (tuple, list)) else False:
        return ""
    notes = value if isinstance(value, (tuple, list)) else (value,)
    return "; ".join(note(n, lang) for n in notes if isinstance(n, Note)) if notes else ""


def header(column: str, lang: str) -> str:
    """The header of ``column`` (``label.column.<column>``)."""
    return entry(f"label.column.{column}", lang)


def for_display(
    table: pd.DataFrame,
    lang: str,
    *,
    kinds: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A copy of ``table`` with every cell as text in ``lang`` and headers from the catalogue.

    ``kinds``: number format per column (overrides :data:`COLUMN_KINDS`); a value ``"row:<col>"``
    takes each row's format from column ``<col>`` (a mixed table such as the brief's headline
    numbers), and that column is not shown. ``labels``: label domain per code column (overrides
    :data:`COLUMN_LABELS`). Cells holding :class:`~analysis.notes.Note` values (or tuples of
    them) are rendered as notes. A float column without a format is an error (say how to show it).
    """
    check_lang(lang)
    kinds = dict(kinds or {})
    domains = {**COLUMN_LABELS, **(labels or {})}
    hidden = {spec.split(":", 1)[1] for spec in kinds.values() if spec.startswith("row:")}
    out = {}
    for column in table.columns:
        name = str(column)
        if name in hidden:
            continue
        values = table[column]
        kind = column_kind(name, kinds)
        if kind is not None and kind.startswith("row:"):
            row_kinds = table[kind.split(":", 1)[1]]
            cells = [format_value(v, check_kind(k), lang) for v, k in zip(values, row_kinds)]
        elif kind is not None:
            check_kind(kind)
            keep_text = kind not in TEXT_KINDS  # e.g. "<10" left by small-count suppression
            cells = [v if keep_text and isinstance(v, str) else format_value(v, kind, lang) for v in values]
        elif any(isinstance(v, Note) or isinstance(v, (tuple, list)) and v and isinstance(v[0], Note)
                 for v in values):
            cells = [_notes(v, lang) for v in values]
        elif name in domains:
            cells = [code_label(domains[name], v, lang) for v in values]
        elif pd.api.types.is_bool_dtype(values):
            cells = [code_label("bool", v, lang) for v in values]
        elif pd.api.types.is_integer_dtype(values):
            cells = [format_value(v, "count", lang) for v in values]
        elif pd.api.types.is_float_dtype(values):
            raise ValueError(f"column {name!r} holds numbers without a format: pass kinds={{{name!r}: ...}} "
                             "(e.g. dec3, idr, frac1)")
        else:
            cells = [MISSING if is_missing(v) else str(v) for v in values]
        out[header(name, lang)] = cells
    return pd.DataFrame(out, index=table.index)

