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
