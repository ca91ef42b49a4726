"""Goodman-Bacon decomposition: weights sum to 1, reproduce TWFE, match the notes' type weights on
mpdta, and every 2x2 estimate equals a TWFE regression on that pair's subsample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import bacon_decomposition
from analysis.did.simulation import StaggeredDesign, simulate_staggered_panel

DATA = Path(__file__).parent / "data"
COLUMNS = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
TWFE_MPDTA = -0.0365489367  # did-libraries notes §5 (pyfixest = linearmodels = diff-diff)
#: type -> (weight, average 2x2 estimate), diff-diff bacon_decompose on mpdta (notes §5).
TYPE_REFERENCE = {"treated_vs_never": (0.8628, -0.0407), "earlier_vs_later": (0.0833, -0.0198),
                  "later_vs_earlier": (0.0539, 0.0046)}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA / "mpdta.csv")


@pytest.fixture(scope="module")
def bacon(mpdta):
    return bacon_decomposition(mpdta, **COLUMNS)


def twfe_lstsq(df: pd.DataFrame, y: str, i: str, t: str, g: str) -> float:
    """Static TWFE coefficient by explicit dummy OLS (numpy lstsq)."""
    d = ((df[g] > 0) & (df[t] >= df[g])).to_numpy(float)
    x = np.column_stack([d, pd.get_dummies(df[i], dtype=float).to_numpy(),
                         pd.get_dummies(df[t], drop_first=True, dtype=float).to_numpy()])
    return float(np.linalg.lstsq(x, df[y].to_numpy(), rcond=None)[0][0])


def test_weights_sum_to_one_and_reproduce_twfe(bacon, mpdta):
    c = bacon.comparisons
    assert c["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (c["weight"] > 0).all()
    assert float((c["weight"] * c["estimate"]).sum()) == pytest.approx(TWFE_MPDTA, abs=1e-10)
    assert bacon.twfe_estimate == pytest.approx(TWFE_MPDTA, abs=1e-10)
    assert abs(bacon.identity_error) < 1e-12
    assert bacon.twfe_estimate == pytest.approx(
        twfe_lstsq(mpdta, "lemp", "countyreal", "year", "first.treat"), abs=1e-10)


def test_type_summary_matches_reference(bacon):
    s = bacon.summary.set_index("type")
    assert list(s.index) == list(TYPE_REFERENCE)
    for kind, (weight, estimate) in TYPE_REFERENCE.items():
        assert s.loc[kind, "weight"] == pytest.approx(weight, abs=5e-5)
        assert s.loc[kind, "estimate"] == pytest.approx(estimate, abs=5e-5)
    assert s["n_comparisons"].tolist() == [3, 3, 3]


def twfe_pyfixest(df: pd.DataFrame) -> float:
    import pyfixest as pf

    df = df.assign(d=((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(float))
    return float(pf.feols("lemp ~ d | countyreal + year", data=df).coef()["d"])


def test_each_2x2_equals_twfe_on_its_subsample(bacon, mpdta):
    years = mpdta["year"]
    for _, r in bacon.comparisons.iterrows():
        k = r["treated_cohort"]
        if r["type"] == "treated_vs_never":
            sub = mpdta[mpdta["first.treat"].isin([k, 0])]
        elif r["type"] == "earlier_vs_later":
            l = r["comparison_cohort"]
            sub = mpdta[mpdta["first.treat"].isin([k, l]) & (years < l)]
            sub = sub.assign(**{"first.treat": np.where(sub["first.treat"] == l, 0, sub["first.treat"])})
        else:
            e = r["comparison_cohort"]
            sub = mpdta[mpdta["first.treat"].isin([k, e]) & (years >= e)]
            sub = sub.assign(**{"first.treat": np.where(sub["first.treat"] == e, 0, sub["first.treat"])})
        est = twfe_pyfixest(sub)
        assert r["estimate"] == pytest.approx(est, abs=1e-10), r.to_dict()


def test_simulated_panel_without_never_treated():
    panel = simulate_staggered_panel(StaggeredDesign(n_units=60, n_periods=8, cohorts=(3, 5, 7),
                                                     never_treated_share=0.0), seed=3)
    res = bacon_decomposition(panel, outcome="y", unit="unit", time="period", cohort="cohort")
    assert set(res.comparisons["type"]) == {"earlier_vs_later", "later_vs_earlier"}
    assert res.weight_sum == pytest.approx(1.0, abs=1e-12)
    assert res.twfe_estimate == pytest.approx(
        twfe_lstsq(panel, "y", "unit", "period", "cohort"), abs=1e-10)
    assert abs(res.identity_error) < 1e-10


def test_unbalanced_panel_is_rejected(mpdta):
    with pytest.raises(ValueError, match="unbalanced"):
        bacon_decomposition(mpdta.iloc[1:], **COLUMNS)
