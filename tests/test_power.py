"""analysis.power on pools with a known structure (fast: no simulated dataset).

- the fast imputation path equals analysis.did.imputation (1e-8) and is shift-equivariant;
- the analytic cross-check: a two-period, two-group design with normal errors, simulated power
  and MDE against the closed-form normal formulas, within Monte Carlo error;
- size at zero effect is alpha; power rises with the effect and the number of adopters; the MDE
  falls with more adopters and more months; results are reproducible by seed;
- the generic (refit + bisection) path agrees with the closed form;
- design, stratified draw, block bootstrap and pool building, bad input.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import did, power
from analysis.errors import DataContractError
from analysis.power.design import allocate_to_strata, draw_adopters
from analysis.power.twoway import two_way_residuals


def synthetic_pool(*, n_pemda=120, n_months=48, units_per_pemda=1, rho=0.4, sd=0.3,
                   seasonal_sd=0.1, missing=0.0, seed=0, start="2022-01") -> power.PilotOutcomes:
    """Pemda x month log outcome: Pemda and month effects, Pemda-specific seasonality, AR(1)
    noise, a share of missing cells; Pemda in 10 provinces."""
    rng = np.random.default_rng(seed)
    months = pd.period_range(start, periods=n_months, freq="M")
    moy = months.month.to_numpy() - 1
    rows = []
    for pemda in range(n_pemda):
        amplitude = rng.normal(0, seasonal_sd, 12)
        for unit in range(units_per_pemda):
            noise = np.empty(n_months)
            noise[0] = rng.normal(0, sd)
            for t in range(1, n_months):
                noise[t] = rho * noise[t - 1] + np.sqrt(1 - rho**2) * rng.normal(0, sd)
            y = rng.normal(2, 0.5) + np.sin(np.arange(n_months) / 3) + amplitude[moy] + noise
            rows.append(pd.DataFrame({"region_code": f"{pemda:03d}", "unit": f"{pemda:03d}|{unit}",
                                      "month": months.strftime("%Y-%m"), "y": y}))
    frame = pd.concat(rows, ignore_index=True)
    frame = frame[rng.random(len(frame)) >= missing]
    attributes = pd.DataFrame({"region_code": [f"{p:03d}" for p in range(n_pemda)],
                               "province_code": [f"P{p % 10}" for p in range(n_pemda)]})
    return power.PilotOutcomes.from_long(frame, value="y", outcome="test", measure="test",
                                         unit="unit", log=False, attributes=attributes)


@pytest.fixture(scope="module")
def pool():
    return synthetic_pool()


@pytest.fixture(scope="module")
def pool_multi():
    """Three units per Pemda (like service types), 10% of cells missing."""
    return synthetic_pool(n_pemda=60, units_per_pemda=3, missing=0.1, seed=1)


# ------------------------------------------------------------------ estimator


@pytest.mark.parametrize("n_adopters,waves", [(12, 3), (7, 3), (1, 1)])
def test_fast_imputation_equals_did_imputation(pool_multi, n_adopters, waves):
    """Dense fast path vs analysis.did.imputation (clustered by Pemda) on unbalanced draws with
    several units per Pemda; (7, 3) and (1, 1) have single-Pemda waves (leave-out fallback)."""
    design = power.PilotDesign(n_adopters=n_adopters, waves=waves, months_after=4, months_before=6,
                               wave_gap_months=2)
    reference = power.DidEstimator(did.imputation)
    for k in range(3):
        draw = power.pilot_draw(pool_multi, design, k, seed=11)
        fast, ref = power.FastImputation()(draw), reference(draw)
        assert fast.att == pytest.approx(ref.att, abs=1e-8)
        assert fast.se == pytest.approx(ref.se, abs=1e-8)
        assert (fast.n_treated_cells, fast.n_not_imputable) == (ref.n_treated_cells, ref.n_not_imputable)
        assert fast.n_treated_cells > 0


def test_fast_imputation_is_shift_equivariant(pool_multi):
    design = power.PilotDesign(n_adopters=10, waves=2, months_after=5)
    draw = power.pilot_draw(pool_multi, design, 0)
    base, shifted = power.FastImputation()(draw), power.FastImputation()(draw.with_effect(0.137))
    assert shifted.att == pytest.approx(base.att + 0.137, abs=1e-12)
    assert shifted.se == pytest.approx(base.se, rel=1e-10)


def test_fast_imputation_recovers_an_effect_without_noise():
    """Outcome = Pemda effect + month effect + 0.2 in treated cells: ATT is 0.2 exactly."""
    n_units, n_months = 30, 10
    y = np.arange(n_units)[:, None] * 0.1 + np.sin(np.arange(n_months))[None, :]
    cohort = np.where(np.arange(n_units) < 8, 6, 0)
    draw = power.PilotDraw(y, cohort, np.arange(n_units), n_units).with_effect(0.2)
    fit = power.FastImputation()(draw)
    assert fit.att == pytest.approx(0.2, abs=1e-12)
    assert fit.n_treated_cells == 8 * 5


# ------------------------------------------------------------------ analytic cross-check


def test_two_period_two_group_power_matches_normal_formula():
    """400 Pemda with iid normal outcomes over 240 months; a pilot of 100 adopters observed one
    month before and one month after, months drawn at random (blocks of one month). The
    estimator is then the 2x2 DiD, whose SD over draws is known exactly from the pool:
    sigma_delta^2 = (1/n1 + 1/n0) * mean over source (January, February) pairs of the
    cross-Pemda variance of the change. Simulated power must match
    Phi(|d|/sigma - z) + Phi(-|d|/sigma - z), and the MDE (z_{1-a/2} + z_{0.8}) sigma."""
    n_pemda, n_adopters = 400, 100
    outcomes = synthetic_pool(n_pemda=n_pemda, n_months=240, rho=0.0, sd=0.2, seasonal_sd=0.0,
                              seed=7, start="2001-01")
    resid = outcomes.residuals
    january = np.flatnonzero(outcomes.calendar_months() == 1)
    february = np.flatnonzero(outcomes.calendar_months() == 2)
    change_var = np.mean([np.var(resid[:, f] - resid[:, j], ddof=1) for j in january for f in february])
    sigma = np.sqrt(change_var * (1 / n_adopters + 1 / (n_pemda - n_adopters)))

    design = power.PilotDesign(n_adopters=n_adopters, months_before=1, months_after=1, first_wave_month=2)
    effect_log = 2.0 * sigma
    n_sims, alpha = 2500, 0.05
    result = power.assess_design(outcomes, design, effect_pct=float(power.log_to_pct(effect_log)),
                                 alpha=alpha, n_sims=n_sims, seed=3,
                                 futures=power.BlockBootstrap(block_months=1))
    z = stats.norm.isf(alpha / 2)
    expected = stats.norm.cdf(effect_log / sigma - z) + stats.norm.cdf(-effect_log / sigma - z)
    assert expected == pytest.approx(0.516, abs=0.001)
    assert abs(result.power.power - expected) < 3.5 * result.power.power_se
    assert abs(result.power.size - alpha) < 3.5 * np.sqrt(alpha * (1 - alpha) / n_sims)
    assert result.power.draws["att_null"].std() == pytest.approx(sigma, rel=0.05)
    mde_expected = float(power.log_to_pct((z + stats.norm.ppf(0.8)) * sigma))
    assert abs(result.mde.mde_pct - mde_expected) < 3.5 * result.mde.mde_pct_se
    assert result.mde.mde_pct_se < 0.05 * mde_expected


# ------------------------------------------------------------------ properties of the engine


def test_size_is_alpha_at_zero_effect(pool):
    design = power.PilotDesign(n_adopters=30, waves=2, months_after=6)
    result = power.simulate_power(pool, design, 0.0, alpha=0.05, n_sims=600, seed=5)
    assert result.power == result.size
    assert abs(result.size - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 600)
    assert result.draws["reject"].sum() == result.rejections


def test_power_rises_with_effect_and_adopters(pool):
    design = power.PilotDesign(n_adopters=10, waves=2, months_after=6)
    by_effect = [power.simulate_power(pool, design, e, n_sims=300, seed=2).power for e in (0, 5, 10, 20)]
    assert by_effect == sorted(by_effect) and by_effect[-1] - by_effect[0] > 0.5
    by_adopters = [power.simulate_power(pool, replace(design, n_adopters=n), 8, n_sims=300, seed=2)
                   for n in (4, 10, 40)]
    values = [r.power for r in by_adopters]
    assert values == sorted(values)
    assert values[-1] - values[0] > 5 * np.hypot(by_adopters[-1].power_se, by_adopters[0].power_se)


def test_mde_falls_with_adopters_and_months(pool):
    curve = power.power_curve(pool, power.PilotDesign(n_adopters=10, waves=2), n_adopters=[6, 12, 36],
                              months_after=[2, 6, 12], effect_pct=10, n_sims=300, seed=4)
    assert list(curve.columns) == list(power.CURVE_COLUMNS)
    table = curve.pivot(index="n_adopters", columns="months_after", values="mde_pct")
    assert (np.diff(table.to_numpy(), axis=0) < 0).all()   # more adopters, smaller MDE
    assert (np.diff(table.to_numpy(), axis=1) < 0).all()   # more months, smaller MDE
    power_table = curve.pivot(index="n_adopters", columns="months_after", values="power")
    assert power_table.iloc[-1, -1] > power_table.iloc[0, 0] + 0.3


def test_reproducible_by_seed(pool):
    design = power.PilotDesign(n_adopters=8, waves=2, months_after=4)
    first = power.assess_design(pool, design, effect_pct=10, n_sims=50, seed=9)
    again = power.assess_design(pool, design, effect_pct=10, n_sims=50, seed=9)
    other = power.assess_design(pool, design, effect_pct=10, n_sims=50, seed=10)
    pd.testing.assert_frame_equal(first.power.draws, again.power.draws)
    assert first.mde.mde_pct == again.mde.mde_pct
    assert not np.allclose(first.power.draws["att"], other.power.draws["att"])
    longer = power.simulate_power(pool, design, 10, n_sims=80, seed=9)   # draw k ignores n_sims
    pd.testing.assert_frame_equal(longer.draws.iloc[:50], first.power.draws)


def test_mde_is_where_power_reaches_target(pool):
    design = power.PilotDesign(n_adopters=15, waves=3, months_after=6)
    mde = power.minimum_detectable_effect(pool, design, target_power=0.8, n_sims=400, seed=1)
    assert mde.direction == 1 and mde.mde_pct > 0
    at_mde = power.simulate_power(pool, design, mde.mde_pct + 1e-6, n_sims=400, seed=1)
    below = power.simulate_power(pool, design, mde.mde_pct * 0.97, n_sims=400, seed=1)
    assert at_mde.power >= 0.8 > below.power - 0.01
    assert mde.power_at(mde.mde_pct + 1e-6) >= 0.8
    saving = power.minimum_detectable_effect(pool, design, n_sims=400, seed=1, direction=-1)
    assert saving.mde_pct < 0
    assert abs(saving.mde_pct + mde.mde_pct) < 0.25 * mde.mde_pct   # roughly symmetric noise


def test_generic_path_agrees_with_closed_form(pool_multi):
    """An estimator declared not shift-equivariant is refitted at each effect and its detection
    thresholds are found by bisection: same answers as the closed form, up to the tolerance."""
    design = power.PilotDesign(n_adopters=10, waves=2, months_after=4)
    kwargs = dict(effect_pct=12, n_sims=25, seed=2)
    closed = power.assess_design(pool_multi, design, **kwargs)
    generic = power.assess_design(pool_multi, design, estimator=replace(power.FastImputation(), equivariant=False),
                                  **kwargs)
    assert np.allclose(closed.power.draws["att"], generic.power.draws["att"], atol=1e-10)
    assert closed.power.power == generic.power.power
    finite = np.isfinite(closed.mde.thresholds)
    assert (np.isfinite(generic.mde.thresholds) == finite).all()
    assert np.allclose(closed.mde.thresholds[finite], generic.mde.thresholds[finite], atol=2e-4)


def test_few_adopters_are_flagged(pool):
    one_per_wave = power.assess_design(pool, power.PilotDesign(n_adopters=2, waves=2), effect_pct=10,
                                       n_sims=200, seed=1)
    codes = {note.code for note in one_per_wave.notes}
    assert {"power_few_treated_inference", "power_single_pemda_wave",
            "power_few_treated_size_distortion"} <= codes
    assert one_per_wave.power.size > 0.2                      # the analytic SE is degenerate
    assert one_per_wave.power.power_size_adjusted < one_per_wave.power.power
    many = power.assess_design(pool, power.PilotDesign(n_adopters=40, waves=2), effect_pct=10,
                               n_sims=100, seed=1)
    assert not {"power_few_treated_inference", "power_single_pemda_wave"} & {n.code for n in many.notes}


# ------------------------------------------------------------------ design and draws


def test_design_timeline():
    design = power.PilotDesign(n_adopters=10, waves=3, months_after=6, months_before=12,
                               wave_gap_months=2, first_wave_month=1)
    assert design.n_months == 12 + 4 + 6
    assert design.wave_starts == (12, 14, 16)
    assert design.wave_sizes == (4, 3, 3)
    assert design.calendar_months()[12] == 1 and design.calendar_months()[0] == 1
    assert design.treated_cells() == 4 * 10 + 3 * 8 + 3 * 6


@pytest.mark.parametrize("kwargs,word", [
    (dict(n_adopters=0), "n_adopters"), (dict(n_adopters=3, waves=4), "waves"),
    (dict(n_adopters=3, months_after=0), "months_after"), (dict(n_adopters=3, first_wave_month=13), "first_wave_month"),
    (dict(n_adopters=3, strata="island"), "strata"), (dict(n_adopters=2.5), "n_adopters"),
])
def test_design_rejects_bad_values(kwargs, word):
    with pytest.raises(ValueError, match=word):
        power.PilotDesign(**kwargs)


def test_engine_rejects_impossible_requests(pool):
    with pytest.raises(ValueError, match="comparison"):
        power.simulate_power(pool, power.PilotDesign(n_adopters=pool.n_pemda), 10, n_sims=5)
    with pytest.raises(ValueError, match="not in the outcome pool"):
        power.simulate_power(pool, power.PilotDesign(n_adopters=2, eligible=("999", "000")), 10, n_sims=5)
    with pytest.raises(ValueError, match="alpha"):
        power.simulate_power(pool, power.PilotDesign(n_adopters=2), 10, alpha=1.5, n_sims=5)
    with pytest.raises(ValueError, match="effect_pct"):
        power.simulate_power(pool, power.PilotDesign(n_adopters=2), -100, n_sims=5)
    with pytest.raises(ValueError, match="block"):
        power.simulate_power(pool, power.PilotDesign(n_adopters=2, months_before=60), 10, n_sims=5,
                             futures=power.BlockBootstrap(block_months=60))


def test_stratified_draw_allocates_proportionally(pool):
    assert allocate_to_strata(pd.Series({"a": 50, "b": 30, "c": 20}), 10).tolist() == [5, 3, 2]
    assert allocate_to_strata(pd.Series({"a": 1, "b": 9}), 4).tolist() == [0, 4]
    assert allocate_to_strata(pd.Series({"a": 1, "b": 2}), 3).tolist() == [1, 2]
    design = power.PilotDesign(n_adopters=20, waves=2, strata="province_code")
    rng = np.random.default_rng(0)
    adopters = draw_adopters(pool.pemda["pemda_index"].to_numpy(), design, rng,
                             pool.pemda["province_code"].to_numpy())
    provinces = pool.pemda.set_index("pemda_index").loc[adopters[:, 0], "province_code"]
    assert provinces.value_counts().tolist() == [2] * 10       # 12 Pemda per province, 20 of 120
    assert len(set(adopters[:, 0])) == 20 and np.bincount(adopters[:, 1]).tolist() == [10, 10]


def test_eligible_restricts_adopters(pool):
    eligible = tuple(pool.pemda["region_code"].iloc[:15])
    design = power.PilotDesign(n_adopters=5, eligible=eligible)
    for k in range(5):
        draw = power.pilot_draw(pool, design, k)
        adopting = set(pool.units.loc[draw.cohort > 0, "region_code"])
        assert len(adopting) == 5 and adopting <= set(eligible)


def test_block_bootstrap_keeps_seasons_and_blocks():
    pool_calendar = (np.arange(46) % 12) + 1          # 46 months from a January
    target = power.PilotDesign(n_adopters=1, months_before=7, months_after=14, first_wave_month=8).calendar_months()
    rng = np.random.default_rng(1)
    source = power.BlockBootstrap(block_months=6).source_months(pool_calendar, target, rng)
    assert (pool_calendar[source] == target).all()
    for start in range(0, len(target), 6):
        assert (np.diff(source[start:start + 6]) == 1).all()
    whole = power.BlockBootstrap(block_months=100).source_months(pool_calendar, target, rng)
    assert (np.diff(whole) == 1).all()                 # one block: a rolling placebo window
    with pytest.raises(ValueError, match="46 months"):
        power.BlockBootstrap(block_months=50).source_months(pool_calendar, np.arange(50) % 12 + 1, rng)


def test_placebo_draw_uses_the_same_months_for_every_pemda(pool):
    design = power.PilotDesign(n_adopters=5, months_before=6, months_after=6)
    draw = power.pilot_draw(pool, design, 3, futures=power.BlockBootstrap(block_months=4))
    # every column of the draw is a column of the residuals
    matches = [np.flatnonzero(np.all(np.isclose(pool.residuals, draw.values[:, [j]]), axis=0))
               for j in range(design.n_months)]
    assert all(len(m) == 1 for m in matches)


# ------------------------------------------------------------------ pool


def test_pool_from_long_and_residuals():
    frame = pd.DataFrame({"region_code": ["1", "1", "2", "2", "3"],
                          "month": ["2024-01", "2024-03", "2024-01", "2024-03", "2024-02"],
                          "spend": [10.0, 20.0, 30.0, 0.0, 5.0]})
    pool = power.PilotOutcomes.from_long(frame, value="spend", outcome="x", measure="idr")
    assert pool.months == ("2024-01", "2024-02", "2024-03")
    assert pool.values.shape == (3, 3)
    assert np.isnan(pool.values[1, 2])                   # 0 cannot be logged: missing, and said so
    assert pool.notes[0].code == "power_cells_not_positive" and pool.notes[0].params["n_cells"] == 1
    assert pool.values[0, 0] == pytest.approx(np.log(10))


def test_two_way_residuals_remove_unit_and_month_effects():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(20, 1)) + rng.normal(size=(1, 15)) + 0.0 * rng.normal(size=(20, 15))
    values[rng.random(values.shape) < 0.2] = np.nan
    resid = two_way_residuals(values)
    assert np.nanmax(np.abs(resid)) < 1e-10
    assert np.isnan(resid).sum() == np.isnan(values).sum()


@pytest.mark.parametrize("frame,message", [
    (pd.DataFrame({"region_code": ["1"], "month": ["2024-13"], "y": [1.0]}), "row 0: column 'month' must be YYYY-MM"),
    (pd.DataFrame({"region_code": ["1", "1"], "month": ["2024-01"] * 2, "y": [1.0, 2.0]}), "row 0: unit '1'"),
    (pd.DataFrame({"region_code": ["1"], "y": [1.0]}), "missing column"),
])
def test_pool_rejects_bad_tables(frame, message):
    with pytest.raises(DataContractError, match=message):
        power.PilotOutcomes.from_long(frame, value="y", outcome="x", measure="x")


def test_pool_outcome_names_are_checked():
    with pytest.raises(ValueError, match="outcome must be one of"):
        power.pilot_outcomes(object(), "p90_days")


def test_callaway_santanna_universal_base_is_shift_equivariant():
    """The other candidate headline estimator plugs in through DidEstimator and qualifies for the
    one-fit-per-draw path: its ATT moves by the added effect, its SE does not."""
    pool = synthetic_pool(n_pemda=40, n_months=24, seed=3)
    draw = power.pilot_draw(pool, power.PilotDesign(n_adopters=8, waves=2, months_after=4, months_before=6), 0)
    cs = power.DidEstimator(did.callaway_santanna, {"base_period": "universal"}, name="cs")
    base, shifted = cs(draw), cs(draw.with_effect(0.1))
    assert shifted.att == pytest.approx(base.att + 0.1, abs=1e-10)
    assert shifted.se == pytest.approx(base.se, rel=1e-8)
    assert base.n_treated_cells == draw.treated().sum()


def test_result_entries_write_a_results_file(pool, tmp_path):
    from analysis.report.results_file import read_results, results_frame, write_results

    design = power.PilotDesign(n_adopters=12, waves=2, months_after=6)
    result = power.assess_design(pool, design, effect_pct=10, n_sims=100, seed=1)
    entries = power.result_entries(result, excluded=pool.excluded, measure=pool.measure)
    table = results_frame(read_results(write_results(tmp_path, "50_pilot_design", {}, entries)))
    assert table.loc["power", "estimate"] == result.power.power
    assert table.loc["power", "se"] == pytest.approx(result.power.power_se)
    assert table.loc["mde_pct", "estimate"] == result.mde.mde_pct
    assert table.loc["mde_pct", "se"] == result.mde.mde_pct_se
    assert table.loc["size", "estimate"] == result.power.size
    details = table.loc["power", "estimand"]["details"]
    assert (details["n_adopters"], details["months_after"], details["effect_pct"]) == (12, 6, 10.0)
    assert table.loc["mde_pct", "inference"]["details"]["n_sims"] == 100
    headline = result.headline(service_type="perizinan")
    assert headline.code == "power_design_headline"
    assert (headline.params["power"], headline.params["mde_pct"], headline.params["n_sims"]) == (
        result.power.power, result.mde.mde_pct, 100)


def test_monte_carlo_se_of_a_certain_power_is_not_zero():
    """A power of 0 or 1 in n draws is not known exactly: its SE (Agresti–Coull centre) is about
    sqrt(2) / n, not 0; elsewhere it is close to the plain binomial SE."""
    from analysis.power.results import binomial_se

    exact = np.sqrt(2 * 102) / 104 ** 1.5  # (k + 2) / (n + 4) = 102 / 104
    assert binomial_se(1.0, 100) == pytest.approx(exact) and binomial_se(0.0, 100) == pytest.approx(exact)
    assert exact == pytest.approx(np.sqrt(2) / 100, rel=0.06)
    assert binomial_se(0.5, 400) == pytest.approx(np.sqrt(0.25 / 400), rel=0.01)
    assert binomial_se(0.2, 1000) == pytest.approx(np.sqrt(0.16 / 1000), rel=0.01)


def test_effect_heterogeneity_widens_the_spread_and_the_se(pool):
    """Adopters' own effects (SD 20%) around the average: on a pool without noise the ATT
    scatters around the average effect with the SD implied by the cell weights (2 waves of 6
    Pemda with 8 and 5 treated months: sd * sqrt(6*64 + 6*25) / 78), and the SE follows it; on a
    noisy pool the SE grows, power falls, and the test keeps its size."""
    flat = synthetic_pool(n_pemda=60, n_months=30, sd=0.0, seasonal_sd=0.0, seed=2)
    design = power.PilotDesign(n_adopters=12, waves=2, months_after=5)
    assert power.FastImputation()(power.pilot_draw(flat, design, 0)).se < 1e-8
    result = power.simulate_power(flat, design, 5, n_sims=400, seed=1, effect_sd_pct=20)
    expected_sd = np.log(1.2) * np.sqrt(6 * 64 + 6 * 25) / 78
    att = result.draws["att"]
    assert abs(att.mean() - np.log(1.05)) < 3 * expected_sd / np.sqrt(400)
    assert att.std() == pytest.approx(expected_sd, rel=0.15)
    assert result.draws["se"].mean() == pytest.approx(att.std(), rel=0.15)
    design = power.PilotDesign(n_adopters=20, waves=2, months_after=6)
    plain = power.simulate_power(pool, design, 10, n_sims=400, seed=6)
    spread = power.simulate_power(pool, design, 10, n_sims=400, seed=6, effect_sd_pct=20)
    assert spread.draws["se"].mean() > 1.2 * plain.draws["se"].mean()
    assert spread.power < plain.power - 0.1 and spread.effect_sd_pct == 20
    assert abs(spread.size - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 400)
    with pytest.raises(ValueError, match="effect_sd_pct"):
        power.simulate_power(pool, design, 10, n_sims=5, effect_sd_pct=-1)
