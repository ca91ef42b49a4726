"""Personal data at load time: salted hashing of personal columns, and the value rule for
personal identifiers (NIK, NIP) in any text, shared by the loader and the output checks.

Design (why a secret salt): a NIK has a known structure (region + birth date + serial), so an
unsalted hash, or one salted with a value published in the repository, can be reversed by
enumerating the few trillion plausible NIKs. The salt is therefore secret and never stored with
the data:

1. ``PEMDA_WFA_SALT`` environment variable, if set: use it (share it within a team, or set it in
   the monthly regeneration job, to get the same pseudonyms on every machine). Set but empty is
   an error (a forgotten secret in a job must not silently become a machine-specific salt);
2. otherwise a random salt kept in the user's configuration directory,
   ``$XDG_CONFIG_HOME/pemda-wfa/salt`` (default ``~/.config/pemda-wfa/salt``), created on first use
   with permissions 0600. It is per user and machine: hashes are stable across runs there. A salt
   file shorter than :data:`MIN_SALT_CHARS` characters, or readable by other users, is used with
   a warning naming the file.

Raw data directories are never written to. The same salt and value always give the same hash, so
hashed columns can still be counted and joined (e.g. repeat applicants).

Where the rules apply (``analysis.data.validate``): columns named as personal data
(``analysis.data.schemas.is_personal_column``, any letter case) are replaced by
:func:`hash_sql`; in every other text column, NIK- and NIP-shaped values are replaced by
``[NIK:<hash>]`` / ``[NIP:<hash>]`` (:func:`mask_ids_sql`) inside DuckDB, before a row reaches
pandas, the validated-data cache or a rejects file. The output checks of the report build scan
pages for the same shapes with :func:`find_personal_ids`.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
import tempfile
import warnings
from pathlib import Path

from analysis.errors import UsageError

SALT_ENV_VAR = "PEMDA_WFA_SALT"
#: A salt file shorter than this (characters) is used with a warning (the generated one has 64).
MIN_SALT_CHARS = 32
#: hex characters kept from SHA-256 (80 bits: collision-free in practice for 10^8 people)
HASH_HEX_CHARS = 20
#: hex characters of the hash inside a masked identifier: 60 bits, fewer than 16 characters so
#: that a mask can never itself look like a NIK
MASK_HEX_CHARS = 15


class SaltWarning(UserWarning):
    """The salt file is short or readable by other users."""


def default_salt_file() -> Path:
    """Where the per-user salt is kept when ``PEMDA_WFA_SALT`` is not set."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pemda-wfa" / "salt"


def get_salt(salt_file: Path | None = None) -> str:
    """The salt to hash personal data with (see the module docstring for the order).

    Raises UsageError when ``PEMDA_WFA_SALT`` is set but empty, or when the salt file cannot be
    read or created (naming the file and the two ways out)."""
    if SALT_ENV_VAR in os.environ:
        from_env = os.environ[SALT_ENV_VAR].strip()
        if not from_env:
            raise UsageError(f"{SALT_ENV_VAR} is set but empty: set it to a secret of at least "
                             f"{MIN_SALT_CHARS} characters, or unset it to use the per-user salt file "
                             f"({default_salt_file()})")
        return from_env
    path = Path(salt_file) if salt_file is not None else default_salt_file()
    try:
        if path.exists():
            salt = _read_salt_file(path)
            if salt:
                return salt
        return _create_salt_file(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read or create the salt file ({exc.strerror or exc}); "
                         f"set {SALT_ENV_VAR} to a secret of at least {MIN_SALT_CHARS} characters, "
                         "or XDG_CONFIG_HOME to a writable directory") from exc


def _read_salt_file(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    salt = path.read_text(encoding="utf-8").strip()
    if mode & 0o077:
        warnings.warn(f"{path}: the salt file is readable by other users (mode {mode:o}); "
                      f"run 'chmod 600 {path}'", SaltWarning, stacklevel=3)
    if salt and len(salt) < MIN_SALT_CHARS:
        warnings.warn(f"{path}: the salt has {len(salt)} characters (at least {MIN_SALT_CHARS} "
                      "expected); a short salt makes the hashed NIKs easier to reverse", SaltWarning,
                      stacklevel=3)
    return salt


def _create_salt_file(path: Path) -> str:
    """A new random salt, written to a private temporary file and linked into place, so that two
    processes creating it at once agree on one salt (the second reads the first one's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    handle, staging = tempfile.mkstemp(prefix=".salt.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:  # mkstemp: mode 0600
            out.write(salt + "\n")
        try:
            os.link(staging, path)
        except FileExistsError:
            existing = _read_salt_file(path)
            if existing:
                return existing
            os.replace(staging, path)  # an empty leftover file: replace it
            return salt
    finally:
        Path(staging).unlink(missing_ok=True)
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
# when its fields are plausible, and never when it is a number: grouped in thousands
# ("1.234.567.890.123.456", an amount) or followed by a decimal fraction ("3372015708900001.0").
# A run longer than an identifier whose first 16 or 18 digits end at a blank is read as the
# identifier followed by another number ("NIK 3372015708900001 2 kali").

# A digit not preceded by a digit, dot or dash, then 15 to 17 more, each after at most one
# separator, and no digit or decimal fraction after. The first digit is matched before the
# look-behind (which then spans it) so that Python's engine scans for a digit first: the same
# matches, twice as fast on the pages the build checks (tested against the plain formulation).
_ID_RUN = re.compile(r"\d(?<![\d.\-]\d)(?:[ .\-]?\d){15,17}(?!\d|\.\d)")
_DECIMAL = re.compile(r"\d+\.\d+")
_THOUSANDS = re.compile(r"\d{1,3}(?:([ .,])\d{3})(?:\1\d{3})+")
#: DuckDB (RE2) pre-filter: any 16 digits with single separators. Wider than the rule above (it
#: only selects the values the exact rule is run on).
ID_CANDIDATE_SQL_PATTERN = r"\d([ .\-]?\d){15}"
MASK_FUNCTION = "pemda_wfa_mask_personal_ids"


def _plausible_nik(digits: str) -> bool:
    province, regency, district = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    day, month = int(digits[6:8]), int(digits[8:10])
    day = day - 40 if day > 40 else day
    return (11 <= province <= 96 and regency >= 1 and district >= 1
            and 1 <= day <= 31 and 1 <= month <= 12)


def _plausible_nip(digits: str) -> bool:
    birth_year, birth_month, birth_day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    start_year, start_month, sex = int(digits[8:12]), int(digits[12:14]), digits[14]
    return (1900 <= birth_year <= 2099 and 1 <= birth_month <= 12 and 1 <= birth_day <= 31
            and 1900 <= start_year <= 2099 and 1 <= start_month <= 12 and sex in "12")


def _kind(run: str) -> str | None:
    """``"NIK"``, ``"NIP"`` or None for a run of digits and separators taken as a whole."""
    if _THOUSANDS.fullmatch(run):
        return None
    digits = re.sub(r"\D", "", run)
    if len(digits) == 16 and _plausible_nik(digits):
        return "NIK"
    if len(digits) == 18 and _plausible_nip(digits):
        return "NIP"
    return None


def _identifiers(text: str):
    """(start, end, kind) of every identifier in ``text``, left to right."""
    for match in _ID_RUN.finditer(text):
        run = match.group(0)
        if _DECIMAL.fullmatch(run):
            # a decimal number is no identifier (9.464256505911037: a p-value; 3372015708900001.5),
            # but an integer written as a float (3372015708900001.0, as spreadsheets export) may be
            whole, fraction = run.split(".")
            kind = _kind(whole) if set(fraction) == {"0"} else None
            if kind is not None:
                yield match.start(), match.start() + len(whole), kind
            continue
        kind = _kind(run)
        if kind is not None:
            yield match.start(), match.end(), kind
            continue
        positions = [i for i, char in enumerate(run) if char.isdigit()]
        for length in (18, 16):  # the identifier, a blank, another number
            if len(positions) > length and run[positions[length - 1] + 1] == " ":
                prefix = run[:positions[length - 1] + 1]
                kind = _kind(prefix)
                if kind is not None:
                    yield match.start(), match.start() + len(prefix), kind
                    break


def find_personal_ids(text: str) -> list[str]:
    """NIK- and NIP-shaped identifiers in ``text`` (plain or grouped with spaces, dots or
    dashes), as they appear. Use :func:`mask_id` to report one."""
    return [text[start:end] for start, end, _ in _identifiers(text)]


def mask_id(value: str) -> str:
    """A personal identifier shown safely: its first 4 digits, the rest as ``*``."""
    digits = re.sub(r"\D", "", value)
    return digits[:4] + "*" * (len(digits) - 4)


def mask_personal_ids(text: str | None, salt: str) -> str | None:
    """``text`` with every NIK/NIP replaced by ``[NIK:<hash>]`` / ``[NIP:<hash>]`` (salted hash of
    its digits, :data:`MASK_HEX_CHARS` hex characters: the same identifier gives the same mask,
    however it was written)."""
    if text is None:
        return None
    pieces, last = [], 0
    for start, end, kind in _identifiers(text):
        digits = re.sub(r"\D", "", text[start:end])
        pieces += [text[last:start], f"[{kind}:{hash_value(digits, salt)[:MASK_HEX_CHARS]}]"]
        last = end
    return "".join(pieces) + text[last:] if pieces else text


def register_mask_function(con, salt: str) -> None:
    """Make :func:`mask_personal_ids` (with ``salt``) callable in DuckDB SQL as
    :data:`MASK_FUNCTION` (used by :func:`mask_ids_sql`)."""
    con.create_function(MASK_FUNCTION, lambda text: mask_personal_ids(text, salt),
                        ["VARCHAR"], "VARCHAR", side_effects=False)


def mask_ids_sql(expression: str) -> str:
    """DuckDB SQL of a VARCHAR ``expression`` with personal identifiers masked. The Python rule
    runs only on values that have 16 digits in a row (a cheap pre-filter in SQL); DuckDB's CASE
    evaluates it only for those rows. Needs :func:`register_mask_function` on the connection."""
    return (f"CASE WHEN length({expression}) >= 16 AND regexp_matches({expression}, "
            f"'{ID_CANDIDATE_SQL_PATTERN}') THEN {MASK_FUNCTION}({expression}) ELSE {expression} END")


def masked_count_sql(expression: str) -> str:
    """SQL aggregate: values of an already-masked column holding a masked identifier."""
    return f"count_if(contains({expression}, '[NIK:') OR contains({expression}, '[NIP:'))"
