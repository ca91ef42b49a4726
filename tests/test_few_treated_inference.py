"""The inference of the headlines of notebooks 10 and 20 is chosen by the number of treated Pemda
(``analysis.analyses.few_treated``): randomization inference with few, analytic with many."""

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis import did
from analysis.analyses import few_treated


def _panel(seed=3, n_units=40, n_months=8, treated=(0, 1, 2), start=5, drop=0.15):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_units):
        a = rng.normal()
        for t in range(n_months):
            if t > 0 and rng.random() < drop:
                continue   # unbalanced
            cohort = start if u in treated else 0
            y = a + 0.1 * t + rng.normal(scale=0.3) + (0.4 if cohort and t >= cohort else 0.0)
            rows.append({"unit_id": u, "region_code": f"{u // 2}", "month": t, "cohort": cohort, "y": y})
    return pd.DataFrame(rows)


def test_imputation_statistic_is_the_imputation_point_estimate():
    data = _panel()
    att, se = few_treated.imputation_statistic(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = did.imputation(data, outcome="y", unit="unit_id", time="month", cohort="cohort",
                             cluster="region_code").overall()
    assert att == pytest.approx(ref["att"], abs=1e-10)
    assert se > 0


def test_level_stratum_from_the_region_code():
    level = few_treated.pemda_level(pd.Series(["17", "17.09", "32", "71.11"]))
    assert list(level) == ["provinsi", "kabkota", "provinsi", "kabkota"]


@pytest.fixture(scope="module")
def registry_small(shared_datasets):
    from analysis.simulate import ensure_dataset

    return ensure_dataset(shared_datasets / "small-registry", size="small", scenario="registry_only")


def _budget(data_dir):
    from analysis.analyses.budget_savings import run_budget_analysis

    return run_budget_analysis(data_dir, n_draws=99, categories=("routine_total", "listrik"),
                               unadjusted_categories=())


@pytest.mark.slow
def test_few_treated_budget_headline_uses_randomization_inference(registry_small):
    from analysis.analyses.budget_savings import result_entries

    analysis = _budget(registry_small)
    inference = few_treated.budget_headline_inference(analysis, draws=19)
    entry = {e.name: e for e in result_entries(analysis, inference)}["att_log_routine_spending"]
    assert entry.inference.method == "randomization"
    assert entry.inference.reason == "few_treated_clusters"
    assert entry.inference.n_treated_clusters == 4
    assert 0 < entry.inference.pvalue <= 1 and entry.inference.details["draws"] == 19
    assert entry.se == pytest.approx(inference.se)    # the analytic SE stays next to it
    table = few_treated.inference_table(inference)
    assert list(table["inference"]) == ["cluster_robust", "randomization"]
    facts = few_treated.inference_facts(inference)
    assert facts["method"] == "randomization" and facts["n_treated"] == 4 and facts["threshold"] == 20


@pytest.mark.slow
def test_few_treated_service_headline_uses_randomization_inference(registry_small):
    from analysis.analyses import service_time

    inputs = service_time.load_inputs(registry_small)
    analysis = service_time.run_analysis(inputs)
    inference = few_treated.service_headline_inference(analysis, inputs, draws=19)
    entries = {e.name: e for e in service_time.result_entries(analysis, inference)}
    for name in ("att_log_median_days", "att_pct_median_days"):
        assert entries[name].inference.method == "randomization", name
        assert entries[name].inference.reason == "few_treated_clusters"
        assert entries[name].inference.n_treated_clusters == analysis.median.sample.treated_count < 20
    assert entries["att_sla_share"].inference.reason == "few_treated_clusters_not_tested"
    assert entries["att_log_median_days"].se == pytest.approx(analysis.median.se)


@pytest.mark.slow
def test_many_treated_headlines_stay_analytic(small_dataset):
    from analysis.analyses.budget_savings import result_entries

    analysis = _budget(small_dataset)
    inference = few_treated.budget_headline_inference(analysis)
    assert inference.randomization is None
    entry = {e.name: e for e in result_entries(analysis)}["att_log_routine_spending"]
    assert entry.inference.method == "cluster_robust"
    assert entry.inference.reason == "enough_treated_clusters"
    assert entry.inference.n_treated_clusters >= 20 and entry.inference.details["threshold"] == 20
    assert entry.inference.pvalue == pytest.approx(inference.analytic_pvalue)
    assert len(few_treated.inference_table(inference)) == 1
