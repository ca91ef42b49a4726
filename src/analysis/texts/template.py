"""``t(key, lang, **params)``: a catalogue text with its placeholders filled.

Placeholders (documented for authors in the header of ``id.toml`` / ``en.toml``)::

    {name}                  a text value, inserted as it is (a number here is an error)
    {name:kind}             a number through the formatter: {att:sdec3}, {savings:idr},
                            {p:pvalue}, {start:month} (kinds: analysis.texts.numbers)
    {name:kind range}       a pair (low, high): "−0,05 s.d. 0,02" / "−0.05 to 0.02"
    {name:kind list}        a sequence, joined "a, b dan c" / "a, b and c"
    {name:kind abs}         the absolute value (the sentence says the direction in words)
    {name:@prefix}          the catalogue text at "prefix.<value>", filled with the same
                            parameters (a code → its words: {category:@label.category}); a
                            merged code "a–b" without its own text is shown part by part
    {{ and }}               literal braces

Every placeholder needs a parameter; a missing one, an unknown kind or a missing key raises an
error naming the key. Parameters not used by the text are allowed (nested texts share them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from analysis.notes import Note
from analysis.texts.catalogue import entry, has
from analysis.texts.languages import check_lang
from analysis.texts.numbers import check_kind, format_value, interval, is_missing

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<spec>[^{}]+))?\}")
MODIFIERS = ("range", "list", "abs")
#: Joins merged codes (``Kurang–Cukup``: sparse groups pooled upstream).
MERGED = "\u2013"


class TextParameterError(ValueError):
    """A placeholder without its parameter, or a parameter that cannot be shown as asked."""


def placeholders(text: str) -> list[tuple[str, str]]:
    """``[(name, spec), ...]`` of a catalogue text (``spec`` is ``""`` for a plain placeholder)."""
    return [(m["name"], (m["spec"] or "").strip()) for m in PLACEHOLDER.finditer(text) if m["name"]]


def parse_spec(spec: str) -> tuple[str, tuple[str, ...]]:
    """``"spct1 range"`` → ``("spct1", ("range",))``; checks the kind and the modifiers."""
    parts = spec.split()
    if not parts:
        return "", ()
    kind, modifiers = parts[0], tuple(parts[1:])
    unknown = [m for m in modifiers if m not in MODIFIERS]
    if unknown:
        raise ValueError(f"unknown modifier(s) {', '.join(unknown)} in {{…:{spec}}}; known: {', '.join(MODIFIERS)}")
    if not kind.startswith("@"):
        check_kind(kind)
    return kind, modifiers


def label_key(value: Any) -> str:
    """The key part of a code: booleans as ``true``/``false``, whole floats without ``.0``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {entry('unit.and', lang)} {items[-1]}"


def lookup(prefix: str, value: Any, lang: str, params: Mapping[str, Any]) -> str:
    """The text at ``prefix.<value>``; a merged code ``a–b`` without its own text is shown as
    the texts of its parts joined by ``–``."""
    code = label_key(value)
    key = f"{prefix}.{code}"
    if MERGED in code and not has(key, lang):
        return MERGED.join(lookup(prefix, part, lang, params) for part in code.split(MERGED))
    return t(key, lang, **params)


def _one(value: Any, kind: str, abs_: bool, lang: str, params: Mapping[str, Any]) -> str:
    if kind.startswith("@"):
        return lookup(kind[1:], value, lang, params)
    if abs_ and not is_missing(value):
        value = abs(value)
    if not kind:
        if not isinstance(value, str):
            raise TypeError(f"{value!r} is not text: give the placeholder a number format (e.g. :dec2, :count)")
        return value
    return format_value(value, kind, lang)


def fill(text: str, lang: str, params: Mapping[str, Any], *, key: str = "<text>") -> str:
    """``text`` with its placeholders replaced (see the module doc)."""

    def replace(match: re.Match) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        name, spec = match["name"], (match["spec"] or "").strip()
        if name not in params:
            raise TextParameterError(f"text {key!r} ({lang}) needs the parameter {name!r}; "
                                     f"given: {', '.join(sorted(params)) or 'none'}")
        value = params[name]
        try:
            kind, modifiers = parse_spec(spec)
            abs_ = "abs" in modifiers
            if "range" in modifiers:
                low, high = value
                if kind.startswith("@") or not kind:
                    raise ValueError("a range needs a number format")
                if abs_:
                    low, high = abs(low), abs(high)
                return interval(low, high, kind, lang)
            if "list" in modifiers:
                items = [value] if isinstance(value, str) else list(value)
                return _join([_one(v, kind, abs_, lang, params) for v in items], lang)
            return _one(value, kind, abs_, lang, params)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, TextParameterError):
                raise
            raise TextParameterError(f"text {key!r} ({lang}), placeholder {{{name}:{spec}}}: {exc}") from None

    return PLACEHOLDER.sub(replace, text)


def t(key: str, lang: str, **params: Any) -> str:
    """The catalogue text ``key`` in ``lang`` (Markdown) with ``params`` filled in."""
    check_lang(lang)
    return fill(entry(key, lang), lang, params, key=key)


def note(n: Note, lang: str) -> str:
    """A :class:`analysis.notes.Note` in words: the catalogue text ``note.<code>``."""
    if not isinstance(n, Note):
        raise TypeError(f"expected an analysis.notes.Note, got {type(n).__name__}: {n!r}")
    return t(f"note.{n.code}", lang, **n.params)


def label(domain: str, code: Any, lang: str) -> str:
    """The words for a code: ``label("category", "atk", "en")`` → ``Office supplies``
    (catalogue key ``label.<domain>.<code>``)."""
    return lookup(f"label.{domain}", code, lang, {})
