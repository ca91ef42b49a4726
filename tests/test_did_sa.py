"""Sun–Abraham IW event study: mpdta anchors, an independent dummy regression (numpy lstsq),
pyfixest's saturated event study (points and SEs), monthly time, control choices, bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import sun_abraham

DATA = Path(__file__).parent / "data"
COLUMNS = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
#: did-libraries notes §5 (pyfixest SaturatedEventStudy = diff-diff SunAbraham), 7 dp.
SA_REFERENCE = {-4: 0.0033064, -3: 0.0250218, -2: 0.0244587, 0: -0.0199318,
                1: -0.0509574, 2: -0.1372587, 3: -0.1008114}
#: CS simple aggregation, R did bstrap=FALSE (same estimand as the SA overall in a balanced panel).
CS_SIMPLE = -0.0399512751551763


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA / "mpdta.csv")


@pytest.fixture(scope="module")
def fit(mpdta):
    return sun_abraham(mpdta, **COLUMNS)


def independent_iw(df: pd.DataFrame, y: str, i: str, t: str, g: str, control_last=False):
    """IW event study by explicit dummy OLS (numpy lstsq): unit + period dummies + every
    cohort x relative-period dummy except -1; shares = units per cell / units at that event."""
    df = df.copy()
    if control_last:
        last = df.loc[df[g] > 0, g].max()
        df = df.loc[df[t] < last].copy()
        df.loc[df[g] == last, g] = 0
    units = np.sort(df[i].unique())
    times = np.sort(df[t].unique())
    cols = [(df[i] == u).to_numpy(float) for u in units]
    cols += [(df[t] == s).to_numpy(float) for s in times[1:]]
    cells = []
    for c in sorted(df.loc[df[g] > 0, g].unique()):
        rel = df[t] - c
        for e in sorted(rel[df[g] == c].unique()):
            if e != -1:
                cols.append(((df[g] == c) & (rel == e)).to_numpy(float))
                cells.append((c, e))
    x = np.column_stack(cols)
    beta, *_ = np.linalg.lstsq(x, df[y].to_numpy(), rcond=None)
    b = beta[-len(cells):]
    cell = pd.DataFrame(cells, columns=["g", "e"]).assign(beta=b)
    cell["n"] = [int(((df[g] == c) & (df[t] - c == e)).sum()) for c, e in cells]
    cell["w"] = cell["n"] / cell.groupby("e")["n"].transform("sum")
    iw = (cell["w"] * cell["beta"]).groupby(cell["e"]).sum()
    post = cell[cell["e"] >= 0]
    overall = float((post["n"] * post["beta"]).sum() / post["n"].sum())
    return iw, overall


def test_mpdta_matches_published_reference(fit):
    es = fit.event_study().set_index("event")
    for e, ref in SA_REFERENCE.items():
        assert es.loc[e, "att"] == pytest.approx(ref, abs=5e-8)
    assert es.loc[-1, "att"] == 0.0 and np.isnan(es.loc[-1, "se"])
    assert fit.estimator == "sun_abraham"
    assert list(fit.event_study().columns) == ["event", "att", "se", "ci_low", "ci_high"]


def test_points_equal_independent_dummy_regression(mpdta, fit):
    iw, overall = independent_iw(mpdta, "lemp", "countyreal", "year", "first.treat")
    es = fit.event_study().set_index("event").drop(index=-1)
    np.testing.assert_allclose(es["att"].to_numpy(), iw.loc[es.index].to_numpy(), atol=1e-8, rtol=0)
    assert fit.overall()["att"] == pytest.approx(overall, abs=1e-8)


def test_overall_equals_cs_simple_in_balanced_panel(fit):
    assert fit.overall()["att"] == pytest.approx(CS_SIMPLE, abs=1e-10)


def test_points_and_ses_equal_pyfixest_saturated_event_study(mpdta, fit):
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sat = pf.event_study(mpdta.rename(columns={"first.treat": "g"}), yname="lemp",
                             idname="countyreal", tname="year", gname="g",
                             estimator="saturated", cluster="countyreal")
        agg = sat.aggregate()
    agg.index = agg.index.astype(float).astype(int)
    es = fit.event_study().set_index("event").drop(index=-1)
    np.testing.assert_allclose(es["att"], agg.loc[es.index, "Estimate"].astype(float), atol=1e-10)
    np.testing.assert_allclose(es["se"], agg.loc[es.index, "Std. Error"].astype(float), rtol=1e-8)


def test_pretrend_and_vcov(fit):
    assert fit.pretrend.df == 3 and fit.pretrend.events == (-4, -3, -2)
    es = fit.event_study()
    pre = (es["event"] <= -2).to_numpy()
    b = es.loc[pre, "att"].to_numpy()
    v = fit.event_vcov[np.ix_(pre, pre)]
    assert fit.pretrend.stat == pytest.approx(float(b @ np.linalg.solve(v, b)), rel=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.event_vcov))[~np.isnan(es["se"])],
                               es["se"].dropna(), rtol=1e-12)
    o = fit.overall()
    assert o["ci_low"] < o["att"] < o["ci_high"] and o["se"] > 0


def test_last_treated_control_equals_independent(mpdta):
    res = sun_abraham(mpdta, **COLUMNS, control="last")
    iw, overall = independent_iw(mpdta, "lemp", "countyreal", "year", "first.treat",
                                 control_last=True)
    es = res.event_study().set_index("event").drop(index=-1)
    np.testing.assert_allclose(es["att"], iw.loc[es.index], atol=1e-8)
    assert res.overall()["att"] == pytest.approx(overall, abs=1e-8)
    assert res.cohorts == (2004, 2006, 2007)


def test_monthly_time_gives_same_numbers(mpdta, fit):
    monthly = mpdta.copy()
    to_month = {y: pd.Period(f"2020-{k + 1:02d}", freq="M") for k, y in enumerate(range(2003, 2008))}
    monthly["month"] = monthly["year"].map(to_month)
    monthly["first_month"] = monthly["first.treat"].map(lambda v: to_month.get(v, 0))
    res = sun_abraham(monthly, outcome="lemp", unit="countyreal", time="month",
                      cohort="first_month")
    pd.testing.assert_frame_equal(res.event_study(), fit.event_study(), atol=1e-10, rtol=0)
    assert res.cohorts[0] == pd.Period("2020-02", freq="M")


def test_weights_and_covariates_run(mpdta, fit):
    df = mpdta.assign(w=2.0, x=np.random.default_rng(0).normal(size=len(mpdta)))
    res_w = sun_abraham(df, **COLUMNS, weights="w")
    np.testing.assert_allclose(res_w.event_study()["att"], fit.event_study()["att"], atol=1e-10)
    res_x = sun_abraham(df, **COLUMNS, covariates=["x"])
    assert "x" in res_x.details["covariate_coefficients"]


def test_no_never_treated_needs_last_control(mpdta):
    treated_only = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(ValueError, match="never"):
        sun_abraham(treated_only, **COLUMNS)
    res = sun_abraham(treated_only, **COLUMNS, control="last")
    assert np.isfinite(res.overall()["att"])
    with pytest.raises(ValueError, match="control"):
        sun_abraham(mpdta, **COLUMNS, control="notyet")
