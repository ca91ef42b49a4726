"""The one number formatter: what a reader sees in each language, and tables for display."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.notes import Note
from analysis.texts.numbers import (
    MINUS,
    count,
    decimal,
    format_value,
    full_date,
    idr,
    idr_axis,
    interval,
    month,
    month_range,
    period,
    pvalue,
)
from analysis.texts.tables import for_display


@pytest.mark.parametrize(("value", "lang", "expected"), [
    (1.2e9, "id", "Rp 1,2 miliar"), (1.2e9, "en", "IDR 1.2 billion"),
    (450e6, "id", "Rp 450 juta"), (450e6, "en", "IDR 450 million"),
    (1.3e12, "id", "Rp 1,3 triliun"), (1.3e12, "en", "IDR 1.3 trillion"),
    (-3.4e6, "id", f"{MINUS}Rp 3,4 juta"), (12_500, "en", "IDR 12.5 thousand"),
    (950, "id", "Rp 950"), (999.96e6, "id", "Rp 1,0 miliar"), (None, "id", "\u2013"), (math.nan, "en", "\u2013"),
])
def test_rupiah_with_scale_words(value, lang, expected):
    assert idr(value, lang) == expected


def test_decimals_grouping_and_real_minus_signs():
    assert decimal(1234567.891, "id", 2) == "1.234.567,89"
    assert decimal(1234567.891, "en", 2) == "1,234,567.89"
    assert count(1092659, "id") == "1.092.659" and count(1092659, "en") == "1,092,659"
    assert format_value(-4.72, "spct1", "id") == f"{MINUS}4,7%" and format_value(4.72, "spct1", "en") == "+4.7%"
    assert format_value(-0.0004, "sdec3", "id") == "0,000"  # rounds to zero: no sign
    assert "-" not in format_value(-12.5, "dec1", "en")  # U+2212, not a hyphen
    assert format_value(-0.0477, "pctchange1", "id") == f"{MINUS}4,7%"  # 100·(exp(x) − 1)
    assert format_value(0.123, "frac1", "id") == "12,3%"


def test_units_in_words():
    assert format_value(3.5, "days1", "id") == "3,5 hari" and format_value(3.5, "days1", "en") == "3.5 days"
    assert format_value(1, "days0", "en") == "1 day"
    assert format_value(1.25, "spp1", "id") == "+1,2 poin persen"
    assert format_value(-0.052, "slp3", "en") == f"{MINUS}0.052 log points"
    assert idr_axis(3.2e9, "id") == (1e9, "miliar Rp") and idr_axis(3.2e9, "en") == (1e9, "IDR billion")


def test_intervals_pvalues_and_dates():
    assert interval(-0.05, 0.02, "sdec2", "id") == f"{MINUS}0,05 s.d. 0,02"
    assert interval(-0.05, 0.02, "sdec2", "en") == f"{MINUS}0.05 to 0.02"
    assert interval(1.2e9, 3.4e9, "idr", "id") == "Rp 1,2 miliar s.d. Rp 3,4 miliar"
    assert pvalue(0.0183, "id") == "0,018" and pvalue(0.00001, "en") == "< 0.001"
    assert month("2026-01", "id") == "Januari 2026" and month(pd.Period("2026-01", "M"), "en") == "January 2026"
    assert full_date("2026-01-14", "id") == "14 Januari 2026"
    assert month_range("2026-01", "2026-03", "id") == "Januari\u2013Maret 2026"
    assert month_range("2025-11", "2026-01", "en") == "November 2025 \u2013 January 2026"
    assert period("2026-Q1", "id") == "Triwulan 1 2026" and period("2026-Q1", "en") == "Q1 2026"
    with pytest.raises(ValueError, match="unknown number format"):
        format_value(1.0, "percent", "id")


def test_a_table_for_display_and_its_raw_numbers():
    table = pd.DataFrame({
        "category": ["listrik", "pegawai_honorer"], "adjusted": [True, False], "att": [-0.0512, 0.0031],
        "savings_idr": [1.2e9, np.nan], "n_treated": [12, 3], "note": [(Note("no_pre_period", {"cohort": "2025-01"}),), ()],
    })
    shown = for_display(table, "id")
    assert list(shown.columns) == ["Kategori", "Penyesuaian TKD", "Estimasi", "Penghematan", "Pemda penerap", "Catatan"]
    assert shown.iloc[0].tolist() == ["Listrik", "Disesuaikan untuk pemotongan TKD", f"{MINUS}0,051", "Rp 1,2 miliar", "12",
                                      "WFA sejak Januari 2025, awal jendela analisis: tidak ada periode pra-adopsi"]
    assert shown.iloc[1, 0] == "pegawai honorer"  # a data-defined category without words: as it is
    assert shown.iloc[1, 3] == "\u2013"
    english = for_display(table, "en", kinds={"att": "pctchange1"})
    assert english.iloc[0]["Estimate"] == f"{MINUS}5.0%" and english.iloc[0]["Category"] == "Electricity"
    mixed = pd.DataFrame({"measure": ["att_log_median_days", "savings_idr_per_adopter_year"],
                          "estimate": [0.05, 2.5e9], "kind": ["pctchange1", "idr"]})
    assert for_display(mixed, "en", kinds={"estimate": "row:kind"})["Estimate"].tolist() == ["+5.1%", "IDR 2.5 billion"]
    with pytest.raises(ValueError, match="holds numbers without a format"):
        for_display(pd.DataFrame({"mystery": [0.5]}).rename(columns={"mystery": "share_x"}).assign(x=1.5)[["x"]], "id")
