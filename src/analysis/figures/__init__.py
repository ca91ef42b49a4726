"""Figures. One module per subject (``did``, ``service_time``, ``budget``, ``maps``); every function
takes result objects or DataFrames, draws on a matplotlib Axes/Figure and returns it. Every label
comes from the text catalogue (``analysis.texts``) in the language the caller passes (``lang``,
``id`` or ``en``; there is no default). Nothing here computes estimates."""

from __future__ import annotations


def period_label(value, lang: str) -> str:
    """An axis tick for a month (``2026-01``, a Period or a Timestamp) as "Jan 2026" in ``lang``;
    any other value (a quarter, a number) as it is."""
    import pandas as pd
    from babel.dates import format_date

    try:
        if isinstance(value, pd.Timestamp):
            value = value.to_period("M")
        period = value if isinstance(value, pd.Period) else pd.Period(str(value))
    except (ValueError, TypeError):
        return str(value)
    if period.freqstr.startswith("M"):
        return format_date(period.start_time.date(), "MMM yyyy", locale=lang)
    return str(value)
