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
from pathlib import Path
from typing import Any

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from analysis.texts import LANGUAGES, check_lang, t

REVIEWER_HTML = "report.html"
FULL_HTML = "report-full.html"

#: Tag of a cell in one language: ``lang-id`` / ``lang-en``.
LANG_TAG = "lang-{lang}"

_CSS = """
body { max-width: 60rem; margin: 0 auto; padding: 0 0.75rem; }
.report-nav { font: 0.9rem sans-serif; margin: 0.75rem 0; display: flex; gap: 1rem; flex-wrap: wrap; }
.report-error { border: 2px solid #b00020; background: #fdecea; padding: 0.75rem; margin: 1rem 0;
  font-family: sans-serif; }
.report-error pre { white-space: pre-wrap; background: #fff; padding: 0.5rem; overflow-x: auto; }
.provenance { font: 0.8rem sans-serif; margin: 2rem 0 1rem; border-top: 1px solid #ccc; }
.provenance table { border-collapse: collapse; }
.provenance td, .provenance th { text-align: left; padding: 0.15rem 0.5rem; vertical-align: top;
  overflow-wrap: anywhere; }
figure img, .jp-OutputArea-output img { max-width: 100%; height: auto; }
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


@functools.lru_cache(maxsize=8)  # one exporter per kind and language: its templates compile once
def _exporter(*, with_code: bool, lang: str | None) -> HTMLExporter:
    loader = jinja2.DictLoader({"wfa_report.html.j2": _TEMPLATE})
    exporter = HTMLExporter(
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

    Returns ``{"html": path, "full_html": path}``.
    """
    notebook_path = Path(notebook_path)
    nb = nbformat.read(notebook_path, as_version=4)
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
                "header": nav + error_banner(error, lang),
                "footer": provenance_footer(provenance, lang),
            },
        }
        source_nb = nb if with_code else _reviewer_notebook(nb)
        body, _ = _exporter(with_code=with_code, lang=lang).from_notebook_node(source_nb, resources=resources)
        path = notebook_path.parent / filename
        path.write_text(body, encoding="utf-8")
        outputs[key] = path
    return outputs
