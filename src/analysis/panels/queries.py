"""The SQL of the aggregation stage, written once in DuckDB's dialect.

Every query reads a relation named ``src`` with the ``service_requests`` columns (see
:data:`REQUIRED_COLUMNS`) and returns one aggregated table. The DuckDB engine runs the text as it
is; the Spark engine runs it after :func:`analysis.panels.spark.to_spark_sql` (sqlglot plus the
explicit rewrites listed there). Constructs whose meaning differs between the engines are kept to
the few that rewrite handles and its tests check:

- ``quantile_disc(x, [p, ...])``: the ``ceil(n * p)``-th smallest value (exact decimal index in
  DuckDB; an explicit sorted-array lookup in Spark): ``analysis.panels.km``'s quantile convention
  wherever the Kaplan–Meier curve is still the empirical one (see :func:`service_panel_sql`).
- ``epoch_us(ts)``: microseconds since 1970 of a timestamp without time zone (Spark:
  ``unix_micros`` with the session time zone set to UTC).
- ``list[1]``: 1-based in DuckDB; sqlglot shifts the index for Spark.

Durations. ``days = (completed_at or extraction) - submitted_at`` in days, from integer
microseconds (so fractional seconds are kept), floored at 0. Months are ``date_trunc('month', ...)``
timestamps inside the queries (cheap to group and order) and ``YYYY-MM`` text in the output.
Integer results are ``BIGINT`` in both engines (``count``; sums are cast).
"""

from __future__ import annotations

import pandas as pd

from analysis.panels.km import QUANTILE_TOLERANCE

#: Columns of ``service_requests`` the aggregation reads (never ``applicant_nik``).
REQUIRED_COLUMNS = ("region_code", "service_type", "submitted_at", "completed_at", "units_involved", "sla_days")

#: Keys of a service-panel cell (``units`` is added for the panel split by units group).
CELL_KEYS = ("region_code", "month", "service_type")

#: Day-bin edges (days since submission) of the piecewise-constant baseline hazard of
#: ``analysis.durations`` (the person-period table is aggregated over these bins).
DAY_BINS = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 14.0, 21.0, 30.0, 45.0, 60.0, 90.0, 180.0, 1e9)

#: Keys of a person-period row.
PERSON_PERIOD_KEYS = ("region_code", "service_type", "month", "bin")


def _timestamp_literal(moment: pd.Timestamp) -> str:
    return f"TIMESTAMP '{moment.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


#: Microseconds per day (durations are summed as whole microseconds).
US_PER_DAY = 86_400_000_000


def requests_cte(extraction: pd.Timestamp, source: str = "src") -> str:
    """CTE ``req``: one row per request submitted up to the extraction moment.

    Columns: ``region_code``, ``service_type``, ``units`` (``single``/``cross``), ``month_start``
    (submission month, timestamp), ``completed_month_start``, ``done``, ``days`` (duration in days,
    double) and ``us`` (the same in whole microseconds, for exact sums), ``sla_days``.
    """
    ext = _timestamp_literal(extraction)
    return f"""
    req AS (
        SELECT
            CAST(region_code AS VARCHAR) AS region_code,
            CAST(service_type AS VARCHAR) AS service_type,
            CASE WHEN units_involved > 1 THEN 'cross' ELSE 'single' END AS units,
            date_trunc('month', CAST(submitted_at AS TIMESTAMP)) AS month_start,
            date_trunc('month', CAST(completed_at AS TIMESTAMP)) AS completed_month_start,
            completed_at IS NOT NULL AS done,
            greatest(0.0, CAST(epoch_us(coalesce(CAST(completed_at AS TIMESTAMP), {ext}))
                               - epoch_us(CAST(submitted_at AS TIMESTAMP)) AS DOUBLE) / 86400000000.0) AS days,
            greatest(CAST(0 AS BIGINT), epoch_us(coalesce(CAST(completed_at AS TIMESTAMP), {ext}))
                                        - epoch_us(CAST(submitted_at AS TIMESTAMP))) AS us,
            CAST(sla_days AS DOUBLE) AS sla_days
        FROM {source}
        WHERE submitted_at IS NOT NULL AND CAST(submitted_at AS TIMESTAMP) <= {ext}
    )"""


def curve_ctes(keys: str, source: str = "req") -> str:
    """CTEs ``tally`` → ``curve``: the Kaplan–Meier survival after each distinct duration with at
    least one completion, within each cell of ``keys``, censoring-aware (``s``) and completed-only
    (``s_naive``). The product is ``exp(sum(ln(1 - d/n)))`` over a running window, with an explicit
    flag for a factor of zero (``ln(0)``)."""
    return f"""
    tally AS (
        SELECT {keys}, days, count(*) FILTER (WHERE done) AS d, count(*) AS n_here
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


def _keys(by_units: bool, month: str = "month_start") -> list[str]:
    return ["region_code", month, "service_type"] + (["units"] if by_units else [])


def _output_keys(keys: list[str], prefix: str = "") -> str:
    """The key columns as output: ``month_start`` becomes ``month`` text (``YYYY-MM``)."""
    return ", ".join(f"strftime({prefix}{k}, '%Y-%m') AS month" if k == "month_start" else f"{prefix}{k}"
                     for k in keys)


def _on(left: str, right: str, keys: list[str]) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in keys)


def service_panel_sql(extraction: pd.Timestamp, *, by_units: bool = False) -> str:
    """Pemda × submission month × service type (× units group) panel; columns and meaning in
    :func:`analysis.panels.service.build_service_panel` (rows unordered).

    Plan (``benchmarks/README.md`` has where the time went before). One hash aggregation over all
    requests gives the counts, the completed-only quantiles (``q_done``) and, per cell, the
    ``ceil(n p)``-th smallest duration with open requests counted as infinitely long
    (``q_uncensored``), and the first censoring time. Up to the first censoring the Kaplan–Meier
    curve is the empirical one (``S(t) = 1 - completed by t / n``; completions before censorings
    at a tie), so when ``q_uncensored`` is at or before it, it *is* the KM quantile. Only the
    cells where a censoring comes before the quantile (mostly the last months before extraction)
    go through the window-function Kaplan–Meier. Backlog comes from monthly submission and
    completion flows with a running sum.
    """
    keys = _keys(by_units)
    key_list = ", ".join(keys)
    flow_keys = [k for k in keys if k != "month_start"]
    flow_list = ", ".join(flow_keys)
    tol = QUANTILE_TOLERANCE
    fast = "c.first_censored IS NULL OR c.q_uncensored[{i}] <= c.first_censored"
    return f"""
    WITH {requests_cte(extraction)},
    cells AS (
        SELECT {key_list},
            count(*) AS n_submitted,
            count(*) FILTER (WHERE done) AS n_completed,
            count(*) FILTER (WHERE done AND days <= sla_days) AS n_within_sla,
            count(*) FILTER (WHERE done OR days >= sla_days) AS n_sla_known,
            min(days) FILTER (WHERE NOT done) AS first_censored,
            quantile_disc(CASE WHEN done THEN days ELSE CAST('Infinity' AS DOUBLE) END, [0.5, 0.9]) AS q_uncensored,
            quantile_disc(days, [0.5, 0.9]) FILTER (WHERE done) AS q_done
        FROM req GROUP BY {key_list}
    ),
    km_cells AS (
        SELECT {key_list} FROM cells
        WHERE q_uncensored[1] > first_censored OR q_uncensored[2] > first_censored
    ),
    req_km AS (SELECT r.* FROM req r SEMI JOIN km_cells o ON {_on("r", "o", keys)}),
    {curve_ctes(key_list, source="req_km")},
    km AS (
        SELECT {key_list},
            min(days) FILTER (WHERE s <= 0.5 + {tol}) AS median_days,
            min(days) FILTER (WHERE s <= 0.1 + {tol}) AS p90_days
        FROM curve GROUP BY {key_list}
    ),
    completed_flow AS (
        SELECT {flow_list}, completed_month_start AS month_start, count(*) AS n
        FROM req WHERE done GROUP BY {flow_list}, completed_month_start
    ),
    flows AS (
        SELECT {", ".join(f"coalesce(c.{k}, f.{k}) AS {k}" for k in keys)},
            coalesce(c.n_submitted, 0) AS n_sub, coalesce(f.n, 0) AS n_comp
        FROM cells c FULL OUTER JOIN completed_flow f ON {_on("c", "f", keys)}
    ),
    backlog AS (
        SELECT {key_list}, n_comp AS n_completed_in_month,
            sum(n_sub - n_comp) OVER (PARTITION BY {flow_list} ORDER BY month_start
                                      ROWS UNBOUNDED PRECEDING) AS backlog_end
        FROM flows
    )
    SELECT {_output_keys(keys, "c.")},
        c.n_submitted, c.n_completed, c.n_submitted - c.n_completed AS n_open,
        CASE WHEN {fast.format(i=1)} THEN c.q_uncensored[1] ELSE k.median_days END AS median_days,
        CASE WHEN {fast.format(i=2)} THEN c.q_uncensored[2] ELSE k.p90_days END AS p90_days,
        c.q_done[1] AS naive_median_days,
        c.q_done[2] AS naive_p90_days,
        CASE WHEN c.n_sla_known > 0 THEN CAST(c.n_within_sla AS DOUBLE) / c.n_sla_known END AS sla_share,
        c.n_sla_known,
        CAST(b.n_completed_in_month AS BIGINT) AS n_completed_in_month,
        CAST(b.backlog_end AS BIGINT) AS backlog_end
    FROM cells c
    LEFT JOIN km k ON {_on("c", "k", keys)}
    LEFT JOIN backlog b ON {_on("c", "b", keys)}
    """


def km_curves_sql(extraction: pd.Timestamp, *, by_units: bool = False) -> str:
    """Every cell's Kaplan–Meier curve (one row per distinct completion duration)."""
    keys = _keys(by_units)
    key_list = ", ".join(keys)
    return f"""WITH {requests_cte(extraction)}, {curve_ctes(key_list)}
        SELECT {_output_keys(keys)},
            days, n_at_risk, n_completed, s AS survival, s_naive AS survival_naive
        FROM curve"""


def person_periods_sql(extraction: pd.Timestamp, day_bins: tuple[float, ...] = DAY_BINS) -> str:
    """Completions and days at risk by Pemda × service type × submission month × day bin.

    Bins are half-open on the left, ``(lo, hi]`` (bin 0 also holds a zero duration): a request
    is at risk in every bin it reaches and its completion counts in the bin its duration falls in,
    so a completion exactly on an edge (1 day, 2 days, ... as date-only exports give) is counted
    in the bin it ends. The same numbers as joining every request to every bin it reaches
    (``us > lo``, and bin 0 for a zero duration) and summing ``least(us, hi) - lo`` and
    ``done AND us <= hi``, computed without the join: a request's *last* bin ``j`` (the last with
    ``lo < us``) gets ``us - lo_j`` and, if completed, its event; every earlier bin ``b`` gets the
    full width ``hi_b - lo_b``, so a bin's exposure is ``width_b × (requests whose last bin is
    after b) + sum(us - lo_b)``. Durations are summed in whole microseconds (integers), so the
    result does not depend on the order in which an engine adds them; ``exposure_days`` is that
    sum divided once by 86,400,000,000. A cell has a row for each bin up to the largest ``j`` of
    its requests; ``n_requests`` (the requests of the cell) sits in bin 0. The table covers every
    Pemda and month; the WFA flag and the estimation sample are applied when reading (they depend
    on the policy registry).
    """
    # the last edge stands for "no end" (1e9 days): capped at 2^62 us (146,000 years) to stay a BIGINT
    edges_us = [min(round(float(e) * US_PER_DAY), 2**62) for e in day_bins]
    bins_values = ", ".join(
        f"({b}, CAST({lo} AS BIGINT), CAST({hi} AS BIGINT))" for b, (lo, hi) in enumerate(zip(edges_us[:-1], edges_us[1:]))
    )
    last_bin = "CASE " + " ".join(
        f"WHEN us > CAST({lo} AS BIGINT) THEN {b}" for b, lo in reversed(list(enumerate(edges_us[:-1])))
    ) + " ELSE 0 END"
    keys = "region_code, service_type, month_start"
    return f"""
    WITH {requests_cte(extraction)},
    bins AS (SELECT * FROM (VALUES {bins_values}) AS t(bin, lo, hi)),
    last_bins AS (SELECT {keys}, us, done, {last_bin} AS j FROM req),
    by_last_bin AS (
        SELECT {", ".join(f"l.{k.strip()}" for k in keys.split(","))}, l.j,
            count(*) AS n,
            sum(l.us - b.lo) AS partial_us,
            count(*) FILTER (WHERE l.done AND l.us <= b.hi) AS events
        FROM last_bins l JOIN bins b ON b.bin = l.j
        GROUP BY {", ".join(f"l.{k.strip()}" for k in keys.split(","))}, l.j
    ),
    cell_reach AS (
        SELECT {keys}, max(j) AS max_j, sum(n) AS n_cell FROM by_last_bin GROUP BY {keys}
    ),
    grid AS (
        SELECT {", ".join(f"c.{k.strip()}" for k in keys.split(","))}, c.n_cell, b.bin, b.hi - b.lo AS width,
            coalesce(y.n, 0) AS n, coalesce(y.partial_us, 0) AS partial_us, coalesce(y.events, 0) AS events
        FROM cell_reach c
        JOIN bins b ON b.bin <= c.max_j
        LEFT JOIN by_last_bin y ON {" AND ".join(f"y.{k.strip()} = c.{k.strip()}" for k in keys.split(","))} AND y.j = b.bin
    ),
    reached AS (
        SELECT *, coalesce(sum(n) OVER (PARTITION BY {keys} ORDER BY bin DESC
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS n_beyond
        FROM grid
    )
    SELECT region_code, service_type, strftime(month_start, '%Y-%m') AS month, CAST(bin AS BIGINT) AS bin,
        CAST(CAST(width AS DECIMAL(38, 0)) * n_beyond + partial_us AS DOUBLE) / {US_PER_DAY}.0 AS exposure_days,
        CAST(events AS BIGINT) AS events,
        CAST(CASE WHEN bin = 0 THEN n_cell ELSE 0 END AS BIGINT) AS n_requests
    FROM reached
    """


def count_sql() -> str:
    """Rows of ``src`` (the manifest's input row count)."""
    return "SELECT count(*) AS n FROM src"


# --------------------------------------------------------------------------------------------
# Output tables: columns, dtypes and order (the same whichever engine ran the query)
# --------------------------------------------------------------------------------------------

#: Columns of the service panel after the keys, with their pandas dtypes.
SERVICE_PANEL_VALUES = {
    "n_submitted": "int64", "n_completed": "int64", "n_open": "int64",
    "median_days": "float64", "p90_days": "float64", "naive_median_days": "float64", "naive_p90_days": "float64",
    "sla_share": "float64", "n_sla_known": "int64", "n_completed_in_month": "int64", "backlog_end": "int64",
}

#: Columns of the person-period table (``n_requests``: the cell's requests, in bin 0 only).
PERSON_PERIOD_VALUES = {"exposure_days": "float64", "events": "int64", "n_requests": "int64"}


def service_panel_keys(by_units: bool) -> list[str]:
    return list(CELL_KEYS) + (["units"] if by_units else [])


def finish_service_panel(frame: pd.DataFrame, *, by_units: bool) -> pd.DataFrame:
    """Order, type and sort a service panel as :func:`service_panel_sql` returns it."""
    keys = service_panel_keys(by_units)
    return _finish(frame, keys, SERVICE_PANEL_VALUES, fill_zero=("n_completed_in_month", "backlog_end"))


def finish_person_periods(frame: pd.DataFrame) -> pd.DataFrame:
    """Order, type and sort the person-period table as :func:`person_periods_sql` returns it."""
    return _finish(frame, list(PERSON_PERIOD_KEYS), PERSON_PERIOD_VALUES, key_dtypes={"bin": "int64"})


def _finish(frame, keys, values, *, fill_zero=(), key_dtypes=None) -> pd.DataFrame:
    out = frame[keys + list(values)].copy()
    for column in fill_zero:
        out[column] = out[column].fillna(0)
    out = out.astype({key: (key_dtypes or {}).get(key, "str") for key in keys} | values)
    return out.sort_values(keys, kind="stable", ignore_index=True)
