import math

import pytest

from analysis.texts.formatting import format_days, format_idr, format_interval, format_number, format_pct, idr_scale, t


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        (1.2e9, "id", "Rp 1,2 miliar"),
        (1.2e9, "en", "IDR 1.2 billion"),
        (3.45e12, "id", "Rp 3,5 triliun"),
        (3.45e12, "en", "IDR 3.5 trillion"),
        (905e6, "id", "Rp 905,0 juta"),
        (-3.4e6, "en", "−IDR 3.4 million"),
        (950, "id", "Rp 950"),
        (12_500, "en", "IDR 12.5 thousand"),
    ],
)
def test_format_idr(value, lang, expected):
    assert format_idr(value, lang) == expected


def test_number_separators_follow_language():
    assert format_number(1234567.891, "id", 2) == "1.234.567,89"
    assert format_number(1234567.891, "en", 2) == "1,234,567.89"
    assert format_number(float("nan"), "en") == "–"


def test_pct_days_interval():
    assert format_pct(12.34, "id", signed=True) == "+12,3%"
    assert format_pct(-2.0, "en") == "−2.0%"
    assert format_days(3.5, "id") == "3,5 hari"
    assert format_days(3.5, "en") == "3.5 days"
    assert format_interval(1.0, 2.5, format_days, "id") == "[1,0 hari; 2,5 hari]"


def test_idr_scale_and_labels():
    assert idr_scale(3.2e9, "id") == (1e9, "miliar Rp")
    assert idr_scale(5e5, "en") == (1e3, "IDR thousand")
    assert t("figure", "id") == "Gambar"
    with pytest.raises(ValueError, match="lang must be one of"):
        t("figure", "fr")
    with pytest.raises(KeyError, match="no shared label"):
        t("nonexistent", "en")
    assert math.isfinite(idr_scale(0, "id")[0])
