"""Notes: facts worth telling the reader, as a code and its parameters.

Analysis modules return :class:`Note` values, never sentences; ``analysis.texts`` renders each
code in the page's language (catalogue key ``note.<code>``). Parameters are plain JSON-safe values
(numbers, strings, lists), so a note can also be written to ``results.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Note:
    """``code``: what happened (e.g. ``category_absent``, ``covariate_dropped_collinear``);
    ``params``: the values its sentence needs (e.g. ``{"category": "pemeliharaan"}``)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params)}
