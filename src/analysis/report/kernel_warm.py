"""Imported by the report kernels' zygote only (:func:`analysis.report.kernel_zygote.serve`, after
the notebooks' imports): fills the caches that depend on nothing but the code and the files
bundled with it, so that every kernel forked from the zygote starts with them instead of filling
them itself, in each of a build's 50 reports:

- the compiled Frank–Wolfe steps of the synthetic-DiD estimators
  (:func:`analysis.synth.weights._compiled_steps`: numba loads them from its on-disk cache in
  about 0.5 s, or compiles them in about 2 s on a machine's first build);
- the simplified outlines of the bundled boundaries that every map draws
  (:func:`analysis.figures.maps.load_polygons`: about 0.3 s);
- the text catalogues and Babel's locale data of both languages (about 0.1 s).

Nothing here draws: resolving matplotlib's backend in the zygote would give every kernel the
zygote's backend instead of the notebook's inline one.

Only the modules the notebooks import, and that the zygote has therefore imported already, are
warmed: importing one here (``analysis.figures`` selects matplotlib's Agg backend) would change
the state a kernel starts in. Each cache is a pure function of code and bundled files, computed
as a kernel would compute it: a kernel's own calls return what they would have returned. Importing this module has these side
effects and no other; a failure here costs only the time (the kernels then fill the caches
themselves).
"""

from __future__ import annotations

import sys


def _imported(name: str) -> bool:
    return name in sys.modules


def warm_solvers() -> None:
    if not _imported("analysis.synth.weights"):
        return
    import numpy as np

    from analysis.synth.weights import frank_wolfe_simplex_batch

    problems = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) % 5
    frank_wolfe_simplex_batch(problems, 0.1, max_iter=3)  # loads (or compiles) the numba code


def warm_maps() -> None:
    if not _imported("analysis.figures.maps"):
        return
    from analysis.figures import maps

    maps.load_polygons(str(maps.PROVINCES_GEOJSON))
    maps.load_polygons(str(maps.KABKOTA_GEOJSON))


def warm_texts() -> None:
    if not _imported("analysis.texts.catalogue"):
        return
    from datetime import date

    from babel.dates import format_date
    from babel.numbers import format_decimal

    from analysis.texts import catalogue
    from analysis.texts.languages import LANGUAGES

    for lang in LANGUAGES:
        catalogue.has("warm", lang)  # parses the catalogue
        format_date(date(2026, 1, 1), "MMM yyyy", locale=lang)
        format_decimal(1234.5, locale=lang)


for _warm in (warm_solvers, warm_maps, warm_texts):
    try:
        _warm()
    except Exception:  # noqa: BLE001 - an optimisation only
        pass
