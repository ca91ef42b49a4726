"""What WFA does to routine spending: Callaway-Sant'Anna effects on log spending, savings in
Rupiah with confidence intervals, and a projection for wider adoption.

Estimation (:func:`estimate_spending_effect`): CS ATT(g,t) on the log of real spending of one
category (or ``routine_total``), doubly robust, clustered by Pemda, analytic standard errors;
``control`` ``notyettreated`` or ``nevertreated``; optionally conditioning on the pre-treatment
covariates of :func:`analysis.budget.tkd_covariates` (the 2026 TKD cut, fiscal capacity,
population). Without them, Pemda that adopted WFA *because* their transfers were cut are compared
with Pemda whose transfers fell less, and the cut's own effect on spending is credited to WFA.

Savings (:func:`savings_in_rupiah`): for each adopter and post-adoption period,
``counterfactual = actual * exp(-ATT_e)`` with ``ATT_e`` the event-time-specific ATT (periods since
adoption ``e``, aggregated over cohorts); ``savings = counterfactual - actual`` (Rupiah; positive =
money saved). Uncertainty: multiplier bootstrap on the influence functions of the ATT_e
(``ATT*_e = ATT_e + mean_i(xi_i * psi_ie)``, xi standard normal, one xi per Pemda shared by every
category, so sums over categories and Pemda keep their correlation); CIs are percentiles of the
draws. The realised spending is treated as known (it is an accounting record).

Projection (:func:`project_annual_savings`): per-category effect per WFA day per week
(``ATT / mean dose of the treated cells``, log points), scaled linearly to ``k`` days, applied to
the real spending of a base year of the target Pemda: ``savings = spending * (1 - exp(k * beta))``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis.budget import (
    PLACEBO_CATEGORIES,
    ROUTINE_CATEGORIES,
    ROUTINE_TOTAL,
    TKD_COVARIATES,
    time_to_period,
)

CONTROLS = ("notyettreated", "nevertreated")
DEFAULT_SEED = 20260101
DEFAULT_DRAWS = 999


@dataclass(frozen=True)
class SpendingEffect:
    """CS estimate of the effect of WFA on log real spending of one category.

    ``att``/``se``/``ci_low``/``ci_high``: the simple aggregation (mean over treated
    post-adoption Pemda x periods), log points (``exp(att) - 1`` = proportional change).
    ``event_study``: ``event, att, se, ci_low, ci_high`` (pointwise normal CIs).
    ``pretrend_pvalue``: Wald test that the event-study ATTs of the 8 periods before adoption are
    all zero (joint covariance from the influence functions).
    ``post_events`` / ``post_influence``: event times ``e >= 0`` and the influence functions of
    their ATTs (``n_units x len(post_events)``), rows in the order of ``unit_ids``.
    ``overall_influence``: influence function of ``att``.
    ``adopters_not_estimated``: adopters in the sample whose cohort CS could not estimate (e.g. a
    one-Pemda cohort with covariates): not in ``n_treated``, ``treated_cells`` or the savings.
    ``treated_cells``: the treated post-adoption cells the estimate averages over:
    ``region_code, period, time, event, realized_idr`` (nominal), ``realized_real_idr``,
    ``wfa_days_per_week``.
    """

    category: str
    adjusted: bool
    control: str
    frequency: str
    att: float
    se: float
    ci_low: float
    ci_high: float
    event_study: pd.DataFrame
    post_events: np.ndarray
    post_influence: np.ndarray
    overall_influence: np.ndarray
    unit_ids: tuple[str, ...]
    treated_cells: pd.DataFrame
    n_units: int
    n_treated: int
    n_dropped_unbalanced: int
    covariates: tuple[str, ...]
    adopters_not_estimated: tuple[str, ...] = ()
    by_cohort: pd.DataFrame | None = None
    pretrend_pvalue: float | None = None

    def as_row(self) -> dict:
        return {
            "category": self.category, "adjusted": self.adjusted, "control": self.control,
            "att": self.att, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "pct_change": float(np.expm1(self.att)), "n_units": self.n_units,
            "n_treated": self.n_treated, "n_treated_cells": len(self.treated_cells),
            "adopters_not_estimated": ";".join(self.adopters_not_estimated),
            "pretrend_pvalue": self.pretrend_pvalue,
        }


def estimate_spending_effect(
    panel: pd.DataFrame,
    units: pd.DataFrame,
    covariates: pd.DataFrame | None = None,
    *,
    category: str = ROUTINE_TOTAL,
    adjust_for_tkd: bool = True,
    control: str = "notyettreated",
    alpha: float = 0.05,
) -> SpendingEffect:
    """Callaway-Sant'Anna ATT of WFA on ``log_realized_real`` for ``category``.

    ``panel``: from :func:`analysis.budget.spending_panel`; ``units``: the estimation sample
    from :func:`analysis.budget.cohorts_for_estimation`; ``covariates``: from
    :func:`analysis.budget.tkd_covariates` (required when ``adjust_for_tkd``).
    Pemda with a period missing or with zero spending in any period are dropped for this
    category (CS on a balanced panel); their number is in ``n_dropped_unbalanced``.
    """
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {CONTROLS}, got {control!r}")
    known = set(ROUTINE_CATEGORIES) | set(PLACEBO_CATEGORIES) | {ROUTINE_TOTAL}
    if category not in known:
        raise ValueError(f"unknown category {category!r}; expected one of {sorted(known)}")
    data = panel.loc[panel["category"] == category].merge(
        units[["region_code", "cohort_time", "wfa_days_per_week"]], on="region_code", how="inner"
    )
    used_covariates: tuple[str, ...] = ()
    if adjust_for_tkd:
        if covariates is None:
            raise ValueError("adjust_for_tkd=True needs the covariates (analysis.budget.tkd_covariates)")
        used_covariates = TKD_COVARIATES
        data = data.merge(covariates[["region_code", *used_covariates]], on="region_code", how="inner")
    n_periods = data["time"].nunique()
    complete = data.groupby("region_code")["log_realized_real"].agg(lambda s: s.notna().sum())
    keep = complete.index[complete == n_periods]
    n_dropped = int(data["region_code"].nunique() - len(keep))
    data = data[data["region_code"].isin(keep)].copy()
    # the simple ATT needs every cohort to have a post period inside the panel
    data.loc[data["cohort_time"] > data["time"].max(), ["cohort_time", "wfa_days_per_week"]] = 0
    if (data["cohort_time"] > 0).sum() == 0:
        raise ValueError(f"no adopter left in the sample for {category!r}")
    unit_ids = tuple(sorted(data["region_code"].unique()))
    data["unit_id"] = data["region_code"].map({code: i + 1 for i, code in enumerate(unit_ids)})
    result = _fit_cs(data, used_covariates, control=control, alpha=alpha)
    z = stats.norm.ppf(1 - alpha / 2)

    # cohorts CS could not estimate (e.g. a single adopter whose propensity score cannot be
    # fitted with covariates) are not part of the estimate: keep them out of its cells
    estimated = set(result["by_cohort"]["cohort_time"].astype(int))
    treated_units = data.loc[data["cohort_time"] > 0].drop_duplicates("region_code")
    dropped = treated_units.loc[~treated_units["cohort_time"].isin(estimated), "region_code"]
    cells = data.loc[(data["cohort_time"] > 0) & (data["time"] >= data["cohort_time"])
                     & data["cohort_time"].isin(estimated)].copy()
    cells["event"] = cells["time"] - cells["cohort_time"]
    cells = cells[["region_code", "period", "time", "event", "realized_idr", "realized_real_idr", "wfa_days_per_week"]]
    frequency = "quarter" if "Q" in str(data["period"].iloc[0]) else "month"
    return SpendingEffect(
        category=category,
        adjusted=bool(adjust_for_tkd),
        control=control,
        frequency=frequency,
        att=result["att"],
        se=result["se"],
        ci_low=result["att"] - z * result["se"],
        ci_high=result["att"] + z * result["se"],
        event_study=result["event_study"],
        post_events=result["post_events"],
        post_influence=result["post_influence"],
        overall_influence=result["overall_influence"],
        unit_ids=unit_ids,
        treated_cells=cells.reset_index(drop=True),
        n_units=len(unit_ids),
        n_treated=int(cells["region_code"].nunique()),
        n_dropped_unbalanced=n_dropped,
        covariates=used_covariates,
        adopters_not_estimated=tuple(sorted(dropped)),
        by_cohort=result["by_cohort"].assign(
            cohort=lambda d: time_to_period(d["cohort_time"], frequency).to_numpy()
        ),
        pretrend_pvalue=result["pretrend_pvalue"],
    )


def _fit_cs(data: pd.DataFrame, covariates: tuple[str, ...], *, control: str, alpha: float) -> dict:
    """CS via moderndid directly. ``analysis.did.callaway_santanna`` gives estimates but (per
    docs/interfaces.md) no influence functions, which the savings CIs need."""
    import moderndid

    z = stats.norm.ppf(1 - alpha / 2)
    frame = data[["unit_id", "time", "cohort_time", "log_realized_real", *covariates]].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gt = moderndid.att_gt(
            frame,
            yname="log_realized_real",
            tname="time",
            idname="unit_id",
            gname="cohort_time",
            xformla=("~ " + " + ".join(covariates)) if covariates else None,
            control_group=control,
            est_method="dr",
            cband=False,
            boot=False,
            alpha=alpha,
        )
        simple = moderndid.aggte(gt, type="simple", cband=False, na_rm=True)
        dynamic = moderndid.aggte(gt, type="dynamic", cband=False, na_rm=True)
        group = moderndid.aggte(gt, type="group", cband=False, na_rm=True)
    events = np.asarray(dynamic.event_times, dtype=int)
    att_e = np.asarray(dynamic.att_by_event, dtype=float)
    se_e = np.asarray(dynamic.se_by_event, dtype=float)
    event_study = pd.DataFrame(
        {"event": events, "att": att_e, "se": se_e, "ci_low": att_e - z * se_e, "ci_high": att_e + z * se_e}
    )
    post = events >= 0
    influence = np.asarray(dynamic.influence_func, dtype=float)
    pretrend = _pretrend_wald_pvalue(events, att_e, influence)
    g_att = np.asarray(group.att_by_event, dtype=float)
    g_se = np.asarray(group.se_by_event, dtype=float)
    by_cohort = pd.DataFrame({
        "cohort_time": np.asarray(group.event_times, dtype=int), "att": g_att, "se": g_se,
        "ci_low": g_att - z * g_se, "ci_high": g_att + z * g_se,
    })
    return {
        "att": float(simple.overall_att),
        "se": float(simple.overall_se),
        "event_study": event_study,
        "post_events": events[post],
        "post_influence": influence[:, post],
        "overall_influence": np.asarray(simple.influence_func_overall, dtype=float).ravel(),
        "by_cohort": by_cohort,
        "pretrend_pvalue": None if pretrend is None or pd.isna(pretrend) else float(pretrend),
    }


def _pretrend_wald_pvalue(events: np.ndarray, att: np.ndarray, influence: np.ndarray, window: int = 8) -> float | None:
    """Wald test that the event-study ATTs of the ``window`` periods before adoption are all zero,
    with their joint covariance from the influence functions (``V = psi' psi / n^2``); None if
    the covariance is singular or no pre-period exists."""
    pre = (events < 0) & (events >= -window) & np.isfinite(att)
    if not pre.any():
        return None
    n = influence.shape[0]
    cov = influence[:, pre].T @ influence[:, pre] / n**2
    try:
        stat = float(att[pre] @ np.linalg.solve(cov, att[pre]))
    except np.linalg.LinAlgError:
        return None
    return float(stats.chi2.sf(stat, int(pre.sum())))


def placebo_joint_test(effects: dict, categories: tuple[str, ...] | list[str] = PLACEBO_CATEGORIES,
                       alpha: float = 0.05) -> dict:
    """Wald test that the simple ATTs of the placebo ``categories`` (no WFA effect by
    construction: street lighting, maintenance) are all zero, with their joint covariance from
    the influence functions (``V = sum_i phi_i phi_i'``, ``phi_ik = psi_ik / n_k``; Pemda missing
    from a category contribute 0 to it). One test of size ``alpha`` for the family: with two
    placebo categories, one 95% CI excluding 0 on a given dataset happens in ~10% of datasets
    under the null, so single CIs are not the test.

    Returns ``statistic``, ``df``, ``pvalue``, ``alpha``, ``reject`` and per category ``att``,
    ``se``, ``z`` (``se`` from the influence function, equal to the CS analytic SE)."""
    present = [c for c in categories if c in effects]
    if not present:
        raise ValueError(f"no placebo category among the effects: {sorted(effects)}")
    codes = sorted(set().union(*(effects[c].unit_ids for c in present)))
    row = {code: i for i, code in enumerate(codes)}
    phi = np.zeros((len(codes), len(present)))
    for k, category in enumerate(present):
        effect = effects[category]
        phi[[row[u] for u in effect.unit_ids], k] = effect.overall_influence / len(effect.unit_ids)
    cov = phi.T @ phi
    att = np.array([effects[c].att for c in present])
    statistic = float(att @ np.linalg.solve(cov, att))
    pvalue = float(stats.chi2.sf(statistic, len(present)))
    se = np.sqrt(np.diag(cov))
    return {
        "categories": present, "statistic": statistic, "df": len(present), "pvalue": pvalue,
        "alpha": alpha, "reject": bool(pvalue < alpha),
        "by_category": [{"category": c, "att": float(a), "se": float(s), "z": float(a / s)}
                        for c, a, s in zip(present, att, se)],
    }


def multiplier_weights(unit_ids: list[str], n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Standard normal multiplier weights, one row per Pemda (index ``region_code``), one column
    per draw. Sharing them across categories keeps draws of different categories correlated."""
    rng = np.random.default_rng(seed)
    codes = sorted(set(unit_ids))
    return pd.DataFrame(rng.standard_normal((len(codes), n_draws)), index=codes)


def event_att_draws(effect: SpendingEffect, weights: pd.DataFrame) -> np.ndarray:
    """Bootstrap draws of the post-adoption ATT_e: ``len(post_events) x n_draws``."""
    xi = weights.loc[list(effect.unit_ids)].to_numpy()
    n = len(effect.unit_ids)
    point = effect.event_study.set_index("event").loc[effect.post_events, "att"].to_numpy()
    return point[:, None] + effect.post_influence.T @ xi / n


def overall_att_draws(effect: SpendingEffect, weights: pd.DataFrame) -> np.ndarray:
    """Bootstrap draws of the simple ATT: ``n_draws``."""
    xi = weights.loc[list(effect.unit_ids)].to_numpy()
    return effect.att + effect.overall_influence @ xi / len(effect.unit_ids)


@dataclass(frozen=True)
class Savings:
    """Savings in Rupiah (real, ``price_base_year`` prices) over the observed post-adoption periods.

    ``cells``: one row per adopter x post-adoption period x category: ``region_code, period,
    category, event, actual_idr, counterfactual_idr, savings_idr`` (savings = counterfactual -
    actual; positive = saved), ``real_per_nominal`` (deflator factor of the cell). ``draws``: bootstrap draws of the savings summed per
    ``region_code`` x ``category`` (rows in ``draw_index`` order). ``months_per_period``: 1 or 3.
    """

    cells: pd.DataFrame
    draw_index: pd.DataFrame
    draws: np.ndarray
    months_per_period: int
    alpha: float = 0.05
    method: str = "multiplier bootstrap on the CS influence functions of the event-time ATTs"

    def summarise(self, by: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
        """Savings summed by ``by`` (subset of ``region_code``, ``category``; empty = total):
        ``savings_idr`` (point), ``se``, ``ci_low``, ``ci_high`` (Rupiah), ``actual_idr``,
        ``counterfactual_idr``, ``n_periods`` (adopter x period cells)."""
        by = list(by)
        key = self.draw_index[by] if by else pd.DataFrame({"_all": np.zeros(len(self.draw_index))})
        groups = key.groupby(list(key.columns), sort=True).indices
        low, high = 100 * self.alpha / 2, 100 * (1 - self.alpha / 2)
        cell_key = self.cells[by] if by else pd.DataFrame({"_all": np.zeros(len(self.cells))})
        point = self.cells.groupby([cell_key[c] for c in cell_key.columns], sort=True).agg(
            savings_idr=("savings_idr", "sum"),
            actual_idr=("actual_idr", "sum"),
            counterfactual_idr=("counterfactual_idr", "sum"),
        )
        counts = (
            self.cells.drop_duplicates(["region_code", "period", *[c for c in by if c not in ("region_code",)]])
            .groupby([cell_key[c] for c in cell_key.columns], sort=True).size()
        ) if by else pd.Series([self.cells[["region_code", "period"]].drop_duplicates().shape[0]], index=point.index)
        rows = []
        for group_key, positions in groups.items():
            total = self.draws[positions].sum(axis=0)
            rows.append((group_key, total.std(ddof=1), *np.percentile(total, [low, high])))
        spread = pd.DataFrame(rows, columns=["key", "se", "ci_low", "ci_high"]).set_index("key")
        spread.index = point.index
        out = point.join(spread)
        out["n_periods"] = counts.reindex(out.index).to_numpy()
        out = out.reset_index()
        if not by:
            out = out.drop(columns=[c for c in out.columns if c == "_all"])
        return out[[*by, "savings_idr", "se", "ci_low", "ci_high", "actual_idr", "counterfactual_idr", "n_periods"]]

    def total(self) -> dict:
        """The total savings: ``savings_idr, se, ci_low, ci_high, actual_idr, adopter_months``."""
        row = self.summarise(()).iloc[0].to_dict()
        row["adopter_months"] = int(self.cells[["region_code", "period"]].drop_duplicates().shape[0]) * self.months_per_period
        return row

    def per_adopter_year(self) -> dict:
        """Total savings per adopter per year (Rupiah): total / (adopter-months / 12)."""
        total = self.total()
        years = total["adopter_months"] / 12.0
        return {k: total[k] / years for k in ("savings_idr", "se", "ci_low", "ci_high")}


def savings_in_rupiah(
    effects: dict[str, SpendingEffect],
    *,
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> Savings:
    """Savings for each adopter, post-adoption period and category of ``effects`` (mapping
    category -> :class:`SpendingEffect`, typically the six routine categories).

    ``counterfactual = actual * exp(-ATT_e)`` with ``e`` the periods since adoption and
    ``ATT_e`` the category's event-time ATT; cells whose ``e`` has no estimate are dropped.
    Totals over categories are sums of the category savings ("sum of parts").
    """
    if not effects:
        raise ValueError("savings_in_rupiah needs at least one SpendingEffect")
    frequencies = {effect.frequency for effect in effects.values()}
    if len(frequencies) != 1:
        raise ValueError("all effects must use the same frequency")
    weights = multiplier_weights([u for e in effects.values() for u in e.unit_ids], n_draws, seed)
    cells, index, draws = [], [], []
    for category, effect in effects.items():
        att_e = pd.Series(
            effect.event_study.set_index("event").loc[effect.post_events, "att"].to_numpy(),
            index=effect.post_events,
        )
        part = effect.treated_cells[effect.treated_cells["event"].isin(att_e.index)].copy()
        part["category"] = category
        part["actual_idr"] = part["realized_real_idr"]
        part["real_per_nominal"] = part["realized_real_idr"] / part["realized_idr"]
        part["counterfactual_idr"] = part["actual_idr"] * np.exp(-part["event"].map(att_e))
        part["savings_idr"] = part["counterfactual_idr"] - part["actual_idr"]
        cells.append(part[["region_code", "period", "category", "event", "actual_idr", "counterfactual_idr",
                           "savings_idr", "real_per_nominal"]])
        factor = np.expm1(-event_att_draws(effect, weights))  # events x draws
        event_pos = {int(e): i for i, e in enumerate(effect.post_events)}
        spend = (
            part.assign(pos=part["event"].map(event_pos))
            .pivot_table(index="region_code", columns="pos", values="actual_idr", aggfunc="sum", fill_value=0.0)
        )
        matrix = np.zeros((len(spend), len(effect.post_events)))
        matrix[:, spend.columns.to_numpy(dtype=int)] = spend.to_numpy()
        draws.append(matrix @ factor)
        index.append(pd.DataFrame({"region_code": spend.index.to_numpy(), "category": category}))
    months = 3 if frequencies == {"quarter"} else 1
    return Savings(
        cells=pd.concat(cells, ignore_index=True),
        draw_index=pd.concat(index, ignore_index=True),
        draws=np.vstack(draws),
        months_per_period=months,
        alpha=alpha,
    )


@dataclass(frozen=True)
class Projection:
    """Projected savings per year (real Rupiah of ``base_year`` prices) if the target Pemda
    adopted ``days_per_week`` WFA days.

    ``by_category``: ``category, base_spending_idr, beta_per_day, savings_idr, ci_low, ci_high``.
    ``observed_doses``: the WFA days per week seen among the adopters used for the estimate;
    ``extrapolated``: True when ``days_per_week`` lies outside them.
    """

    days_per_week: float
    base_year: int
    n_pemda: int
    scope: str
    savings_idr: float
    se: float
    ci_low: float
    ci_high: float
    by_category: pd.DataFrame
    observed_doses: tuple[float, ...]
    extrapolated: bool
    assumptions: tuple[str, ...] = field(default=())


def project_annual_savings(
    effects: dict[str, SpendingEffect],
    panel: pd.DataFrame,
    *,
    days_per_week: float,
    base_year: int,
    region_codes: list[str] | None = None,
    scope: str = "all Pemda in the data",
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> Projection:
    """Savings per year if the Pemda ``region_codes`` (None = every Pemda in ``panel``) all
    adopted ``days_per_week`` WFA days per week.

    Assumptions: (1) the effect is linear in WFA days in log points: ``beta = ATT / mean dose``
    of the treated cells the ATT averages over; (2) the effect measured on the adopters applies
    to every target Pemda (adopters chose WFA; their effect may differ); (3) the no-WFA spending
    is the real spending of ``base_year`` (monthly sums, Rupiah of the panel's prices); (4) only
    the categories in ``effects`` are affected. Uncertainty: the multiplier bootstrap draws of the
    category ATTs (joint across categories); base spending is taken as known.
    """
    if days_per_week <= 0:
        raise ValueError("days_per_week must be > 0")
    weights = multiplier_weights([u for e in effects.values() for u in e.unit_ids], n_draws, seed)
    target = panel[panel["year"] == base_year]
    if region_codes is not None:
        target = target[target["region_code"].isin(set(region_codes))]
    if target.empty:
        raise ValueError(f"no spending in {base_year} for the target Pemda")
    rows, total_draws, doses = [], np.zeros(n_draws), set()
    for category, effect in effects.items():
        dose = float(effect.treated_cells["wfa_days_per_week"].mean())
        doses.update(float(d) for d in effect.treated_cells["wfa_days_per_week"].unique())
        base = float(target.loc[target["category"] == category, "realized_real_idr"].sum())
        beta = effect.att / dose
        point = base * -np.expm1(days_per_week * beta)
        beta_draws = overall_att_draws(effect, weights) / dose
        category_draws = base * -np.expm1(days_per_week * beta_draws)
        total_draws = total_draws + category_draws
        low, high = np.percentile(category_draws, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        rows.append((category, base, beta, point, low, high))
    by_category = pd.DataFrame(
        rows, columns=["category", "base_spending_idr", "beta_per_day", "savings_idr", "ci_low", "ci_high"]
    )
    low, high = np.percentile(total_draws, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    observed = tuple(sorted(doses))
    return Projection(
        days_per_week=float(days_per_week),
        base_year=int(base_year),
        n_pemda=int(target["region_code"].nunique()),
        scope=scope,
        savings_idr=float(by_category["savings_idr"].sum()),
        se=float(total_draws.std(ddof=1)),
        ci_low=float(low),
        ci_high=float(high),
        by_category=by_category,
        observed_doses=observed,
        extrapolated=not (min(observed) <= days_per_week <= max(observed)),
        assumptions=(
            "linear dose scaling in log points: effect of k days = k x ATT / mean observed days",
            "the adopters' effect applies to every target Pemda",
            f"no-WFA spending = real spending in {base_year}",
            "only the listed categories change",
        ),
    )


def truth_over_cells(truth_cells: pd.DataFrame, effect: SpendingEffect) -> float:
    """The true ATT over exactly the cells ``effect`` averages over (mean over its treated
    post-adoption cells of the true log effect).

    ``truth_cells``: ``truth_budget_cells.parquet`` (one row per Pemda x month with WFA in force x
    category: ``region_code, period, category, realized_idr, counterfactual_idr``, nominal Rupiah).
    The true log effect of a cell (a month or a quarter; one category or ``routine_total``) is
    ``log(R / (R - S))``: ``R`` its realised spending (nominal, from the panel), ``S`` the sum of
    ``realized - counterfactual`` over its months with WFA in force (months without WFA, e.g. the
    first months of a partly treated quarter, have no effect).
    """
    from analysis.budget import month_to_period

    data = truth_cells.copy()
    data["region_code"] = data["region_code"].astype(str)
    if effect.category == ROUTINE_TOTAL:
        data = data[data["category"].isin(ROUTINE_CATEGORIES)]
    else:
        data = data[data["category"] == effect.category]
    data["period"] = month_to_period(data["period"], effect.frequency)
    data["effect_idr"] = data["realized_idr"].astype(float) - data["counterfactual_idr"].astype(float)
    effect_idr = data.groupby(["region_code", "period"])["effect_idr"].sum()
    cells = effect.treated_cells.set_index(["region_code", "period"])
    change = effect_idr.reindex(cells.index).fillna(0.0).to_numpy()
    realized = cells["realized_idr"].to_numpy(dtype=float)
    return float(np.mean(np.log(realized / (realized - change))))


def truth_savings_over_cells(truth_cells: pd.DataFrame, savings: Savings) -> float:
    """True savings (Rupiah, the same real prices as ``savings``) over exactly the adopter x
    period x category cells of ``savings``: the sum over those cells of ``counterfactual -
    realized`` from ``truth_budget_cells.parquet`` (nominal, converted with each cell's
    deflator factor). Months of a cell without WFA in force contribute nothing."""
    from analysis.budget import month_to_period

    frequency = "quarter" if savings.months_per_period == 3 else "month"
    data = truth_cells.assign(
        region_code=truth_cells["region_code"].astype(str),
        period=month_to_period(truth_cells["period"], frequency),
        saved=truth_cells["counterfactual_idr"].astype(float) - truth_cells["realized_idr"].astype(float),
    )
    saved = data.groupby(["region_code", "period", "category"])["saved"].sum()
    keys = pd.MultiIndex.from_frame(savings.cells[["region_code", "period", "category"]])
    return float((saved.reindex(keys).fillna(0.0).to_numpy() * savings.cells["real_per_nominal"].to_numpy()).sum())


__all__ = [
    "CONTROLS", "Projection", "Savings", "SpendingEffect", "estimate_spending_effect",
    "event_att_draws", "multiplier_weights", "overall_att_draws", "project_annual_savings",
    "savings_in_rupiah", "time_to_period", "truth_over_cells", "BudgetAnalysis", "run_budget_analysis",
    "savings_by_pemda", "conclusion_text", "result_entries", "other_estimator_event_studies", "result_extra",
    "truth_savings_over_cells",
]


# --------------------------------------------------------------------------------------------
# The whole analysis of notebook 20, as one call (the notebook only shows its parts)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetAnalysis:
    """Everything notebook ``20_budget_savings`` shows. Rupiah are real, ``price_base_year`` prices.

    ``effects``: category -> adjusted (if ``adjust_for_tkd``) CS effect, for every routine and
    placebo category and ``routine_total``; ``unadjusted``: the same without covariates (only
    when ``adjust_for_tkd``; else equal to ``effects``); ``comparison``: one row per category x
    adjusted with the ATTs (and ``truth`` on synthetic data); ``savings``: from the routine
    categories; ``projection``; ``truth``: truth.json's ``budget`` block (plus
    ``savings_idr_over_estimated_cells``, the true savings over the cells of ``savings``) or None.
    """

    parameters: dict
    panel: pd.DataFrame
    units: pd.DataFrame
    excluded: pd.DataFrame
    regions: pd.DataFrame
    covariates: pd.DataFrame
    effects: dict
    unadjusted: dict
    comparison: pd.DataFrame
    savings: Savings
    projection: Projection
    truth: dict | None


def run_budget_analysis(
    data_dir,
    *,
    frequency: str = "quarter",
    adjust_for_tkd: bool = True,
    price_base_year: int = 2025,
    projection_days_per_week: float = 1.0,
    projection_province: str = "",
    control: str = "notyettreated",
    n_draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> BudgetAnalysis:
    """Load ``regions``, ``policies``, ``budget``, ``transfers`` of ``data_dir``, build the panel,
    estimate every category with and without the TKD adjustment, the savings and the projection
    (``base_year = price_base_year``; every Pemda in the data, or with ``projection_province``
    (a province code such as ``"32"``) the province government and its kabupaten/kota)."""
    import json
    from pathlib import Path

    from analysis.budget import (
        adoption_table, cohorts_for_estimation, spending_panel, tkd_covariates,
    )
    from analysis.io import load_table

    data_dir = Path(data_dir)
    regions = load_table(data_dir, "regions")
    policies = load_table(data_dir, "policies")
    budget = load_table(data_dir, "budget")
    transfers = load_table(data_dir, "transfers")
    panel = spending_panel(budget, frequency=frequency, price_base_year=price_base_year)
    adoption = adoption_table(policies, regions, periods=budget["period"])
    units, excluded = cohorts_for_estimation(adoption, panel, frequency=frequency)
    covariates = tkd_covariates(transfers, regions)
    truth_cells, truth = None, None
    if (data_dir / "truth_budget_cells.parquet").exists():
        truth_cells = pd.read_parquet(data_dir / "truth_budget_cells.parquet")
        truth = json.loads((data_dir / "truth.json").read_text(encoding="utf-8")).get("budget")
    categories = [ROUTINE_TOTAL, *ROUTINE_CATEGORIES, *PLACEBO_CATEGORIES]
    effects, unadjusted, rows = {}, {}, []
    for category in categories:
        effects[category] = estimate_spending_effect(
            panel, units, covariates, category=category, adjust_for_tkd=adjust_for_tkd, control=control
        )
        unadjusted[category] = (
            estimate_spending_effect(panel, units, covariates, category=category, adjust_for_tkd=False, control=control)
            if adjust_for_tkd else effects[category]
        )
        for effect in {id(e): e for e in (effects[category], unadjusted[category])}.values():
            row = effect.as_row()
            if truth_cells is not None:
                row["truth"] = truth_over_cells(truth_cells, effect)
            rows.append(row)
    routine = {c: effects[c] for c in ROUTINE_CATEGORIES}
    savings = savings_in_rupiah(routine, n_draws=n_draws, seed=seed)
    if truth_cells is not None:
        truth = {**truth, "savings_idr_over_estimated_cells": truth_savings_over_cells(truth_cells, savings)}
    region_codes, scope = None, "all Pemda in the data"
    if projection_province:
        in_province = regions["province_code"].astype(str) == str(projection_province)
        region_codes = list(regions.loc[in_province, "region_code"].astype(str))
        if not region_codes:
            raise ValueError(f"projection_province {projection_province!r}: no Pemda with that province_code")
        scope = f"province {projection_province}"
    projection = project_annual_savings(
        routine, panel, days_per_week=projection_days_per_week, base_year=price_base_year,
        region_codes=region_codes, scope=scope, n_draws=n_draws, seed=seed,
    )
    parameters = {
        "frequency": frequency, "adjust_for_tkd": adjust_for_tkd, "price_base_year": price_base_year,
        "projection_days_per_week": projection_days_per_week, "projection_province": projection_province,
        "control": control,
        "n_draws": n_draws, "seed": seed,
    }
    return BudgetAnalysis(parameters, panel, units, excluded, regions, covariates, effects, unadjusted,
                          pd.DataFrame(rows), savings, projection, truth)


def registry_region_codes() -> set[str]:
    """Region codes of the real adopters in the bundled policy registry
    (``data/reference/policies.csv``)."""
    from analysis.paths import POLICIES_CSV

    return set(pd.read_csv(POLICIES_CSV, dtype={"region_code": str})["region_code"])


def savings_by_pemda(analysis: BudgetAnalysis, *, registry_only: bool = False) -> pd.DataFrame:
    """Per adopter: ``region_code, name, cohort, wfa_days_per_week, n_periods, savings_idr,
    ci_low, ci_high, savings_per_capita_idr`` and ``savings_per_asn_idr`` (only if the regions
    table has ``asn_count``; otherwise skipped). ``registry_only``: only the Pemda of the bundled
    policy registry (the real 2025-2026 adopters)."""
    table = analysis.savings.summarise(["region_code"])
    if registry_only:
        table = table[table["region_code"].isin(registry_region_codes())]
    info = analysis.units[["region_code", "cohort", "wfa_days_per_week"]]
    regions = analysis.regions.assign(region_code=analysis.regions["region_code"].astype(str))
    keep = ["region_code", "name", "population"] + (["asn_count"] if "asn_count" in regions.columns else [])
    table = table.merge(info, on="region_code", how="left").merge(regions[keep], on="region_code", how="left")
    table["savings_per_capita_idr"] = table["savings_idr"] / table["population"]
    columns = ["region_code", "name", "cohort", "wfa_days_per_week", "n_periods", "savings_idr", "ci_low",
               "ci_high", "savings_per_capita_idr"]
    if "asn_count" in table.columns:
        table["savings_per_asn_idr"] = table["savings_idr"] / table["asn_count"]
        columns.append("savings_per_asn_idr")
    return table[columns].sort_values("savings_idr", ascending=False).reset_index(drop=True)


def conclusion_text(analysis: BudgetAnalysis, lang: str) -> str:
    """Plain-language conclusion (markdown) whose numbers all come from ``analysis``; money via
    :func:`analysis.formatting.format_idr`, percentages via ``format_pct``."""
    from analysis.formatting import check_lang, format_idr, format_interval, format_number, format_pct

    check_lang(lang)
    headline = analysis.effects[ROUTINE_TOTAL]
    naive = analysis.unadjusted[ROUTINE_TOTAL]
    total = analysis.savings.total()
    per_year = analysis.savings.per_adopter_year()
    proj = analysis.projection
    pct = lambda v: format_pct(100 * float(np.expm1(v)), lang, 1, signed=True)  # noqa: E731
    idr_ci = lambda lo, hi: format_interval(lo, hi, format_idr, lang)  # noqa: E731
    placebo = [analysis.effects[c] for c in PLACEBO_CATEGORIES]
    placebo_null = all(e.ci_low <= 0 <= e.ci_high for e in placebo)
    base = analysis.parameters["price_base_year"]
    if lang == "id":
        parts = [
            f"WFA mengubah belanja rutin Pemda penerap sebesar **{pct(headline.att)}** "
            f"(IK 95% {format_interval(np.expm1(headline.ci_low) * 100, np.expm1(headline.ci_high) * 100, format_pct, lang)}), "
            f"{'setelah' if headline.adjusted else 'tanpa'} memperhitungkan pemotongan TKD 2026. "
            f"Tanpa penyesuaian itu, estimasinya {pct(naive.att)}.",
            f"Selama periode pengamatan, {headline.n_treated} Pemda penerap menghemat sekitar "
            f"**{format_idr(total['savings_idr'], lang)}** (IK 95% {idr_ci(total['ci_low'], total['ci_high'])}), "
            f"atau {format_idr(per_year['savings_idr'], lang)} per Pemda per tahun (harga {base}).",
            f"Jika {proj.n_pemda} Pemda menerapkan {format_number(proj.days_per_week, lang, 0)} hari WFA per pekan, "
            f"penghematan diperkirakan **{format_idr(proj.savings_idr, lang)} per tahun** "
            f"(IK 95% {idr_ci(proj.ci_low, proj.ci_high)})"
            + (" — ini ekstrapolasi di luar jumlah hari yang teramati." if proj.extrapolated else "."),
            "Kategori plasebo (penerangan jalan, pemeliharaan) "
            + ("tidak menunjukkan efek, sesuai harapan." if placebo_null else "menunjukkan efek: hasil di atas perlu dibaca hati-hati."),
        ]
    else:
        parts = [
            f"WFA changed adopters' routine spending by **{pct(headline.att)}** "
            f"(95% CI {format_interval(np.expm1(headline.ci_low) * 100, np.expm1(headline.ci_high) * 100, format_pct, lang)}), "
            f"{'after' if headline.adjusted else 'without'} accounting for the 2026 TKD cut. "
            f"Without that adjustment the estimate is {pct(naive.att)}.",
            f"Over the observed period the {headline.n_treated} adopting Pemda saved about "
            f"**{format_idr(total['savings_idr'], lang)}** (95% CI {idr_ci(total['ci_low'], total['ci_high'])}), "
            f"or {format_idr(per_year['savings_idr'], lang)} per Pemda per year ({base} prices).",
            f"If {proj.n_pemda} Pemda adopted {proj.days_per_week:g} WFA day(s) per week, they would save about "
            f"**{format_idr(proj.savings_idr, lang)} per year** (95% CI {idr_ci(proj.ci_low, proj.ci_high)})"
            + (" — an extrapolation beyond the observed number of days." if proj.extrapolated else "."),
            "The placebo categories (street lighting, maintenance) "
            + ("show no effect, as expected." if placebo_null else "show an effect: read the results above with caution."),
        ]
    return "\n\n".join(parts)


def result_entries(analysis: BudgetAnalysis) -> list:
    """The ``results.json`` entries of notebook 20."""
    from analysis.results import ResultEntry

    head, naive = analysis.effects[ROUTINE_TOTAL], analysis.unadjusted[ROUTINE_TOTAL]
    total, per_year, proj = analysis.savings.total(), analysis.savings.per_adopter_year(), analysis.projection
    base = analysis.parameters["price_base_year"]
    entries = [
        ResultEntry("att_log_routine_spending", head.att, head.se, head.ci_low, head.ci_high, "log points",
                    "CS ATT on log routine spending" + (" (TKD-adjusted)" if head.adjusted else "")),
        ResultEntry("att_log_routine_spending_unadjusted", naive.att, naive.se, naive.ci_low, naive.ci_high,
                    "log points", "CS ATT on log routine spending without the TKD adjustment"),
        ResultEntry("savings_idr_total", total["savings_idr"], total["se"], total["ci_low"], total["ci_high"],
                    "IDR", f"savings of all adopters over the observed post-adoption periods ({base} prices)"),
        ResultEntry("savings_idr_per_adopter_year", per_year["savings_idr"], per_year["se"], per_year["ci_low"],
                    per_year["ci_high"], "IDR", f"savings per adopter per year ({base} prices)"),
        ResultEntry("projection_idr_per_year", proj.savings_idr, proj.se, proj.ci_low, proj.ci_high, "IDR",
                    f"projected savings per year, {proj.n_pemda} Pemda, {proj.days_per_week:g} WFA day(s)/week"),
    ]
    for category in (*ROUTINE_CATEGORIES, *PLACEBO_CATEGORIES):
        e = analysis.effects[category]
        entries.append(ResultEntry(f"att_log_{category}", e.att, e.se, e.ci_low, e.ci_high, "log points",
                                   f"CS ATT on log {category} spending"))
    return entries


def other_estimator_event_studies(
    panel: pd.DataFrame, units: pd.DataFrame, covariates: pd.DataFrame | None, *, category: str,
    adjust_for_tkd: bool = True, cut_start: str = "2026-01",
) -> dict[str, pd.DataFrame]:
    """Event studies of the same outcome by Sun-Abraham and the BJS imputation estimator
    (``analysis.did``), for the overlay figure: name -> ``event, att, se, ci_low, ci_high``.

    With ``adjust_for_tkd`` both get the regressor ``tkd_cut_share x [period >= cut_start]`` (the
    cut's exposure: time-invariant covariates alone would be absorbed by the Pemda effects).
    An estimator that fails on these data is left out (its error is in the ``errors`` key of the
    returned mapping as a one-row DataFrame ``estimator, error``)."""
    from analysis import did
    from analysis.budget import month_to_period, period_to_time

    data = panel.loc[panel["category"] == category].merge(units[["region_code", "cohort_time"]], on="region_code")
    complete = data.groupby("region_code")["log_realized_real"].transform(lambda s: s.notna().all())
    data = data[complete].copy()
    extra: list[str] = []
    if adjust_for_tkd and covariates is not None:
        data = data.merge(covariates[["region_code", "tkd_cut_share"]], on="region_code")
        frequency = "quarter" if "Q" in str(data["period"].iloc[0]) else "month"
        start = int(period_to_time(month_to_period(pd.Series([cut_start]), frequency), frequency).iloc[0])
        data["cut_exposure"] = data["tkd_cut_share"] * (data["time"] >= start)
        extra = ["cut_exposure"]
    out, errors = {}, []
    for name, estimator in (("Sun-Abraham", did.sun_abraham), ("Imputation (BJS)", did.imputation)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = estimator(data, outcome="log_realized_real", unit="region_code", time="time",
                                   cohort="cohort_time", covariates=extra or None)
            out[name] = result.event_study()
        except Exception as exc:  # noqa: BLE001 - shown in the notebook, not hidden
            errors.append((name, f"{type(exc).__name__}: {exc}"))
    if errors:
        out["errors"] = pd.DataFrame(errors, columns=["estimator", "error"])
    return out


def result_extra(analysis: BudgetAnalysis) -> dict:
    """Machine-readable detail for ``results.json`` ``extra``: the comparison table (every
    category, adjusted and unadjusted, with the truth over the estimator's own cells on synthetic
    data), savings by category (their sum is ``savings_idr_total``), the sample exclusions, the
    projection's assumptions and the joint placebo test (:func:`placebo_joint_test`)."""
    by_category = analysis.savings.summarise(["category"])
    return {
        "comparison": analysis.comparison.to_dict(orient="records"),
        "savings_by_category": by_category[["category", "savings_idr", "ci_low", "ci_high"]].to_dict(orient="records"),
        "excluded_pemda": analysis.excluded.to_dict(orient="records"),
        "savings_ci_method": analysis.savings.method,
        "projection": {
            "n_pemda": analysis.projection.n_pemda, "scope": analysis.projection.scope,
            "days_per_week": analysis.projection.days_per_week,
            "observed_doses": list(analysis.projection.observed_doses),
            "extrapolated": analysis.projection.extrapolated, "assumptions": list(analysis.projection.assumptions),
        },
        "truth_json_budget": analysis.truth,
        "placebo_joint_test": placebo_joint_test(analysis.effects),
    }
