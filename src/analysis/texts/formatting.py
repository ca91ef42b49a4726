"""Numbers as a reader expects them, in Indonesian (``id``) or English (``en``).

Indonesian style uses ``.`` for thousands and ``,`` for decimals and the scale words
ribu / juta / miliar / triliun (``Rp 1,2 miliar``); English uses ``IDR 1.2 billion``.
"""

from __future__ import annotations

import math

LANGUAGES = ("id", "en")

#: (divisor, Indonesian word, English word), largest first
_IDR_SCALES = (
    (1e12, "triliun", "trillion"),
    (1e9, "miliar", "billion"),
    (1e6, "juta", "million"),
    (1e3, "ribu", "thousand"),
)

#: Labels shared by several notebooks and figures. Module-specific labels live with their module.
LABELS: dict[str, dict[str, str]] = {
    "figure": {"id": "Gambar", "en": "Figure"},
    "table": {"id": "Tabel", "en": "Table"},
    "days": {"id": "hari", "en": "days"},
    "month": {"id": "Bulan", "en": "Month"},
    "months_since_adoption": {"id": "Bulan sejak penerapan WFA", "en": "Months since WFA adoption"},
    "estimate": {"id": "Estimasi", "en": "Estimate"},
    "ci95": {"id": "IK 95%", "en": "95% CI"},
    "adopters": {"id": "Pemda penerap WFA", "en": "WFA adopters"},
    "comparison": {"id": "Pemda pembanding", "en": "Comparison Pemda"},
    "not_available": {"id": "tidak tersedia", "en": "not available"},
    "suppressed": {"id": "disembunyikan", "en": "suppressed"},
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise a ValueError naming the choices."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}; got {lang!r}")
    return lang


def t(key: str, lang: str) -> str:
    """Shared label ``key`` in language ``lang``."""
    check_lang(lang)
    try:
        return LABELS[key][lang]
    except KeyError:
        raise KeyError(f"no shared label {key!r}; known: {', '.join(sorted(LABELS))}") from None


def format_number(value: float | None, lang: str, decimals: int = 0) -> str:
    """``1234567.891`` → ``1.234.567,89`` (id) / ``1,234,567.89`` (en); None/NaN → ``–``."""
    check_lang(lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:,.{decimals}f}"
    if lang == "id":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text.replace("-", "−")


def format_idr(value: float | None, lang: str, decimals: int = 1) -> str:
    """Rupiah with a readable scale word: ``Rp 1,2 miliar`` (id), ``IDR 1.2 billion`` (en).

    Amounts below one thousand are written in full (``Rp 950``). Negative amounts carry a
    leading minus sign (``−Rp 3,4 juta``).
    """
    check_lang(lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign = "−" if value < 0 else ""
    magnitude = abs(value)
    currency = "Rp" if lang == "id" else "IDR"
    for divisor, word_id, word_en in _IDR_SCALES:
        if magnitude >= divisor:
            scaled = format_number(magnitude / divisor, lang, decimals)
            return f"{sign}{currency} {scaled} {word_id if lang == 'id' else word_en}"
    return f"{sign}{currency} {format_number(magnitude, lang, 0)}"


def idr_scale(max_abs_value: float, lang: str) -> tuple[float, str]:
    """Divisor and axis unit for plotting Rupiah amounts of about ``max_abs_value``.

    ``idr_scale(3.2e9, "id")`` → ``(1e9, "miliar Rp")``; ``("en")`` → ``(1e9, "IDR billion")``.
    """
    check_lang(lang)
    for divisor, word_id, word_en in _IDR_SCALES:
        if abs(max_abs_value) >= divisor:
            return divisor, (f"{word_id} Rp" if lang == "id" else f"IDR {word_en}")
    return 1.0, ("Rp" if lang == "id" else "IDR")


def format_pct(value: float | None, lang: str, decimals: int = 1, signed: bool = False) -> str:
    """A number already in percent: ``5.25`` → ``5,3%`` (id) / ``5.3%`` (en); ``signed`` adds ``+``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = format_number(value, lang, decimals)
    if signed and value > 0:
        text = "+" + text
    return text + "%"


def format_days(value: float | None, lang: str, decimals: int = 1) -> str:
    """Days: ``3.5`` → ``3,5 hari`` (id) / ``3.5 days`` (en)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{format_number(value, lang, decimals)} {t('days', lang)}"


def format_interval(low: float | None, high: float | None, formatter, lang: str, **kwargs) -> str:
    """An interval with the language's range wording: ``[a; b]`` (id) / ``[a, b]`` (en)."""
    separator = "; " if lang == "id" else ", "
    return f"[{formatter(low, lang, **kwargs)}{separator}{formatter(high, lang, **kwargs)}]"
