"""HonestDiD sensitivity against the published intervals of the HonestDiD README (EHEC data).

Source: asheshrambachan/HonestDiD README.md. Data: ehec_data.dta (Mixtape-Sessions/Advanced-DID),
shipped in moderndid as ``load_ehec()``. Setup: year < 2016, the 2015 cohort dropped,
D = (yexp2 == 2014), ``feols(dins ~ i(year, D, ref=2013) | stfips + year, cluster = stfips)``,
target = first post period (2014). Our TWFE event study with cohort 2014 is the same regression.
Tolerances (project notes, section 6): 5e-4 for relative magnitudes (R and moderndid invert the
test on a 1000-point grid), 1e-4 for smoothness; where the README prints fewer decimals (0.101,
0.111, 0.121) half a unit of the last printed digit instead.
"""

from __future__ import annotations

import warnings
from functools import cache

import moderndid
import numpy as np
import pandas as pd
import pytest

from analysis.did import callaway_santanna, honest_sensitivity, twfe

# Mbar -> (lower, upper), Delta^RM, C-LF.
README_RELATIVE_MAGNITUDES = {
    0.5: (0.0240, 0.0672),
    1.0: (0.0170, 0.0720),
    1.5: (0.00824, 0.0797),
    2.0: (-0.000916, 0.0881),
}
# M -> (lower, upper), Delta^SD, FLCI.
README_SMOOTHNESS = {
    0.00: (0.0259, 0.0607),
    0.01: (0.0132, 0.0787),
    0.02: (0.00286, 0.0907),
    0.03: (-0.00714, 0.101),
    0.04: (-0.0171, 0.111),
    0.05: (-0.0271, 0.121),
}
README_BETA = [-0.00529, -0.0113, -0.00268, -0.00142, 0.00034, 0.04645, 0.06921]


@cache
def ehec_event_study():
    data = moderndid.load_ehec().to_pandas()
    data = data[(data["year"] < 2016) & (data["yexp2"] != 2015)].copy()
    data["cohort"] = np.where(data["yexp2"] == 2014, 2014, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few treated states: the result is only a test input
        return twfe(data, outcome="dins", unit="stfips", time="year", cohort="cohort")


def test_event_study_reproduces_readme_coefficients():
    table = ehec_event_study().event_study()
    estimated = table[table["event"] != -1]
    np.testing.assert_allclose(estimated["att"], README_BETA, atol=0.5e-5)


def _printed_tolerance(value: float, base: float) -> float:
    """``base``, or half a unit of the last printed digit if the README printed fewer digits."""
    decimals = len(repr(abs(value)).split(".")[1])
    return max(base, 0.5 * 10.0**-decimals) + 1e-12


def _check(intervals: pd.DataFrame, published: dict, base: float) -> None:
    np.testing.assert_allclose(intervals["M"], list(published))
    for (_, row), (low, high) in zip(intervals.iterrows(), published.values(), strict=True):
        assert abs(row.ci_low - low) <= _printed_tolerance(low, base), (row.M, row.ci_low, low)
        assert abs(row.ci_high - high) <= _printed_tolerance(high, base), (row.M, row.ci_high, high)


def test_relative_magnitudes_breakdown_matches_readme():
    """Mbar = 2, the published breakdown value (each Mbar costs several seconds of LPs)."""
    result = honest_sensitivity(ehec_event_study(), method="relative_magnitudes", grid=[2.0])
    assert result.intervals["method"].eq("C-LF").all()
    _check(result.intervals, {2.0: README_RELATIVE_MAGNITUDES[2.0]}, 5e-4)
    assert result.breakdown() == 2.0
    assert (result.pre_events, result.post_events) == ((-6, -5, -4, -3, -2), (0, 1))


@pytest.mark.slow
def test_relative_magnitudes_match_all_readme_values():
    result = honest_sensitivity(
        ehec_event_study(), method="relative_magnitudes", grid=list(README_RELATIVE_MAGNITUDES)
    )
    _check(result.intervals, README_RELATIVE_MAGNITUDES, 5e-4)


def test_smoothness_matches_readme():
    result = honest_sensitivity(
        ehec_event_study(), method="smoothness", grid=list(README_SMOOTHNESS), target=0
    )
    assert result.intervals["method"].eq("FLCI").all()
    _check(result.intervals, README_SMOOTHNESS, 1e-4)
    # Original CI: beta_2014 -/+ 1.96 se under exact parallel trends.
    row = ehec_event_study().event_study().query("event == 0").iloc[0]
    assert result.original_ci["ci_low"] == pytest.approx(row.att - 1.959963984540054 * row.se)


def test_cs_event_study_is_accepted_and_matches_moderndid_honest_did():
    data = pd.read_csv(__import__("pathlib").Path(__file__).parent / "data" / "mpdta.csv")
    cs = callaway_santanna(
        data, outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
        base_period="universal",
    )
    ours = honest_sensitivity(cs, method="smoothness", grid=[0.0, 0.02], target=1)
    native = moderndid.honest_did(
        cs.native_aggregate("event"), event_time=1, sensitivity_type="smoothness",
        m_vec=[0.0, 0.02],
    )
    np.testing.assert_allclose(ours.intervals["ci_low"], native.robust_ci["lb"].to_numpy())
    np.testing.assert_allclose(ours.intervals["ci_high"], native.robust_ci["ub"].to_numpy())
    average = honest_sensitivity(cs, method="smoothness", grid=[0.0], target="average")
    assert average.target == "average"
    assert average.intervals["ci_low"].iloc[0] < average.intervals["ci_high"].iloc[0]


def test_varying_base_period_is_rejected():
    data = pd.read_csv(__import__("pathlib").Path(__file__).parent / "data" / "mpdta.csv")
    cs = callaway_santanna(
        data, outcome="lemp", unit="countyreal", time="year", cohort="first.treat"
    )
    with pytest.raises(ValueError, match="base_period='universal'"):
        honest_sensitivity(cs, method="smoothness", grid=[0.0])


def test_bad_target_and_method():
    with pytest.raises(ValueError, match="target must be"):
        honest_sensitivity(ehec_event_study(), method="smoothness", grid=[0.0], target=5)
    with pytest.raises(ValueError, match="method must be"):
        honest_sensitivity(ehec_event_study(), method="rm")
