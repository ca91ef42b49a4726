"""The languages of the reports: Indonesian (``id``) and English (``en``). There is no default."""

from __future__ import annotations

LANGUAGES = ("id", "en")


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is ``"id"`` or ``"en"``; anything else (``None``, ``""``, ``"ID"``,
    ``"fr"``) raises a ValueError naming the choices."""
    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}; got {lang!r}")
    return lang
