"""Imported by the build's fork server only (:func:`analysis.report.runner._pool_context`): renders
a one-cell notebook in every language and both page kinds, so that the HTML exporters and their
compiled templates (:func:`analysis.report.render._exporter`, cached per process) are in the
server's memory and every worker forked from it starts with them (about 0.5 s saved per report).

Importing this module has that side effect and nothing else; a failure here only costs the time."""

from __future__ import annotations


def warm_exporters() -> None:
    import nbformat

    from analysis.report import render
    from analysis.texts.languages import LANGUAGES

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# warm")])
    for lang in LANGUAGES:
        for with_code in (False, True):
            render._exporter(with_code=with_code, lang=lang).from_notebook_node(
                notebook, resources={"metadata": {"name": "warm"},
                                     "wfa": {"css": "", "header": "", "footer": ""}})


try:
    warm_exporters()
except Exception:  # noqa: BLE001 - an optimisation only; the workers compile on first use
    pass
