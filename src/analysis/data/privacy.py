"""Salted hashing of personal data (NIK, person names) at load time.

Design (why a secret salt): a NIK has a known structure (region + birth date + serial), so an
unsalted hash, or one salted with a value published in the repository, can be reversed by
enumerating the few trillion plausible NIKs. The salt is therefore secret and never stored with
the data:

1. ``PEMDA_WFA_SALT`` environment variable, if set and non-empty: use it (share it within a team,
   or set it in the monthly regeneration job, to get the same pseudonyms on every machine);
2. otherwise a random salt kept in the user's configuration directory,
   ``$XDG_CONFIG_HOME/pemda-wfa/salt`` (default ``~/.config/pemda-wfa/salt``), created on first use
   with permissions 0600. It is per user and machine: hashes are stable across runs there.

Raw data directories are never written to. The same salt and value always give the same hash, so
hashed columns can still be counted and joined (e.g. repeat applicants).
"""

from __future__ import annotations

import hashlib
import re
import os
import secrets
from pathlib import Path

SALT_ENV_VAR = "PEMDA_WFA_SALT"
#: hex characters kept from SHA-256 (80 bits: collision-free in practice for 10^8 people)
HASH_HEX_CHARS = 20


def default_salt_file() -> Path:
    """Where the per-user salt is kept when ``PEMDA_WFA_SALT`` is not set."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pemda-wfa" / "salt"


def get_salt(salt_file: Path | None = None) -> str:
    """The salt to hash personal data with (see the module docstring for the order)."""
    from_env = os.environ.get(SALT_ENV_VAR, "").strip()
    if from_env:
        return from_env
    path = Path(salt_file) if salt_file is not None else default_salt_file()
    if path.exists():
        salt = path.read_text(encoding="utf-8").strip()
        if salt:
            return salt
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(salt + "\n")
    return salt


def hash_value(value: str | None, salt: str) -> str | None:
    """Salted SHA-256 of one value, as ``HASH_HEX_CHARS`` hex characters (None stays None).

    Identical to the SQL expression from :func:`hash_sql`, which is what the loader uses."""
    if value is None:
        return None
    digest = hashlib.sha256((salt + "|" + str(value)).encode("utf-8")).hexdigest()
    return digest[:HASH_HEX_CHARS]


def hash_sql(expression: str, salt: str) -> str:
    """DuckDB SQL computing :func:`hash_value` of a VARCHAR ``expression`` (vectorised)."""
    literal = "'" + salt.replace("'", "''") + "|'"
    return (f"CASE WHEN ({expression}) IS NULL THEN NULL "
            f"ELSE left(sha256({literal} || ({expression})), {HASH_HEX_CHARS}) END")


# --------------------------------------------------------------------------------------------
# Personal identifiers by value: the rule shared by the loader and the output checks
# --------------------------------------------------------------------------------------------
#
# NIK (Nomor Induk Kependudukan, 16 digits): province (2) regency (2) district (2) birth date
# DDMMYY (women: day + 40) and a serial (4); written plain or grouped with spaces, dots or dashes.
# NIP (Nomor Induk Pegawai of an ASN, 18 digits): birth date YYYYMMDD, appointment YYYYMM,
# sex (1/2), serial (3); often written "19800101 200501 1 001". A run of digits is reported only
# when its fields are plausible, so amounts in Rupiah and other long numbers are not flagged.

_ID_RUN = re.compile(r"(?<![\d.\-])\d(?:[ .\-]?\d){15,17}(?!\d)")


def _plausible_nik(digits: str) -> bool:
    province, day, month = int(digits[:2]), int(digits[6:8]), int(digits[8:10])
    day = day - 40 if day > 40 else day
    return 11 <= province <= 96 and 1 <= day <= 31 and 1 <= month <= 12


def _plausible_nip(digits: str) -> bool:
    birth_year, birth_month, birth_day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    start_year, start_month, sex = int(digits[8:12]), int(digits[12:14]), digits[14]
    return (1900 <= birth_year <= 2099 and 1 <= birth_month <= 12 and 1 <= birth_day <= 31
            and 1900 <= start_year <= 2099 and 1 <= start_month <= 12 and sex in "12")


def find_personal_ids(text: str) -> list[str]:
    """NIK- and NIP-shaped identifiers in ``text`` (plain or grouped with spaces, dots or
    dashes), as they appear. Use :func:`mask_id` to report one."""
    found = []
    for match in _ID_RUN.finditer(text):
        token = match.group(0)
        if re.fullmatch(r"\d+\.\d+", token):  # a decimal number (9.464256505911037e-08, 3372015708900001.0):
            token = token.split(".")[0]          # only its integer part can be an identifier
        digits = re.sub(r"\D", "", token)
        if (len(digits) == 16 and _plausible_nik(digits)) or (len(digits) == 18 and _plausible_nip(digits)):
            found.append(token)
    return found


def mask_id(value: str) -> str:
    """A personal identifier shown safely: its first 4 digits, the rest as ``*``."""
    digits = re.sub(r"\D", "", value)
    return digits[:4] + "*" * (len(digits) - 4)
