"""Every real adopter's case study against its simulated true effect (issue #10), for the
spending and the service-time outcome, on the default simulated dataset; the TKD-cut
adjustment is what makes Bolaang Mongondow Selatan's spending estimate right; Surakarta's
switched-off trial month is covered too. Slow: 14 case studies on the default-size data.

Measured on this dataset (benchmarks/README.md, "Case studies"): the interrupted time series
covers all 14; synthetic DiD, the headline view (smallest RMSE over the 67 adopters of the
dataset: 0.029 for spending against 0.042 for the ITS, coverage 92.5% and 95.5%), covers 13:
Bengkulu Tengah's spending interval (-0.025, -0.072 to 0.023) misses its truth (-0.073) by 0.001,
an error of 2.0 SE that the coverage study puts at the expected rate. That case is a strict
xfail: it fails the suite if it starts to cover, so a change of the estimator shows up."""

from __future__ import annotations

import warnings

import pytest

from analysis.analyses import case_study, switch_off
from analysis.data import load as load_dataset

REAL_ADOPTERS = ("17", "71.11", "32.14", "17.09", "32", "73", "33.72")
OUTCOMES = ("log_routine_spending", "log_median_days")


@pytest.fixture(scope="module")
def dataset(default_dataset):
    return load_dataset(default_dataset)


@pytest.fixture(scope="module")
def inputs(dataset):
    return {outcome: case_study.monthly_outcome(dataset, outcome) for outcome in OUTCOMES} | {
        "cells": case_study.service_cells(dataset)}


@pytest.fixture(scope="module")
def studies(dataset, inputs, default_dataset):
    out = {}
    for outcome in OUTCOMES:
        for code in REAL_ADOPTERS:
            data = case_study.build_case_study_data(dataset, code, outcome, series=inputs[outcome])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = case_study.run_case_study(data)
            out[outcome, code] = (result, case_study.true_effect(default_dataset, result, cells=inputs["cells"]))
    return out


KNOWN_MISS = pytest.mark.xfail(strict=True, reason="a 2.0-SE error on this dataset (module doc)")
CASES = [pytest.param(code, outcome, marks=KNOWN_MISS if (code, outcome) == ("17.09", "log_routine_spending") else ())
         for outcome in OUTCOMES for code in REAL_ADOPTERS]


@pytest.mark.parametrize("code,outcome", CASES)
def test_headline_interval_covers_the_truth(studies, outcome, code):
    result, truth = studies[outcome, code]
    row = result.estimate(case_study.HEADLINE_METHOD)
    assert row["first_period"] == result.data.treatment_start and row["last_period"] == result.data.last_post
    assert row["ci_low"] <= truth <= row["ci_high"], (code, outcome, row.to_dict(), truth)


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("code", REAL_ADOPTERS)
def test_interrupted_time_series_interval_covers_the_truth(studies, outcome, code):
    result, truth = studies[outcome, code]
    row = result.estimate("its")
    assert row["ci_low"] <= truth <= row["ci_high"], (code, outcome, row.to_dict(), truth)


def test_names_and_periods(studies):
    result, _ = studies["log_routine_spending", "17"]
    assert result.data.region_label == "Provinsi Bengkulu"
    result, _ = studies["log_routine_spending", "33.72"]
    assert result.data.region_label == "Kota Surakarta" and result.data.last_post == "2026-01"
    result, _ = studies["log_routine_spending", "32"]
    assert result.data.treatment_start == "2025-11"   # the November trial bridged to the 2026 policy


def test_cut_adjustment_removes_the_bias_of_bolaang_mongondow_selatan(dataset, inputs, studies, default_dataset):
    adjusted, truth = studies["log_routine_spending", "71.11"]
    data = case_study.build_case_study_data(dataset, "71.11", "log_routine_spending", series=inputs["log_routine_spending"])
    raw = case_study.run_case_study(data, adjust_for_cut=False, max_donors=len(data.donors))
    # the issue: SDID on the raw outcome, all never-adopting kab/kota as donors, -0.186 against -0.083
    assert raw.sdid.estimate < truth - 0.07
    assert abs(adjusted.estimate("sdid")["estimate"] - truth) < 0.03
    assert data.cut_share["71.11"] > data.cut_share.drop("71.11").mean() + 0.08


def test_surakarta_trial_month_is_covered(dataset, inputs, default_dataset):
    result = switch_off.analyse_switch_off(dataset, "33.72", "log_routine_spending",
                                           series=inputs["log_routine_spending"], horizons_after=3)
    truth = switch_off.true_switch_effects(default_dataset, result)
    on = result.effects.set_index("period").loc["2026-01"]
    assert on["ci_low"] <= truth["2026-01"] <= on["ci_high"]
    assert (truth[result.effects["phase"].to_numpy() == "after"] == 0).all()
    assert result.dose["wfa_days"] == 3 and result.n_placebo_units > 300
