"""TWFE baseline: static coefficient against the cross-library anchor, event study against an
independent explicit-dummy OLS (statsmodels) with a hand-computed clustered sandwich."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis.did import twfe

DATA = Path(__file__).parent / "data"
COLUMNS = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
EVENTS = [-4, -3, -2, 0, 1, 2, 3]  # every observed event time except the reference -1


@cache
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA / "mpdta.csv")


@cache
def fit():
    return twfe(mpdta(), **COLUMNS)


@cache
def dummy_ols():
    """Explicit unit, year and relative-time dummies; CRV1 SEs with fixest's df convention.

    fixest counts the non-nested parameters only: the event dummies plus the year levels
    (unit effects are nested in the unit clusters), so K = 7 + 5 = 12 here."""
    data = mpdta()
    cohort = data["first.treat"].to_numpy()
    relative = np.where(cohort > 0, data["year"].to_numpy() - cohort, -99)
    design = pd.DataFrame({f"e{e}": (relative == e).astype(float) for e in EVENTS})
    design = pd.concat(
        [
            design,
            pd.get_dummies(data["countyreal"], prefix="u", drop_first=True, dtype=float),
            pd.get_dummies(data["year"], prefix="y", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    design = sm.add_constant(design)
    model = sm.OLS(data["lemp"], design).fit()
    x = design.to_numpy()
    resid = model.resid.to_numpy()
    bread = np.linalg.inv(x.T @ x)
    meat = np.zeros_like(bread)
    for rows in data.groupby("countyreal").indices.values():
        score = x[rows].T @ resid[rows]
        meat += np.outer(score, score)
    n, g = len(data), data["countyreal"].nunique()
    k = len(EVENTS) + data["year"].nunique()
    vcov = bread @ meat @ bread * g / (g - 1) * (n - 1) / (n - k)
    index = slice(1, 1 + len(EVENTS))
    return model.params.to_numpy()[index], vcov[index, index]


def test_static_twfe_matches_anchor():
    overall = fit().overall()
    assert overall["att"] == pytest.approx(-0.0365489367, abs=1e-10)
    assert overall["se"] == pytest.approx(0.0132652, abs=1e-7)
    crit = stats.t.ppf(0.975, 500 - 1)
    assert overall["ci_low"] == pytest.approx(overall["att"] - crit * overall["se"], abs=1e-12)


def test_event_study_matches_explicit_dummy_ols():
    coef, vcov = dummy_ols()
    table = fit().event_study()
    estimated = table[table["event"] != -1]
    assert estimated["event"].tolist() == EVENTS
    np.testing.assert_allclose(estimated["att"], coef, atol=1e-8, rtol=0)
    np.testing.assert_allclose(estimated["se"], np.sqrt(np.diag(vcov)), atol=1e-8, rtol=0)
    reference = table[table["event"] == -1].iloc[0]
    assert (reference["att"], reference["se"]) == (0.0, 0.0)
    assert list(table.columns) == ["event", "att", "se", "ci_low", "ci_high"]


def test_event_vcov_aligned_with_table_and_pretrend():
    result = fit()
    coef, vcov = dummy_ols()
    table = result.event_study()
    estimated = (table["event"] != -1).to_numpy()
    np.testing.assert_allclose(result.event_vcov[np.ix_(estimated, estimated)], vcov, atol=1e-12)
    pre = [0, 1, 2]  # e = -4, -3, -2
    stat = coef[pre] @ np.linalg.solve(vcov[np.ix_(pre, pre)], coef[pre])
    assert result.pretrend.df == 3
    assert result.pretrend.events == (-4, -3, -2)
    assert result.pretrend.stat == pytest.approx(stat, rel=1e-8)
    assert result.pretrend.pvalue == pytest.approx(stats.chi2.sf(stat, 3), rel=1e-8)


def test_result_metadata():
    result = fit()
    assert result.estimator == "twfe"
    assert (result.n_units, result.n_treated_units) == (500, 191)
    assert result.cohorts == (2004, 2006, 2007)


def test_monthly_time_gives_same_estimates():
    data = mpdta().copy()
    origin = pd.Period("2020-01", freq="M")
    data["month"] = [(origin + (y - 2003)).strftime("%Y-%m") for y in data["year"]]
    data["first_month"] = [
        (origin + (g - 2003)).strftime("%Y-%m") if g else None for g in data["first.treat"]
    ]
    result = twfe(data, outcome="lemp", unit="countyreal", time="month", cohort="first_month")
    np.testing.assert_allclose(result.event_study()["att"], fit().event_study()["att"], atol=1e-10)
    assert result.cohorts == ("2020-02", "2020-04", "2020-05")


def test_without_never_treated_drops_earliest_event_too():
    data = mpdta()
    data = data[data["first.treat"] != 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = twfe(data, **COLUMNS)
    assert result.details["omitted_events"] == (-4, -1)
    assert np.isfinite(result.event_study()["att"]).all()
