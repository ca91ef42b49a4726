"""The words of every report, in Indonesian (``id``) and English (``en``).

- One catalogue per language, ``id.toml`` and ``en.toml`` beside this module (same keys, same
  placeholders; the header of each file documents the placeholder mini-language).
- :func:`t` renders a key with its parameters; :func:`note` renders an
  :class:`analysis.notes.Note` (key ``note.<code>``); :func:`label` gives the words of a code
  (``label.<domain>.<code>``).
- :mod:`analysis.texts.numbers` formats every number (decimal comma and ``Rp 1,2 miliar`` in
  ``id``; ``IDR 1.2 billion`` in ``en``); :mod:`analysis.texts.tables` formats a DataFrame for a
  reader. Every function takes the language explicitly: there is no default language.
"""

from analysis.texts.catalogue import MissingTextError, has
from analysis.texts.languages import LANGUAGES, check_lang
from analysis.texts.template import TextParameterError, label, note, t

__all__ = ["LANGUAGES", "MissingTextError", "TextParameterError", "check_lang", "has", "label", "note", "t"]
