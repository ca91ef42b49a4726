"""The switch-off analysis (analysis.analyses.switch_off) on a constructed panel with a known
on/off effect: the closed-form dCDH effects equal moderndid's did_multiplegt, the estimates
recover the effect, the randomization inference is exact, the trial's dose is counted."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import moderndid
import numpy as np
import pandas as pd
import pytest

from analysis.analyses import switch_off
from analysis.analyses.case_study import CaseStudyError

MONTHS = [f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13)][:30]  # to 2026-06
EFFECT = {"2026-01": -0.20, "2026-02": 0.05}   # on in January, a small rebound in February


def constructed(noise: float = 0.01, n_controls: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = [f"35.{k:02d}" for k in range(1, n_controls + 1)] + ["33.72"]
    regions = pd.DataFrame({"region_code": codes, "name": [f"Kota {c}" for c in codes], "level": "kota",
                            "population": 500_000})
    policies = pd.DataFrame([{"region_code": "33.72", "start_date": "2026-01-14", "end_date": "2026-01-28",
                              "wfa_days_per_week": 1, "wfa_weekdays": "rabu", "is_trial": True}])
    common = rng.normal(size=len(MONTHS))
    rows = []
    for code in codes:
        level = rng.normal()
        for t, month in enumerate(MONTHS):
            effect = EFFECT.get(month, 0.0) if code == "33.72" else 0.0
            rows.append((code, month, level + common[t] + effect + noise * rng.normal()))
    series = pd.DataFrame(rows, columns=["region_code", "period", "value"])
    dataset = SimpleNamespace(regions=regions, policies=policies, transfers=None)
    return dataset, series


def test_closed_form_effects_equal_did_multiplegt():
    dataset, series = constructed(noise=0.3)
    wide = series.pivot(index="region_code", columns="period", values="value")
    codes = list(wide.index)
    switcher = codes.index("33.72")
    base = MONTHS.index("2026-01") - 1
    ours = switch_off.switch_effects(wide.to_numpy(), switcher, base, [-3, -2, -1, 1, 2, 3, 4])
    data = series.assign(id=series["region_code"].map({c: i + 1 for i, c in enumerate(codes)}),
                         t=series["period"].map({m: i + 1 for i, m in enumerate(MONTHS)}),
                         d=((series["region_code"] == "33.72") & (series["period"] == "2026-01")).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = moderndid.did_multiplegt(data[["id", "t", "d", "value"]], yname="value", tname="t", idname="id",
                                       dname="d", effects=4, placebo=3, only_never_switchers=True)
    np.testing.assert_allclose(ours[3:], fit.effects.estimates, atol=1e-12)
    np.testing.assert_allclose(ours[:3][::-1], fit.placebos.estimates, atol=1e-12)


def test_known_on_off_effect_is_recovered_with_exact_inference():
    dataset, series = constructed(noise=0.01)
    result = switch_off.analyse_switch_off(dataset, "33.72", "log_routine_spending", series=series, placebos=3)
    effects = result.effects.set_index("period")
    assert result.on_periods == ("2026-01",) and result.base_period == "2025-12"
    assert list(effects["phase"]) == ["placebo"] * 3 + ["on"] + ["after"] * 5
    for month, truth in EFFECT.items():
        assert effects.loc[month, "estimate"] == pytest.approx(truth, abs=0.05)
    on = effects.loc["2026-01"]
    # the switcher's on-month change is the most extreme of the 51 assignments: p = 1/51 exactly
    assert on["pvalue"] == pytest.approx(1 / 51)
    assert on["ci_low"] < -0.2 < on["ci_high"] < 0
    assert (effects.loc[effects["phase"] == "placebo", "pvalue"] > 0.05).all()
    assert result.after_mean["n_months"] == 5
    assert result.after_mean["estimate"] == pytest.approx(0.05 / 5, abs=0.02)
    assert result.after_mean["ci_low"] < 0.01 < result.after_mean["ci_high"]
    assert result.dose == {"wfa_days": 3, "working_days": 22, "share_of_working_days": 3 / 22}
    assert result.n_placebo_units == 50 and result.region_label == "Kota 33.72"
    codes = [n.code for n in result.notes]
    assert codes[:2] == ["switch_off_trial", "switch_off_single_pemda_inference"]
    assert "cut_adjustment_unavailable" in codes and "switch_off_effect_below_detectable" not in codes
    # minimum detectable effect: 2.80 x SD of the on-month estimate with each control as switcher
    wide = series.pivot(index="region_code", columns="period", values="value")
    change = (wide["2026-01"] - wide["2025-12"]).to_numpy()
    null = [change[j] - np.delete(change, j).mean() for j in range(len(change)) if wide.index[j] != "33.72"]
    assert result.mde_on == pytest.approx(2.80 * np.std(null, ddof=1))


def test_noisy_on_month_is_reported_as_below_detectable():
    dataset, series = constructed(noise=0.5, seed=3)
    result = switch_off.analyse_switch_off(dataset, "33.72", "log_routine_spending", series=series,
                                           placebos=2, horizons_after=2)
    on = result.effects.set_index("phase").loc["on"]
    assert on["ci_low"] < 0 < on["ci_high"]
    assert result.mde_on > 0.5
    below = [n for n in result.notes if n.code == "switch_off_effect_below_detectable"]
    assert below and below[0].params["mde"] == pytest.approx(result.mde_on)


def test_switch_off_refuses_what_it_cannot_analyse():
    dataset, series = constructed()
    with pytest.raises(CaseStudyError, match="no WFA day"):
        switch_off.analyse_switch_off(dataset, "35.01", "log_routine_spending", series=series)
    ongoing = SimpleNamespace(**{**vars(dataset), "policies": dataset.policies.assign(end_date=None)})
    with pytest.raises(CaseStudyError, match="still on"):
        switch_off.analyse_switch_off(ongoing, "33.72", "log_routine_spending", series=series)


def test_trial_dose_of_the_real_registry_entry():
    from analysis.simulate.adoption import read_registry

    registry = read_registry()
    dose = switch_off.trial_dose(registry, "33.72", ["2026-01"])
    assert dose == {"wfa_days": 3, "working_days": 22, "share_of_working_days": 3 / 22}
