"""Make a finished report folder portable and reproducible: no machine paths, stable ids.

A kernel needs real paths (the dataset, its output folder), but nothing a report publishes may
hold one (``results.json``, the executed notebook, the pages): they say where things are
relative to the project, or only by name (:func:`analysis.report.output_folder.display_path`).

- :func:`stabilise_notebook`: the injected-parameters cell gets a fixed id and the recorded
  parameters, papermill's metadata the display paths, the notebook the build's provenance;
- :func:`replace_machine_paths`: every text file of the folder with each machine path replaced by
  its display form (warnings and tracebacks name library files, notebooks may print paths).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import nbformat
from papermill.translators import translate_parameters

from analysis.report.output_folder import display_path

#: files rewritten by :func:`replace_machine_paths` (text formats a report may hold)
TEXT_SUFFIXES = (".ipynb", ".json", ".csv", ".svg", ".html", ".txt", ".md", ".tex")


def stabilise_notebook(path: Path, provenance: dict[str, Any], parameters: dict[str, Any],
                       kernel_name: str = "python3") -> None:
    """Rewrite the executed notebook at ``path``: papermill's injected-parameters cell gets the
    id ``injected-parameters`` and shows ``parameters`` (the recorded, display form); papermill's
    metadata shows display paths; ``metadata.wfa_provenance`` holds ``provenance``."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
            cell["source"] = translate_parameters(kernel_name, "python", parameters, "Parameters")
    papermill = nb.metadata.get("papermill")
    if papermill is not None:
        papermill["parameters"] = dict(parameters)
        for key in ("input_path", "output_path"):
            if papermill.get(key):
                papermill[key] = display_path(papermill[key])
    nb.metadata["wfa_provenance"] = provenance
    nbformat.write(nb, path)


def machine_paths(replacements: dict[str, str]) -> list[tuple[str, str]]:
    """``(machine path, display form)`` pairs, longest first, plus the project root and the home
    folder; empty and root paths are dropped."""
    from analysis.paths import PROJECT_ROOT

    pairs = dict(replacements)
    pairs.setdefault(str(PROJECT_ROOT), ".")
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        pairs.setdefault(home, "~")
    return sorted(((k, v) for k, v in pairs.items() if k and k != "/"), key=lambda kv: -len(kv[0]))


#: a machine path at least this long is replaced wherever it occurs: inside the base64 data of an
#: embedded image it would appear by chance with probability 64**-12 per position
LONG_PATH = 12


def _path_pattern(machine: str) -> re.Pattern[str]:
    """``machine`` as a whole path (not the start of a longer name); a short one only when not
    preceded by a character of a name or of base64 data."""
    before = "" if len(machine) >= LONG_PATH else r"(?<![A-Za-z0-9+/=._~-])"
    return re.compile(before + re.escape(machine) + r"(/|(?![A-Za-z0-9._-]))")


def replace_machine_paths(folder: Path, replacements: dict[str, str]) -> list[str]:
    """Replace machine paths in every text file under ``folder`` (see :func:`machine_paths`);
    return the relative names of the files changed. A path followed by ``/`` loses the prefix
    when its display form is ``.`` (``<root>/x`` -> ``x``)."""
    patterns = [(machine, _path_pattern(machine), shown) for machine, shown in machine_paths(replacements)]

    def substitute(shown: str):
        def one(match: re.Match[str]) -> str:
            if match.group(1) == "/":
                return "" if shown == "." else shown.rstrip("/") + "/"
            return shown
        return one

    changed = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = text
        for machine, pattern, shown in patterns:
            if machine in new:  # a plain search first: most files name no machine path
                new = pattern.sub(substitute(shown), new)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path.relative_to(folder).as_posix())
    return changed
