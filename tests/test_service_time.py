"""Service-time estimates on synthetic data with known effects: coverage of the truth, the bias of
completed-only medians, heterogeneity tests, and bad input."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.analyses import heterogeneity as H
from analysis.analyses import service_sample as S
from analysis.panels.service import build_service_panel
from analysis.panels.treatment import assign_treatment


@pytest.fixture(scope="module")
def synthetic(default_dataset):
    """The `default` size (the `small` one has ~2 requests per cell: too few for cell medians)."""
    data_dir = default_dataset
    from analysis.data.io import load_table

    policies = load_table(data_dir, "policies")
    regions = load_table(data_dir, "regions")
    panel = build_service_panel(data_dir / "service_requests.parquet",
                                extracted_at=json.loads((data_dir / "dataset.json").read_text())["extracted_at"])
    periods = [m for m in panel["month"].unique() if m >= S.ANALYSIS_START]
    treatment = assign_treatment(policies, regions, periods=periods)
    truth_cells = pd.read_parquet(data_dir / "truth_service_cells.parquet")
    return panel, treatment, truth_cells


def test_cs_simple_att_covers_truth_over_the_cells_it_uses(synthetic):
    panel, treatment, truth_cells = synthetic
    dp = S.build_did_panel(panel, treatment, outcome="median_days")
    fit = H.cs_simple_att(S.did_frame(dp))
    truth = S.truth_for_cells(fit.cells, truth_cells)
    lo, hi = fit.ci()
    assert truth > 0.02  # WFA slows services in the simulation
    assert lo <= truth <= hi, (fit.att, lo, hi, truth)
    assert fit.n_treated_units > 100


def test_own_cs_equals_the_did_module(synthetic):
    import analysis.did as did

    panel, treatment, _ = synthetic
    dp = S.build_did_panel(panel, treatment, outcome="median_days", service_type="perizinan")
    data = S.did_frame(dp)
    own = H.cs_simple_att(data)
    ref = did.callaway_santanna(data, outcome="y", unit="unit_id", time="month", cohort="cohort",
                                cluster="region_code").overall()
    assert own.att == pytest.approx(ref["att"], abs=1e-10)
    assert own.se == pytest.approx(ref["se"], rel=0.1)  # weights treated as fixed here


def test_completed_only_medians_are_biased_toward_shorter_times(synthetic):
    panel, treatment, truth_cells = synthetic
    # the naive analyst keeps every month (completed-only medians always exist)
    last = panel["month"].max()
    naive = H.cs_simple_att(S.did_frame(S.build_did_panel(panel, treatment, naive=True, end=last)))
    km = H.cs_simple_att(S.did_frame(S.build_did_panel(panel, treatment)))
    recent = panel[panel["month"] == last]
    # in the extraction month open requests are many: completed-only medians are far too short
    assert (recent["naive_median_days"] < recent["median_days"]).mean() > 0.05
    assert recent["naive_median_days"].mean() < recent["median_days"].mean()
    truth_naive = S.truth_for_cells(naive.cells, truth_cells)
    assert naive.att < truth_naive
    assert abs(naive.att - truth_naive) > abs(km.att - S.truth_for_cells(km.cells, truth_cells))


def test_wald_equal_detects_a_difference():
    rng = np.random.default_rng(3)
    regions = [f"r{i}" for i in range(200)]
    a = H.SimpleAtt(0.0, 0.01, 10, 10, pd.Series(rng.normal(0, 0.001, 200), index=regions), pd.DataFrame())
    b = H.SimpleAtt(0.2, 0.01, 10, 10, pd.Series(rng.normal(0, 0.001, 200), index=regions), pd.DataFrame())
    assert H.wald_equal([a, b])["pvalue"] < 1e-6
    assert H.wald_equal([a, a])["pvalue"] > 0.99


def test_bad_outcome_and_service_type(synthetic):
    panel, treatment, _ = synthetic
    with pytest.raises(ValueError, match="outcome"):
        S.build_did_panel(panel, treatment, outcome="mean_days")
    with pytest.raises(ValueError, match="service_type"):
        S.build_did_panel(panel, treatment, service_type="pajak")


def _toy_panel(rng, cohorts: dict[str, str], months=("2025-01", "2025-02", "2025-03", "2025-04")):
    """Service panel rows (2 service types per Pemda) and the treatment table for ``cohorts``
    (region_code -> cohort month or None)."""
    rows = [{"region_code": r, "service_type": s, "month": m, "median_days": float(np.exp(rng.normal(1, 0.3))),
             "p90_days": 10.0, "naive_median_days": 3.0, "sla_share": 0.9}
            for r in cohorts for s in ("adminduk", "bansos") for m in months]
    treatment = pd.DataFrame({"region_code": list(cohorts), "cohort": list(cohorts.values()),
                              "status": ["adopter" if c else "never" for c in cohorts.values()],
                              "in_staggered_sample": True, "note": ""})
    return pd.DataFrame(rows), treatment


def test_single_pemda_cohort_has_degenerate_cluster_variance_and_is_excluded():
    rng = np.random.default_rng(0)
    cohorts = {f"c{i}": None for i in range(30)} | {"t1": "2025-03", "t2": "2025-03", "solo": "2025-02"}
    panel, treatment = _toy_panel(rng, cohorts)
    kept = S.build_did_panel(panel, treatment, start="2025-01", end="2025-04", min_cohort_pemda=1)
    data = S.did_frame(kept)
    # why: with one Pemda in a cohort, its units' deviations cancel inside the single cluster, so
    # its own noise never reaches the Pemda-clustered SE
    solo = data["region_code"] == "solo"
    noisy = data.copy()
    noisy.loc[solo, "y"] += rng.normal(0, 5.0, solo.sum())
    fits = [H.cs_simple_att(d, treated_units=data.loc[solo, "unit"].unique()) for d in (data, noisy)]
    assert fits[0].influence["solo"] == pytest.approx(0.0, abs=1e-12)
    assert fits[1].se == pytest.approx(fits[0].se, rel=1e-9)
    assert abs(fits[1].att - fits[0].att) > 0.5
    # the default rule drops such cohorts and says so
    dp = S.build_did_panel(panel, treatment, start="2025-01", end="2025-04")
    assert "solo" not in set(dp.data["region_code"]) and {"t1", "t2"} <= set(dp.data["region_code"])
    (note,) = dp.excluded.set_index("region_code").loc["solo", "note"]
    assert note.code == "small_cohort_excluded" and note.params["n_pemda"] == 1 and note.params["cohort"] == "2025-02"


def test_every_estimation_cohort_has_several_pemda(synthetic):
    panel, treatment, _ = synthetic
    dp = S.build_did_panel(panel, treatment, outcome="median_days")
    per_cohort = dp.data.dropna(subset=["cohort"]).groupby("cohort")["region_code"].nunique()
    assert len(per_cohort) >= 3 and (per_cohort >= S.MIN_PEMDA_PER_COHORT).all(), per_cohort
    dropped = dp.excluded[[any(n.code == "small_cohort_excluded" for n in notes) for notes in dp.excluded["note"]]]
    # the registry's early single adopters (Sulawesi Selatan 2025-03, Jawa Barat 2025-11)
    assert {"73", "32"} <= set(dropped["region_code"].astype(str))
