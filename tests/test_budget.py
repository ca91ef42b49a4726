"""Budget panels, the deflator and the TKD covariates, on small hand-built tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.panels.budget import (
    ROUTINE_TOTAL,
    cohorts_for_estimation,
    month_to_period,
    period_to_time,
    spending_panel,
    time_to_period,
    tkd_covariates,
)
from analysis.panels.deflators import load_deflator, monthly_index_from_annual_inflation
from analysis.errors import DataContractError


def _budget(months, rows_per_month):
    rows = []
    for m in months:
        for code, account, category, amount in rows_per_month:
            rows.append((code, m, account, category, 12 * amount, amount))
    return pd.DataFrame(rows, columns=["region_code", "period", "account_code", "category", "budget_idr", "realized_idr"])


ACCOUNTS = [
    ("17", "5.1.02.02.01.0061", "listrik", 100.0),
    ("17", "5.1.02.02.01.0060", "air", 10.0),
    ("17", "5.1.02.02.01.0059", "telepon_internet", 5.0),
    ("17", "5.1.02.02.01.0063", "telepon_internet", 7.0),
    ("17", "5.1.02.02.01.0062", "penerangan_jalan", 1000.0),
    ("17", "5.1.01", "pegawai", 1e6),
]


def test_month_panel_sums_accounts_and_keeps_placebo_out_of_the_routine_total():
    panel = spending_panel(_budget(["2025-01", "2025-02"], ACCOUNTS), frequency="month", price_base_year=2025)
    jan = panel[panel["period"] == "2025-01"].set_index("category")
    assert jan.loc["telepon_internet", "realized_idr"] == 12.0
    assert jan.loc[ROUTINE_TOTAL, "realized_idr"] == 122.0  # listrik + air + telepon, no PJU, no pegawai
    assert "pegawai" not in set(panel["category"])
    assert jan.loc["penerangan_jalan", "realized_idr"] == 1000.0
    assert np.allclose(panel["log_realized_real"], np.log(panel["realized_real_idr"]))


def test_quarter_panel_sums_months_and_drops_incomplete_quarters():
    months = ["2025-01", "2025-02", "2025-03", "2025-04"]
    panel = spending_panel(_budget(months, ACCOUNTS), frequency="quarter", price_base_year=2025)
    assert set(panel["period"]) == {"2025-Q1"}
    listrik = panel[panel["category"] == "listrik"].iloc[0]
    assert listrik["realized_idr"] == 300.0 and listrik["n_months"] == 3
    assert listrik["budget_idr"] == 1200.0  # the annual appropriation, not three times it


def test_real_rupiah_average_to_nominal_in_the_base_year_and_grow_back_in_time():
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]
    panel = spending_panel(_budget(months, ACCOUNTS[:1]), frequency="month", price_base_year=2025)
    real = panel[panel["category"] == "listrik"].set_index("period")["realized_real_idr"]
    assert real[real.index.str.startswith("2025")].mean() == pytest.approx(100.0, rel=2e-3)
    # the same nominal amount bought more in 2024: worth more in 2025 prices. June to June spans
    # the second half of 2024 (1.57%/yr) and the first half of 2025 (2.92%/yr), interpolated
    assert real["2024-06"] / real["2025-06"] == pytest.approx(np.sqrt(1.0157 * 1.0292), rel=1e-9)


def test_zero_spending_gives_missing_log_not_minus_infinity():
    rows = [("17", "5.1.02.02.01.0061", "listrik", 0.0)]
    panel = spending_panel(_budget(["2025-01"], rows), frequency="month")
    assert panel.loc[panel["category"] == "listrik", "log_realized_real"].isna().all()


def test_bad_inputs_raise_clear_errors():
    budget = _budget(["2025-01"], ACCOUNTS)
    with pytest.raises(ValueError, match="frequency"):
        spending_panel(budget, frequency="week")
    with pytest.raises(DataContractError, match="realized_idr"):
        spending_panel(budget.drop(columns="realized_idr"))
    with pytest.raises(DataContractError, match=">= 0"):
        spending_panel(budget.assign(realized_idr=-1.0))
    with pytest.raises(DataContractError, match="price_base_year"):
        spending_panel(budget, price_base_year=1990)
    with pytest.raises(DataContractError, match="no price index"):
        spending_panel(budget.assign(period="2031-01"))


def test_bundled_deflator_documents_its_source_and_uncertain_years():
    deflator = load_deflator()
    assert deflator.years() == (2019, 2027)
    assert 2026 in deflator.uncertain_years and 2023 not in deflator.uncertain_years
    index = monthly_index_from_annual_inflation(pd.DataFrame({"year": [2023, 2024], "inflation_yoy_pct": [2.61, 1.57]}))
    assert index["2023-12"] == pytest.approx(1.0261)
    assert index["2024-12"] / index["2023-12"] == pytest.approx(1.0157)


def test_period_helpers_round_trip():
    months = pd.Series(["2025-01", "2025-12", "2026-03"])
    assert list(time_to_period(period_to_time(months, "month"), "month")) == list(months)
    quarters = month_to_period(months, "quarter")
    assert list(quarters) == ["2025-Q1", "2025-Q4", "2026-Q1"]
    assert list(time_to_period(period_to_time(quarters, "quarter"), "quarter")) == list(quarters)
    assert (period_to_time(quarters, "quarter").diff().dropna() == [3, 1]).all()


def test_tkd_cut_share_compares_the_same_months_of_both_years():
    transfers = pd.DataFrame({
        "region_code": ["17"] * 5,
        "period": ["2025-01", "2025-02", "2025-12", "2026-01", "2026-02"],
        "tkd_idr": [100.0, 100.0, 500.0, 80.0, 70.0],
    })
    regions = pd.DataFrame({"region_code": ["17"], "population": [1000]})
    row = tkd_covariates(transfers, regions).iloc[0]
    assert row["tkd_cut_share"] == pytest.approx(0.25)  # (200 - 150) / 200, December ignored
    assert row["tkd_prev_idr"] == 700.0
    assert row["log_tkd_per_capita"] == pytest.approx(np.log(0.7))
    with pytest.raises(DataContractError, match="no calendar month"):
        tkd_covariates(transfers[transfers["period"] < "2026"], regions)


def test_switched_off_and_already_treated_pemda_are_left_out():
    panel = spending_panel(_budget(["2025-01", "2025-02", "2025-03"], ACCOUNTS[:1] + [("33.72", "x", "listrik", 5.0),
                                                                                       ("32", "x", "listrik", 5.0),
                                                                                       ("73", "x", "listrik", 5.0)]))
    adoption = pd.DataFrame({
        "region_code": ["17", "33.72", "73", "32"],
        "cohort": ["2025-02", "2025-02", "2025-01", None],
        "wfa_days_per_week": [2, 1, 2, 0],
        "status": ["adopter", "switched_off", "already_treated", "never"],
        "in_staggered_sample": [True, False, False, True],
        "note": ["", "ended", "no pre-period", ""],
    })
    units, excluded = cohorts_for_estimation(adoption, panel, frequency="month")
    assert set(excluded["region_code"]) == {"33.72", "73"}
    assert units.set_index("region_code").loc["17", "cohort_time"] == period_to_time(pd.Series(["2025-02"]), "month")[0]
    assert units.set_index("region_code").loc["32", "cohort_time"] == 0
