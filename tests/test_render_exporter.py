"""The report pages' exporter (:class:`analysis.report.render._PageExporter`) gives nbconvert's page
without nbconvert's BeautifulSoup pass: parsed, the two pages are the same document."""

from __future__ import annotations

import base64

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbconvert.exporters import html as html_exporter

from analysis.report import render

# a 1x1 PNG
PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def _notebook() -> nbformat.NotebookNode:
    v4 = nbformat.v4
    return v4.new_notebook(
        metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}},
        cells=[
            v4.new_markdown_cell("# Title\n\n## A section\n\nText with ![an image](data:image/png;base64,"
                                 f"{PIXEL}) and <b>bold</b> &amp; an entity.\n\n### Sub"),
            v4.new_code_cell("print('x')", outputs=[
                v4.new_output("stream", name="stdout", text="x <y> & z\n"),
                v4.new_output("stream", name="stderr", text="a warning\n"),
            ]),
            v4.new_code_cell("show()", outputs=[
                v4.new_output("display_data", data={
                    "text/html": f'<figure><img src="data:image/png;base64,{PIXEL}" alt="a described figure">'
                                 '<figcaption>Figure 1</figcaption></figure><div class="x" tabindex="-1">t</div>',
                    "text/plain": "<figure>"}),
                v4.new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"}),
                v4.new_output("display_data", data={"text/markdown": "**note** line", "text/plain": "note"}),
                v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=3),
            ]),
        ],
    )


@pytest.mark.parametrize("with_code", [False, True])
def test_the_page_is_nbconverts_page(with_code, monkeypatch):
    notebook = _notebook()
    settings = dict(template_name="lab", exclude_input=not with_code, exclude_input_prompt=not with_code,
                    exclude_output_prompt=True, embed_images=True)
    theirs, _ = HTMLExporter(**settings).from_notebook_node(notebook)

    def no_parse(*args, **kwargs):
        raise AssertionError("the page exporter parsed the page with BeautifulSoup")

    with monkeypatch.context() as patched:  # the point of the exporter: no parse of the whole page
        patched.setattr(html_exporter, "BeautifulSoup", no_parse)
        ours, _ = render._PageExporter(**settings).from_notebook_node(notebook)
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs
    # what nbconvert's pass adds is there: focusable cells, a text for the image without one
    soup = BeautifulSoup(ours, features="html.parser")
    outputs = soup.select(".jp-Notebook div.jp-OutputArea-output")
    assert outputs and all(div.get("tabindex") == "0" for div in outputs)
    assert all(img.get("alt") for img in soup.select("img"))
    assert soup.select_one('img[alt="a described figure"]') is not None
    assert soup.select_one("div.x")["tabindex"] == "-1"  # an output's own attribute is left alone
    if with_code:
        assert all(div.get("tabindex") == "0" for div in soup.select(".jp-Notebook div.jp-Cell-inputWrapper"))


def test_accessible_only_touches_the_templates_tags():
    page = ('<div class="jp-Cell-inputWrapper"><div class="jp-OutputArea-output other" data-x="1">'
            '<div class="jp-OutputArea-outputs"><div id="u" class="jp-RenderedJavaScript jp-OutputArea-output">'
            '<img src="a.png"><img src="b.png" alt=""><img src="c.png"/></div></div></div></div>')
    assert render._accessible(page) == (
        '<div class="jp-Cell-inputWrapper" tabindex="0"><div class="jp-OutputArea-output other" data-x="1" '
        'tabindex="0"><div class="jp-OutputArea-outputs">'
        '<div id="u" class="jp-RenderedJavaScript jp-OutputArea-output" tabindex="0">'
        f'<img src="a.png" alt="{render.MISSING_ALT}"><img src="b.png" alt="">'
        f'<img src="c.png" alt="{render.MISSING_ALT}"/></div></div></div></div>')
