"""Simulation with a known truth (quick version of benchmarks/did_simulation_study.py).

On panels from ``analysis.did.simulation`` (dynamic effects that differ by cohort, cohorts drawn at
random per unit), CS, Sun–Abraham and imputation must be unbiased for the overall ATT (mean bias
within 3 Monte Carlo SEs of 0) against the estimand of their SEs (CS: population ATT with the cohort
probabilities; SA and imputation: sample ATT with the realised cohort sizes), while static TWFE must
be clearly biased. Also checks the DGP itself and both kinds of truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.did import callaway_santanna, imputation, sun_abraham
from analysis.did.simulation import (
    StaggeredDesign,
    population_effects,
    simulate_staggered_panel,
    true_effects,
)

DESIGN = StaggeredDesign(n_units=60, n_periods=6, cohorts=(3, 5), never_treated_share=0.35)
COLUMNS = dict(outcome="y", unit="unit", time="period", cohort="cohort")
N_REPS = 40


def static_twfe(panel: pd.DataFrame) -> float:
    """Static TWFE coefficient by two-way demeaning (balanced panel)."""
    wide_d = panel.pivot(index="unit", columns="period", values="treated").to_numpy(float)
    wide_y = panel.pivot(index="unit", columns="period", values="y").to_numpy()
    d = wide_d - wide_d.mean(1, keepdims=True) - wide_d.mean(0, keepdims=True) + wide_d.mean()
    return float((d * wide_y).sum() / (d * d).sum())


@pytest.fixture(scope="module")
def errors() -> pd.DataFrame:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        population = population_effects(DESIGN)["overall"]
        for seed in range(N_REPS):
            panel = simulate_staggered_panel(DESIGN, seed=1000 + seed)
            truth = true_effects(panel)["overall"]
            rows.append({
                "cs": callaway_santanna(panel, **COLUMNS).overall()["att"] - population,
                "sun_abraham": sun_abraham(panel, **COLUMNS).overall()["att"] - truth,
                "imputation": imputation(panel, **COLUMNS).overall()["att"] - truth,
                "twfe": static_twfe(panel) - truth,
            })
    return pd.DataFrame(rows)


@pytest.mark.parametrize("estimator", ["cs", "sun_abraham", "imputation"])
def test_heterogeneity_robust_estimators_are_unbiased(errors, estimator):
    err = errors[estimator]
    mcse = err.std(ddof=1) / np.sqrt(len(err))
    assert abs(err.mean()) < 3 * mcse, (err.mean(), mcse)


def test_static_twfe_is_biased(errors):
    err = errors["twfe"]
    mcse = err.std(ddof=1) / np.sqrt(len(err))
    assert err.mean() < -10 * mcse  # already-treated controls with growing effects pull it down


def test_dgp_shape_and_truth():
    panel = simulate_staggered_panel(DESIGN, seed=7)
    assert len(panel) == DESIGN.n_units * DESIGN.n_periods
    assert set(panel["cohort"].unique()) == {0, 3, 5}
    assert (panel.loc[panel["treated"] == 0, "true_effect"] == 0).all()
    units = panel.drop_duplicates("unit")
    assert (units["unit"] == np.arange(1, DESIGN.n_units + 1)).all()
    level, slope = DESIGN.levels_and_slopes()
    one = panel[(panel["cohort"] == 3) & (panel["period"] == 5)]["true_effect"]
    assert np.allclose(one, level[0] + slope[0] * 2)
    truth = true_effects(panel)
    assert truth["event"].loc[-1] == 0 and truth["event"].loc[0] > 0
    assert truth["overall"] == pytest.approx(panel.loc[panel["treated"] == 1, "true_effect"].mean())
    same = simulate_staggered_panel(DESIGN, seed=7)
    pd.testing.assert_frame_equal(panel, same)
    with pytest.raises(ValueError, match="cohorts"):
        simulate_staggered_panel(StaggeredDesign(n_periods=5, cohorts=(1, 3)), seed=0)


def test_cohort_sizes_random_or_fixed():
    design = StaggeredDesign(n_units=2000, n_periods=6, cohorts=(3, 5), never_treated_share=0.35)
    assert design.cohort_probabilities() == {0: 0.35, 3: 0.325, 5: 0.325}
    sizes = [simulate_staggered_panel(design, seed=s).drop_duplicates("unit")["cohort"]
             .value_counts() for s in range(3)]
    assert len({tuple(v.sort_index()) for v in sizes}) == 3  # sizes vary between draws
    for v in sizes:  # multinomial: within 4 SD (~0.043) of the probabilities
        assert abs(v[0] / 2000 - 0.35) < 0.043 and abs(v[3] / 2000 - 0.325) < 0.043
    fixed = StaggeredDesign(n_units=60, n_periods=6, cohorts=(3, 5), never_treated_share=0.35,
                            random_cohorts=False)
    for s in range(3):
        units = simulate_staggered_panel(fixed, seed=s).drop_duplicates("unit")
        assert (units["cohort"] == 0).sum() == round(0.35 * 60)
        assert (units["cohort"] == 3).sum() == 20 and (units["cohort"] == 5).sum() == 19


def test_population_effects_match_formula_and_mean_of_sample_effects():
    level, slope = DESIGN.levels_and_slopes()  # cohorts 3, 5 with T = 6, equal probabilities
    pop = population_effects(DESIGN)
    sums = [sum(level[k] + slope[k] * e for e in range(6 - g + 1)) for k, g in enumerate((3, 5))]
    assert pop["overall"] == pytest.approx(sum(sums) / (4 + 2))
    assert pop["event"].loc[0] == pytest.approx(level.mean())
    assert pop["event"].loc[2] == pytest.approx(level[0] + 2 * slope[0])  # only cohort 3
    assert (pop["event"].loc[pop["event"].index < 0] == 0).all()
    # the sample estimands scatter around the population ones (ratio: O(1/n) bias only)
    sample = np.array([true_effects(simulate_staggered_panel(DESIGN, seed=s))["overall"]
                       for s in range(200)])
    assert abs(sample.mean() - pop["overall"]) < 3 * sample.std(ddof=1) / np.sqrt(len(sample))
    assert sample.std() > 0
