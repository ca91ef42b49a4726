"""The value rule for personal identifiers (NIK, NIP) shared by the loader and the output checks."""

import pytest

from analysis.data.privacy import find_personal_ids, mask_id


@pytest.mark.parametrize("text", [
    "pemohon 3372015708900001 datang",          # NIK, plain (woman: day 57 = 17 + 40)
    "NIK: 33.72.01.570890.0001",                # dotted
    "NIK 3372-0157-0890-0001",                  # dashed in fours
    "NIK 337201 570890 0001",                   # grouped 6-6-4
    "NIP 19800101 200501 1 001",                # NIP with spaces
    "NIP=198001012005011001;",                  # NIP plain
])
def test_identifiers_are_found(text):
    assert find_personal_ids(text), text


@pytest.mark.parametrize("text", [
    "Rp 1.234.567.890.123",          # an amount with thousands separators
    "total 9999999999999999",        # 16 digits, no valid province/date
    "0012345678901234",              # province 00
    "3372013213900001",              # month 13 in the birth date
    "2026-01-14 08:30:00",           # a timestamp
    "a1b2c3d4e5f60718293a",          # a salted hash
])
def test_other_numbers_are_not_flagged(text):
    assert find_personal_ids(text) == [], text


def test_mask_keeps_four_digits():
    assert mask_id("33.72.01.570890.0001") == "3372" + "*" * 12


def test_scan_patterns_match_their_plain_formulations():
    """The identifier and hex-digest patterns are written first digit first for speed; on random
    text of digits, separators and hex letters they match exactly where the plain formulations
    (look-behind first) do."""
    import random
    import re

    from analysis.data import privacy
    from analysis.report import scrub

    plain_id = re.compile(r"(?<![\d.\-])\d(?:[ .\-]?\d){15,17}(?!\d|\.\d)")
    plain_hex = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,}(?![0-9A-Za-z])")
    rng = random.Random(5)
    alphabets = ("0123456789", "0123456789 .-", "0123456789 .-x", "0123456789abcdefABCDEF g-")
    for _ in range(3000):
        alphabet = rng.choice(alphabets)
        text = "".join(rng.choice(alphabet) if rng.random() < 0.97 else rng.choice("\n,.") for _ in range(rng.randint(0, 120)))
        assert [m.span() for m in privacy._ID_RUN.finditer(text)] == [m.span() for m in plain_id.finditer(text)], text
        assert [m.span() for m in scrub._HEX_DIGEST.finditer(text)] == [m.span() for m in plain_hex.finditer(text)], text
