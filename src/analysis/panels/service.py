"""Service panels: request-level records → Pemda × month × service-type cells (DuckDB, out of core).

One row of a panel is the set of requests *submitted* by a Pemda in a calendar month for one
service type (optionally split by units group: ``single`` = one unit involved, ``cross`` = more
than one). Completion times are in days (fractional: timestamps are kept to the second).

Censoring. A request with no ``completed_at`` was still open at the extraction date: it is
right-censored at ``extraction - submitted_at`` days, not missing. Medians and 90th percentiles are
Kaplan–Meier quantiles within the cell (see ``analysis.panels.km`` for the conventions: completions
before censorings at tied durations; the quantile is the first duration at which the share still
open is ≤ 1 − p). When the curve never falls that low (too many requests still open), the quantile
is *not identified* and is NaN; :func:`count_unidentified` counts such cells. Up to a cell's first
censoring time the KM curve is the empirical distribution, so a quantile reached by then is an
order statistic (``quantile_disc``, one hash aggregation); in the cells censored before the
quantile the KM product is computed in SQL as ``exp(sum(log(1 - d/n)))`` over durations sorted
within the cell (window functions). The same query runs on tens of millions of rows with bounded
memory (:func:`analysis.panels.queries.service_panel_sql`).

The ``naive_*`` columns are what one gets by dropping open requests (completed-only quantiles).
They are biased toward short times in recent months — shown, not used for estimation.

The extraction moment: ``extracted_at`` given as a date (a timestamp at midnight) means the *end*
of that day, so requests submitted on the extraction day have non-negative open durations.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analysis.panels.engines import DuckDBEngine, connect, extraction_moment, register_duckdb_source
from analysis.panels.queries import (
    CELL_KEYS,
    REQUIRED_COLUMNS,
    finish_service_panel,
    km_curves_sql,
    service_panel_keys,
    service_panel_sql,
)

__all__ = ["CELL_KEYS", "REQUIRED_COLUMNS", "build_service_panel", "connect", "count_unidentified",
           "extraction_moment", "km_curves"]

#: Kept for callers that register a requests source on their own connection (``analysis.durations``).
_register_source = register_duckdb_source


def km_curves(requests, *, extracted_at, by_units: bool = False, con=None) -> pd.DataFrame:
    """The within-cell Kaplan–Meier curves as computed in SQL (for checks and small data).

    Returns one row per cell × distinct completion duration: the cell keys, ``days``,
    ``n_at_risk``, ``n_completed``, ``survival`` (share still open) and ``survival_naive``
    (completed-only curve).
    """
    with DuckDBEngine(con=con) as engine:
        engine.register(requests)
        curves = engine.fetch(km_curves_sql(extraction_moment(extracted_at), by_units=by_units))
    return curves.sort_values(service_panel_keys(by_units) + ["days"], kind="stable", ignore_index=True)


def build_service_panel(
    requests,
    *,
    extracted_at,
    by_units: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> pd.DataFrame:
    """Pemda × submission month × service type (× units group) panel of completion times.

    Parameters
    ----------
    requests : DataFrame, or Parquet file(s) / glob / directory with the ``service_requests``
        columns (see :mod:`analysis.panels.engines`).
    extracted_at : the extraction date of the data (``Dataset.extracted_at``); open requests are
        censored there.
    by_units : add the ``units`` key (``single``: ``units_involved == 1``; ``cross``: > 1).

    Returns
    -------
    DataFrame sorted by the keys, with columns

    - ``region_code``, ``month`` (``YYYY-MM`` of submission), ``service_type`` [, ``units``]
    - ``n_submitted``: requests submitted in the cell
    - ``n_completed``: of these, completed by the extraction date; ``n_open`` = still open
    - ``median_days``, ``p90_days``: Kaplan–Meier median / 90th percentile of completion days
      (NaN when not identified)
    - ``naive_median_days``, ``naive_p90_days``: the same from completed requests only (biased)
    - ``sla_share``: share completed within ``sla_days`` among requests whose status at the SLA is
      known (completed, or open for at least ``sla_days`` at extraction); ``n_sla_known`` its
      denominator. With censoring at a fixed extraction date this is unbiased for requests whose
      SLA deadline passed before extraction; NaN when none did.
    - ``n_completed_in_month``: completions dated in this calendar month (any submission month)
    - ``backlog_end``: requests submitted up to the end of the month and still open at month end
      (for the extraction month: at extraction)

    The SQL is :func:`analysis.panels.queries.service_panel_sql`; the aggregation stage
    (:func:`analysis.panels.aggregate`) runs the same query once per dataset and stores it.
    """
    with DuckDBEngine(con=con, threads=threads, memory_limit=memory_limit) as engine:
        engine.register(requests)
        panel = engine.fetch(service_panel_sql(extraction_moment(extracted_at), by_units=by_units))
    return finish_service_panel(panel, by_units=by_units)


def count_unidentified(panel: pd.DataFrame) -> pd.DataFrame:
    """Cells whose KM median / p90 is not identified (curve never falls to 0.5 / 0.1), by month.

    Returns DataFrame ``month, n_cells, median_unidentified, p90_unidentified``.
    """
    grouped = panel.groupby("month")
    return pd.DataFrame(
        {
            "n_cells": grouped.size(),
            "median_unidentified": grouped["median_days"].apply(lambda s: int(s.isna().sum())),
            "p90_unidentified": grouped["p90_days"].apply(lambda s: int(s.isna().sum())),
        }
    ).reset_index()
