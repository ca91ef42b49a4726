"""Numbered figures and tables for rendered reports.

A notebook calls ``configure(output_dir, lang)`` once (``analysis.report.context.report_context``
does), then ``show_figure`` / ``show_table``. Each exhibit is saved under ``output_dir``
(``figures/<key>.png``, ``tables/<key>.csv`` and ``tables/<key>.xlsx``), displayed as a
self-contained HTML ``<figure>`` with a numbered caption (Gambar/Tabel N in Indonesian, Figure/Table
N in English) and real alt text, and listed in ``output_dir/exhibits.json`` (the map from every
exhibit to its files: what a replication package lists). A figure links to its full-size PNG; a
table's caption links its downloads. A table is shown in the configured language (headers, code
labels and numbers through :func:`analysis.texts.tables.for_display`) inside its own horizontal
scroll container; its CSV and XLSX keep the raw columns and numbers (numbers as numbers, codes as
codes, each code column followed at the end by a ``<column>_label`` column in the page's language).

``show_callout(text, kind)`` displays a diagnostic, warning or note box (Markdown text) that the
report pages style as such.

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

import zipfile

import pandas as pd

from analysis.notes import Note
from analysis.texts import check_lang, t
from analysis.texts import note as render_note
from analysis.texts.tables import COLUMN_LABELS, code_label, column_kind, for_display

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
    downloads: tuple[str, ...] = ()

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


def figure_html(png_bytes: bytes, number: int, caption: str, alt: str, key: str, lang: str,
                file: str | None = None) -> str:
    """The ``<figure>`` markup of a numbered figure with the image embedded; ``file`` (the saved
    PNG, relative to the page) is linked from the image and the caption to see it full size."""
    encoded = base64.b64encode(png_bytes).decode("ascii")
    label = t("label.exhibit.figure", lang, number=number)
    image = (f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt, quote=True)}" '
             f'style="max-width:100%;height:auto">')
    link = ""
    if file:
        href = html.escape(file, quote=True)
        image = f'<a class="exhibit-image" href="{href}">{image}</a>'
        link = f' <span class="exhibit-links"><a href="{href}">{html.escape(t("ui.render.enlarge", lang))}</a></span>'
    return (
        f'<figure class="exhibit exhibit-figure" id="fig-{html.escape(key)}">{image}'
        f'<figcaption><strong>{label}.</strong> {html.escape(caption)}{link}</figcaption></figure>'
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
    _display_html(figure_html(png, exhibit.number, caption, alt, key, lang, file=relative))
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


def download_table(table: pd.DataFrame, lang: str, *, kinds=None, labels=None) -> pd.DataFrame:
    """The table as saved for download: raw numbers and codes, notes as text, and for every code
    column the page shows by its words (a label domain, given in ``labels`` or known, and no number
    format in ``kinds``) a ``<column>_label`` column at the end with those words in ``lang``."""
    domains = {**COLUMN_LABELS, **(labels or {})}
    kinds = dict(kinds or {})
    out: dict[str, object] = {}
    words: dict[str, list[str]] = {}
    for column in table.columns:
        name, values = str(column), table[column]
        if any(isinstance(v, Note) or isinstance(v, (tuple, list)) and v and isinstance(v[0], Note) for v in values) \
                or len(values) and all(isinstance(v, (tuple, list)) and not v for v in values):  # notes, or none at all
            out[name] = ["; ".join(render_note(n, lang) for n in (v if isinstance(v, (tuple, list)) else (v,))
                                   if isinstance(n, Note)) if isinstance(v, (Note, tuple, list)) else v
                         for v in values]
            continue
        out[name] = values.tolist()
        if column_kind(name, kinds) is not None:
            continue
        if name in domains:
            words[f"{name}_label"] = [code_label(domains[name], v, lang) for v in values]
        elif pd.api.types.is_bool_dtype(values):
            words[f"{name}_label"] = [code_label("bool", v, lang) for v in values]
    for name, column in words.items():
        if name not in out:
            out[name] = column
    return pd.DataFrame(out)


#: Fixed time stamp inside the XLSX (its zip entries and document properties): the same table
#: gives the same bytes.
_XLSX_TIME = (2000, 1, 1, 0, 0, 0)


def _xlsx_cell(value):
    """A value openpyxl can store: numbers and booleans as they are, dates as dates, missing as
    empty, empty sequences as empty, anything else (a list of codes, a Period) as its text."""
    import datetime

    if value is None or isinstance(value, (str, bool, int, float, datetime.date, datetime.datetime)):
        return None if isinstance(value, float) and value != value else value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, (list, tuple, set, dict)):
        return "; ".join(map(str, value)) if value else None
    if hasattr(value, "item"):  # numpy scalar
        item = value.item()
        return None if isinstance(item, float) and item != item else item
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def write_xlsx(table: pd.DataFrame, path: Path, sheet: str) -> None:
    """``table`` as one sheet of an Excel workbook, numbers as numbers, reproducible bytes."""
    import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = re.sub(r"[\[\]:*?/\\]", "-", sheet)[:31] or "table"
    worksheet.append([str(c) for c in table.columns])
    for row in table.itertuples(index=False):
        worksheet.append([_xlsx_cell(value) for value in row])
    stamp = datetime.datetime(*_XLSX_TIME)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    buffer = io.BytesIO()
    workbook.save(buffer)
    fixed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, \
            zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_XLSX_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time as "modified" whatever the properties say
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", content)
            target.writestr(entry, content)
    Path(path).write_bytes(fixed.getvalue())


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
    workbook = f"tables/{key}.xlsx"
    (directory / "tables").mkdir(parents=True, exist_ok=True)
    display = for_display(shown, lang, kinds=kinds, labels=labels)
    download = download_table(shown, lang, kinds=kinds, labels=labels)
    download.to_csv(directory / relative, index=False, lineterminator="\n")
    write_xlsx(download, directory / workbook, key)
    exhibit = _register("table", key, caption, relative, directory,
                        count_columns=tuple(map(str, count_columns)),
                        min_count=min_count if count_columns else None,
                        downloads=(relative, workbook))
    label = t("label.exhibit.table", lang, number=exhibit.number)
    declared = html.escape(",".join(map(str, count_columns)), quote=True)
    links = (f'<span class="exhibit-links"><a href="{relative}" download>{html.escape(t("ui.render.download_csv", lang))}</a>'
             f'<a href="{workbook}" download>{html.escape(t("ui.render.download_xlsx", lang))}</a></span>')
    markup = (
        f'<figure class="exhibit exhibit-table" id="tab-{html.escape(key)}" '
        f'data-count-columns="{declared}" data-min-count="{min_count}">'
        f'<figcaption><strong>{label}.</strong> {html.escape(caption)} {links}</figcaption>'
        f'<div class="table-scroll" role="region" tabindex="0" aria-label="{html.escape(caption, quote=True)}">'
        f"{display.to_html(index=False, border=0, classes='dataframe exhibit-table', na_rep='–')}</div></figure>"
    )
    _display_html(markup)
    return exhibit


#: Kinds of callout (``ui.render.callout_<kind>`` is its title); the pages style each.
CALLOUT_KINDS = ("diagnostic", "warning", "note")


def callout_html(text: str, kind: str, lang: str, title: str | None = None) -> str:
    """An ``<aside class="callout callout-<kind>">`` with a title and ``text`` (Markdown)."""
    if kind not in CALLOUT_KINDS:
        raise ValueError(f"callout kind {kind!r}: use one of {', '.join(CALLOUT_KINDS)}")
    try:
        import mistune

        body = mistune.html(text)
    except ImportError:  # pragma: no cover - nbconvert brings mistune
        body = f"<p>{html.escape(text)}</p>"
    heading = html.escape(title if title is not None else t(f"ui.render.callout_{kind}", lang))
    return (f'<aside class="callout callout-{kind}" role="note">'
            f'<span class="callout-title">{heading}</span>{body}</aside>')


def show_callout(text: str, kind: str = "diagnostic", *, title: str | None = None) -> None:
    """Display ``text`` (Markdown, already in the report's language) as a callout box: a
    ``diagnostic`` that failed or warns, a ``warning`` to the reader, or a ``note``."""
    _, lang = _resolve()
    _display_html(callout_html(text, kind, lang, title))


def registered() -> list[Exhibit]:
    """The exhibits shown since the last ``configure``."""
    return list(_registry.exhibits)
