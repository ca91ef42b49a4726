"""The TKD-cut adjustment (analysis.synth.adjust) and the comparative interrupted time series
(analysis.synth.its) on constructed panels whose answers are known exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.synth import SynthInputError
from analysis.synth.adjust import adjust_for_exposure
from analysis.synth.its import interrupted_time_series, its_time_weights, month_of_year

MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024, 2025, 2026) for m in range(1, 13)][:46]


def long_panel(values: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame([(u, MONTHS[t], float(v[t])) for u, v in values.items() for t in range(len(MONTHS))],
                        columns=["unit", "period", "y"])


def test_adjustment_removes_an_exposure_proportional_shock_exactly():
    rng = np.random.default_rng(1)
    units = [f"u{k:02d}" for k in range(30)]
    exposure = pd.Series(rng.uniform(0.05, 0.4, 30), index=units)
    common = rng.normal(size=len(MONTHS))
    slope = np.where(np.array(MONTHS) >= "2026-01", -1.0 - 0.1 * np.arange(len(MONTHS)) % 3, 0.0)
    values = {u: 2.0 + k * 0.1 + common + slope * exposure[u] for k, u in enumerate(units)}
    panel = long_panel(values)
    result = adjust_for_exposure(panel, outcome="y", unit="unit", time="period", exposure=exposure,
                                 shock_start="2026-01", comparison=units[:-1])
    post = np.array(MONTHS) >= "2026-01"
    np.testing.assert_allclose(result.slopes["slope"], slope[post], atol=1e-10)
    np.testing.assert_allclose(result.slopes["se"], 0.0, atol=1e-10)
    wide = result.panel.pivot(index="unit", columns="period", values="y")
    # after the adjustment every unit differs from the first by a constant: the shock is gone
    differences = wide.sub(wide.iloc[0], axis=1)
    np.testing.assert_allclose(differences.std(axis=1), 0.0, atol=1e-10)
    pre = result.panel[result.panel["period"] < "2026-01"]
    pd.testing.assert_frame_equal(pre.reset_index(drop=True), panel[panel["period"] < "2026-01"].reset_index(drop=True))


def test_adjustment_slope_covariance_is_the_hc0_sandwich():
    rng = np.random.default_rng(2)
    units = [f"u{k:02d}" for k in range(40)]
    exposure = pd.Series(rng.uniform(0.05, 0.4, 40), index=units)
    values = {u: rng.normal(size=len(MONTHS)) for u in units}
    result = adjust_for_exposure(long_panel(values), outcome="y", unit="unit", time="period",
                                 exposure=exposure, shock_start="2026-01", comparison=units)
    # independent check for one month: OLS of the change on [1, exposure], HC0 variance
    month = "2026-03"
    y = np.array([values[u][MONTHS.index(month)] - values[u][: MONTHS.index("2026-01")].mean() for u in units])
    x = np.column_stack([np.ones(40), exposure.to_numpy()])
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    bread = np.linalg.inv(x.T @ x)
    meat = (x * (y - x @ beta)[:, None] ** 2).T @ x
    row = result.slopes.set_index("time").loc[month]
    assert row["slope"] == pytest.approx(beta[1])
    assert row["se"] == pytest.approx(np.sqrt((bread @ meat @ bread)[1, 1]))
    weights = pd.Series({month: 0.5, "2026-04": 0.5, "2025-12": -1.0})
    a = np.zeros(len(result.slopes))
    a[list(result.slopes["time"]).index(month)] = 0.5
    a[list(result.slopes["time"]).index("2026-04")] = 0.5
    assert result.variance_of(weights, 0.1) == pytest.approx(0.01 * a @ result.slope_cov @ a)


def test_adjustment_bad_input():
    units = ["a", "b", "c", "d"]
    panel = long_panel({u: np.zeros(len(MONTHS)) for u in units})
    with pytest.raises(SynthInputError, match="no exposure"):
        adjust_for_exposure(panel, outcome="y", unit="unit", time="period", exposure=pd.Series({"a": 0.1}),
                            shock_start="2026-01", comparison=units)
    with pytest.raises(SynthInputError, match="same exposure"):
        adjust_for_exposure(panel, outcome="y", unit="unit", time="period",
                            exposure=pd.Series(0.2, index=units), shock_start="2026-01", comparison=units)
    with pytest.raises(SynthInputError, match="at least 3"):
        adjust_for_exposure(panel, outcome="y", unit="unit", time="period",
                            exposure=pd.Series([0.1, 0.2, 0.3, 0.4], index=units), shock_start="2026-01",
                            comparison=units[:2])


def test_its_recovers_a_step_on_top_of_own_trend_and_seasonality():
    rng = np.random.default_rng(3)
    month = np.array([month_of_year(m) for m in MONTHS])
    common = rng.normal(size=len(MONTHS)) + 0.3 * np.sin(month)
    donors = {f"d{k:02d}": 1.0 + k + common for k in range(12)}
    start = MONTHS.index("2026-01")
    own = 0.004 * np.arange(len(MONTHS)) + 0.05 * np.cos(month) + np.where(np.arange(len(MONTHS)) >= start, -0.08, 0.0)
    donors_mean = np.mean([v for v in donors.values()], axis=0)
    values = {**donors, "adopter": donors_mean + 0.5 + own}
    result = interrupted_time_series(long_panel(values), outcome="y", unit="unit", time="period",
                                     treated_unit="adopter", treatment_start="2026-01")
    assert result.estimate == pytest.approx(-0.08, abs=1e-10)
    assert result.trend == pytest.approx(0.004, abs=1e-10)
    # the donors differ from each other by constants only: every placebo estimate is 0
    np.testing.assert_allclose(result.placebo_estimates, 0.0, atol=1e-10)
    weights = its_time_weights(MONTHS, start)
    assert weights[start:].sum() == pytest.approx(1.0) and weights[:start].sum() == pytest.approx(-1.0)


def test_its_placebo_inference_on_noise():
    rng = np.random.default_rng(4)
    values = {f"d{k:02d}": rng.normal(scale=0.1, size=len(MONTHS)) for k in range(40)}
    values["adopter"] = rng.normal(scale=0.1, size=len(MONTHS)) + np.where(np.array(MONTHS) >= "2026-01", 0.3, 0.0)
    result = interrupted_time_series(long_panel(values), outcome="y", unit="unit", time="period",
                                     treated_unit="adopter", treatment_start="2026-01")
    assert result.se == pytest.approx(result.placebo_estimates.std(ddof=1))
    assert result.ci_high - result.ci_low == pytest.approx(2 * 1.96 * result.se)
    assert result.pvalue == pytest.approx(1 / 41)
    assert list(result.path.columns) == ["time", "gap", "fitted", "post"]


def test_its_needs_two_years_before_adoption():
    values = {f"d{k}": np.zeros(len(MONTHS)) for k in range(5)} | {"adopter": np.ones(len(MONTHS))}
    with pytest.raises(SynthInputError, match="outside the data"):
        interrupted_time_series(long_panel(values), outcome="y", unit="unit", time="period",
                                treated_unit="adopter", treatment_start="2024-06")
    with pytest.raises(SynthInputError, match="not a month"):
        month_of_year(7)


def test_its_placebo_interval_is_calibrated_under_iid_noise():
    # 1000 replications of an adopter and 40 donors with iid noise and no effect, through the
    # same weights as interrupted_time_series: coverage of the 95% interval and SD of est/se
    start = MONTHS.index("2026-01")
    weights = its_time_weights(MONTHS, start)
    covered, z = [], []
    for replication in range(1000):
        rng = np.random.default_rng(replication)
        donors = rng.normal(scale=0.1, size=(40, len(MONTHS)))
        adopter = rng.normal(scale=0.1, size=len(MONTHS))
        placebo = (donors - (donors.sum(axis=0) - donors) / 39) @ weights
        estimate = weights @ (adopter - donors.mean(axis=0))
        se = placebo.std(ddof=1)
        covered.append(abs(estimate) <= 1.96 * se)
        z.append(estimate / se)
    assert 0.93 <= np.mean(covered) <= 0.97
    assert 0.93 <= np.std(z) <= 1.08
