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


def test_imputation_statistic_se_equals_an_explicit_dummy_regression():
    """The SE by its formula (docstring) from a least-squares fit with explicit unit and month
    dummies on the untreated cells: sqrt(sum over clusters of (sum of (tau - ATT))^2) / n."""
    data = _panel(seed=5, n_units=12, n_months=6, treated=(0, 1, 2, 3), start=3, drop=0.1)
    att, se = few_treated.imputation_statistic(data)
    units = pd.get_dummies(data["unit_id"], prefix="u", dtype=float)
    months = pd.get_dummies(data["month"], prefix="m", dtype=float).iloc[:, 1:]
    design = pd.concat([units, months], axis=1).to_numpy()
    treated = ((data["cohort"] > 0) & (data["month"] >= data["cohort"])).to_numpy()
    coef, *_ = np.linalg.lstsq(design[~treated], data["y"].to_numpy()[~treated], rcond=None)
    effects = data["y"].to_numpy()[treated] - design[treated] @ coef
    clusters = data["region_code"].to_numpy()[treated]
    sums = pd.Series(effects - effects.mean()).groupby(clusters).sum().to_numpy()
    assert att == pytest.approx(effects.mean(), abs=1e-10)
    assert se == pytest.approx(np.sqrt((sums**2).sum()) / len(effects), rel=1e-9)


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


def _counting(estimator):
    calls = []

    def wrapped(frame):
        calls.append(1)
        return estimator(frame)

    return wrapped, calls


@pytest.mark.parametrize("statistic", ["t", "estimate"])
def test_closed_form_interval_equals_the_generic_inversion_with_far_fewer_calls(statistic):
    """linear_outcome=True (analysis.did.inference_linear): the same p-value and end points as the
    bisection on re-estimated frames, from three calls per assignment (plus, for the studentised
    statistic, four rounds to confirm the end points)."""
    data = _panel(treated=(0, 1, 2, 3, 4, 5))
    kwargs = dict(assign_by="region_code", cohort="cohort", outcome="y", time="month", statistic=statistic,
                  draws=49, seed=11, max_exact=0)
    fast_estimator, fast_calls = _counting(few_treated.imputation_statistic)
    slow_estimator, slow_calls = _counting(few_treated.imputation_statistic)
    fast = did.randomization_inference(data, fast_estimator, linear_outcome=True, **kwargs)
    slow = did.randomization_inference(data, slow_estimator, **kwargs)
    assert np.isfinite([slow.ci_low, slow.ci_high]).all()
    assert (fast.ci_low, fast.ci_high, fast.pvalue) == (slow.ci_low, slow.ci_high, slow.pvalue)
    assert len(fast_calls) <= (1 + 3 + (4 if statistic == "t" else 0)) * (fast.draws + 1) < len(slow_calls) / 2


def test_an_estimator_not_linear_in_the_outcome_falls_back_to_the_generic_inversion():
    from analysis.did.inference import _pvalue, treated_cells
    from analysis.did.inference_linear import linear_pvalue

    data = _panel(treated=(0, 1, 2, 3, 4, 5))

    def median_gap(frame):  # not linear in y: a median of exponentials
        treated = treated_cells(frame, cohort="cohort", time="month")
        level = np.exp(frame["y"].to_numpy())
        return float(np.median(level[treated]) - np.median(level[~treated])), 0.1

    def frames(tau):
        shifted = data.assign(y=data["y"] - tau * treated_cells(data, cohort="cohort", time="month"))
        yield from (shifted, shifted.assign(y=shifted["y"] * 1.0))

    assert linear_pvalue(frames, median_gap, "estimate", 0.5, _pvalue) is None
    kwargs = dict(assign_by="region_code", cohort="cohort", outcome="y", time="month", statistic="estimate",
                  draws=19, seed=3, max_exact=0)
    assert (did.randomization_inference(data, median_gap, linear_outcome=True, **kwargs).ci_low
            == did.randomization_inference(data, median_gap, **kwargs).ci_low)


@pytest.mark.slow
def test_few_treated_headlines_closed_form_interval_equals_generic(registry_small, monkeypatch):
    """Both headlines' RI intervals on the registry-only data: the closed form changes no digit."""
    from analysis.analyses import service_time
    from analysis.did import inference

    inputs = service_time.load_inputs(registry_small)
    service = service_time.run_analysis(inputs)
    budget = _budget(registry_small)
    fast = [few_treated.service_headline_inference(service, inputs, draws=19).randomization,
            few_treated.budget_headline_inference(budget, draws=19).randomization]
    original = inference.randomization_inference
    monkeypatch.setattr(few_treated, "randomization_inference",
                        lambda *a, **k: original(*a, **{**k, "linear_outcome": False}))
    slow = [few_treated.service_headline_inference(service, inputs, draws=19).randomization,
            few_treated.budget_headline_inference(budget, draws=19).randomization]
    for f, s in zip(fast, slow):
        assert np.isfinite([s.ci_low, s.ci_high]).all()
        assert (f.ci_low, f.ci_high, f.pvalue) == (s.ci_low, s.ci_high, s.pvalue)
