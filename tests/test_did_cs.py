"""Callaway-Sant'Anna adapter against published mpdta references (tests/data/README.md).

Every value in ``mpdta_reference_values.json`` is checked: each (source, spec, quantity, key,
statistic) is one parametrised case. Tolerances: half a unit of the last printed digit for
printed sources (4 dp R docs, 7 dp Stata), 1e-6 for the full-precision R output.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import callaway_santanna

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "mpdta_reference_values.json").read_text())
COLUMNS = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")

#: How each specification in the JSON maps onto callaway_santanna options.
SPEC_OPTIONS = {
    "S1_nev_nocov_dr": dict(control="never", method="dr"),
    "S2_nev_lpop_dr": dict(control="never", method="dr", covariates=["lpop"]),
    "S3_nyt_nocov_dr": dict(control="not_yet", method="dr"),
    "S4_nev_lpop_reg": dict(control="never", method="reg", covariates=["lpop"]),
    "S5_nev_nocov_ipw": dict(control="never", method="ipw"),
    "S6_nyt_lpop_dr": dict(control="not_yet", method="dr", covariates=["lpop"]),
}
#: Tolerance per source: half a unit in the last printed decimal, or 1e-6 at full precision.
SOURCE_TOLERANCE = {
    "R_did_docs_4dp": 0.5e-4,
    "R_did_2.5.0_analytic_full_precision": 1e-6,
    "Stata_csdid_dripw_lpop_analytic": 0.5e-7,
}
#: JSON quantity -> CS aggregation kind.
AGGREGATION = {"group": "group", "dynamic": "event", "calendar": "calendar"}
KEY_COLUMN = {"group": "cohort", "event": "event", "calendar": "time"}
CELLS = [(g, t) for g in (2004, 2006, 2007) for t in (2004, 2005, 2006, 2007)]


@cache
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA / "mpdta.csv")


@cache
def fit(spec: str):
    return callaway_santanna(mpdta(), **COLUMNS, **SPEC_OPTIONS[spec])


def _pairs(value):
    """A JSON value -> [(statistic, reference)]: scalars are estimates, lists are [est, se]."""
    if isinstance(value, list):
        return list(zip(("att", "se"), value))
    return [("att", value)]


def reference_cases():
    cases = []
    for source, block in REFERENCE["sources"].items():
        for spec, quantities in block["values"].items():
            for quantity, value in quantities.items():
                if quantity in ("attgt_att", "attgt_se"):
                    stat = "att" if quantity == "attgt_att" else "se"
                    for (g, t), ref in zip(CELLS, value, strict=True):
                        cases.append((source, spec, "att_gt", f"{g},{t}", stat, ref))
                elif isinstance(value, dict):
                    for key, item in value.items():
                        for stat, ref in _pairs(item):
                            cases.append((source, spec, quantity, key, stat, ref))
                else:
                    for stat, ref in _pairs(value):
                        cases.append((source, spec, quantity, "", stat, ref))
    return cases


CASES = reference_cases()


def estimate(spec: str, quantity: str, key: str, stat: str) -> float:
    result = fit(spec)
    if quantity == "att_gt":
        g, t = (int(x) for x in key.split(","))
        row = result.att_gt.query("cohort == @g and time == @t")
        assert len(row) == 1, f"no ATT({g},{t})"
        return float(row[stat].iloc[0])
    if quantity == "simple":
        return result.overall()[stat]
    if quantity.endswith("_overall"):
        kind = AGGREGATION[quantity.removesuffix("_overall")]
        return result.overall(kind)[stat]
    if quantity in AGGREGATION:
        kind = AGGREGATION[quantity]
        table = result.aggregate(kind)
        row = table[table[KEY_COLUMN[kind]] == int(key)]
        assert len(row) == 1, f"no {kind} row {key}"
        return float(row[stat].iloc[0])
    raise AssertionError(f"no test mapping for quantity {quantity!r}")


def test_every_spec_and_source_has_a_mapping():
    listed = set(REFERENCE["specs"]) | {
        spec for block in REFERENCE["sources"].values() for spec in block["values"]
    }
    assert listed <= set(SPEC_OPTIONS), f"specs without a test mapping: {listed - set(SPEC_OPTIONS)}"
    assert set(REFERENCE["sources"]) <= set(SOURCE_TOLERANCE)
    assert set(REFERENCE["pretest_p_values_R_docs"]) <= set(SPEC_OPTIONS)
    # 12 cells x (att, se) x 4 full-precision specs alone; guard against a silently empty list.
    assert len(CASES) > 200


@pytest.mark.parametrize(
    "source, spec, quantity, key, stat, reference",
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}-{c[4]}" for c in CASES],
)
def test_reference_value(source, spec, quantity, key, stat, reference):
    got = estimate(spec, quantity, key, stat)
    tolerance = SOURCE_TOLERANCE[source] + 1e-12
    assert abs(got - reference) <= tolerance, (got, reference)


@pytest.mark.parametrize("spec, p_published", sorted(REFERENCE["pretest_p_values_R_docs"].items()))
def test_pretrend_matches_r_did_pretest(spec, p_published):
    pretrend = fit(spec).pretrend
    assert pretrend.df == 5
    assert abs(pretrend.pvalue - p_published) <= 0.5e-5  # printed to 5 dp


def test_pretrend_matches_stata_estat_pretrend():
    stata = REFERENCE["sources"]["Stata_csdid_dripw_lpop_analytic"]
    pretrend = fit("S2_nev_lpop_dr").pretrend
    assert pretrend.df == 5
    assert pretrend.stat == pytest.approx(stata["pretrend_chi2_5"], abs=1e-8)
    assert pretrend.pvalue == pytest.approx(stata["pretrend_p"], abs=1e-8)
    # Pre-period cells: (2006, 2004), (2006, 2005), (2007, 2004..2006).
    assert sorted(pretrend.events) == [-3, -2, -2, -1, -1]


def test_interface():
    result = fit("S1_nev_nocov_dr")
    assert result.estimator == "cs"
    assert list(result.att_gt.columns) == ["cohort", "time", "att", "se", "ci_low", "ci_high"]
    events = result.event_study()
    assert list(events.columns) == ["event", "att", "se", "ci_low", "ci_high"]
    assert events["event"].tolist() == [-3, -2, -1, 0, 1, 2, 3]
    assert set(result.overall()) == {"att", "se", "ci_low", "ci_high"}
    assert len(result.aggregate("simple")) == 1
    assert (result.n_units, result.n_treated_units) == (500, 191)
    assert result.cohorts == (2004, 2006, 2007)
    with pytest.raises(ValueError, match="kind must be one of"):
        result.aggregate("dynamic")
    # Pointwise 95% CI without bootstrap.
    row = events.iloc[0]
    assert row.ci_high - row.att == pytest.approx(1.959963984540054 * row.se, rel=1e-12)


def _monthly(data: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Recode years 2003..2007 as consecutive months 2023-11 .. 2024-03 in form ``kind``."""
    origin = pd.Period("2023-11", freq="M")
    out = data.copy()
    month = pd.PeriodIndex([origin + (y - 2003) for y in data["year"]])
    first = [origin + (g - 2003) if g else pd.NaT for g in data["first.treat"]]
    out["month"] = month
    out["first_month"] = pd.array(first, dtype="period[M]")
    if kind == "timestamp":
        out["month"] = out["month"].dt.to_timestamp()
        out["first_month"] = out["first_month"].dt.to_timestamp()
    elif kind == "string":
        out["month"] = out["month"].dt.strftime("%Y-%m")
        out["first_month"] = [p.strftime("%Y-%m") if p is not pd.NaT else 0 for p in first]
    return out


@pytest.mark.parametrize("kind", ["period", "timestamp", "string"])
def test_monthly_time_labels_map_back(kind):
    data = _monthly(mpdta(), kind)
    result = callaway_santanna(
        data, outcome="lemp", unit="countyreal", time="month", cohort="first_month"
    )
    yearly = fit("S1_nev_nocov_dr")
    np.testing.assert_allclose(result.att_gt["att"], yearly.att_gt["att"], atol=1e-12)
    np.testing.assert_allclose(result.event_study()["att"], yearly.event_study()["att"], atol=1e-12)
    first = result.att_gt.iloc[0]
    expected = {
        "period": pd.Period("2023-12", freq="M"),
        "timestamp": pd.Timestamp("2023-12-01"),
        "string": "2023-12",
    }[kind]
    assert first["cohort"] == expected and first["time"] == expected
    assert result.cohorts[0] == expected
    assert result.aggregate("group")["cohort"].iloc[0] == expected
    assert result.event_study()["event"].tolist() == [-3, -2, -1, 0, 1, 2, 3]


def test_never_treated_coded_missing_equals_zero():
    data = mpdta().copy()
    data["first.treat"] = data["first.treat"].replace(0, np.nan)
    result = callaway_santanna(data, **COLUMNS)
    np.testing.assert_allclose(result.att_gt["att"], fit("S1_nev_nocov_dr").att_gt["att"])


def test_bootstrap_reproducible_bands_wider_and_se_close():
    kwargs = dict(bootstrap=True, n_boot=999, seed=20240601)
    first = callaway_santanna(mpdta(), **COLUMNS, **kwargs)
    again = callaway_santanna(mpdta(), **COLUMNS, **kwargs)
    pd.testing.assert_frame_equal(first.att_gt, again.att_gt)
    pd.testing.assert_frame_equal(first.event_study(), again.event_study())

    analytic = fit("S1_nev_nocov_dr")
    for boot_table, analytic_table in (
        (first.att_gt, analytic.att_gt),
        (first.event_study(), analytic.event_study()),
    ):
        boot_width = (boot_table["ci_high"] - boot_table["ci_low"]).to_numpy()
        pointwise_width = 2 * 1.959963984540054 * boot_table["se"].to_numpy()
        assert np.all(boot_width > pointwise_width)  # uniform band beats pointwise
        ratio = boot_table["se"].to_numpy() / analytic_table["se"].to_numpy()
        assert np.all(np.abs(ratio - 1) < 0.25), ratio
    other_seed = callaway_santanna(mpdta(), **COLUMNS, bootstrap=True, n_boot=999, seed=7)
    assert not math.isclose(other_seed.att_gt["se"].iloc[0], first.att_gt["se"].iloc[0])


def test_influence_functions_reproduce_the_analytic_standard_errors():
    """The influence functions the savings bootstrap and the group tests rely on: unit-level
    sum of squares / n^2 = the reported variance, rows in sorted unit order, and the event
    aggregation's columns are its event times."""
    data = mpdta()
    result = callaway_santanna(data, outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
    simple = result.influence("simple")
    assert simple.unit_ids == tuple(sorted(data["countyreal"].unique()))
    assert np.sqrt((simple.values[:, 0] ** 2).sum()) / simple.n_units == pytest.approx(result.overall()["se"], rel=1e-10)
    event = result.influence("event")
    table = result.event_study()
    assert list(event.columns) == list(table["event"])
    se = np.sqrt((event.values**2).sum(axis=0)) / event.n_units
    np.testing.assert_allclose(se, table["se"], rtol=1e-10)
    # clustered on state-like groups: the summed influence gives the clustered variance
    data = data.assign(region=data["countyreal"] // 100)
    clustered = callaway_santanna(data, outcome="lemp", unit="countyreal", time="year", cohort="first.treat",
                                  cluster="region").influence("simple")
    by_cluster = clustered.by_cluster()
    assert len(by_cluster) == data["region"].nunique()
    assert by_cluster["overall"].sum() == pytest.approx(clustered.values[:, 0].sum() / clustered.n_units)
    with pytest.raises(ValueError, match="simple' or 'event"):
        result.influence("group")


@pytest.mark.parametrize("spec", ["S2_nev_lpop_dr", "S6_nyt_lpop_dr", "S5_nev_nocov_ipw"])
def test_reused_propensity_fits_change_no_digit_and_fit_each_problem_once(spec, monkeypatch):
    """moderndid fits the same logit for every cell of a cohort (and twice per cell); the reuse
    (analysis.did.propensity_reuse) makes each distinct fit once and gives the same result to
    the last bit, warnings included."""
    import contextlib
    import warnings

    from analysis.did import cs, propensity_reuse

    real_fits = []
    original = propensity_reuse._ORIGINAL_GLM

    def counting_glm(*args, **kwargs):
        real_fits.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(propensity_reuse, "_ORIGINAL_GLM", counting_glm)
    with warnings.catch_warnings(record=True) as reused_warnings:
        warnings.simplefilter("always")
        reused = callaway_santanna(mpdta(), **COLUMNS, **SPEC_OPTIONS[spec])
    n_reused = len(real_fits)
    monkeypatch.setattr(cs, "reused_propensity_fits", contextlib.nullcontext)
    with warnings.catch_warnings(record=True) as plain_warnings:
        warnings.simplefilter("always")
        plain = callaway_santanna(mpdta(), **COLUMNS, **SPEC_OPTIONS[spec])

    pd.testing.assert_frame_equal(reused.att_gt, plain.att_gt, check_exact=True)
    for kind in ("simple", "event"):
        np.testing.assert_array_equal(reused.influence(kind).values, plain.influence(kind).values)
    for kind in ("simple", "event", "group"):
        pd.testing.assert_frame_equal(reused.aggregate(kind), plain.aggregate(kind), check_exact=True)
    assert sorted(map(str, (w.message for w in reused_warnings))) == sorted(map(str, (w.message for w in plain_warnings)))
    # 12 cells x (screen + estimator) = 24 fits without reuse; with never-treated controls one
    # per cohort and kind (not-yet-treated controls change with the period: more problems)
    assert 0 < n_reused < 24
    if SPEC_OPTIONS[spec]["control"] == "never":
        assert n_reused <= 2 * len(reused.cohorts)
    assert propensity_reuse._STORE is None  # the block restored statsmodels everywhere
    assert not [name for name, module in list(sys.modules.items())
                if isinstance(getattr(module, "sm", None), propensity_reuse._Statsmodels)]


def test_one_block_across_outcomes_shares_the_logits_and_changes_no_digit(monkeypatch):
    """An analysis estimating several outcomes on one sample (the budget categories, the robustness
    views) opens one block around them all: the logits depend on treatment and covariates only,
    so the second outcome makes no new fit, and each result is the one it gets alone."""
    from analysis.did import propensity_reuse

    real_fits = []
    original = propensity_reuse._ORIGINAL_GLM

    def counting_glm(*args, **kwargs):
        real_fits.append(1)
        return original(*args, **kwargs)

    data = mpdta().assign(lemp_twice=lambda frame: 2 * frame["lemp"] + 1)
    options = {**COLUMNS, **SPEC_OPTIONS["S2_nev_lpop_dr"]}
    alone = {outcome: callaway_santanna(data, **{**options, "outcome": outcome}) for outcome in ("lemp", "lemp_twice")}
    monkeypatch.setattr(propensity_reuse, "_ORIGINAL_GLM", counting_glm)
    with propensity_reuse.reused_propensity_fits() as store:
        first = callaway_santanna(data, **{**options, "outcome": "lemp"})
        after_first = len(real_fits)
        second = callaway_santanna(data, **{**options, "outcome": "lemp_twice"})
    assert after_first > 0 and len(real_fits) == after_first == len(store)
    for outcome, together in (("lemp", first), ("lemp_twice", second)):
        pd.testing.assert_frame_equal(together.att_gt, alone[outcome].att_gt, check_exact=True)
        np.testing.assert_array_equal(together.influence("simple").values, alone[outcome].influence("simple").values)
    assert propensity_reuse._STORE is None


FIRST_ESTIMATION_IN_A_FRESH_PROCESS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from test_did_cs import COLUMNS, SPEC_OPTIONS, mpdta
from analysis.did import callaway_santanna, propensity_reuse
fits = []
original = propensity_reuse._ORIGINAL_GLM
propensity_reuse._ORIGINAL_GLM = lambda *a, **k: fits.append(1) or original(*a, **k)
counts = []
for _ in range(2):   # a block opened before moderndid's first att_gt of the process, then again
    with propensity_reuse.reused_propensity_fits():
        callaway_santanna(mpdta(), **COLUMNS, **SPEC_OPTIONS["S2_nev_lpop_dr"])
    counts.append(len(fits))
    fits.clear()
print(json.dumps(counts))
"""


def test_the_first_estimation_of_a_process_reuses_its_fits():
    """moderndid imports its group-time loop lazily; a block opened before it was imported must
    still reach the overlap screen's fits (the first estimation of every report kernel)."""
    run = subprocess.run([sys.executable, "-c", FIRST_ESTIMATION_IN_A_FRESH_PROCESS, str(Path(__file__).parent)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    first, second = json.loads(run.stdout.strip().splitlines()[-1])
    assert first == second > 0


def test_propensity_fit_keys_follow_the_content_of_every_argument():
    import hashlib

    import statsmodels.api as sm

    from analysis.did.propensity_reuse import _fingerprint

    def key(*values):
        digest = hashlib.sha256()
        _fingerprint(values, digest)
        return digest.hexdigest()

    y, x = np.array([0.0, 1.0, 1.0]), np.ones((3, 1))
    assert key(y, x, sm.families.Binomial()) == key(y.copy(), x.copy(), sm.families.Binomial())
    assert key(y, x, sm.families.Binomial()) != key(y, x, sm.families.Binomial(link=sm.families.links.Probit()))
    assert key(y, x) != key(y, 2 * x) != key(y, x.astype(np.float32))
    labels = np.array(["a", "b"], dtype=object)
    assert key(labels) == key(np.array(["a", "b"], dtype=object)) != key(np.array(["a", "c"], dtype=object))
