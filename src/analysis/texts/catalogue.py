"""The text catalogues: ``id.toml`` and ``en.toml`` next to this module, one per language.

Each file is TOML whose tables group the keys by page (``[10]``, ``[caption.10]``, ``[note]``,
``[label.category]``, ...); nested tables are flattened into dotted keys (``10.window``,
``caption.10.event_study``, ``note.category_absent``, ``label.category.listrik``). Values are
Markdown strings with named placeholders (the mini-language is described in the header of each
catalogue and implemented in :mod:`analysis.texts.template`). This module only reads the files:
:func:`entry` returns a key's raw text, :func:`keys` lists the keys.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from analysis.texts.languages import LANGUAGES, check_lang

CATALOGUE_DIR = Path(__file__).resolve().parent


class MissingTextError(KeyError):
    """A key the code asked for is not in the catalogue of that language."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


def catalogue_path(lang: str) -> Path:
    """``.../texts/id.toml`` or ``.../texts/en.toml``."""
    return CATALOGUE_DIR / f"{check_lang(lang)}.toml"


def _flatten(table: dict, prefix: str, out: dict[str, str], path: Path) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(value, dict):
            _flatten(value, key, out, path)
        elif isinstance(value, str):
            out[key] = value
        else:
            raise ValueError(f"{path.name}: key {key!r} holds a {type(value).__name__}; every text is a string")


@lru_cache(maxsize=None)
def _load(lang: str) -> dict[str, str]:
    path = catalogue_path(lang)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path.name}: not valid TOML ({exc})") from None
    texts: dict[str, str] = {}
    _flatten(document, "", texts, path)
    return texts


def entry(key: str, lang: str) -> str:
    """The raw text of ``key`` in ``lang`` (placeholders not filled); a MissingTextError names
    the key and the catalogue file if it is absent."""
    texts = _load(check_lang(lang))
    try:
        return texts[key]
    except KeyError:
        close = sorted(k for k in texts if k.rsplit(".", 1)[0] == key.rsplit(".", 1)[0])[:8]
        hint = f"; keys under the same prefix: {', '.join(close)}" if close else ""
        raise MissingTextError(f"{catalogue_path(lang).name} has no text {key!r}{hint}") from None


def has(key: str, lang: str) -> bool:
    """Whether ``key`` exists in the catalogue of ``lang``."""
    return key in _load(check_lang(lang))


def keys(lang: str) -> tuple[str, ...]:
    """Every key of the catalogue of ``lang``, in file order."""
    return tuple(_load(check_lang(lang)))


def keys_under(prefix: str, lang: str) -> dict[str, str]:
    """``{last part: text}`` of the keys directly under ``prefix`` (``label.category`` →
    ``{"listrik": "Listrik", ...}``)."""
    start = prefix + "."
    return {k[len(start):]: v for k, v in _load(check_lang(lang)).items()
            if k.startswith(start) and "." not in k[len(start):]}


__all__ = ["LANGUAGES", "MissingTextError", "catalogue_path", "entry", "has", "keys", "keys_under"]
