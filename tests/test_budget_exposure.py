"""Exposure arithmetic, cohorts by quarter, savings and projection formulas, truths of estimands
and the robustness of the spending effect to degenerate covariates: on tiny hand-built inputs
(fast, independent of analysis.simulate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.analyses.budget_savings import real_adopter_codes
from analysis.analyses.projection import project_annual_savings
from analysis.analyses.savings import savings_in_rupiah
from analysis.analyses.spending_effect import (
    NoAdopterError,
    SpendingEffect,
    estimate_spending_effect,
    screen_covariates,
)
from analysis.did.results import InfluenceFunction
from analysis.panels.budget import (
    cohorts_for_estimation,
    first_full_period,
    spending_panel,
    tkd_covariates,
    wfa_exposure,
)
from analysis.simulate.truth import budget_att_truth, budget_savings_truth, projection_truth

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 7)]


def _policy(code, start, end="", days=2):
    return {"region_code": code, "start_date": start, "end_date": end, "wfa_days_per_week": days,
            "wfa_weekdays": "", "is_trial": False, "instrument": "x", "source": "test"}


@pytest.fixture
def registry():
    regions = pd.DataFrame({"region_code": ["A", "B", "C", "D", "E"], "population": 1000})
    policies = pd.DataFrame([
        _policy("A", "2026-01-12"),                      # 15 of January's 22 working days
        _policy("B", "2026-01-14", "2026-01-28", 1),     # 11 of 22: exactly half, in force
        _policy("C", "2026-01-20"),                      # 8 of 22: from February
        _policy("D", "2025-11-06", "2025-11-30", 1),     # November trial, December not recorded,
        _policy("D", "2026-01-01", "", 1),               # then from January: December bridged
    ])
    return regions, policies


def test_exposure_counts_the_working_days_in_force(registry):
    regions, policies = registry
    exposure = wfa_exposure(policies, regions, periods=pd.Series(MONTHS), frequency="month")
    share = exposure.set_index(["region_code", "period"])["in_force_share"]
    assert share["A", "2026-01"] == pytest.approx(15 / 22) and share["A", "2026-02"] == 1.0
    assert share["B", "2026-01"] == pytest.approx(0.5) and ("B", "2026-02") not in share.index
    assert ("C", "2026-01") not in share.index and share["C", "2026-02"] == 1.0
    assert share["D", "2025-11"] == pytest.approx(17 / 20)
    assert share["D", "2025-12"] == 1.0          # bridged (rule 2): WFA-like arrangements went on
    assert "E" not in set(exposure["region_code"])
    dose = exposure.set_index(["region_code", "period"])["wfa_days_per_week"]
    assert dose["A", "2026-01"] == 2 and dose["B", "2026-01"] == 1
    quarterly = wfa_exposure(policies, regions, periods=pd.Series(MONTHS), frequency="quarter")
    q = quarterly.set_index(["region_code", "period"])["in_force_share"]
    assert q["A", "2026-Q1"] == pytest.approx((15 / 22 + 2) / 3)
    assert q["B", "2026-Q1"] == pytest.approx(0.5 / 3)
    assert q["D", "2025-Q4"] == pytest.approx((17 / 20 + 1) / 3)


def test_quarterly_cohort_is_the_first_fully_treated_quarter():
    assert first_full_period("2026-01", "quarter") == "2026-Q1"
    assert first_full_period("2026-03", "quarter") == "2026-Q2"
    assert first_full_period("2025-11", "quarter") == "2026-Q1"
    assert first_full_period("2026-03", "month") == "2026-03"
    budget = pd.DataFrame([(code, m, "x", "listrik", 12.0, 1.0) for code in ("A", "B", "C", "N") for m in MONTHS],
                          columns=["region_code", "period", "account_code", "category", "budget_idr", "realized_idr"])
    panel = spending_panel(budget, frequency="quarter")           # 2025-Q1 .. 2026-Q2
    adoption = pd.DataFrame({
        "region_code": ["A", "B", "C"], "cohort": ["2026-01", "2026-03", "2026-05"],
        "wfa_days_per_week": [2, 1, 2], "status": "adopter", "in_staggered_sample": True, "note": "",
        "last_treated": "2026-06",
    })
    units, excluded = cohorts_for_estimation(adoption, panel, frequency="quarter")
    cohort = units.set_index("region_code")["cohort"]
    assert cohort["A"] == "2026-Q1" and cohort["B"] == "2026-Q2" and pd.isna(cohort["N"])
    # May 2026 adopter: its first full quarter (2026-Q3) is after the data -> neither treated nor control
    assert excluded.set_index("region_code")["reason"].to_dict() == {"C": "no_full_post_period"}


def _effect(cells: pd.DataFrame, event_att: dict, simple_att: float, frequency: str = "month") -> SpendingEffect:
    """A SpendingEffect with the given estimates and zero influence functions (no uncertainty)."""
    codes = tuple(sorted(set(cells["region_code"]) | {"Z"}))
    events = tuple(sorted(event_att))
    return SpendingEffect(
        category="listrik", adjusted=True, control="not_yet", frequency=frequency,
        att=simple_att, se=0.0, ci_low=simple_att, ci_high=simple_att,
        event_study=pd.DataFrame({"event": events, "att": [event_att[e] for e in events], "se": 0.0,
                                  "ci_low": 0.0, "ci_high": 0.0}),
        influence_simple=InfluenceFunction(np.zeros((len(codes), 1)), np.array([simple_att]), codes, codes, ("overall",)),
        influence_event=InfluenceFunction(np.zeros((len(codes), len(events))), np.array([event_att[e] for e in events]),
                                          codes, codes, events),
        unit_ids=codes, treated_cells=cells, n_units=len(codes), n_never_treated=1, covariates=(),
        excluded=pd.DataFrame(columns=["region_code", "reason", "adopter"]), by_cohort=pd.DataFrame(),
        pretrend=None, pretrend_events=(),
    )


@pytest.fixture
def two_adopters():
    """A: 2-day scheme from 15 January (half of January in force); B: 1-day scheme, whole months."""
    cells = pd.DataFrame({
        "region_code": ["A", "A", "B", "B"], "period": ["2026-01", "2026-02"] * 2, "time": [0, 1, 0, 1],
        "event": [0, 1, 0, 1], "realized_idr": [100.0, 200.0, 400.0, 300.0],
        "realized_real_idr": [90.0, 180.0, 360.0, 270.0], "wfa_days_per_week": [2.0, 2.0, 1.0, 1.0],
        "in_force_share": [0.5, 1.0, 1.0, 1.0],
    })
    return _effect(cells, {-1: 0.01, 0: -0.1, 1: -0.2}, simple_att=-0.15)


def test_savings_share_the_event_effect_by_days_in_force(two_adopters):
    savings = savings_in_rupiah({"listrik": two_adopters}, n_draws=9)
    cells = savings.cells.set_index(["region_code", "period"])
    # event 0: A has 2 x 0.5 = 1 day in force, B 1 x 1 = 1: both get ATT_0; event 1: A 2, B 1 (mean 1.5)
    expected = {("A", "2026-01"): -0.1, ("B", "2026-01"): -0.1,
                ("A", "2026-02"): -0.2 * 2 / 1.5, ("B", "2026-02"): -0.2 * 1 / 1.5}
    for key, effect in expected.items():
        assert cells.loc[key, "log_effect"] == pytest.approx(effect)
        actual = cells.loc[key, "actual_idr"]
        assert cells.loc[key, "savings_idr"] == pytest.approx(actual * (np.exp(-effect) - 1))
    total = savings.total()
    assert total["adopter_months"] == pytest.approx(3.5)   # January of A counts half
    per_year = savings.per_adopter_year()
    assert per_year["savings_idr"] == pytest.approx(total["savings_idr"] * 12 / 3.5)
    # no uncertainty in the estimates -> the interval collapses onto the point
    assert per_year["ci_low"] == pytest.approx(per_year["savings_idr"]) == pytest.approx(per_year["ci_high"])


def test_projection_divides_the_att_by_the_mean_days_in_force(two_adopters):
    panel = pd.DataFrame({"region_code": ["A", "B", "N"], "year": 2025, "category": "listrik",
                          "realized_real_idr": [1000.0, 2000.0, 3000.0]})
    projection = project_annual_savings({"listrik": two_adopters}, panel, days_per_week=2, base_year=2025, n_draws=9)
    mean_dose = (1.0 + 2.0 + 1.0 + 1.0) / 4
    beta = -0.15 / mean_dose
    assert projection.by_category.loc[0, "beta_per_day"] == pytest.approx(beta)
    assert projection.savings_idr == pytest.approx(6000.0 * -np.expm1(2 * beta))
    assert projection.observed_doses == (1.0, 2.0) and not projection.extrapolated and projection.n_pemda == 3
    # the truth of the same estimand from a data-generating process with per-Pemda effects
    truth = {"wfa_effect_per_day": {"log_effect_by_category": {"listrik": -0.06},
                                    "pemda_scale": {"A": 1.0, "B": 0.5, "N": 2.0}}}
    expected = sum(base * -np.expm1(2 * -0.06 * scale) for base, scale in ((1000, 1.0), (2000, 0.5), (3000, 2.0)))
    assert projection_truth(truth, projection.base_spending, 2) == pytest.approx(expected)


def test_truth_of_an_estimand_over_months_and_quarters():
    truth_cells = pd.DataFrame({
        "region_code": ["A", "A", "A", "B"], "period": ["2026-02", "2026-03", "2026-03", "2026-03"],
        "category": ["listrik", "listrik", "air", "listrik"],
        "realized_idr": [90, 80, 10, 50], "counterfactual_idr": [100, 100, 10, 100],
    })
    cells = pd.DataFrame({"region_code": ["A", "B"], "period": ["2026-03", "2026-03"], "realized_idr": [90.0, 50.0]})
    # routine total of A in March: 90 spent, 20 saved -> log(90/110); B: log(50/100)
    both = budget_att_truth(truth_cells, cells, categories=("listrik", "air"))
    assert both == pytest.approx((np.log(90 / 110) + np.log(0.5)) / 2)
    weighted = budget_att_truth(truth_cells, cells, categories=("listrik", "air"), weights=[3, 1])
    assert weighted == pytest.approx((3 * np.log(90 / 110) + np.log(0.5)) / 4)
    quarter = pd.DataFrame({"region_code": ["A"], "period": ["2026-Q1"], "realized_idr": [300.0]})
    # a quarter cell: both treated months' savings (10 + 20) against the quarter's spending
    assert budget_att_truth(truth_cells, quarter, categories=("listrik",), frequency="quarter") == pytest.approx(
        np.log(300 / 330))
    saved = pd.DataFrame({"region_code": ["A", "B"], "period": ["2026-03", "2026-03"], "category": "listrik",
                          "real_per_nominal": [1.0, 0.5]})
    assert budget_savings_truth(truth_cells, saved) == pytest.approx(20 + 0.5 * 50)


def test_real_adopters_are_the_policy_rows_not_simulated():
    policies = pd.DataFrame({"region_code": ["17", "32", "11.01"], "source": ["https://x", "SE 1", "simulated"]})
    assert real_adopter_codes(policies) == {"17", "32"}
    assert real_adopter_codes(policies.assign(origin=["registry", "simulated", "simulated"])) == {"17"}


# ------------------------------------------------------------------ degenerate covariates
def test_screen_covariates_names_constant_and_collinear_ones():
    rng = np.random.default_rng(3)
    population = rng.uniform(1e5, 1e6, 50)
    values = pd.DataFrame({
        "tkd_cut_share": 0.2,                                         # the same cut everywhere
        "log_tkd_per_capita": 3.0 + 0.5 * np.log(population),         # TKD a power of population
        "log_population": np.log(population),
        "other": rng.normal(size=50),
    })
    kept, notes = screen_covariates(values, ["tkd_cut_share", "log_population", "log_tkd_per_capita", "other"])
    assert kept == ("log_population", "other")
    assert [(n.code, n.params["covariate"]) for n in notes] == [
        ("covariate_dropped_constant", "tkd_cut_share"), ("covariate_dropped_collinear", "log_tkd_per_capita")]
    assert notes[1].params["collinear_with"] == ["log_population"]
    # units of measurement do not matter: a rescaled copy is as collinear
    assert screen_covariates(values.assign(other=values["log_population"] * 1e9), ["log_population", "other"])[0] == (
        "log_population",)


@pytest.fixture(scope="module")
def world():
    from test_savings import make_world

    budget, transfers, regions, adoption, truth = make_world(n_units=120, seed=5)
    panel = spending_panel(budget, frequency="month", price_base_year=2025)
    units, _ = cohorts_for_estimation(adoption, panel, frequency="month")
    return {"panel": panel, "units": units, "transfers": transfers, "regions": regions}


@pytest.mark.parametrize("case", ["same_cut_everywhere", "tkd_per_capita_from_population"])
def test_degenerate_covariates_are_dropped_with_a_note_not_a_crash(world, case):
    """Before: moderndid stopped with 'holds no group-time effects to aggregate'."""
    regions, transfers = world["regions"], world["transfers"].copy()
    level_2025 = transfers[transfers["period"] < "2026"].groupby("region_code")["tkd_idr"].first()
    relative = transfers["tkd_idr"] / transfers["region_code"].map(level_2025)   # 1 in 2025, 1 - cut in 2026
    if case == "same_cut_everywhere":
        transfers["tkd_idr"] = transfers["region_code"].map(level_2025) * np.where(transfers["period"] >= "2026", 0.8, 1.0)
        dropped, code = "tkd_cut_share", "covariate_dropped_constant"
    else:
        population = regions.set_index("region_code")["population"].astype(float)
        transfers["tkd_idr"] = transfers["region_code"].map(population ** 1.5) * relative
        # log TKD per capita = 0.5 log population: the later of the two in TKD_COVARIATES goes
        dropped, code = "log_population", "covariate_dropped_collinear"
    covariates = tkd_covariates(transfers, regions)
    effect = estimate_spending_effect(world["panel"], world["units"], covariates, category="listrik")
    assert dropped not in effect.covariates and len(effect.covariates) == 2
    assert [(n.code, n.params["covariate"]) for n in effect.notes] == [(code, dropped)]
    assert np.isfinite(effect.att) and effect.se > 0
    if case == "tkd_per_capita_from_population":   # the cut share still carries the confounder
        assert effect.ci_low <= -0.15 <= effect.ci_high


def test_no_adopter_left_is_its_own_error(world):
    panel = world["panel"]
    adopters = set(world["units"].loc[world["units"]["cohort_time"] > 0, "region_code"])
    holed = panel[~(panel["region_code"].isin(adopters) & (panel["period"] == "2025-03"))]
    with pytest.raises(NoAdopterError, match="no adopter left"):
        estimate_spending_effect(holed, world["units"], None, category="listrik", adjust_for_tkd=False)
