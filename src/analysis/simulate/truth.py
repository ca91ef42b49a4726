"""The true effects, aggregated from the per-cell truth into ``truth.json``.

Every ``att_log_*`` value is the unweighted mean, over treated cells with WFA in force, of the
cell's true log effect (docs/interfaces.md §3):

* service time: a cell is Pemda x submission month x service type; its effect is
  log(median actual days) - log(median days without WFA) over all its requests (``units == "all"``
  rows of ``truth_service_cells.parquet``). The ``units`` split uses the ``single``/``cross`` rows.
  ``att_log_median_days_request_weighted`` weights the same cells by their number of requests.
  These cover every treated cell of the simulation; an estimate averages a subset (its window,
  its sample of Pemda, the cells whose outcome is identified): :func:`service_estimand_truth` is
  the truth of exactly that estimand.
* budget: a cell is Pemda x month x category with
  log(realized / counterfactual); the routine total is log(sum realized / sum counterfactual)
  over the six routine categories per Pemda x month; savings are summed in Rupiah.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.adoption import Schedule
from analysis.simulate.budget import routine_total_log_effect
from analysis.simulate.calibration import (
    BUDGET_CATEGORIES,
    ROUTINE_CATEGORIES,
    SERVICE_TYPES,
    SPBE_BANDS,
    Calibration,
)
from analysis.simulate.regions import spbe_band


def _mean(values: pd.Series) -> float | None:
    return float(np.mean(values.to_numpy(dtype="float64"))) if len(values) else None


def _group_means(values: pd.Series, groups: pd.Series, order: list[str]) -> dict:
    return {g: _mean(values[groups == g]) for g in order if (groups == g).any()}


def cell_attributes(cells: pd.DataFrame, period_column: str, regions: pd.DataFrame,
                    schedule: Schedule) -> pd.DataFrame:
    """``spbe_band``, ``ekinerja`` ("true"/"false") and ``wfa_days`` ("1"/"2"/"3") of each cell."""
    attributes = regions.set_index("region_code")
    band = pd.Series(spbe_band(attributes["spbe_index"]), index=attributes.index)
    ekinerja = attributes["ekinerja_daily"].map({True: "true", False: "false"})
    row_of = {code: i for i, code in enumerate(schedule.region_codes)}
    month_of = {m: i for i, m in enumerate(schedule.months)}
    r = cells["region_code"].map(row_of).to_numpy()
    m = cells[period_column].map(month_of).to_numpy()
    return pd.DataFrame({
        "spbe_band": band.loc[cells["region_code"]].to_numpy(),
        "ekinerja": ekinerja.loc[cells["region_code"]].to_numpy(),
        "wfa_days": schedule.wfa_days[r, m].astype(str),
    }, index=cells.index)


#: Keys of a service truth cell.
SERVICE_CELL_KEYS = ("region_code", "month", "service_type", "units")


def service_estimand_truth(cells: pd.DataFrame, truth_cells: pd.DataFrame, *, weights: str | None = None) -> float:
    """The true value of a service-time estimand: the mean of the true ``log_effect_median`` over
    exactly the treated cells an estimate averages, weighted like the estimate.

    ``cells``: one row per treated cell used, with ``region_code``, ``month`` (``YYYY-MM``),
    ``service_type`` and optionally ``units`` (``single``/``cross``; default ``all``), plus the
    ``weights`` column when given (e.g. the cell's number of requests for a request-weighted
    estimand; ``None`` = every cell equally). ``truth_cells``: ``truth_service_cells.parquet``.
    A cell without a truth row had no WFA in force in the simulation (e.g. a month bridged by the
    treatment rules) and counts as a true effect of 0.
    """
    if len(cells) == 0:
        raise ValueError("no cells: the estimand is empty")
    key = cells.loc[:, ["region_code", "month", "service_type"]].astype(str).reset_index(drop=True)
    key["units"] = cells["units"].astype(str).to_numpy() if "units" in cells.columns else "all"
    truth = truth_cells.loc[:, [*SERVICE_CELL_KEYS, "log_effect_median"]]
    effect = key.merge(truth, on=list(SERVICE_CELL_KEYS), how="left", validate="many_to_one")["log_effect_median"]
    values = effect.fillna(0.0).to_numpy(dtype="float64")
    if weights is None:
        return float(values.mean())
    w = cells[weights].to_numpy(dtype="float64")
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
        raise ValueError(f"weights column {weights!r} must be finite, non-negative and not all zero")
    return float(np.average(values, weights=w))


def service_truth(cells: pd.DataFrame, regions: pd.DataFrame, schedule: Schedule) -> dict:
    all_rows = cells[cells["units"] == "all"]
    attrs = cell_attributes(all_rows, "month", regions, schedule)
    effect = all_rows["log_effect_median"]
    unit_rows = cells[cells["units"] != "all"]
    return {
        "att_log_median_days": _mean(effect),
        "att_log_median_days_request_weighted": (
            float(np.average(effect, weights=all_rows["n_requests"])) if len(all_rows) else None),
        "by_service_type": _group_means(effect, all_rows["service_type"], list(SERVICE_TYPES)),
        "by_group": {
            "spbe_band": _group_means(effect, attrs["spbe_band"], [b for b, _ in SPBE_BANDS]),
            "ekinerja": _group_means(effect, attrs["ekinerja"], ["true", "false"]),
            "units": _group_means(unit_rows["log_effect_median"], unit_rows["units"],
                                  ["single", "cross"]),
            "wfa_days": _group_means(effect, attrs["wfa_days"], ["1", "2", "3"]),
        },
        "n_cells": int(len(all_rows)),
        "n_requests_treated": int(all_rows["n_requests"].sum()),
        "definition": ("mean over treated Pemda x submission month x service_type cells (WFA in "
                       "force) of log(median actual days) - log(median days without WFA); "
                       "'units' split uses the single/cross cells; censoring ignored; "
                       "*_request_weighted: the same cells weighted by their number of requests"),
    }


def budget_truth(cells: pd.DataFrame, regions: pd.DataFrame, schedule: Schedule,
                 cut_share: pd.Series, cal: Calibration) -> dict:
    routine = routine_total_log_effect(cells)
    attrs = cell_attributes(routine, "period", regions, schedule)
    by_category = {k: _mean(cells.loc[cells["category"] == k, "log_effect"])
                   for k in BUDGET_CATEGORIES}
    routine_cells = cells[cells["category"].isin(ROUTINE_CATEGORIES)]
    savings_by_category = (routine_cells["counterfactual_idr"] - routine_cells["realized_idr"]) \
        .groupby(routine_cells["category"]).sum()
    treated = schedule.region_codes[schedule.cohort >= 0]
    is_adopter = cut_share.index.isin(treated)
    return {
        "att_log_routine_spending": _mean(routine["log_effect"]),
        "att_log_by_category": by_category,
        "savings_idr_total": int(routine["savings_idr"].sum()),
        "savings_idr_by_category": {k: int(savings_by_category.get(k, 0)) for k in ROUTINE_CATEGORIES},
        "by_group": {"wfa_days": _group_means(routine["log_effect"], attrs["wfa_days"], ["1", "2", "3"])},
        "n_cells": int(len(routine)),
        "definition": ("att_log_routine_spending: mean over treated Pemda x month cells (WFA in "
                       "force) of log(sum realized / sum counterfactual) over the routine "
                       "categories; att_log_by_category: mean of log(realized/counterfactual) per "
                       "category; savings_idr_total: sum of counterfactual - realized over routine "
                       "categories and treated cells"),
        "confounding": {
            "covariate": "tkd_cut_share",
            "definition": ("(TKD 2025 - TKD 2026) / TKD 2025 per Pemda, from the transfers table "
                           "over any common set of months (e.g. Jan-Oct)"),
            "spending_effect": ("log spending of every Pemda falls by elasticity x tkd_cut_share "
                                f"from {cal.budget.tkd_cut_start}"),
            "elasticity_by_category": dict(cal.budget.tkd_cut_elasticity),
            "mean_tkd_cut_share_adopters": float(cut_share[is_adopter].mean()),
            "mean_tkd_cut_share_non_adopters": float(cut_share[~is_adopter].mean()),
        },
    }
