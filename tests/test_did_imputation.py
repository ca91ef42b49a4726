"""BJS imputation: mpdta anchors, an independent statsmodels implementation of the points and
a dense-matrix implementation of the Theorem 3 variance (incl. leave-out), the published
did_imputation / diff-diff SEs, NaN horizons, non-imputable observations, covariates, weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.did import imputation

DATA = Path(__file__).parent / "data"
COLUMNS = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
#: did-libraries notes §5: static ATT (10 dp) and event e=0..3 (7 dp).
STATIC = -0.0477099183
EVENT = {0: -0.0310669, 1: -0.0522349, 2: -0.1360781, 3: -0.1047075}
#: SEs without leave-out: did_imputation (Python) per horizon, diff-diff ImputationDiD static.
SE_EVENT_NO_LEAVE_OUT = {0: 0.013577, 1: 0.018812, 2: 0.035342, 3: 0.033766}
SE_STATIC_NO_LEAVE_OUT = 0.0132225


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA / "mpdta.csv")


@pytest.fixture(scope="module")
def mpdta_small(mpdta) -> pd.DataFrame:
    """All 20 counties of the 2004 cohort and 40 of each other group (dense references stay fast)."""
    keep = (mpdta.drop_duplicates("countyreal").groupby("first.treat")["countyreal"]
            .apply(lambda s: s.iloc[:40]).explode().astype(int))
    return mpdta[mpdta["countyreal"].isin(keep)].reset_index(drop=True)


@pytest.fixture(scope="module")
def fit(mpdta):
    return imputation(mpdta, **COLUMNS)


def dense_reference(df, covariate=None, leave_out=True, group=None):
    """Independent implementation with explicit dummy matrices: statsmodels OLS on untreated
    observations, imputation weights v0 = -Z0 pinv(Z0'Z0) Z1'w, and the BJS variance with the
    cohort x period (leave-out) cell averages computed unit by unit. ``group``: a column; one more
    estimand per value (its treated observations), residuals from the cell averages over *all*
    treated observations (pooled across groups)."""
    df = df.reset_index(drop=True)
    g, t = df["first.treat"].to_numpy(), df["year"].to_numpy()
    treated = (g > 0) & (t >= g)
    z = pd.get_dummies(df["countyreal"].astype(str), dtype=float)
    z = pd.concat([z, pd.get_dummies(df["year"].astype(str), drop_first=True, dtype=float)], axis=1)
    if covariate is not None:
        z[covariate] = df[covariate]
    z0, z1 = z[~treated].to_numpy(), z[treated].to_numpy()
    y = df["lemp"].to_numpy()
    ols = sm.OLS(y[~treated], z0).fit()
    tau = y[treated] - z1 @ ols.params
    resid0 = ols.resid
    event = (t - g)[treated]
    units1 = df["countyreal"].to_numpy()[treated]
    units0 = df["countyreal"].to_numpy()[~treated]
    cell = pd.factorize(pd.Series(list(zip(g[treated], t[treated]))))[0]
    out = {}
    gram_pinv = np.linalg.pinv(z0.T @ z0)
    labels = df[group].to_numpy()[treated] if group else np.array([])
    names = ["overall", 0, 1, 2, 3] + [(group, v) for v in sorted(set(labels))]
    for name in names:
        if isinstance(name, tuple):
            sel = labels == name[1]
        else:
            sel = np.ones(len(tau), bool) if name == "overall" else event == name
        pool = np.ones(len(tau), bool) if isinstance(name, tuple) else sel
        w = sel / sel.sum()
        est = float(w @ tau)
        v0 = -z0 @ (gram_pinv @ (z1.T @ w))
        # one observation per unit and cell with equal weights: the smart-weighted cell average
        # is the plain mean (leave-out: the mean of the other units in the cell)
        eps1 = np.zeros(len(tau))
        cell_sum = np.bincount(cell[pool], tau[pool], minlength=cell.max() + 1)
        cell_n = np.bincount(cell[pool], minlength=cell.max() + 1).astype(float)
        c = cell[sel]
        if leave_out:
            eps1[sel] = tau[sel] - (cell_sum[c] - tau[sel]) / (cell_n[c] - 1)
        else:
            eps1[sel] = tau[sel] - cell_sum[c] / cell_n[c]
        scores = pd.Series(w * eps1).groupby(units1).sum().add(
            pd.Series(v0 * resid0).groupby(units0).sum(), fill_value=0.0)
        out[name] = (est, float(np.sqrt((scores**2).sum())))
    return out


def test_mpdta_matches_reference_values(fit):
    assert fit.overall()["att"] == pytest.approx(STATIC, abs=5e-11)
    es = fit.event_study().set_index("event")
    for e, ref in EVENT.items():
        assert es.loc[e, "att"] == pytest.approx(ref, abs=5e-8)
    assert fit.estimator == "imputation"


@pytest.mark.parametrize("leave_out", [True, False])
def test_points_and_ses_equal_dense_reference(mpdta_small, leave_out):
    res = imputation(mpdta_small, **COLUMNS, leave_out=leave_out)
    ref = dense_reference(mpdta_small, leave_out=leave_out)
    es = res.event_study().set_index("event")
    assert res.overall()["att"] == pytest.approx(ref["overall"][0], abs=1e-10)
    assert res.overall()["se"] == pytest.approx(ref["overall"][1], rel=1e-8)
    for e in range(4):
        assert es.loc[e, "att"] == pytest.approx(ref[e][0], abs=1e-10)
        assert es.loc[e, "se"] == pytest.approx(ref[e][1], rel=1e-8)


def test_ses_without_leave_out_equal_published_implementations(mpdta):
    res = imputation(mpdta, **COLUMNS, leave_out=False)
    es = res.event_study().set_index("event")
    for e, se in SE_EVENT_NO_LEAVE_OUT.items():
        assert es.loc[e, "se"] == pytest.approx(se, abs=5e-7)
    assert res.overall()["se"] == pytest.approx(SE_STATIC_NO_LEAVE_OUT, abs=5e-8)


def test_single_pre_period_cohort_is_kept(fit):
    effects = fit.details["effects"]
    assert (effects["cohort"] == 2004).sum() == 20 * 4  # 20 counties x 2004..2007
    assert fit.details["n_not_imputable"] == 0


def test_empty_horizon_is_nan_not_zero(mpdta):
    res = imputation(mpdta, **COLUMNS, horizons=[0, 1, 2, 3, 4, 7])
    es = res.event_study().set_index("event")
    assert es.loc[[4, 7], ["att", "se", "ci_low", "ci_high"]].isna().all().all()
    assert es.loc[3, "att"] == pytest.approx(EVENT[3], abs=5e-8)


def test_unit_without_untreated_period_is_left_out(mpdta):
    first = mpdta.loc[mpdta["first.treat"] == 2004, "countyreal"].iloc[0]
    df = mpdta[~((mpdta["countyreal"] == first) & (mpdta["year"] == 2003))]
    with pytest.warns(UserWarning, match="cannot be imputed"):
        res = imputation(df, **COLUMNS)
    assert res.details["n_not_imputable"] == 4
    assert np.isfinite(res.overall()["att"])


def test_pretrend_leads(fit):
    es = fit.event_study()
    assert es["event"].tolist() == [-3, -2, -1, 0, 1, 2, 3]
    assert fit.pretrend.df == 3 and 0 < fit.pretrend.pvalue < 1
    # independent: pyfixest OLS of y on unit + year FE + lead dummies, untreated observations
    import pyfixest as pf

    df = pd.read_csv(DATA / "mpdta.csv")
    d0 = df[~((df["first.treat"] > 0) & (df["year"] >= df["first.treat"]))].copy()
    for k in (1, 2, 3):
        d0[f"lead{k}"] = ((d0["first.treat"] > 0)
                          & (d0["year"] - d0["first.treat"] == -k)).astype(float)
    ols = pf.feols("lemp ~ lead1 + lead2 + lead3 | countyreal + year", data=d0, fixef_rm="none")
    np.testing.assert_allclose(es.set_index("event").loc[[-1, -2, -3], "att"],
                               ols.coef()[["lead1", "lead2", "lead3"]], atol=1e-10)
    assert imputation(df, **COLUMNS, pretrends=0).pretrend is None


def test_time_varying_covariate_equals_dense_reference(mpdta_small):
    df = mpdta_small.assign(x=np.random.default_rng(1).normal(size=len(mpdta_small)))
    res = imputation(df, **COLUMNS, covariates=["x"])
    ref = dense_reference(df, covariate="x")
    assert res.overall()["att"] == pytest.approx(ref["overall"][0], abs=1e-10)
    assert res.overall()["se"] == pytest.approx(ref["overall"][1], rel=1e-8)
    es = res.event_study().set_index("event")
    assert es.loc[2, "att"] == pytest.approx(ref[2][0], abs=1e-10)
    assert es.loc[2, "se"] == pytest.approx(ref[2][1], rel=1e-8)


def test_constant_weights_change_nothing_and_time_invariant_covariate_fails(mpdta, fit):
    res = imputation(mpdta.assign(w=3.0), **COLUMNS, weights="w")
    pd.testing.assert_frame_equal(res.event_study(), fit.event_study(), atol=1e-10, rtol=0)
    with pytest.raises(ValueError, match="collinear"):
        imputation(mpdta, **COLUMNS, covariates=["lpop"])
    with pytest.raises(ValueError, match="horizons"):
        imputation(mpdta, **COLUMNS, horizons=[-1, 0])


def test_monthly_time_and_vcov(mpdta, fit):
    to_month = {y: f"2021-{k + 3:02d}" for k, y in enumerate(range(2003, 2008))}
    df = mpdta.assign(month=mpdta["year"].map(to_month),
                      first_month=mpdta["first.treat"].map(lambda v: to_month.get(v, 0)))
    res = imputation(df, outcome="lemp", unit="countyreal", time="month", cohort="first_month")
    pd.testing.assert_frame_equal(res.event_study(), fit.event_study(), atol=1e-10, rtol=0)
    assert set(res.details["effects"]["time"]) == {"2021-04", "2021-05", "2021-06", "2021-07"}
    np.testing.assert_allclose(np.sqrt(np.diag(fit.event_vcov)), fit.event_study()["se"], rtol=1e-12)


def test_group_estimates_equal_dense_reference_with_pooled_cell_averages(mpdta_small):
    # two groups of counties that share every cohort x year cell
    rank = pd.factorize(mpdta_small["countyreal"], sort=True)[0]
    df = mpdta_small.assign(grp=np.where(rank % 2 == 0, "even", "odd"))
    res = imputation(df, **COLUMNS, groups=["grp"])
    ref = dense_reference(df, group="grp")
    table = res.details["groups"].set_index("group")
    for g in ("even", "odd"):
        assert table.loc[g, "att"] == pytest.approx(ref[("grp", g)][0], abs=1e-10)
        assert table.loc[g, "se"] == pytest.approx(ref[("grp", g)][1], rel=1e-8)
    # the group ATT is the average of the per-observation effects of its treated observations
    effects = res.details["effects"]
    assert table.loc["odd", "att"] == pytest.approx(effects.loc[effects["grp"] == "odd", "tau"].mean(), abs=1e-12)
    # grouping changes neither the overall ATT nor its SE, nor the event study
    plain = imputation(df, **COLUMNS)
    assert res.overall() == pytest.approx(plain.overall(), abs=1e-12)
    pd.testing.assert_frame_equal(res.event_study(), plain.event_study(), atol=1e-12, rtol=0)


def test_influence_gives_cluster_scores_whose_squares_sum_to_the_variance(mpdta):
    df = mpdta.assign(grp=np.where(mpdta["first.treat"] == 2004, "early", None),
                      state=mpdta["countyreal"] // 1000)
    res = imputation(df, **COLUMNS, cluster="state", groups=["grp"])
    simple = res.influence("simple").by_cluster()
    assert list(simple.columns) == ["overall"] and len(simple) == df["state"].nunique()
    assert float(np.sqrt((simple["overall"] ** 2).sum())) == pytest.approx(res.overall()["se"], rel=1e-12)
    event = res.influence("event").by_cluster()
    se_event = np.sqrt((event**2).sum())
    es = res.event_study().set_index("event")
    for e in range(4):
        assert se_event[e] == pytest.approx(es.loc[e, "se"], rel=1e-12)
    group = res.influence("group")
    # a missing label belongs to no group: only the 2004 cohort is a group
    assert group.columns == (("grp", "early"),)
    row = res.details["groups"].iloc[0]
    assert float(np.sqrt((group.by_cluster() ** 2).sum().iloc[0])) == pytest.approx(row["se"], rel=1e-12)
    assert row["n_obs"] == (df.loc[df["first.treat"] == 2004, "year"] >= 2004).sum()
    with pytest.raises(ValueError, match="kind"):
        res.influence("calendar")
