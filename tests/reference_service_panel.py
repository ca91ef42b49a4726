"""The service panel as ``analysis.panels.service.build_service_panel`` computed it before the
aggregation stage (main at 854ef1b): list-sort quantiles, window Kaplan–Meier for open cells,
``strftime`` months, ``epoch`` seconds. Kept verbatim as the regression oracle of the faster SQL
(tests/test_panels_aggregate.py); not used by the package.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analysis.panels.km import QUANTILE_TOLERANCE
from analysis.panels.service import CELL_KEYS, connect, extraction_moment
from analysis.panels.service import _register_source


def _requests_cte(extraction: pd.Timestamp) -> str:
    ext = extraction.strftime("%Y-%m-%d %H:%M:%S")
    return f"""
    req AS (
        SELECT
            CAST(region_code AS VARCHAR) AS region_code,
            strftime(CAST(submitted_at AS TIMESTAMP), '%Y-%m') AS month,
            CAST(service_type AS VARCHAR) AS service_type,
            CASE WHEN units_involved > 1 THEN 'cross' ELSE 'single' END AS units,
            completed_at IS NOT NULL AS done,
            greatest(0.0, (epoch(coalesce(CAST(completed_at AS TIMESTAMP), TIMESTAMP '{ext}'))
                           - epoch(CAST(submitted_at AS TIMESTAMP))) / 86400.0) AS days,
            CAST(sla_days AS DOUBLE) AS sla_days,
            strftime(CAST(completed_at AS TIMESTAMP), '%Y-%m') AS completed_month
        FROM src
        WHERE submitted_at IS NOT NULL AND CAST(submitted_at AS TIMESTAMP) <= TIMESTAMP '{ext}'
    )"""


def _curve_ctes(keys: str, source: str = "req") -> str:
    """CTEs ``tally`` → ``curve``: KM survival after each distinct duration within each cell,
    both censoring-aware (``s``) and completed-only (``s_naive``)."""
    return f"""
    tally AS (
        SELECT {keys}, days, sum(CAST(done AS BIGINT)) AS d, count(*) AS n_here
        FROM {source} GROUP BY {keys}, days
    ),
    risk AS (
        SELECT *,
            sum(n_here) OVER (PARTITION BY {keys} ORDER BY days DESC ROWS UNBOUNDED PRECEDING) AS n_risk,
            sum(d) OVER (PARTITION BY {keys} ORDER BY days DESC ROWS UNBOUNDED PRECEDING) AS n_risk_naive
        FROM tally
    ),
    steps AS (
        SELECT {keys}, days, d, n_risk, n_risk_naive,
            sum(CASE WHEN d < n_risk THEN ln(1.0 - CAST(d AS DOUBLE) / n_risk) ELSE 0.0 END) OVER w AS log_s,
            max(CASE WHEN d = n_risk THEN 1 ELSE 0 END) OVER w AS s_zero,
            sum(CASE WHEN d < n_risk_naive THEN ln(1.0 - CAST(d AS DOUBLE) / n_risk_naive) ELSE 0.0 END) OVER w AS log_s_naive,
            max(CASE WHEN d = n_risk_naive THEN 1 ELSE 0 END) OVER w AS s_naive_zero
        FROM risk
        WHERE d > 0
        WINDOW w AS (PARTITION BY {keys} ORDER BY days ROWS UNBOUNDED PRECEDING)
    ),
    curve AS (
        SELECT {keys}, days, d AS n_completed, n_risk AS n_at_risk,
            CASE WHEN s_zero = 1 THEN 0.0 ELSE exp(log_s) END AS s,
            CASE WHEN s_naive_zero = 1 THEN 0.0 ELSE exp(log_s_naive) END AS s_naive
        FROM steps
    )"""


def reference_service_panel(
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
    requests : DataFrame or path to a parquet file (or glob) with the ``service_requests`` columns.
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
    """
    own = con is None
    con = con or connect(threads=threads, memory_limit=memory_limit)
    try:
        _register_source(con, requests)
        key_list = CELL_KEYS + (("units",) if by_units else ())
        keys = ", ".join(key_list)
        flow_keys = ", ".join(k for k in key_list if k != "month")
        join_on = " AND ".join(f"c.{k} = q.{k}" for k in key_list)
        join_flow = " AND ".join(f"c.{k} = b.{k}" for k in key_list)
        tol = QUANTILE_TOLERANCE
        cell_match = " AND ".join(f"r.{k} = o.{k}" for k in key_list)
        # Cells without open requests: the KM curve is the empirical distribution, and the
        # p-quantile is the ceil(n*p)-th smallest duration (a list aggregate, no window).
        # Cells with open requests (few, mostly recent months): KM via window functions.
        sql = f"""
        WITH {_requests_cte(extraction_moment(extracted_at))},
        sorted_days AS (
            SELECT {keys}, count(*) AS n, sum(CAST(done AS BIGINT)) AS n_done,
                list_sort(list(days)) AS all_days,
                list_sort(list(days) FILTER (WHERE done)) AS done_days
            FROM req GROUP BY {keys}
        ),
        empirical AS (
            SELECT {keys},
                CASE WHEN n_done = n THEN all_days[CAST(ceil(n * 0.5 - {tol}) AS BIGINT)] END AS median_days,
                CASE WHEN n_done = n THEN all_days[CAST(ceil(n * 0.9 - {tol}) AS BIGINT)] END AS p90_days,
                CASE WHEN n_done > 0 THEN done_days[CAST(ceil(n_done * 0.5 - {tol}) AS BIGINT)] END AS naive_median_days,
                CASE WHEN n_done > 0 THEN done_days[CAST(ceil(n_done * 0.9 - {tol}) AS BIGINT)] END AS naive_p90_days,
                n_done < n AS has_open
            FROM sorted_days
        ),
        open_cells AS (SELECT {keys} FROM empirical WHERE has_open),
        req_open AS (SELECT r.* FROM req r SEMI JOIN open_cells o ON {cell_match}),
        {_curve_ctes(keys, source="req_open")},
        km AS (
            SELECT {keys},
                min(days) FILTER (WHERE s <= 0.5 + {tol}) AS median_days,
                min(days) FILTER (WHERE s <= 0.1 + {tol}) AS p90_days
            FROM curve GROUP BY {keys}
        ),
        quantiles AS (
            SELECT {", ".join(f"e.{k}" for k in key_list)},
                CASE WHEN e.has_open THEN k.median_days ELSE e.median_days END AS median_days,
                CASE WHEN e.has_open THEN k.p90_days ELSE e.p90_days END AS p90_days,
                e.naive_median_days, e.naive_p90_days
            FROM empirical e LEFT JOIN km k ON {" AND ".join(f"e.{k} = k.{k}" for k in key_list)}
        ),
        counts AS (
            SELECT {keys},
                count(*) AS n_submitted,
                sum(CAST(done AS BIGINT)) AS n_completed,
                sum(CAST(done AND days <= sla_days AS BIGINT)) AS n_within_sla,
                sum(CAST(done OR days >= sla_days AS BIGINT)) AS n_sla_known
            FROM req GROUP BY {keys}
        ),
        submitted_flow AS (
            SELECT {keys}, count(*) AS n FROM req GROUP BY {keys}
        ),
        completed_flow AS (
            SELECT {flow_keys}, completed_month AS month, count(*) AS n
            FROM req WHERE done GROUP BY {flow_keys}, completed_month
        ),
        flows AS (
            SELECT {", ".join(f"coalesce(s.{k}, f.{k}) AS {k}" for k in key_list)},
                coalesce(s.n, 0) AS n_sub, coalesce(f.n, 0) AS n_comp
            FROM submitted_flow s FULL OUTER JOIN completed_flow f
              ON {" AND ".join(f"s.{k} = f.{k}" for k in key_list)}
        ),
        backlog AS (
            SELECT {keys}, n_comp AS n_completed_in_month,
                sum(n_sub - n_comp) OVER (PARTITION BY {flow_keys} ORDER BY month
                                          ROWS UNBOUNDED PRECEDING) AS backlog_end
            FROM flows
        )
        SELECT {", ".join(f"c.{k}" for k in key_list)},
            c.n_submitted, c.n_completed, c.n_submitted - c.n_completed AS n_open,
            q.median_days, q.p90_days, q.naive_median_days, q.naive_p90_days,
            CASE WHEN c.n_sla_known > 0 THEN CAST(c.n_within_sla AS DOUBLE) / c.n_sla_known END AS sla_share,
            c.n_sla_known,
            b.n_completed_in_month, b.backlog_end
        FROM counts c
        LEFT JOIN quantiles q ON {join_on}
        LEFT JOIN backlog b ON {join_flow}
        ORDER BY {", ".join(f"c.{k}" for k in key_list)}
        """
        panel = con.execute(sql).df()
    finally:
        if own:
            con.close()
    for col in ("n_submitted", "n_completed", "n_open", "n_sla_known", "n_completed_in_month", "backlog_end"):
        panel[col] = panel[col].fillna(0).astype("int64")
    for col in ("median_days", "p90_days", "naive_median_days", "naive_p90_days", "sla_share"):
        panel[col] = panel[col].astype("float64")
    return panel
