"""analysis.power on the small simulated dataset (slow: simulates the dataset once per run).

The pool is built from the project's panels and never contains a WFA adopter; on it the test of
"no effect" keeps its size, and power and MDE move the right way with adopters and months, for
both headline outcomes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import power
from analysis.data import load as load_dataset
from analysis.data.schemas import spbe_band


@pytest.fixture(scope="module")
def dataset(small_dataset):
    return load_dataset(small_dataset)


@pytest.fixture(scope="module")
def licensing(dataset):
    return power.pilot_outcomes(dataset, "median_days", service_type="perizinan")


@pytest.fixture(scope="module")
def services(dataset):
    return power.pilot_outcomes(dataset, "median_days", service_type="all")


@pytest.fixture(scope="module")
def spending(dataset):
    return power.pilot_outcomes(dataset, "routine_spending")


def test_pool_holds_no_adopter_and_the_right_cells(dataset, licensing, services, spending):
    policy_regions = set(dataset.policies["region_code"].astype(str))
    for pool in (licensing, services, spending):
        assert not policy_regions & set(pool.pemda["region_code"])
        assert set(pool.excluded.loc[pool.excluded["reason"] == "wfa_policy", "region_code"]) == policy_regions
        assert pool.n_pemda + len(pool.excluded) == dataset.regions["region_code"].nunique()
        assert (pool.units["region_code"].map(pool.pemda.set_index("region_code")["pemda_index"])
                == pool.units["pemda_index"]).all()
    assert licensing.n_units == licensing.n_pemda
    assert services.n_units > 3 * services.n_pemda           # one unit per Pemda and service type
    assert spending.summary()["share_cells_observed"] == 1.0
    assert licensing.months[-1] < "2026-10"                   # the censored extraction month is cut
    assert "power_window_end_censoring" in {n.code for n in licensing.notes}
    assert spending.direction == -1 and licensing.direction == 1


def test_pool_value_is_the_log_median_of_the_requests(dataset, licensing):
    """Independent check of cells whose requests are all completed: the ceil(n/2)-th smallest
    completion time (days) of the cell's requests, logged."""
    requests = dataset.service_requests
    requests = requests[requests["service_type"] == "perizinan"]
    requests = requests.assign(month=requests["submitted_at"].dt.strftime("%Y-%m"),
                               region_code=requests["region_code"].astype(str),
                               days=(requests["completed_at"] - requests["submitted_at"]).dt.total_seconds() / 86400)
    row = {code: i for i, code in enumerate(licensing.units["region_code"])}
    checked = 0
    for (region, month), cell in requests.groupby(["region_code", "month"]):
        if region not in row or month not in licensing.months or len(cell) < 3 or cell["days"].isna().any():
            continue
        days = np.sort(cell["days"].to_numpy())
        value = licensing.values[row[region], licensing.months.index(month)]
        assert value == pytest.approx(np.log(days[math.ceil(len(days) * 0.5) - 1]), abs=1e-9)
        checked += 1
    assert checked > 100


def test_pool_strata_come_from_regions_and_transfers(dataset, spending):
    regions = dataset.regions.assign(region_code=dataset.regions["region_code"].astype(str)).set_index("region_code")
    pemda = spending.pemda.set_index("region_code")
    assert (pemda["province_code"] == regions.loc[pemda.index, "province_code"].astype(str)).all()
    expected_band = spbe_band(regions.loc[pemda.index, "spbe_index"]).astype(str).to_numpy()
    assert (pemda["spbe_band"].astype(str).to_numpy() == expected_band).all()
    assert set(pemda["tkd_cut_tertile"].dropna().unique()) == {1, 2, 3}


@pytest.mark.parametrize("pool_name", ["services", "spending"])
def test_size_is_alpha_on_the_data(request, pool_name):
    pool = request.getfixturevalue(pool_name)
    result = power.simulate_power(pool, power.PilotDesign(n_adopters=30, waves=2, months_after=6),
                                  0.0, n_sims=300, seed=21)
    assert abs(result.size - 0.05) < 3 * math.sqrt(0.05 * 0.95 / 300)


@pytest.mark.parametrize("pool_name,effect", [("services", 10.0), ("spending", -3.0)])
def test_power_and_mde_move_with_adopters_and_months(request, pool_name, effect):
    pool = request.getfixturevalue(pool_name)
    curve = power.power_curve(pool, power.PilotDesign(n_adopters=10, waves=2), n_adopters=[10, 40],
                              months_after=[3, 12], effect_pct=effect, n_sims=200, seed=8)
    mde = curve.pivot(index="n_adopters", columns="months_after", values="mde_pct").abs().to_numpy()
    assert (np.diff(mde, axis=0) < 0).all() and (np.diff(mde, axis=1) < 0).all()
    pw = curve.pivot(index="n_adopters", columns="months_after", values="power").to_numpy()
    assert (np.diff(pw, axis=0) > 0).all() and (np.diff(pw, axis=1) > 0).all()
    assert (curve["size"] < 0.05 + 3 * curve["size_se"] + 0.02).all()


def test_stratified_pilot_within_one_province(dataset, spending):
    """A province planning its own trial: adopters only among its Pemda, stratified by SPBE band."""
    province = spending.pemda["province_code"].value_counts().index[0]
    eligible = tuple(spending.pemda.loc[spending.pemda["province_code"] == province, "region_code"])
    design = power.PilotDesign(n_adopters=min(8, len(eligible) - 1), strata="spbe_band", eligible=eligible)
    result = power.assess_design(spending, design, effect_pct=-5, n_sims=50, seed=1)
    assert 0 <= result.power.power <= 1 and result.power.n_comparison_pemda == spending.n_pemda - design.n_adopters
    draw = power.pilot_draw(spending, design, 0)
    assert set(spending.units.loc[draw.cohort > 0, "region_code"]) <= set(eligible)
