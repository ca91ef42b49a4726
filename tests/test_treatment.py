"""Treatment timing from the policy registry: the bundled registry's hard cases, and bad input."""

import pandas as pd
import pytest

from analysis.notes import Note
from analysis.paths import POLICIES_CSV, REGIONS_CSV
from analysis.panels.treatment import assign_treatment, treatment_by_period

PERIODS = [str(p) for p in pd.period_range("2025-01", "2026-10", freq="M")]


@pytest.fixture(scope="module")
def registry():
    policies = pd.read_csv(POLICIES_CSV, dtype={"region_code": str}, parse_dates=["start_date", "end_date"])
    regions = pd.read_csv(REGIONS_CSV, dtype={"region_code": str, "province_code": str})
    return policies, regions


def test_bundled_registry_cohorts(registry):
    policies, regions = registry
    t = assign_treatment(policies, regions, periods=PERIODS).set_index("region_code")
    assert len(t) == 552
    assert (t["status"] == "never").sum() == 552 - 7
    # mid-January adopters: at least half of January's working days → January
    for code in ("71.11", "32.14", "17.09", "17"):
        assert t.loc[code, "cohort"] == "2026-01" and t.loc[code, "status"] == "adopter"
    # Jawa Barat: November trial, December gap bridged, policy from January
    assert t.loc["32", "cohort"] == "2025-11" and t.loc["32", "treated_months"] == 12
    assert Note("gap_bridged", {"months": ["2025-12"]}) in t.loc["32", "note"]
    # Surakarta: 14–28 Jan only (11 of 22 working days) → switched off, out of the staggered sample
    assert t.loc["33.72", "status"] == "switched_off" and not t.loc["33.72", "in_staggered_sample"]
    assert t.loc["33.72", "last_treated"] == "2026-01"
    assert t.loc["73", "cohort"] == "2025-03" and t.loc["73", "wfa_days_per_week"] == 2
    assert t.loc["71.11", "wfa_days_per_week"] == 2 and t.loc["32.14", "wfa_days_per_week"] == 1


def test_absorbing_keeps_switched_off_units(registry):
    policies, regions = registry
    t = assign_treatment(policies, regions, periods=PERIODS, trial_handling="absorbing").set_index("region_code")
    assert t.loc["33.72", "status"] == "adopter" and t.loc["33.72", "in_staggered_sample"]


def test_no_bridging_starts_jawa_barat_in_january_trial_switched_off(registry):
    policies, regions = registry
    t = assign_treatment(policies, regions, periods=PERIODS, max_gap_months=0).set_index("region_code")
    assert t.loc["32", "cohort"] == "2025-11" and t.loc["32", "treated_months"] == 11


def test_already_treated_when_window_starts_late(registry):
    policies, regions = registry
    t = assign_treatment(policies, regions, periods=PERIODS[3:]).set_index("region_code")
    assert t.loc["73", "status"] == "already_treated" and not t.loc["73", "in_staggered_sample"]


def test_half_month_rule():
    regions = pd.DataFrame({"region_code": ["1", "2"]})
    policies = pd.DataFrame(
        {"region_code": ["1", "2"], "start_date": pd.to_datetime(["2026-01-16", "2026-01-19"]),
         "end_date": pd.NaT, "wfa_days_per_week": [1, 3]}
    )
    by = treatment_by_period(policies, regions, periods=["2026-01", "2026-02"])
    # January 2026 has 22 working days; from the 16th: 12 (in force), from the 19th: 10 (not)
    assert by.query("region_code == '1' and period == '2026-01'")["wfa_in_force"].item()
    assert not by.query("region_code == '2' and period == '2026-01'")["wfa_in_force"].item()
    t = assign_treatment(policies, regions, periods=["2025-12", "2026-01", "2026-02"]).set_index("region_code")
    assert t.loc["2", "cohort"] == "2026-02" and t.loc["2", "wfa_days_per_week"] == 3


def test_bad_trial_handling():
    with pytest.raises(ValueError, match="trial_handling"):
        assign_treatment(pd.DataFrame(), pd.DataFrame({"region_code": []}), periods=["2026-01"], trial_handling="drop")
