"""Bad input gives a clear ValueError (or warning) naming the column and what was expected."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import callaway_santanna, pretrend_test, twfe
from analysis.did._panel import prepare_panel, warn_few_treated

DATA = Path(__file__).parent / "data"
COLUMNS = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")


@cache
def _mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA / "mpdta.csv")


def mpdta() -> pd.DataFrame:
    return _mpdta().copy()


def test_no_never_treated_with_never_control():
    data = mpdta()
    data = data[data["first.treat"] != 0]
    with pytest.raises(ValueError, match=r"control='never'.*'first\.treat'.*not_yet"):
        callaway_santanna(data, **COLUMNS, control="never")


def test_cohort_outside_observed_time_range():
    data = mpdta()
    data.loc[data["first.treat"] == 2007, "first.treat"] = 2009
    with pytest.raises(ValueError, match=r"'first\.treat'.*\[2009\].*outside.*2003 to 2007"):
        prepare_panel(data, **COLUMNS)
    data = mpdta()
    data.loc[data["first.treat"] == 2004, "first.treat"] = 2003  # treated from the start
    with pytest.raises(ValueError, match=r"outside the observed time range"):
        callaway_santanna(data, **COLUMNS)


def test_cohort_changing_within_unit():
    data = mpdta()
    first = data["countyreal"].iloc[0]
    data.loc[(data["countyreal"] == first) & (data["year"] == 2007), "first.treat"] = 2006
    with pytest.raises(ValueError, match=rf"'first\.treat' changes over time.*{first}"):
        callaway_santanna(data, **COLUMNS)


def test_duplicate_unit_time_rows():
    data = mpdta()
    data = pd.concat([data, data.iloc[[3]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"duplicate rows.*'countyreal'.*'year'.*2 rows.*countyreal=\d+,"):
        twfe(data, **COLUMNS)


def test_missing_outcome_reported_and_droppable():
    data = mpdta()
    data.loc[[5, 17, 40], "lemp"] = np.nan
    with pytest.raises(ValueError, match=r"'lemp' has 3 missing value\(s\).*dropna=True"):
        callaway_santanna(data, **COLUMNS)
    panel = prepare_panel(data, **COLUMNS, dropna=True)
    assert panel.n_dropped_missing == 3 and len(panel.data) == 2497 and not panel.balanced
    # CS needs balance unless told otherwise; TWFE accepts the unbalanced panel.
    with pytest.raises(ValueError, match=r"unbalanced panel: 3 unit\(s\).*allow_unbalanced=True"):
        callaway_santanna(data, **COLUMNS, dropna=True)
    result = callaway_santanna(data, **COLUMNS, dropna=True, allow_unbalanced=True)
    assert np.isfinite(result.overall()["att"])
    assert np.isfinite(twfe(data, **COLUMNS, dropna=True).overall()["att"])


def test_unbalanced_panel_rejected_when_balance_required():
    data = mpdta().drop(index=[0, 1])
    with pytest.raises(ValueError, match=r"unbalanced panel.*'countyreal'.*5 periods.*'year'"):
        prepare_panel(data, **COLUMNS, require_balanced=True)
    with pytest.raises(ValueError, match="unbalanced panel"):
        callaway_santanna(data, **COLUMNS)


def test_missing_column_and_bad_time_type():
    with pytest.raises(ValueError, match=r"outcome column 'y' not found"):
        prepare_panel(mpdta(), outcome="y", unit="countyreal", time="year", cohort="first.treat")
    data = mpdta()
    data["year"] = data["year"].astype(float) + 0.5
    with pytest.raises(ValueError, match=r"time column 'year'.*expected integer periods or months"):
        prepare_panel(data, **COLUMNS)
    data = mpdta()
    data["year"] = "y" + data["year"].astype(str)
    with pytest.raises(ValueError, match=r"'year'.*expected integer periods or months"):
        prepare_panel(data, **COLUMNS)


def test_missing_covariate_values():
    data = mpdta()
    data.loc[7, "lpop"] = np.nan
    with pytest.raises(ValueError, match=r"column 'lpop' has 1 missing value"):
        callaway_santanna(data, **COLUMNS, covariates=["lpop"])


def test_invalid_options():
    with pytest.raises(ValueError, match="control must be"):
        callaway_santanna(mpdta(), **COLUMNS, control="nevertreated")
    with pytest.raises(ValueError, match="method must be"):
        callaway_santanna(mpdta(), **COLUMNS, method="drimp")


def test_few_treated_units_warns_with_alternative():
    data = mpdta()
    keep = data["first.treat"].eq(0) | data["countyreal"].isin(
        data.loc[data["first.treat"] == 2006, "countyreal"].unique()[:3]
    )
    data = data[keep]
    with pytest.warns(UserWarning, match=r"only 3 treated unit\(s\).*synthetic control"):
        twfe(data, **COLUMNS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_few_treated(5) is False


def test_pretrend_test_window_and_errors():
    result = twfe(mpdta(), **COLUMNS)
    window = pretrend_test(result, events=[-3, -2])
    assert window.df == 2 and window.events == (-3, -2)
    assert pretrend_test(result).stat == pytest.approx(result.pretrend.stat)
    with pytest.raises(ValueError, match=r"events \[-9\] are not in the event study"):
        pretrend_test(result, events=[-9])


def test_text_unit_ids_are_accepted_by_callaway_santanna():
    """Region codes are text; the CS adapter must map them to numbers for moderndid."""
    import numpy as np
    import pandas as pd

    from analysis.did import callaway_santanna

    rng = np.random.default_rng(3)
    rows = []
    for unit in range(40):
        cohort = (0, 3, 4)[unit % 3]
        for t in range(1, 6):
            effect = 1.0 if cohort and t >= cohort else 0.0
            rows.append({"code": f"{unit // 10 + 11}.{unit:02d}", "t": t, "g": cohort,
                         "y": unit * 0.1 + t * 0.2 + effect + rng.normal(0, 0.1)})
    frame = pd.DataFrame(rows)
    text = callaway_santanna(frame, outcome="y", unit="code", time="t", cohort="g").overall()
    frame["code_num"] = pd.factorize(frame["code"], sort=True)[0]
    numeric = callaway_santanna(frame, outcome="y", unit="code_num", time="t", cohort="g").overall()
    assert text["att"] == numeric["att"]
    assert abs(text["att"] - 1.0) < 0.2


def test_normal_pvalue_is_the_two_sided_wald_rule_and_nan_without_a_test():
    from scipy import stats

    from analysis.did.results import normal_pvalue

    assert normal_pvalue(1.959963984540054, 1.0) == pytest.approx(0.05, abs=1e-12)
    assert normal_pvalue(-0.3, 0.1) == pytest.approx(2 * stats.norm.sf(3.0), rel=1e-12)
    assert isinstance(normal_pvalue(0.1, 0.2), float)
    for se in (0.0, -1.0, float("nan"), float("inf")):
        assert np.isnan(normal_pvalue(0.1, se)), se
    values = normal_pvalue(np.array([0.0, 2.0, 1.0]), np.array([1.0, 1.0, 0.0]))
    assert values[0] == 1.0 and values[1] == pytest.approx(2 * stats.norm.sf(2.0)) and np.isnan(values[2])
