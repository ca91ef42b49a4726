"""Budget panels: Pemda x period x spending-category panels of realised spending, and the
pre-treatment covariates (TKD cut, fiscal capacity, population) used to adjust for the 2026
transfer cut.

Units: every ``*_idr`` column is Rupiah; nominal unless its name says ``real``; real Rupiah are in
prices of ``price_base_year`` (average price level of that year, see :mod:`analysis.panels.deflators`).

Frequencies: ``month`` (``YYYY-MM``, the default of the analyses) or ``quarter`` (``YYYY-Qn``, a
robustness view). APBD realisation is back-loaded to the year end and monthly amounts are noisy
(bills paid late, several months booked at once); quarters smooth that at the price of fewer
post-adoption periods and of partly treated quarters (WFA rarely starts on a quarter's first
day), which :func:`cohorts_for_estimation` keeps out of the comparison. Period effects in the
DiD absorb the seasonal pattern common to all Pemda either way.

Exposure (:func:`wfa_exposure`): per Pemda and period, the WFA dose and the share of the
period's working days under a policy spell, from its start and end dates.

Categories: the WFA-affected ("routine") ones and the placebo ones (street lighting, maintenance)
stay apart; ``routine_total`` is the sum of the routine categories (no placebo category in it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.panels.deflators import Deflator, load_deflator
from analysis.errors import DataContractError

from analysis.data.schemas import PLACEBO_CATEGORIES, ROUTINE_CATEGORIES
from analysis.panels.treatment import assign_treatment, treatment_by_period

ROUTINE_TOTAL = "routine_total"
FREQUENCIES = ("month", "quarter")

#: Panel columns, in order (see :func:`spending_panel`).
PANEL_COLUMNS = (
    "region_code", "period", "time", "year", "category", "budget_idr", "realized_idr",
    "realized_real_idr", "log_realized_real", "n_months",
)


def period_to_time(period: pd.Series, frequency: str) -> pd.Series:
    """Integer time index of a period: months (``year*12 + month - 1``) or quarters
    (``year*4 + quarter - 1``). Consecutive periods differ by 1."""
    text = pd.Series(period, copy=False).astype(str)
    year = text.str.slice(0, 4).astype(int)
    if frequency == "month":
        return year * 12 + text.str.slice(5, 7).astype(int) - 1
    if frequency == "quarter":
        return year * 4 + text.str.slice(6, 7).astype(int) - 1
    raise ValueError(f"frequency must be one of {FREQUENCIES}, got {frequency!r}")


def time_to_period(time: pd.Series | np.ndarray, frequency: str) -> pd.Series:
    """Inverse of :func:`period_to_time`."""
    values = pd.Series(np.asarray(time, dtype=int))
    if frequency == "month":
        return (values // 12).astype(str) + "-" + (values % 12 + 1).map("{:02d}".format)
    if frequency == "quarter":
        return (values // 4).astype(str) + "-Q" + (values % 4 + 1).astype(str)
    raise ValueError(f"frequency must be one of {FREQUENCIES}, got {frequency!r}")


def month_to_period(month: pd.Series, frequency: str) -> pd.Series:
    """``YYYY-MM`` -> the period of ``frequency`` containing it."""
    text = pd.Series(month, copy=False).astype(str).str.slice(0, 7)
    if frequency == "month":
        return text
    if frequency == "quarter":
        quarter = (text.str.slice(5, 7).astype(int) - 1) // 3 + 1
        return text.str.slice(0, 4) + "-Q" + quarter.astype(str)
    raise ValueError(f"frequency must be one of {FREQUENCIES}, got {frequency!r}")


def spending_panel(
    budget: pd.DataFrame,
    *,
    frequency: str = "month",
    price_base_year: int = 2025,
    deflator: Deflator | None = None,
    first_month: str | None = None,
) -> pd.DataFrame:
    """Pemda x period x category panel of realised spending.

    ``budget``: the ``budget`` table (``region_code``, ``period`` ``YYYY-MM``, ``account_code``,
    ``category``, ``budget_idr``, ``realized_idr``). Accounts are summed within a category.
    Categories outside the routine and placebo lists are dropped. A ``routine_total`` row per
    Pemda and period sums the routine categories.

    Returns one row per ``region_code`` x ``period`` x ``category`` with columns
    ``PANEL_COLUMNS``: ``time`` (integer period index, see :func:`period_to_time`), ``year``,
    ``budget_idr`` (annual appropriation of the category in that year, Rupiah; for a quarter the
    mean over its months), ``realized_idr`` (nominal Rupiah spent in the period),
    ``realized_real_idr`` (Rupiah of ``price_base_year``, deflated month by month before
    aggregating), ``log_realized_real`` (natural log; NaN where nothing was spent), ``n_months``
    (months with data in the period). Quarters with fewer than 3 months of data are dropped (the
    last quarter at extraction is usually incomplete).
    Missing months are not filled: a Pemda x month with no row is absent from the panel.
    ``first_month`` (``YYYY-MM``): drop earlier months (a shorter window makes the DiD faster and
    leans less on parallel trends far from adoption).
    """
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {FREQUENCIES}, got {frequency!r}")
    required = {"region_code", "period", "category", "budget_idr", "realized_idr"}
    missing = required - set(budget.columns)
    if missing:
        raise DataContractError(f"budget table: missing columns {sorted(missing)}")
    if (budget["realized_idr"] < 0).any():
        raise DataContractError("budget table: realized_idr must be >= 0 Rupiah")
    deflator = deflator if deflator is not None else load_deflator()
    known = set(ROUTINE_CATEGORIES) | set(PLACEBO_CATEGORIES)
    rows = budget.loc[budget["category"].isin(known), list(required)].copy()
    rows["region_code"] = rows["region_code"].astype(str)
    rows["period"] = rows["period"].astype(str).str.slice(0, 7)
    if first_month is not None:
        rows = rows[rows["period"] >= str(first_month)]
    monthly = (
        rows.groupby(["region_code", "period", "category"], as_index=False)[["budget_idr", "realized_idr"]]
        .sum()
    )
    routine = monthly[monthly["category"].isin(ROUTINE_CATEGORIES)]
    total = routine.groupby(["region_code", "period"], as_index=False)[["budget_idr", "realized_idr"]].sum()
    total["category"] = ROUTINE_TOTAL
    monthly = pd.concat([monthly, total], ignore_index=True)
    monthly["realized_real_idr"] = monthly["realized_idr"] * deflator.factor_to_base_year(
        monthly["period"], price_base_year
    ).to_numpy()
    monthly["n_months"] = 1
    if frequency == "quarter":
        monthly["period"] = month_to_period(monthly["period"], "quarter")
        monthly = monthly.groupby(["region_code", "period", "category"], as_index=False).agg(
            budget_idr=("budget_idr", "mean"),
            realized_idr=("realized_idr", "sum"),
            realized_real_idr=("realized_real_idr", "sum"),
            n_months=("n_months", "sum"),
        )
        # an incomplete quarter (e.g. only October at extraction) is not comparable with full ones
        full = monthly.groupby("period")["n_months"].transform("max") == 3
        monthly = monthly[full & (monthly["n_months"] == 3)]
    monthly["time"] = period_to_time(monthly["period"], frequency)
    monthly["year"] = monthly["period"].str.slice(0, 4).astype(int)
    positive = monthly["realized_real_idr"] > 0
    monthly["log_realized_real"] = np.where(
        positive, np.log(monthly["realized_real_idr"].where(positive, 1.0)), np.nan
    )
    return (
        monthly[list(PANEL_COLUMNS)]
        .sort_values(["category", "region_code", "time"])
        .reset_index(drop=True)
    )


def tkd_covariates(
    transfers: pd.DataFrame,
    regions: pd.DataFrame,
    *,
    cut_year: int = 2026,
) -> pd.DataFrame:
    """Pre-treatment covariates per Pemda for adjusting for the TKD (central transfer) cut.

    - ``tkd_cut_share``: fall in TKD from ``cut_year - 1`` to ``cut_year`` as a share of the
      ``cut_year - 1`` transfers, over the calendar months observed in both years (so a
      partly observed ``cut_year`` compares like with like). 0.2 = transfers 20% lower. The cut
      was fixed in the APBN (September of the year before), before any adoption, and WFA does
      not affect it: a pre-determined covariate even though it is measured in ``cut_year``.
    - ``log_tkd_per_capita``: log of ``cut_year - 1`` TKD per resident (Rupiah per person per
      year; a fiscal-capacity proxy: most Pemda budgets are mostly transfers).
    - ``log_population``: log residents.

    Returns columns ``region_code``, ``tkd_prev_idr``, ``tkd_cut_share``, ``log_tkd_per_capita``,
    ``log_population``; Pemda without transfers in either year are left out.
    """
    needed = {"region_code", "period", "tkd_idr"}
    if transfers is None or needed - set(transfers.columns):
        raise DataContractError(f"transfers table needs columns {sorted(needed)}")
    data = transfers[list(needed)].copy()
    data["region_code"] = data["region_code"].astype(str)
    data["year"] = data["period"].astype(str).str.slice(0, 4).astype(int)
    data["month"] = data["period"].astype(str).str.slice(5, 7)
    before = data[data["year"] == cut_year - 1]
    after = data[data["year"] == cut_year]
    months = sorted(set(before["month"]) & set(after["month"]))
    if not months:
        raise DataContractError(
            f"transfers: no calendar month observed in both {cut_year - 1} and {cut_year}"
        )
    prev_same = before[before["month"].isin(months)].groupby("region_code")["tkd_idr"].sum()
    curr_same = after[after["month"].isin(months)].groupby("region_code")["tkd_idr"].sum()
    prev_year = before.groupby("region_code")["tkd_idr"].sum()
    out = pd.DataFrame({"tkd_prev_idr": prev_year, "prev_same": prev_same, "curr_same": curr_same})
    out = out.dropna()
    out = out[out["prev_same"] > 0]
    out["tkd_cut_share"] = 1.0 - out["curr_same"] / out["prev_same"]
    people = regions.assign(region_code=regions["region_code"].astype(str)).set_index("region_code")[
        "population"
    ]
    out = out.join(people.rename("population"), how="inner")
    out["log_tkd_per_capita"] = np.log(out["tkd_prev_idr"] / out["population"])
    out["log_population"] = np.log(out["population"].astype(float))
    out.index.name = "region_code"
    return out.reset_index()[
        ["region_code", "tkd_prev_idr", "tkd_cut_share", "log_tkd_per_capita", "log_population"]
    ]


TKD_COVARIATES = ("tkd_cut_share", "log_tkd_per_capita", "log_population")


def adoption_table(
    policies: pd.DataFrame, regions: pd.DataFrame, *, periods: pd.Series, trial_handling: str = "exclude"
) -> pd.DataFrame:
    """WFA cohorts and dose per Pemda from the policy registry, by
    :func:`analysis.panels.treatment.assign_treatment` (half-month rule, bridged gaps, switched-off trials
    excluded by default) over the ``YYYY-MM`` months of ``periods``."""
    months = sorted(pd.Series(periods).astype(str).str.slice(0, 7).unique())
    return assign_treatment(policies, regions, periods=months, trial_handling=trial_handling)


#: Columns of :func:`wfa_exposure`.
EXPOSURE_COLUMNS = ("region_code", "period", "wfa_days_per_week", "in_force_share")


def wfa_exposure(policies: pd.DataFrame, regions: pd.DataFrame, *, periods: pd.Series, frequency: str) -> pd.DataFrame:
    """How much WFA each Pemda had in each period, from the policy spells' start and end dates.

    Returns one row per Pemda x period with WFA in force (by the rules of
    :mod:`analysis.panels.treatment`): ``wfa_days_per_week`` (the dose of the spell in force) and
    ``in_force_share``, the share of the period's working days (Monday-Friday) a spell covered:
    1 for a whole month, 15/22 for a spell starting on 12 January 2026, 11/22 for a trial of
    14-28 January. A month bridged by rule 2 (no spell recorded, but WFA-like arrangements
    assumed to go on) counts as wholly in force. A quarter's share is the mean of its three
    months (months not in force count 0), its dose the largest of its months.
    Months in force with less than half of their working days covered are not treated by the
    half-month rule and are absent here (their spending is a pre-period).
    """
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {FREQUENCIES}, got {frequency!r}")
    months = sorted(pd.Series(periods).astype(str).str.slice(0, 7).unique())
    by_month = treatment_by_period(policies, regions, periods=months)
    on = by_month[by_month["wfa_in_force"]].copy()
    on["in_force_share"] = np.where(on["bridged"], 1.0, on["share_working_days"].clip(upper=1.0))
    on["region_code"] = on["region_code"].astype(str)
    if frequency == "quarter":
        on["period"] = month_to_period(on["period"], "quarter")
        on = on.groupby(["region_code", "period"], as_index=False).agg(
            wfa_days_per_week=("wfa_days_per_week", "max"), in_force_share=("in_force_share", "sum"))
        on["in_force_share"] = on["in_force_share"] / 3.0
    on["wfa_days_per_week"] = on["wfa_days_per_week"].astype(float)
    return on[list(EXPOSURE_COLUMNS)].reset_index(drop=True)


#: Why a Pemda with WFA is not in the staggered sample (codes; ``analysis.texts`` words them).
EXCLUSION_REASONS = ("switched_off", "already_treated", "no_pre_period", "no_full_post_period",
                     "not_in_staggered_sample")


def first_full_period(cohort_month: str, frequency: str) -> str:
    """The cohort period of a Pemda whose first month with WFA in force (half-month rule of
    :mod:`analysis.panels.treatment`) is ``cohort_month``: that month itself, or the first
    quarter whose three months all have WFA in force (the quarter holding the cohort month when
    it is the quarter's first month, else the next quarter)."""
    month = str(cohort_month)[:7]
    if frequency == "month":
        return month
    quarter = month_to_period(pd.Series([month]), "quarter").iloc[0]
    if int(month[5:7]) % 3 == 1:
        return quarter
    return time_to_period(period_to_time(pd.Series([quarter]), "quarter") + 1, "quarter").iloc[0]


def cohorts_for_estimation(
    adoption: pd.DataFrame, panel: pd.DataFrame, *, frequency: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the Pemda in ``panel`` into the estimation sample and the excluded ones.

    ``adoption``: from :func:`adoption_table`. The cohort is :func:`first_full_period`: for
    months the first month in force; for quarters the first
    fully treated quarter, so that no cohort's first "treated" quarter holds only one treated
    month. A partly treated quarter before it is then neither a comparison base nor a control
    period (the estimator is run with one period of anticipation; see
    :func:`analysis.analyses.spending_effect.estimate_spending_effect`).
    Excluded (neither treated nor control), with a reason code of ``EXCLUSION_REASONS``:
    ``switched_off`` / ``already_treated`` (``status`` of the adoption table; any other status
    outside the staggered sample: ``not_in_staggered_sample``),
    ``no_pre_period`` (cohort in the panel's first period), ``no_full_post_period`` (WFA began
    but no period of the panel is wholly under it, e.g. a September adopter with quarters).
    Pemda absent from ``adoption`` are never treated.
    Returns ``(units, excluded)``: ``units`` has ``region_code``, ``cohort_time`` (integer period
    of the cohort, 0 = never treated), ``cohort`` (period label or None), ``wfa_days_per_week``
    (0 for never treated); ``excluded`` has ``region_code``, ``reason``, ``cohort`` (first
    month in force), ``last_treated`` (``YYYY-MM`` or None).
    """
    codes = sorted(panel["region_code"].unique())
    first_time, last_time = int(panel["time"].min()), int(panel["time"].max())
    adopt = adoption.assign(region_code=adoption["region_code"].astype(str)).set_index("region_code")
    units, excluded = [], []
    for code in codes:
        if code not in adopt.index or adopt.at[code, "cohort"] is None or pd.isna(adopt.at[code, "cohort"]):
            units.append((code, 0, None, 0.0))
            continue
        row = adopt.loc[code]
        last = row.get("last_treated") if "last_treated" in row.index else None
        last = None if last is None or pd.isna(last) else str(last)
        if not bool(row["in_staggered_sample"]):
            reason = row["status"] if row["status"] in EXCLUSION_REASONS else "not_in_staggered_sample"
            excluded.append((code, reason, str(row["cohort"]), last))
            continue
        period = first_full_period(row["cohort"], frequency)
        cohort_time = int(period_to_time(pd.Series([period]), frequency).iloc[0])
        if cohort_time <= first_time:
            excluded.append((code, "no_pre_period", str(row["cohort"]), last))
            continue
        if cohort_time > last_time:
            excluded.append((code, "no_full_post_period", str(row["cohort"]), last))
            continue
        units.append((code, cohort_time, period, float(row["wfa_days_per_week"])))
    return (
        pd.DataFrame(units, columns=["region_code", "cohort_time", "cohort", "wfa_days_per_week"]),
        pd.DataFrame(excluded, columns=["region_code", "reason", "cohort", "last_treated"]),
    )
