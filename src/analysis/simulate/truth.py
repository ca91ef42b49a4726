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

An estimate rarely averages over exactly those cells (cohorts it cannot estimate, Pemda it
leaves out, quarters instead of months). The functions below give the truth of an estimate's own
estimand from the per-cell truth, over the same units, periods and weights:
:func:`budget_att_truth` (mean true log effect over given cells), :func:`budget_savings_truth`
(true Rupiah saved over given cells) and :func:`projection_truth` (true savings per year if given
Pemda adopted ``k`` WFA days, from the data-generating process).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.adoption import Schedule
from analysis.simulate.budget import routine_total_log_effect, wfa_log_effect_per_day
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
                 cut_share: pd.Series, cal: Calibration, wfa_scale: pd.Series | None = None) -> dict:
    routine = routine_total_log_effect(cells)
    attrs = cell_attributes(routine, "period", regions, schedule)
    by_category = {k: _mean(cells.loc[cells["category"] == k, "log_effect"])
                   for k in BUDGET_CATEGORIES}
    routine_cells = cells[cells["category"].isin(ROUTINE_CATEGORIES)]
    savings_by_category = (routine_cells["counterfactual_idr"] - routine_cells["realized_idr"]) \
        .groupby(routine_cells["category"]).sum()
    treated = schedule.region_codes[schedule.cohort >= 0]
    is_adopter = cut_share.index.isin(treated)
    out = {
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
    if wfa_scale is not None:
        out["wfa_effect_per_day"] = {
            "log_effect_by_category": wfa_log_effect_per_day(cal.budget),
            "pemda_scale": {str(code): round(float(v), 6) for code, v in wfa_scale.items()},
            "definition": ("true log effect on a category's monthly spending of one WFA day per "
                           "week in force for the whole month = log_effect_by_category[k] x "
                           "pemda_scale[region_code]; linear in days and in the share of the "
                           "month in force; no SPBE or e-Kinerja heterogeneity"),
        }
    return out


# --------------------------------------------------------------------------- estimand truths
def _period_of_month(month: pd.Series, frequency: str) -> pd.Series:
    """``YYYY-MM`` -> the ``month`` (same) or ``quarter`` (``YYYY-Qn``) containing it."""
    text = pd.Series(month, copy=False).astype(str).str.slice(0, 7)
    if frequency == "month":
        return text
    if frequency == "quarter":
        return text.str.slice(0, 4) + "-Q" + ((text.str.slice(5, 7).astype(int) - 1) // 3 + 1).astype(str)
    raise ValueError(f"frequency must be 'month' or 'quarter', got {frequency!r}")


def _saved_by_cell(truth_cells: pd.DataFrame, keys: list[str], frequency: str,
                   categories: tuple[str, ...] | None) -> pd.Series:
    """True Rupiah saved (counterfactual - realized, nominal) summed by ``keys`` over the truth
    cells (months with WFA in force) of ``categories`` (None = every category)."""
    data = truth_cells
    if categories is not None:
        data = data[data["category"].isin(categories)]
    data = data.assign(
        region_code=data["region_code"].astype(str),
        period=_period_of_month(data["period"], frequency),
        saved=data["counterfactual_idr"].astype(float) - data["realized_idr"].astype(float),
    )
    return data.groupby(keys)["saved"].sum()


def budget_att_truth(truth_cells: pd.DataFrame, cells: pd.DataFrame, *, categories: tuple[str, ...],
                     frequency: str = "month", weights: pd.Series | np.ndarray | None = None) -> float:
    """The true ATT over exactly ``cells``: the (weighted) mean over them of the true log effect
    on the spending of ``categories`` summed.

    ``cells``: one row per Pemda x period, columns ``region_code``, ``period`` (``YYYY-MM`` or
    ``YYYY-Qn`` per ``frequency``), ``realized_idr`` (the cell's nominal realised spending of
    ``categories``, from the data). A cell's true log effect is ``log(R / (R + S))``: ``R`` its
    realised spending, ``S`` the true Rupiah saved in its months with WFA in force (months of a
    cell without WFA add nothing). ``weights``: one per cell (default equal, as the CS simple
    aggregation weights every treated Pemda x period alike).
    """
    saved = _saved_by_cell(truth_cells, ["region_code", "period"], frequency, tuple(categories))
    index = pd.MultiIndex.from_arrays([cells["region_code"].astype(str), cells["period"].astype(str)])
    change = saved.reindex(index).fillna(0.0).to_numpy()
    realized = cells["realized_idr"].to_numpy(dtype=float)
    effect = np.log(realized / (realized + change))
    if weights is None:
        return float(np.mean(effect))
    w = np.asarray(weights, dtype=float)
    return float(np.sum(w * effect) / np.sum(w))


def budget_savings_truth(truth_cells: pd.DataFrame, cells: pd.DataFrame, *, frequency: str = "month") -> float:
    """True savings over exactly ``cells`` (Pemda x period x category: ``region_code``,
    ``period``, ``category``, ``real_per_nominal`` = the cell's deflator factor): the sum of
    ``counterfactual - realized`` of the truth cells in them, in the same real prices."""
    saved = _saved_by_cell(truth_cells, ["region_code", "period", "category"], frequency, None)
    index = pd.MultiIndex.from_arrays([cells["region_code"].astype(str), cells["period"].astype(str),
                                       cells["category"].astype(str)])
    return float((saved.reindex(index).fillna(0.0).to_numpy() * cells["real_per_nominal"].to_numpy(float)).sum())


def projection_truth(budget: dict, base_spending: pd.DataFrame, days_per_week: float) -> float:
    """True savings per year (Rupiah of ``base_spending``) if every Pemda of ``base_spending``
    adopted ``days_per_week`` WFA days per week for a whole year, from the data-generating process.

    ``budget``: truth.json's ``budget`` block (its ``wfa_effect_per_day``); ``base_spending``:
    ``region_code, category, base_spending_idr`` (a base year's spending of the target Pemda, the
    no-WFA spending the projection assumes). Each Pemda's own true effect:
    ``sum base x (1 - exp(days x log_effect_by_category[k] x pemda_scale[r]))``.

    Shared with the estimate: the effect is linear in days (true in the simulation); the base
    year's spending stands for the no-WFA spending (for a Pemda already under WFA in that year it
    is lower). Not shared: the estimate applies the adopters' average effect per day to every
    target Pemda; the truth uses each target Pemda's own effect (its ``pemda_scale``, drawn
    independently of adoption, so the two agree in expectation but not exactly).
    """
    per_day = budget["wfa_effect_per_day"]
    effect = base_spending["category"].map(per_day["log_effect_by_category"]).fillna(0.0).to_numpy(float)
    scale = base_spending["region_code"].astype(str).map(per_day["pemda_scale"])
    if scale.isna().any():
        missing = sorted(base_spending.loc[scale.isna(), "region_code"].astype(str).unique())
        raise ValueError(f"projection_truth: no true effect scale for Pemda {missing[:5]}")
    log_effect = float(days_per_week) * effect * scale.to_numpy(float)
    return float(np.sum(base_spending["base_spending_idr"].to_numpy(float) * -np.expm1(log_effect)))
