"""Render an executed notebook to HTML: a reviewer version (code hidden) and a full version.

Both pages work offline: the nbconvert ``lab`` template is extended so that no script is loaded
from a CDN (require.js, MathJax, Mermaid, widget managers are dropped; our notebooks emit only
static images, HTML tables and text). The reviewer page links to the full page and carries a
provenance footer; a failed report shows an error banner with the failing cell's source.

Language: a notebook's markdown cells are tagged ``lang-id`` or ``lang-en``; both pages of a
report in one language drop the other language's cells (nbconvert's ``TagRemovePreprocessor``),
while the executed ``report.ipynb`` keeps both. The words around the notebook (navigation,
banner, provenance) come from the catalogue (``ui.render.*``); a report without a ``lang``
parameter gets them in both languages and keeps every cell.
"""

from __future__ import annotations

import copy
import functools
import html
import re
from pathlib import Path
from typing import Any

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import TagRemovePreprocessor

from analysis.texts import LANGUAGES, check_lang, t

REVIEWER_HTML = "report.html"
FULL_HTML = "report-full.html"

#: Tag of a cell in one language: ``lang-id`` / ``lang-en``.
LANG_TAG = "lang-{lang}"

_CSS = """
body { max-width: 60rem; margin: 0 auto; padding: 0 0.75rem; overflow-wrap: break-word; }
.report-nav { font: 0.9rem sans-serif; margin: 0.75rem 0; display: flex; gap: 1rem; flex-wrap: wrap; }
.report-error { border: 2px solid #b00020; background: #fdecea; padding: 0.75rem; margin: 1rem 0;
  font-family: sans-serif; }
.report-error pre { white-space: pre-wrap; background: #fff; padding: 0.5rem; overflow-x: auto; }
.synthetic-banner { border: 2px solid #b26a00; background: #fff4e0; color: #5c3700; padding: 0.5rem 0.75rem;
  margin: 0.75rem 0; font: 0.95rem sans-serif; }
.synthetic-banner strong { letter-spacing: 0.03em; }
nav.toc { font: 0.9rem sans-serif; margin: 1rem 0; padding: 0.5rem 0.75rem; border-left: 3px solid #2a6f97;
  background: #f5f9fc; }
nav.toc summary { font-weight: bold; cursor: pointer; }
nav.toc ol { margin: 0.4rem 0 0; padding-left: 1.25rem; }
nav.toc li.toc-h3 { margin-left: 1rem; list-style-type: circle; }
.callout { border-left: 4px solid #2a6f97; background: #f1f6fa; padding: 0.5rem 0.75rem; margin: 1rem 0;
  font-family: sans-serif; }
.callout > :first-child { margin-top: 0; }
.callout > :last-child { margin-bottom: 0; }
.callout-diagnostic, .callout-warning { border-left-color: #b26a00; background: #fff4e0; }
.callout-failed { border-left-color: #b00020; background: #fdecea; }
p.note-line { border-left: 3px solid #8a8a8a; background: #f6f6f6; padding: 0.35rem 0.6rem; font-size: 0.95em; }
.callout-title { display: block; font-weight: bold; margin-bottom: 0.25rem; }
table.exhibit-table td:first-child, table.exhibit-table th:first-child { text-align: left; }
table.exhibit-table td, table.exhibit-table th { padding: 0.3em 0.5em; }
.table-scroll { max-width: 100%; overflow-x: auto; -webkit-overflow-scrolling: touch; }
.jp-OutputArea-output { max-width: 100%; overflow-x: auto; }
.jp-RenderedHTMLCommon table, .jp-RenderedHTMLCommon thead, .jp-RenderedHTMLCommon tbody { max-width: none; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { white-space: normal; min-width: 4.5rem; }
pre, .jp-RenderedText pre { white-space: pre-wrap; overflow-wrap: anywhere; }
figure.exhibit { margin: 1.25rem 0; }
figure.exhibit-figure img, figure img, .jp-OutputArea-output img { display: block; width: auto; max-width: 100%;
  height: auto; }
figcaption { font-family: sans-serif; font-size: 0.95rem; margin: 0.4rem 0; }
.exhibit-links { white-space: nowrap; font-size: 0.85rem; }
.exhibit-links a { margin-left: 0.5rem; }
section.methods { font-family: sans-serif; font-size: 0.95rem; margin-top: 2.5rem; border-top: 1px solid #ccc; }
section.methods dt { font-weight: bold; margin-top: 0.5rem; }
section.methods dd { margin-left: 1rem; }
.provenance { font: 0.8rem sans-serif; margin: 2rem 0 1rem; border-top: 1px solid #ccc; }
.provenance summary { font-weight: bold; cursor: pointer; margin: 0.75rem 0; }
.provenance table { border-collapse: collapse; width: 100%; table-layout: fixed; }
.provenance th { width: 9rem; }
.provenance td, .provenance th { text-align: left; padding: 0.15rem 0.5rem; vertical-align: top; }
.provenance td { overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  body { padding: 0 0.5rem; }
  .jp-Cell { padding: 0 !important; }
  .jp-RenderedHTMLCommon { padding-right: 0 !important; }
  .provenance th, .provenance td { display: block; width: auto; padding: 0.1rem 0; }
  figure.exhibit-figure img, figure img, .jp-OutputArea-output img { width: 100%; }
  .provenance th { margin-top: 0.4rem; }
}
@media print {
  @page { size: A4; margin: 15mm 14mm; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  .report-nav, nav.toc, .exhibit-links, a.anchor-link, .jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
  section.methods { font-size: 8.5pt; }
  section.methods dl { columns: 2; column-gap: 1.5rem; }
  section.methods dt { break-after: avoid; }
  .provenance { font-size: 7pt; }
  figure, .callout, .synthetic-banner, img, tr { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3, h4, figcaption { break-after: avoid; page-break-after: avoid; }
  .table-scroll, .jp-OutputArea-output { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  .synthetic-banner { background: none; }
}
"""

#: the lab template minus every remote script, plus our navigation, banner and footer
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style type="text/css">{{ resources.wfa.css }}</style>{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.wfa.header }}
<!--wfa-toc-->
{%- endblock body_header -%}
{%- block body_footer -%}
{{ resources.wfa.footer }}
{{ super() }}
{%- endblock body_footer -%}
"""


def _label(key: str, lang: str | None, **params) -> str:
    """``ui.render.<key>`` in ``lang``; both languages (``id / en``) for a report without one."""
    if lang is None:
        return " / ".join(t(f"ui.render.{key}", code, **params) for code in LANGUAGES)
    return t(f"ui.render.{key}", check_lang(lang), **params)


#: Glossary entries (``ui.render.glossary.<key>.term`` / ``.text``), in the order shown.
GLOSSARY = ("wfa", "pemda", "att", "ci", "log_points", "spbe", "ekinerja", "tkd")
#: Kinds of callout a notebook can emit (``analysis.report.exhibits.show_callout``).
CALLOUT_KINDS = ("diagnostic", "warning", "note")
#: Notebook metadata that shapes its pages: ``{"wfa_page": {"appendix": false}}`` leaves out the
#: methods note and glossary (a page that must print on few sheets, e.g. the policy brief);
#: ``"banner": false`` leaves out the synthetic-data banner (a notebook that shows its own).
PAGE_METADATA = "wfa_page"
#: Marker the page template leaves where the table of contents goes (when the page has no h1).
_TOC_MARK = "<!--wfa-toc-->"
_HEADING = re.compile(r'<h([23])\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h\1>', re.S)


def is_synthetic(provenance: dict[str, Any]) -> bool:
    """Whether the report ran on simulated data: its inputs include the simulator's ``truth.json``
    (what :attr:`analysis.data.Dataset.is_simulated` decides by)."""
    return "truth.json" in (provenance.get("inputs") or {})


def synthetic_banner(synthetic: bool, lang: str | None) -> str:
    """The "synthetic data" banner at the top of every page of a report on simulated data."""
    if not synthetic:
        return ""
    return (
        f'<div class="synthetic-banner" role="note"><strong>{html.escape(_label("synthetic", lang))}</strong> '
        f"{html.escape(_label('synthetic_text', lang))}</div>"
    )


def _plain(fragment: str) -> str:
    text = re.sub(r"<a class=\"anchor-link\".*?</a>", "", fragment, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).replace("\u00b6", "").strip()


def table_of_contents(body: str, lang: str | None) -> str:
    """``<nav class="toc">`` listing the page's h2/h3 headings (empty for fewer than two)."""
    entries = [(int(level), anchor, _plain(inner)) for level, anchor, inner in _HEADING.findall(body)]
    entries = [entry for entry in entries if entry[2]]
    if len(entries) < 2:
        return ""
    items = "".join(
        f'<li class="toc-h{level}"><a href="#{html.escape(anchor, quote=True)}">{html.escape(text)}</a></li>'
        for level, anchor, text in entries
    )
    title = html.escape(_label("toc", lang))
    return f'<nav class="toc" aria-label="{title}"><details open><summary>{title}</summary><ol>{items}</ol></details></nav>'


def _insert_toc(body: str, lang: str | None) -> str:
    toc = table_of_contents(body, lang)
    start = body.find(_TOC_MARK)
    first_h1 = re.compile(r"</h1>").search(body, start if start >= 0 else 0)
    if toc and first_h1:
        body = body[: first_h1.end()] + toc + body[first_h1.end():]
        return body.replace(_TOC_MARK, "", 1)
    return body.replace(_TOC_MARK, toc, 1)


def mark_note_lines(body: str, lang: str | None) -> str:
    """Give the notes a notebook shows with ``ctx.show_notes`` (``label.note_line``: *Catatan:* …)
    the ``note-line`` class, so that the page sets them off like a callout."""
    for code in LANGUAGES if lang is None else (lang,):
        word = t("label.note_line", code, text="").replace("*", "").strip()
        if word:
            body = body.replace(f"<p><em>{html.escape(word)}</em>", f'<p class="note-line"><em>{html.escape(word)}</em>')
    return body


def methods_appendix(lang: str | None) -> str:
    """A short methods note and a glossary of the pages' terms, in the page's language."""
    terms = "".join(
        f"<dt>{html.escape(_label(f'glossary.{key}.term', lang))}</dt>"
        f"<dd>{html.escape(_label(f'glossary.{key}.text', lang))}</dd>"
        for key in GLOSSARY
    )
    return (
        f'<section class="methods" aria-label="{html.escape(_label("methods_title", lang), quote=True)}">'
        f'<h2 id="methods">{html.escape(_label("methods_title", lang))}</h2>'
        f"<p>{html.escape(_label('methods_text', lang))}</p>"
        f'<h3 id="glossary">{html.escape(_label("glossary_title", lang))}</h3><dl>{terms}</dl></section>'
    )


def other_language_tags(lang: str | None) -> set[str]:
    """The cell tags a page in ``lang`` removes (none for a report without a language)."""
    if lang is None:
        return set()
    check_lang(lang)
    return {LANG_TAG.format(lang=other) for other in LANGUAGES if other != lang}


def error_banner(error: dict[str, Any] | None, lang: str | None) -> str:
    """HTML banner for a failed report: the exception and the failing cell's source."""
    if not error:
        return ""
    where = ""
    if error.get("cell_index") is not None:
        where = " " + _label("cell_position", lang, cell=str(int(error["cell_index"])),
                             count=str(error.get("exec_count")))
    source = ""
    if error.get("source"):
        source = f"<p>{html.escape(_label('failing_cell', lang))}{html.escape(where)}:</p><pre>{html.escape(str(error['source']))}</pre>"
    return (
        f'<div class="report-error" role="alert"><strong>{html.escape(_label("failed", lang))}</strong>'
        f"<p><code>{html.escape(str(error.get('ename', 'Error')))}: "
        f"{html.escape(str(error.get('evalue', '')))}</code></p>{source}</div>"
    )


def provenance_footer(provenance: dict[str, Any], lang: str | None) -> str:
    """Small table of the report's provenance (commit, inputs, parameters, versions, timing)."""
    git = provenance.get("git") or {}
    commit = git.get("commit") or "-"
    if git.get("dirty"):
        commit += " (dirty)"
    rows = [
        (_label("provenance_git", lang), commit),
        (_label("provenance_parameters", lang),
         ", ".join(f"{k}={v}" for k, v in sorted((provenance.get("parameters") or {}).items()))),
        (_label("provenance_seed", lang), provenance.get("seed")),
        (_label("provenance_started", lang), provenance.get("started_at")),
        (_label("provenance_duration", lang), provenance.get("duration_s")),
        (_label("provenance_inputs", lang),
         "; ".join(f"{k} sha256:{v[:12]}" for k, v in sorted((provenance.get("inputs") or {}).items()))),
        (_label("provenance_packages", lang),
         ", ".join(f"{k} {v}" for k, v in sorted((provenance.get("packages") or {}).items()) if v)),
    ]
    body = "".join(
        f"<tr><th scope=\"row\">{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return (
        f'<section class="provenance" aria-label="{html.escape(_label("provenance", lang), quote=True)}">'
        f"<h2>{html.escape(_label('provenance', lang))}</h2><table>{body}</table></section>"
    )


#: nbconvert's text for an image without one (``HTMLExporter.from_notebook_node``)
MISSING_ALT = "No description has been provided for this image"
#: classes of the elements nbconvert makes focusable (``tabindex="0"``): cell inputs and outputs
_FOCUSABLE = ("jp-Cell-inputWrapper", "jp-OutputArea-output")
_DIV_TAG = re.compile(r"<div\b[^>]*>")
_CLASS = re.compile(r'\sclass="([^"]*)"')
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_ALT = re.compile(r"\salt=")


def _accessible(page: str) -> str:
    """What nbconvert 7's HTML exporter does to a page after its template, without parsing the
    page with BeautifulSoup (0.1-0.2 s per page, and the build renders two pages per report): an
    image without an ``alt`` gets nbconvert's text, and the template's cell-input and output
    ``div`` elements get ``tabindex="0"``. The template writes these tags with no ``>`` inside an
    attribute; the page equals nbconvert's once both are parsed (tested). Unlike nbconvert, a tag
    that already has a ``tabindex`` keeps it, and a ``<div`` written inside a ``<script>`` would be
    edited too (the reports emit no script)."""

    def focusable(match: re.Match) -> str:
        tag = match.group(0)
        classes = _CLASS.search(tag)
        if "tabindex=" in tag or classes is None or not set(classes.group(1).split()) & set(_FOCUSABLE):
            return tag
        return tag[:-1] + ' tabindex="0">'

    def described(match: re.Match) -> str:
        tag = match.group(0)
        if _ALT.search(tag):
            return tag
        end = -2 if tag.endswith("/>") else -1
        return tag[:end].rstrip() + f' alt="{MISSING_ALT}"' + tag[end:]

    return _IMG_TAG.sub(described, _DIV_TAG.sub(focusable, page))


class _PageExporter(HTMLExporter):
    """nbconvert's HTML exporter (7.17, pinned) whose last step is :func:`_accessible` instead
    of a BeautifulSoup pass over the whole page; the rest of ``from_notebook_node`` as nbconvert's."""

    def from_notebook_node(self, nb, resources=None, **kw):
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _accessible(page), resources


@functools.lru_cache(maxsize=8)  # one exporter per kind and language: its templates compile once
def _exporter(*, with_code: bool, lang: str | None) -> HTMLExporter:
    loader = jinja2.DictLoader({"wfa_report.html.j2": _TEMPLATE})
    exporter = _PageExporter(
        template_name="lab",
        template_file="wfa_report.html.j2",
        extra_loaders=[loader],
        exclude_input=not with_code,
        exclude_input_prompt=not with_code,
        exclude_output_prompt=True,
        embed_images=True,
        language_code=lang or "mul",  # <html lang>: "mul" (several languages) for a report without one
    )
    tags = other_language_tags(lang)
    if tags:
        exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags=tags, enabled=True), enabled=True)
    return exporter


def _reviewer_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Copy without stderr streams (warnings, progress bars) and without papermill's own
    error banner cell (our banner replaces it)."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        if "papermill-error-cell-tag" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        cells.append(cell)
    nb.cells = cells
    return nb


def render_report(
    notebook_path: Path,
    *,
    title: str,
    lang: str | None,
    provenance: dict[str, Any],
    error: dict[str, Any] | None = None,
    index_href: str = "../index.html",
) -> dict[str, Path]:
    """Write ``report.html`` (code hidden) and ``report-full.html`` next to the executed notebook.

    Both pages carry the synthetic-data banner when the report ran on simulated data
    (:func:`is_synthetic`), a table of contents from the page's headings, a short methods note
    with a glossary in the page's language (unless the notebook's metadata says
    ``{"wfa_page": {"appendix": false}}``) and the provenance footer.

    Returns ``{"html": path, "full_html": path}``.
    """
    notebook_path = Path(notebook_path)
    nb = nbformat.read(notebook_path, as_version=4)
    synthetic = is_synthetic(provenance)
    page_options = nb.metadata.get(PAGE_METADATA) or {}
    appendix = page_options.get("appendix", True)
    synthetic = synthetic and page_options.get("banner", True)
    outputs = {}
    for key, filename, with_code in (("html", REVIEWER_HTML, False), ("full_html", FULL_HTML, True)):
        other = FULL_HTML if not with_code else REVIEWER_HTML
        nav = (
            f'<nav class="report-nav"><a href="{index_href}">{html.escape(_label("index", lang))}</a>'
            f'<a href="{other}">{html.escape(_label("without_code" if with_code else "with_code", lang))}</a></nav>'
        )
        resources = {
            "metadata": {"name": title},
            "wfa": {
                "css": _CSS,
                "header": nav + synthetic_banner(synthetic, lang) + error_banner(error, lang),
                "footer": (methods_appendix(lang) if appendix else "") + provenance_footer(provenance, lang),
            },
        }
        source_nb = nb if with_code else _reviewer_notebook(nb)
        body, _ = _exporter(with_code=with_code, lang=lang).from_notebook_node(source_nb, resources=resources)
        body = mark_note_lines(_insert_toc(body, lang), lang)
        path = notebook_path.parent / filename
        path.write_text(body, encoding="utf-8")
        outputs[key] = path
    return outputs
