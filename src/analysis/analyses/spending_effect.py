"""What WFA does to the spending of one category: Callaway–Sant'Anna effects on log real spending.

Estimation (:func:`estimate_spending_effect`): :func:`analysis.did.callaway_santanna` (the one CS
path of the project) on the log of real spending of one category (or ``routine_total``), doubly
robust, clustered by Pemda, analytic standard errors; ``control`` ``not_yet`` (not-yet-treated
and never-treated Pemda) or ``never``; optionally conditioning on the pre-treatment covariates of
:func:`analysis.panels.budget.tkd_covariates` (the 2026 TKD cut, fiscal capacity, population).
Without them, Pemda that adopted WFA *because* their transfers were cut are compared with Pemda
whose transfers fell less, and the cut's own effect on spending is credited to WFA.

Covariates that are constant or an exact linear function of others in the estimation sample are
dropped before estimation (:func:`screen_covariates`) and named in a :class:`~analysis.notes.Note`.

Also: the joint placebo test (:func:`placebo_joint_test`) and the other estimators' event studies
for the overlay figure (:func:`other_estimator_event_studies`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import did
from analysis.did.results import InfluenceFunction, PretrendTest
from analysis.notes import Note
from analysis.panels.budget import (
    PLACEBO_CATEGORIES,
    ROUTINE_CATEGORIES,
    ROUTINE_TOTAL,
    TKD_COVARIATES,
    month_to_period,
    period_to_time,
    time_to_period,
)

#: Comparison groups (the vocabulary of :func:`analysis.did.callaway_santanna`).
CONTROLS = ("not_yet", "never")

#: Pre-trend test window, in months before the first treated period: one seasonal cycle, and
#: the January 2026 TKD cut falls inside it for every 2026 cohort after January (2026-03: 2
#: months before, 2026-06: 5, 2026-09: 8), so confounding by the cut shows up in the test.
PRETREND_WINDOW_MONTHS = 12

#: Columns of ``SpendingEffect.treated_cells``.
CELL_COLUMNS = ("region_code", "period", "time", "event", "realized_idr", "realized_real_idr",
                "wfa_days_per_week", "in_force_share")

#: Why an adopter of the sample is not in one category's estimate (codes).
NOT_ESTIMATED_REASONS = ("incomplete_spending", "no_covariates", "single_pemda_cohort", "cohort_not_estimated")

#: Below this (relative) singular value the unit-level covariate matrix is taken as rank deficient.
RANK_TOLERANCE = 1e-8


class NoAdopterError(ValueError):
    """No adopter is left to estimate a category's effect (every one was dropped)."""


@dataclass(frozen=True)
class SpendingEffect:
    """CS estimate of the effect of WFA on log real spending of one category.

    ``att``/``se``/``ci_low``/``ci_high``: the simple aggregation (mean over the treated
    Pemda x post-adoption periods of the estimated cohorts, every cell weighted alike), log points
    (``exp(att) - 1`` = proportional change).
    ``event_study``: ``event, att, se, ci_low, ci_high`` (pointwise normal CIs).
    ``influence_simple`` / ``influence_event``: influence functions of ``att`` and of the event
    study, one row per Pemda in ``unit_ids`` order (region codes).
    ``treated_cells``: the cells ``att`` averages over (``CELL_COLUMNS``): ``realized_idr``
    nominal, ``realized_real_idr`` real, ``wfa_days_per_week`` the dose in force and
    ``in_force_share`` the share of the period's working days under WFA.
    ``excluded``: Pemda of the sample left out of this estimate (``region_code, reason,
    adopter``, reasons of ``NOT_ESTIMATED_REASONS``); adopters among them are not in
    ``n_treated``, ``treated_cells`` or the savings.
    ``covariates``: those conditioned on; ``notes``: facts for the reader (dropped covariates).
    ``pretrend``: Wald test that the event-study estimates of the ``pretrend_events`` are all
    zero (:func:`analysis.did.pretrend_test`); ``anticipation``: periods before the cohort left
    out of the comparisons (1 for quarters: the partly treated quarter).
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
    influence_simple: InfluenceFunction
    influence_event: InfluenceFunction
    unit_ids: tuple[str, ...]
    treated_cells: pd.DataFrame
    n_units: int
    n_never_treated: int
    covariates: tuple[str, ...]
    excluded: pd.DataFrame
    by_cohort: pd.DataFrame
    pretrend: PretrendTest | None
    pretrend_events: tuple[int, ...]
    anticipation: int = 0
    notes: tuple[Note, ...] = field(default=())

    @property
    def n_treated(self) -> int:
        return int(self.treated_cells["region_code"].nunique())

    @property
    def treated_codes(self) -> tuple[str, ...]:
        return tuple(sorted(self.treated_cells["region_code"].unique()))

    @property
    def adopters_not_estimated(self) -> tuple[str, ...]:
        """Adopters whose cohort CS could not estimate (e.g. a one-Pemda cohort with covariates)."""
        cohort_reasons = ("single_pemda_cohort", "cohort_not_estimated")
        return tuple(sorted(self.excluded.loc[self.excluded["reason"].isin(cohort_reasons), "region_code"]))

    @property
    def pretrend_pvalue(self) -> float | None:
        return None if self.pretrend is None else float(self.pretrend.pvalue)

    @property
    def dose(self) -> pd.Series:
        """WFA days per week in force in each treated cell, averaged over its working days
        (``wfa_days_per_week x in_force_share``)."""
        return self.treated_cells["wfa_days_per_week"] * self.treated_cells["in_force_share"]

    def as_row(self) -> dict:
        return {
            "category": self.category, "adjusted": self.adjusted, "control": self.control,
            "frequency": self.frequency, "att": self.att, "se": self.se, "ci_low": self.ci_low,
            "ci_high": self.ci_high, "pct_change": float(np.expm1(self.att)), "n_units": self.n_units,
            "n_treated": self.n_treated, "n_treated_cells": len(self.treated_cells),
            "adopters_not_estimated": ";".join(self.adopters_not_estimated),
            "pretrend_pvalue": self.pretrend_pvalue,
        }


def screen_covariates(values: pd.DataFrame, names: tuple[str, ...] | list[str]) -> tuple[tuple[str, ...], tuple[Note, ...]]:
    """Covariates usable in a propensity score / outcome regression with an intercept.

    ``values``: one row per Pemda of the estimation sample. In the order of ``names``, a
    covariate is dropped when it is constant (``Note("covariate_dropped_constant",
    {"covariate"})``) or when, with the intercept and the covariates kept before it, the
    unit-level matrix loses rank (an exact linear function of them, e.g. log TKD per capita
    when TKD is proportional to a power of population: ``Note("covariate_dropped_collinear",
    {"covariate", "collinear_with"})``). Rank is judged on centred columns scaled to unit length
    (smallest singular value below ``RANK_TOLERANCE``), so units of measurement do not matter.
    Returns ``(kept, notes)``.
    """
    kept: list[str] = []
    notes: list[Note] = []
    columns: list[np.ndarray] = []
    for name in names:
        x = values[name].to_numpy(dtype=float)
        centred = x - x.mean()
        norm = np.linalg.norm(centred)
        if not np.isfinite(norm) or norm <= RANK_TOLERANCE * max(1.0, np.abs(x).max(initial=0.0)) * np.sqrt(len(x)):
            notes.append(Note("covariate_dropped_constant", {"covariate": name}))
            continue
        candidate = np.column_stack([*columns, centred / norm])
        smallest = np.linalg.svd(candidate, compute_uv=False).min()
        if smallest < RANK_TOLERANCE:
            notes.append(Note("covariate_dropped_collinear", {"covariate": name, "collinear_with": list(kept)}))
            continue
        kept.append(name)
        columns.append(centred / norm)
    return tuple(kept), tuple(notes)


def estimate_spending_effect(
    panel: pd.DataFrame,
    units: pd.DataFrame,
    covariates: pd.DataFrame | None = None,
    *,
    category: str = ROUTINE_TOTAL,
    adjust_for_tkd: bool = True,
    control: str = "not_yet",
    exposure: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> SpendingEffect:
    """Callaway-Sant'Anna ATT of WFA on ``log_realized_real`` for ``category``.

    ``panel``: from :func:`analysis.panels.budget.spending_panel`; ``units``: the estimation
    sample from :func:`analysis.panels.budget.cohorts_for_estimation`; ``covariates``: from
    :func:`analysis.panels.budget.tkd_covariates` (required when ``adjust_for_tkd``; Pemda
    without them are left out and listed in ``excluded`` as ``no_covariates``);
    ``exposure``: from :func:`analysis.panels.budget.wfa_exposure` (dose and share in force of
    each treated cell; None = the unit's dose, whole periods in force; a treated cell absent
    from it had no WFA in force: dose and share 0).
    Pemda with a period missing or with zero spending in any period are dropped for this
    category (CS on a balanced panel) and listed as ``incomplete_spending``. Quarterly panels are estimated with one period of anticipation, so
    the partly treated quarter before a cohort is neither its base period nor a control period.
    Raises :class:`NoAdopterError` when no adopter is left.
    """
    if control not in CONTROLS:
        raise ValueError(f"control must be one of {CONTROLS}, got {control!r}")
    known = set(ROUTINE_CATEGORIES) | set(PLACEBO_CATEGORIES) | {ROUTINE_TOTAL}
    if category not in known:
        raise ValueError(f"unknown category {category!r}; expected one of {sorted(known)}")
    data = panel.loc[panel["category"] == category].merge(
        units[["region_code", "cohort_time", "wfa_days_per_week"]], on="region_code", how="inner"
    )
    adopters = set(units.loc[units["cohort_time"] > 0, "region_code"])
    dropped: list[tuple[str, str]] = []   # (region_code, reason) of every Pemda left out
    used_covariates: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    if adjust_for_tkd:
        if covariates is None:
            raise ValueError("adjust_for_tkd=True needs the covariates (analysis.panels.budget.tkd_covariates)")
        table = covariates[["region_code", *TKD_COVARIATES]]
        finite = np.isfinite(table[list(TKD_COVARIATES)].to_numpy(dtype=float)).all(axis=1)
        with_covariates = set(table.loc[finite, "region_code"])
        dropped += [(code, "no_covariates") for code in sorted(set(data["region_code"].unique()) - with_covariates)]
        data = data.merge(table[finite], on="region_code", how="inner")
    n_periods = data["time"].nunique()
    complete = data.groupby("region_code")["log_realized_real"].count()  # non-missing periods
    keep = complete.index[complete == n_periods]
    dropped += [(code, "incomplete_spending") for code in sorted(set(complete.index) - set(keep))]
    data = data[data["region_code"].isin(keep)].copy()
    if (data["cohort_time"] > 0).sum() == 0:
        raise NoAdopterError(f"no adopter left in the sample for {category!r}")
    if adjust_for_tkd:
        unit_values = data.drop_duplicates("region_code")
        used_covariates, notes = screen_covariates(unit_values, TKD_COVARIATES)
    unit_ids = tuple(sorted(data["region_code"].unique()))
    data["unit_id"] = data["region_code"].map({code: i + 1 for i, code in enumerate(unit_ids)})
    frequency = "quarter" if "Q" in str(data["period"].iloc[0]) else "month"
    anticipation = 1 if frequency == "quarter" else 0
    # few-treated and per-cell warnings: the facts are in the result. record=True also holds
    # back warnings whose "always" filter a library installs while being imported here
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("ignore")
        result = did.callaway_santanna(
            data, outcome="log_realized_real", unit="unit_id", time="time", cohort="cohort_time",
            covariates=list(used_covariates) or None, control=control, method="dr",
            anticipation=anticipation, alpha=alpha,
        )
        by_cohort = result.aggregate("group").rename(columns={"cohort": "cohort_time"})
        event_study = result.event_study()
        overall = result.overall()
        influence_simple = result.influence("simple")
        influence_event = result.influence("event")
    by_cohort["cohort_time"] = by_cohort["cohort_time"].astype(int)

    # cohorts CS could not estimate (e.g. a single adopter whose propensity score cannot be
    # fitted with covariates) are not part of the estimate: keep them out of its cells
    estimated = set(by_cohort["cohort_time"])
    treated_units = data.loc[data["cohort_time"] > 0].drop_duplicates("region_code")
    cohort_size = treated_units["cohort_time"].value_counts()
    for row in treated_units.loc[~treated_units["cohort_time"].isin(estimated)].itertuples():
        dropped.append((row.region_code, "single_pemda_cohort" if cohort_size[row.cohort_time] == 1 else "cohort_not_estimated"))
    cells = data.loc[(data["cohort_time"] > 0) & (data["time"] >= data["cohort_time"])
                     & data["cohort_time"].isin(estimated)].copy()
    cells["event"] = cells["time"] - cells["cohort_time"]
    cells = _with_exposure(cells, exposure)

    window = PRETREND_WINDOW_MONTHS // (3 if frequency == "quarter" else 1)
    available = set(event_study.loc[np.isfinite(event_study["att"]), "event"].astype(int))
    pre_events = tuple(e for e in range(-window - anticipation, -anticipation) if e in available)
    pretrend = did.pretrend_test(result, events=list(pre_events)) if pre_events else None
    return SpendingEffect(
        category=category,
        adjusted=bool(adjust_for_tkd),
        control=control,
        frequency=frequency,
        att=overall["att"],
        se=overall["se"],
        ci_low=overall["ci_low"],
        ci_high=overall["ci_high"],
        event_study=event_study,
        influence_simple=influence_simple,
        influence_event=influence_event,
        unit_ids=unit_ids,
        treated_cells=cells[list(CELL_COLUMNS)].reset_index(drop=True),
        n_units=len(unit_ids),
        n_never_treated=int((data.drop_duplicates("region_code")["cohort_time"] == 0).sum()),
        covariates=used_covariates,
        excluded=pd.DataFrame(dropped, columns=["region_code", "reason"]).assign(
            adopter=lambda d: d["region_code"].isin(adopters)),
        by_cohort=by_cohort.assign(cohort=time_to_period(by_cohort["cohort_time"], frequency).to_numpy()),
        pretrend=pretrend,
        pretrend_events=pre_events,
        anticipation=anticipation,
        notes=notes,
    )


def _with_exposure(cells: pd.DataFrame, exposure: pd.DataFrame | None) -> pd.DataFrame:
    """``wfa_days_per_week`` and ``in_force_share`` of each treated cell (see
    :func:`estimate_spending_effect`)."""
    if exposure is None:
        return cells.assign(in_force_share=1.0)
    table = exposure[["region_code", "period", "wfa_days_per_week", "in_force_share"]]
    out = cells.drop(columns=["wfa_days_per_week"]).merge(table, on=["region_code", "period"], how="left")
    return out.fillna({"wfa_days_per_week": 0.0, "in_force_share": 0.0})


#: Verdict codes of :func:`placebo_joint_test`.
PLACEBO_VERDICTS = ("no_placebo_effect_detected", "placebo_effect_detected")


def placebo_joint_test(effects: dict, categories: tuple[str, ...] | list[str] = PLACEBO_CATEGORIES,
                       alpha: float = 0.05) -> dict:
    """Wald test that the simple ATTs of the placebo ``categories`` (no WFA effect by
    construction: street lighting, maintenance) are all zero, with their joint covariance from
    the influence functions (``V = sum_i phi_i phi_i'``, ``phi_ik = psi_ik / n_k``; Pemda missing
    from a category contribute 0 to it). One test of size ``alpha`` for the family: with two
    placebo categories, one 95% CI excluding 0 on a given dataset happens in ~10% of datasets
    under the null, so single CIs are not the test, and nothing should read them one by one.

    Returns ``categories``, ``statistic``, ``df``, ``pvalue``, ``alpha``, ``reject``,
    ``verdict`` (a code of ``PLACEBO_VERDICTS``) and per category ``att``, ``se``, ``z`` (facts
    to show; ``se`` from the influence function, equal to the CS analytic SE)."""
    present = [c for c in categories if c in effects]
    if not present:
        raise ValueError(f"no placebo category among the effects: {sorted(effects)}")
    codes = sorted(set().union(*(effects[c].unit_ids for c in present)))
    row = {code: i for i, code in enumerate(codes)}
    phi = np.zeros((len(codes), len(present)))
    for k, category in enumerate(present):
        effect = effects[category]
        values = effect.influence_simple.values[:, 0]
        phi[[row[u] for u in effect.unit_ids], k] = values / len(effect.unit_ids)
    cov = phi.T @ phi
    att = np.array([effects[c].att for c in present])
    statistic = float(att @ np.linalg.solve(cov, att))
    pvalue = float(stats.chi2.sf(statistic, len(present)))
    se = np.sqrt(np.diag(cov))
    reject = bool(pvalue < alpha)
    return {
        "categories": present, "statistic": statistic, "df": len(present), "pvalue": pvalue,
        "alpha": alpha, "reject": reject, "verdict": PLACEBO_VERDICTS[int(reject)],
        "by_category": [{"category": c, "att": float(a), "se": float(s), "z": float(a / s)}
                        for c, a, s in zip(present, att, se)],
    }


@dataclass(frozen=True)
class OtherEventStudies:
    """Event studies of the other estimators (name -> ``event, att, se, ci_low, ci_high``) and
    the estimators that failed on these data (``Note("estimator_failed", {"estimator",
    "error"})``)."""

    studies: dict[str, pd.DataFrame]
    notes: tuple[Note, ...] = ()


def other_estimator_event_studies(
    panel: pd.DataFrame, units: pd.DataFrame, covariates: pd.DataFrame | None, *, category: str,
    adjust_for_tkd: bool = True, cut_start: str = "2026-01",
) -> OtherEventStudies:
    """Event studies of the same outcome by Sun-Abraham and the BJS imputation estimator
    (``analysis.did``), for the overlay figure.

    With ``adjust_for_tkd`` both get the regressor ``tkd_cut_share x [period >= cut_start]`` (the
    cut's exposure: time-invariant covariates alone would be absorbed by the Pemda effects).
    An estimator that fails on these data is left out of ``studies`` and named in ``notes``."""
    data = panel.loc[panel["category"] == category].merge(units[["region_code", "cohort_time"]], on="region_code")
    complete = data["log_realized_real"].notna().groupby(data["region_code"]).transform("all")
    data = data[complete].copy()
    extra: list[str] = []
    if adjust_for_tkd and covariates is not None:
        data = data.merge(covariates[["region_code", "tkd_cut_share"]], on="region_code")
        frequency = "quarter" if "Q" in str(data["period"].iloc[0]) else "month"
        start = int(period_to_time(month_to_period(pd.Series([cut_start]), frequency), frequency).iloc[0])
        data["cut_exposure"] = data["tkd_cut_share"] * (data["time"] >= start)
        extra = ["cut_exposure"]
    studies, notes = {}, []
    for name, estimator in (("Sun-Abraham", did.sun_abraham), ("Imputation (BJS)", did.imputation)):
        try:
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("ignore")
                result = estimator(data, outcome="log_realized_real", unit="region_code", time="time",
                                   cohort="cohort_time", covariates=extra or None)
            studies[name] = result.event_study()
        except Exception as exc:  # noqa: BLE001 - a fact for the reader, not hidden
            notes.append(Note("estimator_failed", {"estimator": name, "error": f"{type(exc).__name__}: {exc}"}))
    return OtherEventStudies(studies, tuple(notes))
