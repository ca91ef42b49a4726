"""An independent reference for the person-period table: the join definition written plainly in
pandas (every request × every bin it reaches), bins ``(lo, hi]`` with a zero duration in bin 0,
durations in whole microseconds (DuckDB's TIMESTAMP resolution, nanoseconds rounded)."""

import numpy as np
import pandas as pd

from analysis.panels.engines import extraction_moment
from analysis.panels.queries import DAY_BINS

US_PER_DAY = 86_400_000_000


def _us(values: pd.Series) -> np.ndarray:
    return ((pd.to_datetime(values).astype("datetime64[ns]").astype("int64") + 500) // 1000).to_numpy()


def reference_person_period_counts(requests: pd.DataFrame, treatment: pd.DataFrame, *, extracted_at,
                                   start: str = "2025-01", end: str | None = None) -> pd.DataFrame:
    ext = extraction_moment(extracted_at)
    req = requests[pd.to_datetime(requests["submitted_at"]) <= ext].copy()
    submitted = _us(req["submitted_at"])
    stop = np.where(req["completed_at"].isna(), _us(pd.Series([ext] * len(req))), _us(req["completed_at"].fillna(ext)))
    req["us"] = np.maximum(stop - submitted, 0)
    req["done"] = req["completed_at"].notna().to_numpy()
    req["month"] = pd.to_datetime(req["submitted_at"]).dt.strftime("%Y-%m")
    sample = treatment.loc[treatment["in_staggered_sample"].astype(bool), ["region_code", "cohort"]]
    req = req.astype({"region_code": str}).merge(sample, on="region_code")
    req = req[(req["month"] >= start) & ((req["month"] <= end) if end else True)]
    rows = []
    edges = [min(round(e * US_PER_DAY), 2**62) for e in DAY_BINS]
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        reach = req[(req["us"] > lo) | ((req["us"] == 0) & (b == 0))]
        rows.append(pd.DataFrame({
            "region_code": reach["region_code"], "service_type": reach["service_type"].astype(str),
            "month": reach["month"], "cohort": reach["cohort"], "bin": b,
            "exposure_us": np.minimum(reach["us"], hi) - lo,
            "events": (reach["done"] & (reach["us"] <= hi)).astype("int64"),
            "n_requests": int(b == 0)}))
    long = pd.concat(rows, ignore_index=True)
    long["wfa"] = (long["cohort"].notna() & (long["month"] >= long["cohort"].fillna(""))).astype("int32")
    out = long.groupby(["region_code", "service_type", "month", "wfa", "bin"], as_index=False).agg(
        exposure_us=("exposure_us", "sum"), events=("events", "sum"), n_requests=("n_requests", "sum"))
    out["exposure_days"] = out.pop("exposure_us").astype("float64") / US_PER_DAY
    out = out[["region_code", "service_type", "month", "wfa", "bin", "exposure_days", "events", "n_requests"]]
    return out.astype({"bin": "int64", "events": "int64", "n_requests": "int64"}).sort_values(
        ["region_code", "service_type", "month", "wfa", "bin"], kind="stable", ignore_index=True)
