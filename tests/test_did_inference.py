"""Randomization inference (analysis.did.inference): the exact p-value of a hand-enumerated
example, the interval by test inversion against a brute-force grid, strata kept by the
permutations, the fast balanced imputation statistic against analysis.did.imputation, the
inference choice, and bad input."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import imputation
from analysis.did.imputation_balanced import balanced_imputation_att
from analysis.did.inference import (
    MIN_TREATED_CLUSTERS_ANALYTIC,
    RandomizationError,
    choose_inference,
    headline_inference,
    overall_of,
    quantile_bands,
    randomization_inference,
)

DATA = Path(__file__).parent / "data"


def two_period_panel(changes: dict[str, float], treated: set[str]) -> pd.DataFrame:
    """Units with outcome 0 in period 1 and ``changes[unit]`` in period 2; ``treated`` units
    adopt in period 2 (cohort 2), the others never (cohort 0)."""
    rows = []
    for unit, change in changes.items():
        cohort = 2 if unit in treated else 0
        rows += [(unit, 1, 0.0, cohort), (unit, 2, change, cohort)]
    return pd.DataFrame(rows, columns=["unit", "time", "y", "cohort"])


def difference_in_means(data: pd.DataFrame) -> tuple[float, float]:
    """Mean change of the treated minus mean change of the others; SE of a two-sample
    difference (unequal variances). Rows as :func:`two_period_panel` writes them."""
    y = data["y"].to_numpy(dtype=float)
    change = y[1::2] - y[0::2]
    is_treated = data["cohort"].to_numpy(dtype=float)[::2] > 0
    a, b = change[is_treated], change[~is_treated]
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    return float(a.mean() - b.mean()), se


def test_exact_pvalue_of_a_hand_enumerated_example():
    # six units, two treated (D and F): C(6, 2) = 15 assignments. The difference in mean
    # changes of a pair with change sum s is s/2 - (18 - s)/4 = 0.75 s - 4.5 (18 = sum of all
    # changes). Observed {D, F}: s = 14, estimate 6. |0.75 s - 4.5| >= 6 iff s >= 14 or s <= -2:
    #   pairs and sums: AB -4, AC -3, AD -2, AE -1, AF 4, BC 5, BD 6, BE 7, BF 12, CD 7, CE 8,
    #   CF 13, DE 9, DF 14, EF 15  ->  AB, AC, AD (tie, counts), DF, EF: 5 of 15.
    changes = {"A": -6.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 5.0, "F": 10.0}
    data = two_period_panel(changes, {"D", "F"})
    result = randomization_inference(data, difference_in_means, assign_by="unit", cohort="cohort",
                                     statistic="estimate", confidence_interval=False)
    assert result.exact and result.n_assignments == 15 and result.draws == 14
    assert result.estimate == pytest.approx(6.0)
    assert result.pvalue == pytest.approx(5 / 15)
    assert sorted(np.round(result.null_estimates, 10)) == sorted(
        round(0.75 * (changes[i] + changes[j]) - 4.5, 10)
        for i, j in itertools.combinations(changes, 2) if {i, j} != {"D", "F"})


def test_exact_pvalue_of_the_studentised_statistic_by_brute_force():
    rng = np.random.default_rng(3)
    changes = {f"u{k:02d}": float(v) for k, v in enumerate(rng.normal(size=9))}
    treated = {"u02", "u05", "u07"}
    data = two_period_panel(changes, treated)
    result = randomization_inference(data, difference_in_means, assign_by="unit", cohort="cohort",
                                     statistic="t", confidence_interval=False)
    stats = []
    for pair in itertools.combinations(changes, 3):
        est, se = difference_in_means(two_period_panel(changes, set(pair)))
        stats.append(abs(est / se))
    observed = abs(result.observed)
    assert result.n_assignments == 84
    assert result.pvalue == pytest.approx(np.mean(np.array(stats) >= observed - 1e-12))


def test_interval_by_inversion_recovers_a_known_shift_and_matches_a_grid():
    # 12 units, 3 treated with a true constant effect of 3 on top of N(0, 1) changes;
    # C(12, 3) = 220 assignments, all enumerated both here and by the brute force below.
    rng = np.random.default_rng(11)
    units = [f"u{k:02d}" for k in range(12)]
    treated = {"u01", "u04", "u09"}
    base = dict(zip(units, rng.normal(size=12)))
    changes = {u: base[u] + (3.0 if u in treated else 0.0) for u in units}
    data = two_period_panel(changes, treated)
    result = randomization_inference(data, difference_in_means, assign_by="unit", cohort="cohort",
                                     outcome="y", time="time", statistic="estimate",
                                     ci_tolerance=0.005)
    assert result.exact and result.n_assignments == 220
    assert result.ci_low < 3.0 < result.ci_high

    observed = np.array([changes[u] for u in units])
    is_treated = np.array([u in treated for u in units])
    combos = np.array([np.isin(np.arange(12), c) for c in itertools.combinations(range(12), 3)])

    def pvalue(tau: float) -> float:
        shifted = observed - tau * is_treated
        obs = abs(shifted[is_treated].mean() - shifted[~is_treated].mean())
        null = np.abs(combos @ shifted / 3 - (~combos) @ shifted / 9)
        return float(np.mean(null >= obs - 1e-12))

    grid = np.arange(0.0, 6.0, 0.005)
    accepted = grid[[pvalue(t) > 0.05 for t in grid]]
    assert result.ci_low == pytest.approx(accepted.min(), abs=0.01)
    assert result.ci_high == pytest.approx(accepted.max(), abs=0.01)


def test_permutations_stay_inside_strata():
    rng = np.random.default_rng(5)
    units = [f"p{k:02d}" for k in range(30)]
    stratum = {u: ("provinsi" if k < 8 else "kabkota") for k, u in enumerate(units)}
    treated = {"p01", "p10", "p11", "p20"}
    data = two_period_panel(dict(zip(units, rng.normal(size=30))), treated)
    data["level"] = data["unit"].map(stratum)
    seen = []

    def recording(frame):
        assigned = frame.groupby("unit")["cohort"].first()
        seen.append(set(assigned.index[assigned > 0]))
        return difference_in_means(frame)

    result = randomization_inference(data, recording, assign_by="unit", cohort="cohort",
                                     strata=["level"], draws=200, seed=1, max_exact=100,
                                     confidence_interval=False)
    assert not result.exact and result.draws == 200
    assert result.n_assignments == 8 * 1540  # C(8, 1) x C(22, 3)
    for chosen in seen:
        assert sum(stratum[u] == "provinsi" for u in chosen) == 1
        assert sum(stratum[u] == "kabkota" for u in chosen) == 3
    assert len({frozenset(s) for s in seen}) > 100
    table = result.strata.set_index("stratum")
    assert table.loc["provinsi", "n_clusters"] == 8 and table.loc["provinsi", "n_treated"] == 1
    assert table.loc["kabkota", "n_treated"] == 3
    assert result.as_inference().method == "randomization"
    assert result.as_inference().details["strata"][0]["stratum"] == "kabkota"


def test_random_draws_are_reproducible_and_cohort_sizes_kept():
    mpdta = pd.read_csv(DATA / "mpdta.csv")
    keep = mpdta["countyreal"].isin(mpdta["countyreal"].drop_duplicates().iloc[::10])
    data = mpdta[keep].reset_index(drop=True)

    def estimator(frame):
        return balanced_imputation_att(frame, outcome="lemp", unit="countyreal", time="year",
                                       cohort="first.treat")

    sizes = []

    def recording(frame):
        sizes.append(frame.groupby("countyreal")["first.treat"].first().value_counts().sort_index())
        return estimator(frame)

    a = randomization_inference(data, recording, assign_by="countyreal", cohort="first.treat",
                                draws=30, seed=7, confidence_interval=False)
    b = randomization_inference(data, estimator, assign_by="countyreal", cohort="first.treat",
                                draws=30, seed=7, confidence_interval=False)
    np.testing.assert_array_equal(a.null_statistics, b.null_statistics)
    assert all(s.equals(sizes[0]) for s in sizes)
    assert a.pvalue == b.pvalue and a.seed == 7 and not a.exact


def test_overall_of_wraps_analysis_did_estimators():
    mpdta = pd.read_csv(DATA / "mpdta.csv")
    wrapped = overall_of(imputation, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    att, se = wrapped(mpdta)
    expected = imputation(mpdta, outcome="lemp", unit="countyreal", time="year", cohort="first.treat").overall()
    assert (att, se) == (pytest.approx(expected["att"]), pytest.approx(expected["se"]))


@pytest.mark.parametrize("covariate,cluster", [(False, False), (True, False), (True, True)])
def test_balanced_imputation_equals_analysis_did_imputation_on_mpdta(covariate, cluster):
    mpdta = pd.read_csv(DATA / "mpdta.csv")
    mpdta["x"] = mpdta["lpop"] * (mpdta["year"] >= 2005) + np.random.default_rng(0).normal(size=len(mpdta))
    mpdta["state"] = mpdta["countyreal"] // 1000
    kwargs = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
                  covariates=["x"] if covariate else None, cluster="state" if cluster else None)
    expected = imputation(mpdta, **kwargs).overall()
    att, se = balanced_imputation_att(mpdta, **kwargs)
    assert att == pytest.approx(expected["att"], abs=1e-10)
    assert se == pytest.approx(expected["se"], abs=1e-10)


def test_balanced_imputation_on_monthly_text_periods_with_missing_cohorts():
    rng = np.random.default_rng(2)
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    rows = []
    for i in range(40):
        cohort = {0: "2025-06", 1: "2025-06", 2: "2025-09", 3: "2025-09", 4: "2025-09"}.get(i % 10)
        for m in months:
            rows.append((f"r{i:02d}|a", f"r{i:02d}", m, cohort, rng.normal()))
            rows.append((f"r{i:02d}|b", f"r{i:02d}", m, cohort, rng.normal()))
    data = pd.DataFrame(rows, columns=["unit", "region", "month", "cohort", "y"])
    expected = imputation(data, outcome="y", unit="unit", time="month", cohort="cohort",
                          cluster="region").overall()
    att, se = balanced_imputation_att(data, outcome="y", unit="unit", time="month", cohort="cohort",
                                      cluster="region")
    assert att == pytest.approx(expected["att"], abs=1e-10)
    assert se == pytest.approx(expected["se"], abs=1e-10)


def test_balanced_imputation_bad_input():
    data = two_period_panel({"a": 1.0, "b": 2.0, "c": 0.5}, {"a"})
    with pytest.raises(ValueError, match="not balanced"):
        balanced_imputation_att(data.iloc[1:], outcome="y", unit="unit", time="time", cohort="cohort")
    with pytest.raises(ValueError, match="not in the data"):
        balanced_imputation_att(data, outcome="z", unit="unit", time="time", cohort="cohort")
    early = data.assign(cohort=np.where(data["unit"] == "a", 1, 0))
    with pytest.raises(ValueError, match="no untreated period"):
        balanced_imputation_att(early, outcome="y", unit="unit", time="time", cohort="cohort")


def test_randomization_bad_input():
    data = two_period_panel({"a": 1.0, "b": 2.0, "c": 0.5, "d": 0.3}, {"a", "b"})
    with pytest.raises(RandomizationError, match="statistic must be"):
        randomization_inference(data, difference_in_means, assign_by="unit", cohort="cohort",
                                statistic="z")
    with pytest.raises(RandomizationError, match="not in the data"):
        randomization_inference(data, difference_in_means, assign_by="region", cohort="cohort",
                                confidence_interval=False)
    with pytest.raises(RandomizationError, match="no cluster"):
        randomization_inference(data.assign(cohort=0), difference_in_means, assign_by="unit",
                                cohort="cohort", confidence_interval=False)
    varying = data.assign(cohort=[2, 0, 2, 2, 0, 0, 0, 0])
    with pytest.raises(RandomizationError, match="varies within"):
        randomization_inference(varying, difference_in_means, assign_by="unit", cohort="cohort",
                                confidence_interval=False)
    with pytest.raises(RandomizationError, match="needs outcome"):
        randomization_inference(data, difference_in_means, assign_by="unit", cohort="cohort")


def test_too_few_assignments_give_an_unbounded_interval():
    data = two_period_panel({"a": 1.0, "b": 2.0, "c": 0.5, "d": 0.1}, {"a"})
    result = randomization_inference(data, difference_in_means, assign_by="unit", cohort="cohort",
                                     outcome="y", time="time", statistic="estimate")
    assert result.n_assignments == 4 and result.pvalue >= 0.25
    assert result.ci_low == -np.inf and result.ci_high == np.inf
    assert [n.code for n in result.notes] == ["ri_interval_unbounded"]


def test_choose_inference_threshold():
    few = choose_inference(4)
    assert (few.method, few.reason, few.n_treated_clusters) == ("randomization", "few_treated_clusters", 4)
    many = choose_inference(MIN_TREATED_CLUSTERS_ANALYTIC)
    assert many.method == "cluster_robust" and many.details["threshold"] == MIN_TREATED_CLUSTERS_ANALYTIC
    with pytest.raises(ValueError):
        choose_inference(-1)


def test_quantile_bands():
    bands = quantile_bands(pd.Series([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), 3)
    assert bands.tolist() == [1, 1, 2, 2, 3, 3]


def test_headline_inference_runs_randomization_only_with_few_treated():
    rng = np.random.default_rng(8)
    units = [f"u{k:02d}" for k in range(12)]
    few = two_period_panel(dict(zip(units, rng.normal(size=12))), {"u01", "u02", "u03"})
    inference, result = headline_inference(few, difference_in_means, assign_by="unit", cohort="cohort",
                                           outcome="y", time="time", draws=99, seed=3)
    assert inference.method == "randomization" and inference.reason == "few_treated_clusters"
    assert inference.pvalue == result.pvalue and inference.details["threshold"] == MIN_TREATED_CLUSTERS_ANALYTIC
    assert inference.details["ci_low"] == result.ci_low and inference.n_treated_clusters == 3
    assert result.exact and result.n_assignments == 220
    inference, result = headline_inference(few, difference_in_means, assign_by="unit", cohort="cohort",
                                           outcome="y", time="time", threshold=3)
    assert inference.method == "cluster_robust" and result is None


def test_exact_enumeration_lists_every_distinct_assignment_once_within_strata():
    from analysis.did.inference import _assignments

    cohorts = ["2024-03", "2024-03", "2024-05", None, None, "2024-05", None, None]
    levels = ["p", "p", "p", "p", "k", "k", "k", "k"]
    data = pd.DataFrame({"unit": [f"u{k}" for k in range(8)], "cohort": cohorts, "level": levels})
    assignment = _assignments(data, "unit", ["cohort"], ["level"])
    listed = [tuple(assignment.labels[c][0] for c in codes) for codes in assignment.enumerate()]
    expected = {left + right
                for left in set(itertools.permutations(cohorts[:4]))
                for right in set(itertools.permutations(cohorts[4:]))}
    assert len(listed) == len(set(listed)) == assignment.count() == 12 * 4
    assert set(listed) == expected
    rng = np.random.default_rng(1)
    for _ in range(20):
        drawn = tuple(assignment.labels[c][0] for c in assignment.draw(rng))
        assert drawn in expected
