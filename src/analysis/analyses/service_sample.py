"""The service-time estimation sample: inputs read once per notebook run and the balanced
Pemda × service × month panel the staggered estimators use (window, exclusions, outcome scale).
See :mod:`analysis.analyses.service_time` for the design.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.data import Dataset, load
from analysis.panels.service import build_service_panel
from analysis.panels.treatment import assign_treatment

ANALYSIS_START = "2025-01"
MIN_IDENTIFIED_SHARE = 0.95
OUTCOMES = {
    "median_days": "log_median_days",
    "p90_days": "log_p90_days",
    "sla_share": "sla_pp",
}

#: Pemda (clusters) a treatment cohort needs in the balanced panel to enter the staggered
#: estimation; smaller cohorts are excluded (module doc: their cluster-robust variance is degenerate).
MIN_PEMDA_PER_COHORT = 2


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceInputs:
    """Everything the service-time analysis reads, built once per notebook run."""

    panel: pd.DataFrame          # analysis.panels.service.build_service_panel (by service type)
    panel_units: pd.DataFrame    # the same, split by units group (single/cross)
    treatment: pd.DataFrame      # analysis.panels.treatment.assign_treatment
    regions: pd.DataFrame
    policies: pd.DataFrame
    extracted_at: pd.Timestamp
    requests_source: object = field(repr=False)  # the validated service_requests Parquet (for durations)
    notes: tuple[str, ...] = ()
    dataset: Dataset | None = field(default=None, repr=False)  # keeps requests_source readable


def load_inputs(data_dir, *, trial_handling: str = "exclude") -> ServiceInputs:
    """Load a dataset directory (``analysis.data.load``: validated, cached) and build the panels
    and the treatment table. The panels are built by DuckDB from the validated
    ``service_requests`` Parquet (out of core; ``applicant_nik`` is already hashed there)."""
    dataset = load(data_dir)
    source = str(dataset.table_path("service_requests"))
    notes = []
    if dataset.extracted_at_source == "data":
        notes.append("dataset.json has no extracted_at: the latest timestamp in the data is used")
    extracted_at = dataset.extracted_at
    regions, policies = dataset.regions, dataset.policies
    panel = build_service_panel(source, extracted_at=extracted_at)
    panel_units = build_service_panel(source, extracted_at=extracted_at, by_units=True)
    periods = sorted(panel["month"].unique())
    periods = [p for p in periods if p >= ANALYSIS_START] or periods
    treatment = assign_treatment(policies, regions, periods=periods, trial_handling=trial_handling)
    return ServiceInputs(panel, panel_units, treatment, regions, policies, extracted_at, source, tuple(notes),
                         dataset)


# --------------------------------------------------------------------------------------------
# Estimation panel
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DidPanel:
    """The balanced estimation panel and how it was cut."""

    data: pd.DataFrame           # unit, region_code, service_type, month, cohort, y, n_submitted, ...
    outcome: str                 # column of ``data`` used as the outcome
    window: tuple[str, str]
    n_units_dropped_unbalanced: int
    excluded: pd.DataFrame       # Pemda left out and why (from the treatment table)


def _outcome_columns(panel: pd.DataFrame) -> pd.DataFrame:
    out = panel.copy()
    with np.errstate(divide="ignore"):
        out["log_median_days"] = np.log(out["median_days"].where(out["median_days"] > 0))
        out["log_p90_days"] = np.log(out["p90_days"].where(out["p90_days"] > 0))
        out["log_naive_median_days"] = np.log(out["naive_median_days"].where(out["naive_median_days"] > 0))
    out["sla_pp"] = 100.0 * out["sla_share"]
    return out


def build_did_panel(
    panel: pd.DataFrame,
    treatment: pd.DataFrame,
    *,
    outcome: str = "median_days",
    service_type: str = "all",
    start: str = ANALYSIS_START,
    end: str | None = None,
    unit_keys: tuple[str, ...] = ("region_code", "service_type"),
    naive: bool = False,
    min_cohort_pemda: int = MIN_PEMDA_PER_COHORT,
) -> DidPanel:
    """Balanced unit × month panel for the staggered estimators.

    ``outcome`` is a panel measure (``median_days``, ``p90_days``, ``sla_share``); ``naive=True``
    uses the completed-only median instead (for the bias comparison). ``end`` fixes the last month
    (default: the last month with ≥ ``MIN_IDENTIFIED_SHARE`` of cells identified).
    ``min_cohort_pemda``: treated cohorts with fewer Pemda than this in the balanced panel are
    dropped and listed in ``excluded`` (1 keeps every cohort; see the module doc).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {tuple(OUTCOMES)}, got {outcome!r}")
    y = "log_naive_median_days" if naive else OUTCOMES[outcome]
    df = _outcome_columns(panel)
    if service_type != "all":
        df = df[df["service_type"] == service_type]
        if df.empty:
            raise ValueError(f"no requests of service_type {service_type!r}")
    df = df[df["month"] >= start]
    if end is None:
        ident = df.groupby("month")[OUTCOMES[outcome]].apply(lambda s: s.notna().mean())
        ok = ident[ident >= MIN_IDENTIFIED_SHARE].index
        end = max(ok) if len(ok) else df["month"].max()
    df = df[df["month"] <= end]
    months = sorted(df["month"].unique())
    t = treatment.set_index("region_code")
    in_sample = t["in_staggered_sample"] & (t["cohort"].isna() | (t["cohort"].fillna("") <= end))
    excluded = t.loc[~in_sample, ["cohort", "status", "note"]].reset_index()
    excluded.loc[excluded["status"] == "adopter", "note"] = f"cohort after the window end {end}"
    df = df[df["region_code"].map(in_sample).fillna(False).astype(bool)].copy()
    df["cohort"] = df["region_code"].map(t["cohort"])
    df["unit"] = df[unit_keys[0]].astype(str)
    for key in unit_keys[1:]:
        df["unit"] = df["unit"] + "|" + df[key].astype(str)
    complete = df.dropna(subset=[y]).groupby("unit")["month"].nunique()
    keep = complete.index[complete == len(months)]
    n_units = df["unit"].nunique()
    df = df[df["unit"].isin(keep)].reset_index(drop=True)
    cohort_pemda = df.dropna(subset=["cohort"]).groupby("cohort")["region_code"].nunique()
    small = cohort_pemda.index[cohort_pemda < min_cohort_pemda]
    if len(small):
        dropped = df.loc[df["cohort"].isin(small), ["region_code", "cohort"]].drop_duplicates()
        dropped = dropped.assign(status="adopter", note=[
            f"cohort {c} has {cohort_pemda[c]} Pemda in the panel (< {min_cohort_pemda}): "
            "cluster-robust variance degenerate" for c in dropped["cohort"]])
        excluded = pd.concat([excluded, dropped[["region_code", "cohort", "status", "note"]]], ignore_index=True)
        df = df[~df["cohort"].isin(small)].reset_index(drop=True)
    df["y"] = df[y]
    return DidPanel(df, y, (months[0], months[-1]), int(n_units - len(keep)), excluded)


def did_frame(dp: DidPanel) -> pd.DataFrame:
    d = dp.data[["unit", "region_code", "month", "cohort", "y"]].copy()
    d["cohort"] = d["cohort"].fillna(0)
    d["unit_id"] = pd.factorize(d["unit"], sort=True)[0] + 1
    return d



# --------------------------------------------------------------------------------------------
# Truth (synthetic data only)
# --------------------------------------------------------------------------------------------

def truth_for_cells(cells: pd.DataFrame, truth_cells: pd.DataFrame, *, units: str = "all") -> float:
    """Mean true ``log_effect_median`` over exactly the treated cells an estimate uses.

    ``cells`` has ``unit`` (``region|service_type`` or ``region|service_type|units``) and ``month``.
    A cell with no truth row had no WFA in force in the simulation (e.g. Jawa Barat's bridged
    December 2025) and counts as 0.
    """
    parts = cells["unit"].str.split("|", expand=True)
    key = pd.DataFrame({"region_code": parts[0], "service_type": parts[1], "month": cells["month"].to_numpy()})
    key["units"] = parts[2] if parts.shape[1] > 2 else units
    tc = truth_cells[["region_code", "month", "service_type", "units", "log_effect_median"]]
    merged = key.merge(tc, on=["region_code", "month", "service_type", "units"], how="left")
    return float(merged["log_effect_median"].fillna(0.0).mean())
