"""Numbered figures and tables for rendered reports.

A notebook calls ``configure(output_dir, lang)`` once (``analysis.report.context.report_context``
does), then ``show_figure`` / ``show_table``. Each exhibit is saved under ``output_dir``
(``figures/<key>.png``, ``tables/<key>.csv``), displayed as a self-contained HTML ``<figure>`` with a
numbered caption (Gambar/Tabel N in Indonesian, Figure/Table N in English) and real alt text, and
listed in ``output_dir/exhibits.json`` (the map from every exhibit to its file: what a replication
package lists). A table is shown in the configured language (headers, code labels and numbers
through :func:`analysis.texts.tables.for_display`); its CSV keeps the raw columns and numbers.

Small cells: counts below ``min_count`` (default 10) in the declared count columns are replaced
by ``<10`` before the table is shown or saved, so small groups cannot be singled out.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from analysis.texts import check_lang, t
from analysis.texts.tables import for_display

DEFAULT_MIN_COUNT = 10

#: Column names that may hold personal data; tables carrying them are refused.
_PERSONAL_COLUMN = re.compile(r"(^|_)(nik|nip|nama|applicant_name|person_name|no_kk)($|_)", re.IGNORECASE)


@dataclass(frozen=True)
class Exhibit:
    key: str
    kind: str  # "figure" | "table"
    number: int
    caption: str
    file: str
    count_columns: tuple[str, ...] = ()
    min_count: int | None = None

    def _ipython_display_(self) -> None:
        """Shown already: a notebook cell ending in ``show_figure(...)`` prints nothing more."""


@dataclass
class _Registry:
    output_dir: Path | None = None
    lang: str | None = None  # set by configure; showing an exhibit before that is an error
    exhibits: list[Exhibit] = field(default_factory=list)


_registry = _Registry()


def configure(output_dir: str | Path, lang: str) -> None:
    """Start numbering afresh, saving exhibits under ``output_dir`` with captions in ``lang``."""
    _registry.output_dir = Path(output_dir)
    _registry.lang = check_lang(lang)
    _registry.exhibits = []
    _registry.output_dir.mkdir(parents=True, exist_ok=True)


def _register(kind: str, key: str, caption: str, file: str, output_dir: Path, **extra) -> Exhibit:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", key):
        raise ValueError(f"exhibit key {key!r}: use lower-case letters, digits, '-' and '_'")
    if any(exhibit.key == key for exhibit in _registry.exhibits):
        raise ValueError(f"exhibit key {key!r} is used twice in this report")
    number = 1 + sum(exhibit.kind == kind for exhibit in _registry.exhibits)
    exhibit = Exhibit(key=key, kind=kind, number=number, caption=caption, file=file, **extra)
    _registry.exhibits.append(exhibit)
    (output_dir / "exhibits.json").write_text(
        json.dumps([asdict(e) for e in _registry.exhibits], indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return exhibit


def _resolve() -> tuple[Path, str]:
    if _registry.output_dir is None or _registry.lang is None:
        raise RuntimeError("call analysis.report.exhibits.configure(output_dir, lang) first "
                           "(report_context does it)")
    return _registry.output_dir, _registry.lang


def _display_html(markup: str) -> None:
    try:
        from IPython.display import HTML, display
    except ImportError:  # plain Python: nothing to display
        return
    display(HTML(markup))


def figure_html(png_bytes: bytes, number: int, caption: str, alt: str, key: str, lang: str) -> str:
    """The ``<figure>`` markup of a numbered figure with the image embedded (no external file)."""
    encoded = base64.b64encode(png_bytes).decode("ascii")
    label = t("label.exhibit.figure", lang, number=number)
    return (
        f'<figure class="exhibit exhibit-figure" id="fig-{html.escape(key)}">'
        f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt, quote=True)}" '
        f'style="max-width:100%;height:auto">'
        f'<figcaption><strong>{label}.</strong> {html.escape(caption)}</figcaption></figure>'
    )


def show_figure(fig, key: str, caption: str, alt: str, *, dpi: int = 110) -> Exhibit:
    """Save ``fig`` as ``figures/<key>.png``, display it with a numbered caption, close it.

    ``alt`` describes what the figure shows for a reader who cannot see it (required).
    """
    if not alt or not alt.strip():
        raise ValueError(f"figure {key!r}: alt text is required")
    directory, lang = _resolve()
    buffer = io.BytesIO()
    # No "Software"/date metadata: the same figure gives the same bytes.
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    png = buffer.getvalue()
    relative = f"figures/{key}.png"
    (directory / "figures").mkdir(parents=True, exist_ok=True)
    (directory / relative).write_bytes(png)
    exhibit = _register("figure", key, caption, relative, directory)
    _display_html(figure_html(png, exhibit.number, caption, alt, key, lang))
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # pragma: no cover - closing is a courtesy
        pass
    return exhibit


def suppress_small_counts(table: pd.DataFrame, count_columns, min_count: int = DEFAULT_MIN_COUNT) -> pd.DataFrame:
    """Copy of ``table`` with counts below ``min_count`` in ``count_columns`` shown as ``<min_count``.

    Zero is kept (an empty cell discloses nothing about a person); missing columns are an error.
    """
    missing = [column for column in count_columns if column not in table.columns]
    if missing:
        raise ValueError(f"count column(s) not in table: {', '.join(missing)}")
    suppressed = table.copy()
    for column in count_columns:
        values = pd.to_numeric(suppressed[column], errors="coerce")
        small = values.notna() & (values > 0) & (values < min_count)
        suppressed[column] = suppressed[column].astype(object)
        suppressed.loc[small, column] = f"<{min_count}"
    return suppressed


def show_table(
    table: pd.DataFrame,
    key: str,
    caption: str,
    *,
    kinds=None,
    labels=None,
    count_columns=(),
    min_count: int = DEFAULT_MIN_COUNT,
) -> Exhibit:
    """Display ``table`` with a numbered caption and save it as ``tables/<key>.csv``.

    The page shows :func:`analysis.texts.tables.for_display` of the table (``kinds``: number
    format per column, ``labels``: label domain per code column, both added to the defaults
    there); the CSV keeps the raw columns. Counts in ``count_columns`` below ``min_count`` are
    suppressed in both first. Columns that look like personal identifiers (NIK, NIP, names of
    persons) are refused.
    """
    personal = [str(c) for c in table.columns if _PERSONAL_COLUMN.search(str(c))]
    if personal:
        raise ValueError(f"table {key!r} has personal-data column(s) {', '.join(personal)}; drop them")
    directory, lang = _resolve()
    shown = suppress_small_counts(table, count_columns, min_count) if count_columns else table
    relative = f"tables/{key}.csv"
    (directory / "tables").mkdir(parents=True, exist_ok=True)
    shown.to_csv(directory / relative, index=False, lineterminator="\n")
    display = for_display(shown, lang, kinds=kinds, labels=labels)
    exhibit = _register("table", key, caption, relative, directory,
                        count_columns=tuple(map(str, count_columns)),
                        min_count=min_count if count_columns else None)
    label = t("label.exhibit.table", lang, number=exhibit.number)
    declared = html.escape(",".join(map(str, count_columns)), quote=True)
    markup = (
        f'<figure class="exhibit exhibit-table" id="tab-{html.escape(key)}" '
        f'data-count-columns="{declared}" data-min-count="{min_count}">'
        f'<figcaption><strong>{label}.</strong> {html.escape(caption)}</figcaption>'
        f"{display.to_html(index=False, border=0, classes='dataframe exhibit-table', na_rep='–')}</figure>"
    )
    _display_html(markup)
    return exhibit


def registered() -> list[Exhibit]:
    """The exhibits shown since the last ``configure``."""
    return list(_registry.exhibits)
