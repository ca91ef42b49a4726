"""The data as it is: computations behind notebook ``00_data_overview``.

Every function takes loaded tables (``analysis.data.Dataset`` members) and returns a DataFrame
with documented columns; nothing here plots or prints.
"""

from __future__ import annotations

import pandas as pd

from analysis.data.names import pemda_names
from analysis.data.parsing import sql_literal
from analysis.data.schemas import PLACEBO_CATEGORIES, ROUTINE_CATEGORIES


#: ``instrument`` of an adoption the simulator made (``source == "simulated"``): a code the page
#: words from the catalogue (``label.instrument.simulated_adoption``), not the simulator's text
SIMULATED_INSTRUMENT = "simulated_adoption"


def adoption_timeline(policies: pd.DataFrame, regions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per adoption, by start date: ``name, region_code, start_date, end_date,
    wfa_days_per_week, is_trial, instrument``. Names follow the one Pemda-name rule
    (:func:`analysis.data.names.pemda_names`: "Provinsi Bengkulu", not "Bengkulu", which is also
    a kota) when ``regions`` has names and levels, else ``policies.name``; the instrument of a simulated adoption is :data:`SIMULATED_INSTRUMENT`, any other is the
    registry's own text (the name of a legal instrument)."""
    frame = policies.copy()
    if "source" in frame and "instrument" in frame:
        simulated = frame["source"].astype("string").str.strip().str.lower().eq("simulated").fillna(False)
        frame["instrument"] = frame["instrument"].astype(object).where(~simulated.to_numpy(), SIMULATED_INSTRUMENT)
    if regions is not None and {"name", "level"} <= set(regions.columns):
        official = frame["region_code"].astype(str).map(pemda_names(regions))
        frame["name"] = official.fillna(frame["name"]) if "name" in frame else official
    if "name" not in frame:
        frame["name"] = frame["region_code"]
    columns = ["name", "region_code", "start_date", "end_date", "wfa_days_per_week", "is_trial", "instrument"]
    frame = frame[[c for c in columns if c in frame]]
    return frame.sort_values(["start_date", "region_code"], kind="stable").reset_index(drop=True)


def adopter_codes(policies: pd.DataFrame) -> list[str]:
    """Region codes with at least one adoption (sorted, unique)."""
    return sorted(set(policies["region_code"].dropna().astype(str)))


def validation_summary(validation) -> pd.DataFrame:
    """Rows read / accepted / rejected per table: ``table, file, rows_read, rows_accepted,
    rows_rejected, share_rejected`` (plus tables that could not be read, with zero rows)."""
    frame = validation.to_frame()
    for table, message in getattr(validation, "errors", {}).items():
        frame.loc[len(frame)] = [table, message, 0, 0, 0]
    frame["share_rejected"] = (frame["rows_rejected"] / frame["rows_read"].where(frame["rows_read"] > 0)).fillna(0.0)
    return frame.reset_index(drop=True)


def rejection_reasons(validation) -> pd.DataFrame:
    """Why rows were rejected: ``table, column, reason, rows`` (``reason`` a rule code such as
    ``duplicate_key``; largest first; empty if nothing was)."""
    rows = []
    for table, report in validation.tables.items():
        for key, count in report.rejected_by_reason.items():
            column, _, reason = key.rpartition(": ")  # "request_id: duplicate_key"
            rows.append((table, column, reason, count))
    frame = pd.DataFrame(rows, columns=["table", "column", "reason", "rows"])
    return frame.sort_values(["rows", "table", "column", "reason"], ascending=[False, True, True, True],
                             kind="stable").reset_index(drop=True)


def coverage(dataset) -> pd.DataFrame:
    """What each table covers: ``table, rows, pemda, first_period, last_period``."""
    specs = {
        "regions": (None,),
        "policies": ("start_date",),
        "service_requests": ("submitted_at",),
        "budget": ("period",),
        "transfers": ("period",),
    }
    rows = []
    for table, (time_column,) in specs.items():
        if table in _SCANNED and _parquet(dataset, table) is not None:  # never the whole table in pandas
            rows.append(_scanned_coverage(_parquet(dataset, table), table, time_column))
            continue
        frame = getattr(dataset, table, None)
        if frame is None:
            rows.append((table, 0, 0, None, None))
            continue
        first = last = None
        if time_column and time_column in frame and len(frame):
            values = frame[time_column].dropna()
            if len(values):
                as_period = values.astype(str).str.slice(0, 7)
                first, last = as_period.min(), as_period.max()
        rows.append((table, len(frame), frame["region_code"].nunique(), first, last))
    return pd.DataFrame(rows, columns=["table", "rows", "pemda", "first_period", "last_period"])


#: Tables the overview reads with DuckDB from their validated Parquet (tens of millions of rows
#: at national size) instead of as pandas frames.
_SCANNED = ("service_requests",)


def _parquet(dataset, table: str):
    try:
        return dataset.table_path(table)
    except Exception:  # noqa: BLE001 - no such table, or not a loaded Dataset
        return None


def _scanned_coverage(path, table: str, time_column: str | None) -> tuple:
    from analysis.data.connection import connection

    source = f"read_parquet({sql_literal(str(path))})"
    period = f"strftime(min({time_column}), '%Y-%m'), strftime(max({time_column}), '%Y-%m')" if time_column else "NULL, NULL"
    with connection() as con:
        n, pemda, first, last = con.execute(
            f"SELECT count(*), count(DISTINCT region_code), {period} FROM {source}").fetchone()
    return (table, int(n), int(pemda), first, last)


def service_volumes(service_requests) -> pd.DataFrame:
    """Requests per service type and year: ``service_type, year, n_requests, share_online,
    share_open, median_days`` (median over completed requests). ``service_requests``: the frame,
    or a loaded :class:`~analysis.data.Dataset`, whose validated Parquet is then aggregated by
    DuckDB (bounded memory; the same counts, shares and medians up to the last floating-point
    digit: DuckDB sums in another order than pandas)."""
    path = _parquet(service_requests, "service_requests") if hasattr(service_requests, "table_path") else None
    if path is not None:
        return _scanned_volumes(path)
    if hasattr(service_requests, "table_path"):
        service_requests = service_requests.service_requests
    frame = service_requests
    days = (frame["completed_at"] - frame["submitted_at"]).dt.total_seconds() / 86400
    grouped = pd.DataFrame(
        {
            "service_type": frame["service_type"].astype(str),
            "year": frame["submitted_at"].dt.year.astype(int),
            "online": (frame["channel"] == "online").astype(float),
            "open": frame["completed_at"].isna().astype(float),
            "days": days,
        }
    ).groupby(["service_type", "year"], sort=True)
    result = grouped.agg(
        n_requests=("online", "size"),
        share_online=("online", "mean"),
        share_open=("open", "mean"),
        median_days=("days", "median"),
    ).reset_index()
    return result


def _scanned_volumes(path) -> pd.DataFrame:
    from analysis.data.connection import connection, fetch_frame

    source = f"read_parquet({sql_literal(str(path))})"
    sql = f"""
        SELECT CAST(service_type AS VARCHAR) AS service_type, CAST(year(submitted_at) AS BIGINT) AS year,
               count(*) AS n_requests,
               avg(CASE WHEN channel = 'online' THEN 1.0 ELSE 0.0 END) AS share_online,
               avg(CASE WHEN completed_at IS NULL THEN 1.0 ELSE 0.0 END) AS share_open,
               median(CAST(epoch_us(completed_at) - epoch_us(submitted_at) AS DOUBLE) / 1e6 / 86400) AS median_days
        FROM {source}
        WHERE submitted_at IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2"""
    with connection() as con:
        frame = fetch_frame(con, sql)
    return frame.astype({"year": int, "n_requests": "int64"}).reset_index(drop=True)


def months_per_year(service_requests) -> dict[int, int]:
    """Calendar months with at least one request, per year of submission (``{2025: 12, 2026: 9}``):
    the volumes chart marks a partial year with it. ``service_requests``: the frame, or a loaded
    :class:`~analysis.data.Dataset` (its validated Parquet is scanned by DuckDB, never read whole)."""
    path = _parquet(service_requests, "service_requests") if hasattr(service_requests, "table_path") else None
    if path is not None:
        from analysis.data.connection import connection

        source = f"read_parquet({sql_literal(str(path))})"
        with connection() as con:
            rows = con.execute(f"SELECT year(submitted_at), count(DISTINCT month(submitted_at)) FROM {source} "
                               "WHERE submitted_at IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall()
        return {int(year): int(months) for year, months in rows}
    if hasattr(service_requests, "table_path"):
        service_requests = service_requests.service_requests
    submitted = service_requests["submitted_at"].dropna()
    months = submitted.dt.to_period("M").groupby(submitted.dt.year).nunique()
    return {int(year): int(count) for year, count in months.items()}


def n_rows(dataset, table: str) -> int | None:
    """Accepted rows of ``table`` (from the Parquet footer when the dataset has one)."""
    path = _parquet(dataset, table)
    if path is not None:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    frame = getattr(dataset, table, None)
    return None if frame is None else len(frame)


def budget_composition(budget: pd.DataFrame) -> pd.DataFrame:
    """Realised spending by category: ``category, group`` (routine / placebo / other),
    ``realized_idr, share`` (of all realised spending in the table), largest first."""
    totals = budget.groupby("category", sort=True)["realized_idr"].sum().rename("realized_idr").reset_index()
    totals["group"] = totals["category"].map(
        lambda c: "routine" if c in ROUTINE_CATEGORIES else "placebo" if c in PLACEBO_CATEGORIES else "other"
    )
    grand_total = totals["realized_idr"].sum()
    totals["share"] = totals["realized_idr"] / grand_total if grand_total else 0.0
    totals = totals.sort_values(["realized_idr", "category"], ascending=[False, True], kind="stable")
    return totals[["category", "group", "realized_idr", "share"]].reset_index(drop=True)


def overview_results(dataset) -> list:
    """Headline counts for ``results.json`` (``analysis.report.results_file.ResultEntry`` list)."""
    from analysis.report.results_file import ResultEntry

    entries = []
    if dataset.policies is not None:
        entries.append(ResultEntry("n_adopters", float(len(adopter_codes(dataset.policies))), unit="Pemda",
                                   label="Pemda with a WFA adoption"))
    requests = n_rows(dataset, "service_requests")
    if requests is not None:
        entries.append(ResultEntry("n_service_requests", float(requests), unit="requests",
                                   label="Service requests accepted"))
    if dataset.budget is not None:
        entries.append(ResultEntry("realized_idr_total", float(dataset.budget["realized_idr"].sum()), unit="IDR",
                                   label="Realised spending in the budget table"))
    summary = validation_summary(dataset.validation)
    entries.append(ResultEntry("rows_rejected", float(summary["rows_rejected"].sum()), unit="rows",
                               label="Rows rejected by validation"))
    return entries
