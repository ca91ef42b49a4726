"""The outcome pool a pilot is simulated on: observed Pemda × month outcomes without WFA.

:func:`pilot_outcomes` builds it from a loaded dataset for the two headline outcomes:

- ``median_days``: log Kaplan–Meier median completion days of requests submitted in the month
  (:func:`analysis.panels.service.build_service_panel`) for one ``service_type`` (one unit per
  Pemda) or for ``"all"`` (one unit per Pemda and service type, clustered by Pemda, as in the
  service-time headline);
- ``routine_spending``: log real routine spending of the month (``routine_total`` of
  :func:`analysis.panels.budget.spending_panel`, Rupiah of 2025).

The pool holds every Pemda without any WFA policy in the dataset's registry (``policies``), so
no observed month carries a WFA effect, over every month of the window; cells without data stay
``NaN`` (the placebo futures keep that pattern). :meth:`PilotOutcomes.from_long` builds a pool
from any long table (other outcomes, tests).

Each Pemda carries the attributes a pilot can be stratified by: ``province_code``,
``spbe_band`` (:func:`analysis.data.schemas.spbe_band` of ``regions.spbe_index``) and
``tkd_cut_tertile`` (1–3: tertile of the 2026 TKD cut, :func:`analysis.panels.budget.tkd_covariates`),
missing where the dataset lacks the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.schemas import SERVICE_TYPES, spbe_band
from analysis.errors import DataContractError
from analysis.notes import Note
from analysis.panels.budget import ROUTINE_TOTAL, spending_panel, tkd_covariates
from analysis.panels.stage import service_panel_of
from analysis.power.twoway import two_way_residuals

__all__ = ["OUTCOMES", "PilotOutcomes", "pilot_outcomes"]

#: Outcomes :func:`pilot_outcomes` builds, with the direction of the effect a pilot worries
#: about (+1: services slow down; -1: spending falls) used as the default MDE direction.
OUTCOMES = {"median_days": 1, "routine_spending": -1}

#: The window ends at the last month in which at least this share of cells has an identified
#: (Kaplan–Meier) median: later months are mostly requests still open at extraction.
MIN_IDENTIFIED_SHARE = 0.95


@dataclass(frozen=True)
class PilotOutcomes:
    """Observed outcome pool (see the module docstring).

    ``values``: ``n_units x n_months`` outcome on the analysis scale (natural log of
    ``measure``), ``NaN`` = no cell. ``residuals``: ``values`` minus its Pemda and month fixed
    effects (what the placebo futures resample). ``months``: ``YYYY-MM`` of each column.
    ``units``: one row per unit (row of ``values``): ``unit`` (label), ``region_code``,
    ``pemda_index`` (row of ``pemda``). ``pemda``: one row per Pemda: ``region_code``,
    ``pemda_index``, ``n_units``, ``province_code``, ``spbe_band``, ``tkd_cut_tertile``.
    ``excluded``: Pemda left out of the pool, ``region_code, reason`` (codes: ``wfa_policy``,
    ``no_observed_cell``). ``outcome``: name (``median_days``, ``routine_spending`` or a
    caller's); ``measure``: the logged quantity and its unit (e.g. ``median_completion_days``);
    ``service_type``; ``direction``: default sign of the effect of interest; ``notes``.
    """

    outcome: str
    measure: str
    values: np.ndarray = field(repr=False)
    residuals: np.ndarray = field(repr=False)
    months: tuple[str, ...]
    units: pd.DataFrame = field(repr=False)
    pemda: pd.DataFrame = field(repr=False)
    excluded: pd.DataFrame = field(repr=False)
    service_type: str | None = None
    direction: int = 1
    notes: tuple[Note, ...] = ()

    @property
    def n_pemda(self) -> int:
        return len(self.pemda)

    @property
    def n_units(self) -> int:
        return self.values.shape[0]

    @property
    def n_months(self) -> int:
        return self.values.shape[1]

    def calendar_months(self) -> np.ndarray:
        """Calendar month (1–12) of each column."""
        return np.array([int(m[5:7]) for m in self.months])

    def summary(self) -> dict[str, Any]:
        """Facts about the pool: Pemda, units, window, share of cells observed, residual SD
        (log points) and the lag-1 autocorrelation of the residuals within units."""
        resid = self.residuals
        both = np.isfinite(resid[:, 1:]) & np.isfinite(resid[:, :-1])
        lag1 = float(np.corrcoef(resid[:, 1:][both], resid[:, :-1][both])[0, 1]) if both.sum() > 2 else np.nan
        return {
            "outcome": self.outcome, "measure": self.measure, "service_type": self.service_type,
            "n_pemda": self.n_pemda, "n_units": self.n_units, "n_months": self.n_months,
            "first_month": self.months[0], "last_month": self.months[-1],
            "share_cells_observed": float(np.isfinite(self.values).mean()),
            "residual_sd": float(np.nanstd(resid)), "residual_lag1_autocorrelation": lag1,
            "n_excluded": len(self.excluded),
        }

    @classmethod
    def from_long(cls, frame: pd.DataFrame, *, value: str, outcome: str, measure: str,
                  region: str = "region_code", month: str = "month", unit: str | None = None,
                  log: bool = True, attributes: pd.DataFrame | None = None,
                  excluded: pd.DataFrame | None = None, service_type: str | None = None,
                  direction: int = 1, notes: tuple[Note, ...] = ()) -> "PilotOutcomes":
        """Pool from a long table with one row per ``unit`` (default: the Pemda) and ``month``
        (``YYYY-MM``). ``value``: the outcome column, logged when ``log`` (cells <= 0 become
        missing and are counted in a ``power_cells_not_positive`` note). ``attributes``: Pemda
        attributes by ``region_code`` (strata). Every calendar month from the first to the last
        becomes a column. Raises ``DataContractError`` naming the problem (missing column,
        duplicate unit-month, malformed month)."""
        unit = unit or region
        missing = [c for c in dict.fromkeys([region, month, unit, value]) if c not in frame.columns]
        if missing:
            raise DataContractError(f"outcome table: missing column(s) {missing}")
        data = frame[list(dict.fromkeys([region, month, unit, value]))].copy()
        data["_region"] = data[region].astype(str)
        data["_unit"] = data[unit].astype(str)
        data["_month"] = data[month].astype(str)
        bad = ~data["_month"].str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])")
        if bad.any():
            row = data.index[bad][0]
            raise DataContractError(f"outcome table row {row}: column {month!r} must be YYYY-MM, "
                                    f"got {data.at[row, '_month']!r}")
        dup = data.duplicated(["_unit", "_month"], keep=False)
        if dup.any():
            row = data.index[dup][0]
            raise DataContractError(f"outcome table row {row}: unit {data.at[row, '_unit']!r} has "
                                    f"more than one row for month {data.at[row, '_month']}")
        if data.groupby("_unit")["_region"].nunique().gt(1).any():
            raise DataContractError(f"outcome table: a unit ({unit!r}) lies in more than one "
                                    f"Pemda ({region!r})")
        raw = pd.to_numeric(data[value], errors="coerce").astype(float)
        notes = list(notes)
        if log:
            not_positive = int((raw <= 0).sum())
            if not_positive:
                notes.append(Note("power_cells_not_positive", {"n_cells": not_positive, "outcome": outcome}))
            with np.errstate(divide="ignore", invalid="ignore"):
                raw = np.log(raw.where(raw > 0))
        data["_y"] = raw
        periods = pd.PeriodIndex(data["_month"], freq="M")
        months = pd.period_range(periods.min(), periods.max(), freq="M").strftime("%Y-%m")
        observed = data[np.isfinite(data["_y"])]
        empty = sorted(set(data["_region"]) - set(observed["_region"]))
        excluded_rows = [] if excluded is None else [excluded[["region_code", "reason"]]]
        excluded_rows.append(pd.DataFrame({"region_code": empty, "reason": "no_observed_cell"}))
        wide = observed.pivot(index="_unit", columns="_month", values="_y").reindex(columns=months)
        unit_region = observed.drop_duplicates("_unit").set_index("_unit")["_region"].reindex(wide.index)
        regions = sorted(unit_region.unique())
        pemda = pd.DataFrame({"region_code": regions, "pemda_index": np.arange(len(regions))})
        pemda["n_units"] = pemda["region_code"].map(unit_region.value_counts()).astype(int)
        attributes = pd.DataFrame({"region_code": []}) if attributes is None else attributes
        attrs = attributes.assign(region_code=attributes["region_code"].astype(str)).set_index("region_code")
        for column in ("province_code", "spbe_band", "tkd_cut_tertile"):
            pemda[column] = pemda["region_code"].map(attrs[column]) if column in attrs else pd.NA
        units = pd.DataFrame({"unit": wide.index.to_numpy(), "region_code": unit_region.to_numpy()})
        units["pemda_index"] = units["region_code"].map(pemda.set_index("region_code")["pemda_index"])
        values = wide.to_numpy(dtype=float)
        return cls(outcome=outcome, measure=measure, values=values,
                   residuals=two_way_residuals(values), months=tuple(months), units=units,
                   pemda=pemda, excluded=pd.concat(excluded_rows, ignore_index=True),
                   service_type=service_type, direction=direction, notes=tuple(notes))


def _pemda_attributes(dataset) -> pd.DataFrame:
    regions = dataset.regions.assign(region_code=dataset.regions["region_code"].astype(str))
    out = pd.DataFrame({"region_code": regions["region_code"],
                        "province_code": regions["province_code"].astype(str)})
    if "spbe_index" in regions:
        out["spbe_band"] = spbe_band(regions["spbe_index"]).astype("string").to_numpy()
    if getattr(dataset, "transfers", None) is not None:
        try:
            cut = tkd_covariates(dataset.transfers, dataset.regions)
        except DataContractError:
            cut = None
        if cut is not None and len(cut) >= 3:
            tertile = pd.qcut(cut["tkd_cut_share"].rank(method="first"), 3, labels=[1, 2, 3]).astype(int)
            out = out.merge(pd.DataFrame({"region_code": cut["region_code"], "tkd_cut_tertile": tertile}),
                            on="region_code", how="left")
    return out


def _has_requests(dataset) -> bool:
    if hasattr(dataset, "tables"):
        return "service_requests" in dataset.tables
    return dataset.service_requests is not None


def _service_long(dataset, service_type: str, start: str | None, end: str | None):
    if not _has_requests(dataset):
        raise DataContractError("the dataset has no service_requests table: outcome 'median_days' "
                                "needs it")
    if dataset.extracted_at is None:
        raise DataContractError("the dataset has no extraction date (dataset.json 'extracted_at'): "
                                "open requests cannot be censored")
    if service_type != "all" and service_type not in SERVICE_TYPES:
        raise ValueError(f"service_type must be 'all' or one of {tuple(SERVICE_TYPES)}, got {service_type!r}")
    panel = service_panel_of(dataset)  # the aggregation stage (never the request table in pandas)
    if service_type != "all":
        panel = panel[panel["service_type"] == service_type]
    if start is not None:
        panel = panel[panel["month"] >= start]
    notes = []
    if end is None:
        identified = panel.groupby("month")["median_days"].apply(lambda s: s.notna().mean())
        good = identified.index[identified >= MIN_IDENTIFIED_SHARE]
        end = max(good) if len(good) else panel["month"].max()
        if end < panel["month"].max():
            notes.append(Note("power_window_end_censoring", {
                "end": end, "last_month": panel["month"].max(),
                "min_identified_share": MIN_IDENTIFIED_SHARE}))
    panel = panel[panel["month"] <= end].copy()
    panel["unit"] = panel["region_code"].astype(str) + "|" + panel["service_type"].astype(str)
    return panel, "median_days", "unit", "median_completion_days", notes


def _spending_long(dataset, start: str | None, end: str | None):
    if dataset.budget is None:
        raise DataContractError("the dataset has no budget table: outcome 'routine_spending' needs it")
    panel = spending_panel(dataset.budget, frequency="month", first_month=start)
    panel = panel[panel["category"] == ROUTINE_TOTAL].rename(columns={"period": "month"})
    if end is not None:
        panel = panel[panel["month"] <= end]
    return panel, "realized_real_idr", "region_code", "routine_spending_real_idr_2025", []


def pilot_outcomes(dataset, outcome: str = "median_days", *, service_type: str = "perizinan",
                   start: str | None = None, end: str | None = None) -> PilotOutcomes:
    """The outcome pool of ``dataset`` (an :class:`analysis.data.Dataset`) for ``outcome``.

    ``service_type`` (``median_days`` only): one of ``analysis.data.schemas.SERVICE_TYPES`` or
    ``"all"``. ``start`` / ``end`` (``YYYY-MM``): window; by default every month with data, and
    for ``median_days`` up to the last month in which at least :data:`MIN_IDENTIFIED_SHARE` of
    cells have an identified median (a ``power_window_end_censoring`` note says so).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {tuple(OUTCOMES)}, got {outcome!r}")
    if outcome == "median_days":
        panel, value, unit, measure, notes = _service_long(dataset, service_type, start, end)
    else:
        panel, value, unit, measure, notes = _spending_long(dataset, start, end)
        service_type = None
    adopters = set() if dataset.policies is None else set(dataset.policies["region_code"].astype(str))
    panel = panel.assign(region_code=panel["region_code"].astype(str))
    in_registry = panel["region_code"].isin(adopters)
    excluded = pd.DataFrame({"region_code": sorted(set(panel.loc[in_registry, "region_code"])),
                             "reason": "wfa_policy"})
    if len(excluded):
        notes.append(Note("power_pool_adopters_excluded", {"n_pemda": len(excluded)}))
    return PilotOutcomes.from_long(
        panel[~in_registry], value=value, outcome=outcome, measure=measure, unit=unit,
        attributes=_pemda_attributes(dataset), excluded=excluded, service_type=service_type,
        direction=OUTCOMES[outcome], notes=tuple(notes))
