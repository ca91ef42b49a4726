"""Budget realisation per Pemda, month and account, with its counterfactual without WFA.

Per Pemda r, month m and category k (Rupiah)::

    counterfactual = level[r, k] x shape_k(month) x inflation(m) x exp(inpres_k [m >= 2025-02])
                     x exp(-elasticity_k x tkd_cut_share[r] [m >= 2026-01]) x exp(noise[r, m, k])
    realized       = counterfactual x exp(wfa_days[r, m] x in_force_share[r, m] / 2 x effect_k x scale[r])

``in_force_share`` is the share of the month's working days a policy spell covers (a spell
starting on 12 January 2026 saves about two thirds of a month); ``effect_k`` the calibration's
log effect at 2 WFA days per week, linear in days; ``scale[r]`` log-normal Pemda heterogeneity,
drawn for every Pemda (adopter or not) and independent of adoption, SPBE and e-Kinerja.

The TKD cut lowers spending of every Pemda from January 2026 in proportion to its
``tkd_cut_share`` (observable from ``transfers``), and adopters have larger cuts: a naive
before/after or unadjusted DiD attributes part of the cut to WFA; conditioning on
``tkd_cut_share`` removes that bias. Placebo categories have no WFA effect.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.adoption import Schedule
from analysis.simulate.calibration import (
    BUDGET_CATEGORIES,
    ROUTINE_CATEGORIES,
    BudgetCalibration,
)

STREAM_BUDGET = 200
BUDGET_COLUMNS = ("region_code", "period", "account_code", "category", "budget_idr", "realized_idr")
TRUTH_BUDGET_COLUMNS = ("region_code", "period", "category", "realized_idr", "counterfactual_idr",
                        "log_effect")


def _month_parts(months: list[str]) -> tuple[np.ndarray, np.ndarray]:
    years = np.array([int(m[:4]) for m in months])
    month_numbers = np.array([int(m[5:7]) for m in months])
    return years, month_numbers


def expected_spending(regions: pd.DataFrame, level: np.ndarray, cut_share: np.ndarray,
                      months: list[str], cal: BudgetCalibration) -> np.ndarray:
    """Deterministic part of counterfactual spending, [region, month, category], Rupiah."""
    years, month_numbers = _month_parts(months)
    month_index = (years - 2023) * 12 + month_numbers - 1
    inflation = (1 + cal.inflation_per_year) ** (month_index / 12.0)
    inpres_on = np.array([m >= cal.inpres_start for m in months])
    cut_on = np.array([m >= cal.tkd_cut_start for m in months])
    out = np.empty((len(regions), len(months), len(BUDGET_CATEGORIES)))
    for k, category in enumerate(BUDGET_CATEGORIES):
        shape = np.asarray(cal.utility_month_shape if category in cal.utility_categories
                           else cal.discretionary_month_shape)
        shape = shape / shape.mean()
        time_part = shape[month_numbers - 1] * inflation * np.exp(cal.inpres_log[category] * inpres_on)
        cut_part = np.exp(-cal.tkd_cut_elasticity[category] * cut_share[:, None] * cut_on[None, :])
        out[:, :, k] = level[:, k, None] * time_part[None, :] * cut_part
    return out


def simulate_budget(regions: pd.DataFrame, cut_share: np.ndarray, schedule: Schedule, seed: int,
                    cal: BudgetCalibration) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The ``budget`` table (one row per Pemda x month x account), the budget truth cells
    (one row per treated Pemda x month in force x category) and each Pemda's effect scale
    (``scale[r]`` of the module doc, indexed by ``region_code``)."""
    rng = np.random.default_rng([seed, STREAM_BUDGET])
    months = schedule.months
    n_regions, n_months, n_cat = len(regions), len(months), len(BUDGET_CATEGORIES)
    is_province = regions["level"].to_numpy() == "provinsi"
    population = regions["population"].to_numpy(dtype="float64")
    median_listrik = np.where(is_province, cal.listrik_province_median_idr, cal.listrik_kabkota_median_idr)
    median_pop = np.where(is_province, cal.median_province_population, cal.median_kabkota_population)
    cost = np.exp(rng.normal(0.0, cal.pemda_cost_sd, n_regions))
    relative = np.array([cal.level_vs_listrik[k] for k in BUDGET_CATEGORIES])
    level = ((median_listrik * (population / median_pop) ** cal.pop_elasticity * cost)[:, None]
             * relative[None, :] * np.exp(rng.normal(0.0, 0.15, (n_regions, n_cat))))
    noise_sd = np.array([cal.noise_sd[k] for k in BUDGET_CATEGORIES])
    noise = rng.normal(0.0, 1.0, (n_regions, n_months, n_cat)) * noise_sd[None, None, :]
    wfa_scale = np.exp(rng.normal(0.0, cal.wfa_pemda_scale_sd, n_regions))

    expected = expected_spending(regions, level, cut_share, months, cal)
    counterfactual = expected * np.exp(noise)
    effect_per_day = np.array([wfa_log_effect_per_day(cal)[k] for k in BUDGET_CATEGORIES])
    in_force = schedule.in_force_share if schedule.in_force_share is not None \
        else (schedule.wfa_days > 0).astype(float)
    wfa_effect = ((schedule.wfa_days * in_force)[:, :, None] * effect_per_day[None, None, :]
                  * wfa_scale[:, None, None])
    realized = counterfactual * np.exp(wfa_effect)

    # annual appropriation per category: slack x expected full-year spending (without WFA)
    years, _ = _month_parts(months)
    all_year_months = [f"{y}-{mm:02d}" for y in sorted(set(years)) for mm in range(1, 13)]
    expected_full = expected_spending(regions, level, cut_share, all_year_months, cal)
    full_years = np.array([int(m[:4]) for m in all_year_months])
    appropriation = {y: cal.appropriation_slack * expected_full[:, full_years == y, :].sum(axis=1)
                     for y in sorted(set(years))}

    codes = regions["region_code"].to_numpy().astype(str)
    frames, realized_cat, cf_cat = [], np.zeros_like(realized), np.zeros_like(realized)
    for k, category in enumerate(BUDGET_CATEGORIES):
        for account, share in cal.accounts[category]:
            acc_realized = np.round(realized[:, :, k] * share).astype("int64")
            acc_cf = np.round(counterfactual[:, :, k] * share).astype("int64")
            realized_cat[:, :, k] += acc_realized
            cf_cat[:, :, k] += acc_cf
            budget = np.stack([np.round(appropriation[y][:, k] * share) for y in years], axis=1)
            frames.append(pd.DataFrame({
                "region_code": np.repeat(codes, n_months),
                "period": np.tile(np.array(months, dtype=object), n_regions),
                "account_code": account,
                "category": category,
                "budget_idr": budget.astype("int64").ravel(),
                "realized_idr": acc_realized.ravel(),
                "_r": np.repeat(np.arange(n_regions), n_months),
                "_m": np.tile(np.arange(n_months), n_regions),
            }))
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["_r", "_m", "account_code"], kind="stable")
    table = table.drop(columns=["_r", "_m"]).reset_index(drop=True)

    treated_r, treated_m = np.nonzero(schedule.wfa_days > 0)
    truth = pd.DataFrame({
        "region_code": np.repeat(codes[treated_r], n_cat),
        "period": np.repeat(np.array(months, dtype=object)[treated_m], n_cat),
        "category": np.tile(np.array(BUDGET_CATEGORIES, dtype=object), len(treated_r)),
        "realized_idr": realized_cat[treated_r, treated_m, :].ravel().astype("int64"),
        "counterfactual_idr": cf_cat[treated_r, treated_m, :].ravel().astype("int64"),
    })
    truth["log_effect"] = np.log(truth["realized_idr"] / truth["counterfactual_idr"])
    return table, truth, pd.Series(wfa_scale, index=codes, name="wfa_scale")


#: WFA days per week at which ``BudgetCalibration.wfa_log_effect`` is stated.
REFERENCE_WFA_DAYS = 2.0


def wfa_log_effect_per_day(cal: BudgetCalibration) -> dict[str, float]:
    """True log effect of one WFA day per week in force for a whole month, per category, for a
    Pemda with ``scale = 1`` (the calibration's effect at 2 days, divided by 2)."""
    return {k: cal.wfa_log_effect[k] / REFERENCE_WFA_DAYS for k in BUDGET_CATEGORIES}


def routine_total_log_effect(truth_cells: pd.DataFrame) -> pd.DataFrame:
    """Per treated Pemda x month: log(sum realized / sum counterfactual) over routine categories,
    and the Rupiah saving (counterfactual - realized)."""
    routine = truth_cells[truth_cells["category"].isin(ROUTINE_CATEGORIES)]
    sums = routine.groupby(["region_code", "period"], sort=True)[
        ["realized_idr", "counterfactual_idr"]].sum().reset_index()
    sums["log_effect"] = np.log(sums["realized_idr"] / sums["counterfactual_idr"])
    sums["savings_idr"] = sums["counterfactual_idr"] - sums["realized_idr"]
    return sums
