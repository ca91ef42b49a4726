"""Open built indexes and reports in headless Chromium (Debian's ``chromium`` driven by Playwright,
no browser download), served over loopback with every other host blocked.

Fast: the tiny project of ``test_report_build`` built twice, without and with a simulator's
``truth.json`` (the synthetic-data banner follows it). Slow (marked): one report of each notebook
on the default synthetic dataset, checked at a 390 px phone width for sideways scrolling, raw
codes and text in the other language.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_report_build import make_project

from analysis.paths import PROJECT_ROOT
from analysis.report.build import build_reports

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (make browser)")

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--font-render-hinting=none", "--disable-lcd-text", "--force-color-profile=srgb",
]

#: What a reviewer page must not show outside its provenance footer: Python literals, snake_case
#: identifiers (column names, codes), file and module names, floats in scientific notation.
RAW_CODE = re.compile(r"\b(True|False|None|NaN|nan)\b|\b[a-z]+_[a-z0-9_]+\b|\w\.(py|csv|parquet|ipynb)\b"
                      r"|\banalysis\.[a-z]|\b\d\.\d+e[-+]\d+\b")
#: Words of running text in the other language (whole words, lower case).
STOP_WORDS = {
    "id": re.compile(r"\b(the|and|of|with|is|are|this|that|which|from|were|not|to|for|on|by|was|has|be|an|it"
                     r"|its|than)\b"),
    "en": re.compile(r"\b(yang|dan|dengan|untuk|pada|tidak|adalah|dari|ini|atau|di|ke|oleh|bahwa|dalam|juga"
                     r"|sebagai|lebih)\b"),
}
#: Stop words tolerated per page (a Pemda's legal instrument or a data value may carry one).
STOP_WORDS_ALLOWED = 3
#: The page's visible text without its provenance footer (which names files and parameters on purpose).
VISIBLE_TEXT = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('section.provenance, style, script').forEach(e => e.remove());
  return body.innerText;
}"""
#: Elements that stick out to the right of the viewport and are not inside a scroll container.
OVERFLOWING = """() => {
  const width = window.innerWidth;
  const scrolls = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (['auto', 'scroll'].includes(style.overflowX) && a.getBoundingClientRect().right <= width + 1) return true; }
    return false; };
  return [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > width + 1 && getComputedStyle(e).display !== 'none' && !scrolls(e))
    .slice(0, 5).map(e => e.tagName + '.' + e.className);
}"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on a loopback port; yields the base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def phone_page(base: str, blocked: list[str], width: int = 390):
    """A Chromium page at a phone's width that may only load from ``base``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": 844}, device_scale_factor=1)

        def route(request_route):
            url = request_route.request.url
            if url.startswith(base) or url.startswith("data:"):
                request_route.continue_()
            else:
                blocked.append(url)
                request_route.abort()

        context.route("**/*", route)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def _tiny_build(root: Path, *, synthetic: bool) -> Path:
    paths = make_project(root, with_failures=False)
    if synthetic:  # what the simulator leaves next to its tables
        (paths["data"] / "truth.json").write_text('{"service": {}, "budget": {}}', encoding="utf-8")
    out = root / "out"
    summary = build_reports(config_path=paths["config"], data_dir=paths["data"], out_dir=out, jobs=1,
                            only="tiny_ok-id")
    assert summary.exit_code == 0
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Two tiny builds side by side: ``plain/`` (no truth files) and ``synthetic/``."""
    root = tmp_path_factory.mktemp("browser")
    site = root / "site"
    site.mkdir()
    for name, synthetic in (("plain", False), ("synthetic", True)):
        out = _tiny_build(root / name, synthetic=synthetic)
        shutil.copytree(out, site / name)
    with serve(site) as base:
        yield base


@pytest.fixture(scope="module")
def page_and_log(served):
    blocked: list[str] = []
    with phone_page(served, blocked) as page:
        yield page, blocked, served


@needs_chromium
def test_index_and_report_render_offline(page_and_log):
    page, blocked, base = page_and_log
    response = page.goto(f"{base}/plain/index.html", wait_until="load")
    assert response.status == 200
    assert page.locator("li.report").count() == 1
    assert page.locator('li.report[data-status="ok"] .headline').inner_text().startswith("Scaled requests")
    # responsive: no horizontal scrolling on a phone-sized viewport
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.evaluate(OVERFLOWING) == []

    page.click("li.report >> text=Laporan")
    page.wait_for_selector("figure")
    assert page.url.endswith("/tiny_ok-id/report.html")
    images = page.locator("figure img")
    assert images.count() == 1
    assert page.evaluate("[...document.images].every(img => img.complete && img.naturalWidth > 0)")
    assert images.first.get_attribute("alt") == "Bar chart of request counts per service type"
    captions = page.locator("figcaption").all_inner_texts()
    assert captions[0].startswith("Gambar 1.") and captions[1].startswith("Tabel 1.")
    assert page.locator(".jp-InputArea, .jp-Cell-inputWrapper").count() == 0  # no code in the reviewer view
    assert page.locator(".report-error").count() == 0
    assert page.get_by_text("An Exception was encountered").count() == 0
    assert page.locator("section.provenance").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.evaluate(OVERFLOWING) == []

    page.click("text=Tampilkan dengan kode")
    page.wait_for_selector(".jp-InputArea")
    assert page.locator(".jp-InputArea").count() > 0
    assert blocked == []


@needs_chromium
def test_figures_enlarge_and_tables_download(page_and_log):
    page, blocked, base = page_and_log
    page.goto(f"{base}/plain/tiny_ok-id/report.html", wait_until="load")
    figure = page.locator("figure.exhibit-figure")
    assert figure.locator("img").bounding_box()["width"] >= 0.85 * 390  # full width on a phone
    link = figure.locator("figcaption a")
    assert link.inner_text() == "Perbesar gambar" and link.get_attribute("href") == "figures/volumes.png"
    downloads = page.locator("figure.exhibit-table figcaption a")
    assert [downloads.nth(i).get_attribute("href") for i in range(downloads.count())] == [
        "tables/volume-table.csv", "tables/volume-table.xlsx"]
    for i in range(downloads.count()):
        assert page.request.get(f"{base}/plain/tiny_ok-id/{downloads.nth(i).get_attribute('href')}").ok
    assert page.locator("figure.exhibit-table .table-scroll table").count() == 1
    assert blocked == []


@needs_chromium
def test_reviewer_page_has_contents_methods_and_glossary(page_and_log):
    page, _, base = page_and_log
    page.goto(f"{base}/plain/tiny_ok-id/report.html", wait_until="load")
    assert page.locator("section.methods h2").inner_text() == "Metode singkat"
    terms = page.locator("section.methods dt").all_inner_texts()
    assert {"ATT", "IK 95%", "Log poin", "SPBE", "e-Kinerja", "TKD", "Pemda"} <= set(terms)
    toc = page.locator("nav.toc a")
    assert toc.count() >= 2 and "#methods" in [toc.nth(i).get_attribute("href") for i in range(toc.count())]


@needs_chromium
def test_synthetic_banner_follows_the_truth_files(page_and_log):
    page, _, base = page_and_log
    page.goto(f"{base}/synthetic/tiny_ok-id/report.html", wait_until="load")
    banner = page.locator(".synthetic-banner")
    assert banner.count() == 1 and banner.inner_text().startswith("DATA SINTETIS")
    page.goto(f"{base}/synthetic/tiny_ok-id/report-full.html", wait_until="load")
    assert page.locator(".synthetic-banner").count() == 1
    page.goto(f"{base}/plain/tiny_ok-id/report.html", wait_until="load")
    assert page.locator(".synthetic-banner").count() == 0


@needs_chromium
def test_print_drops_navigation_and_keeps_figures_whole(page_and_log):
    page, _, base = page_and_log
    page.goto(f"{base}/plain/tiny_ok-id/report.html", wait_until="load")
    page.emulate_media(media="print")
    try:
        assert page.locator(".report-nav").evaluate("e => getComputedStyle(e).display") == "none"
        assert page.locator("nav.toc").evaluate("e => getComputedStyle(e).display") == "none"
        assert page.locator("figure.exhibit-figure").evaluate("e => getComputedStyle(e).breakInside") == "avoid"
        assert page.pdf(format="A4")[:4] == b"%PDF"
    finally:
        page.emulate_media(media="screen")


@needs_chromium
def test_index_groups_by_question_and_switches_language(page_and_log):
    page, _, base = page_and_log
    page.goto(f"{base}/plain/index.html", wait_until="load")
    assert page.locator("section.group").count() >= 1
    switch = page.locator("nav.lang-switch a")
    assert switch.all_inner_texts() == ["Bahasa Indonesia", "English"]
    assert page.locator("li.report.lang-id").is_visible()
    page.goto(f"{base}/plain/index.html#en", wait_until="load")
    assert not page.locator("li.report.lang-id").is_visible()


# ----------------------------------------------------------------------------- the default build

#: One report of each notebook, in Indonesian, and the English twins of two of them.
DEFAULT_REPORTS = ("00_data_overview-*,10_service_time-all-*,20_budget_savings-id,30_case_study-17-id,"
                   "50_pilot_design-id,90_policy_brief-id")


@pytest.fixture(scope="module")
def default_site(default_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("default-site") / "out"
    summary = build_reports(config_path=PROJECT_ROOT / "reports.yaml", data_dir=default_dataset, out_dir=out,
                            jobs=2, only=DEFAULT_REPORTS)
    assert summary.exit_code == 0
    with serve(out) as base:
        yield out, base


@pytest.mark.slow
@needs_chromium
def test_default_build_reads_on_a_phone_without_codes_or_the_other_language(default_site):
    out, base = default_site
    pages = sorted(p.parent.name for p in out.glob("*/report.html"))
    notebooks = {name.split("-")[0] for name in pages}
    assert {"00_data_overview", "10_service_time", "20_budget_savings", "50_pilot_design"} <= notebooks

    def look() -> tuple[list[str], dict]:
        blocked: list[str] = []
        problems = {}
        with phone_page(base, blocked) as page:
            page.goto(f"{base}/index.html", wait_until="load")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            assert page.evaluate(OVERFLOWING) == []
            for slug in pages:
                lang = slug.rsplit("-", 1)[-1]
                page.goto(f"{base}/{slug}/report.html", wait_until="load")
                found = {}
                if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"):
                    found["scrolls sideways"] = page.evaluate("document.documentElement.scrollWidth")
                if overflowing := page.evaluate(OVERFLOWING):
                    found["overflowing"] = overflowing
                text = page.evaluate(VISIBLE_TEXT)
                if codes := sorted({m.group(0) for m in RAW_CODE.finditer(text)}):
                    found["raw codes"] = codes
                if lang in STOP_WORDS:
                    words = STOP_WORDS[lang].findall(text)
                    if len(words) > STOP_WORDS_ALLOWED:
                        found["other language"] = sorted(set(words))
                    if page.locator(".synthetic-banner").count() != 1:
                        found["synthetic banner"] = "missing"
                if found:
                    problems[slug] = found
        return blocked, problems

    # In its own thread: a notebook run earlier in this process (papermill) can leave an asyncio
    # loop running in the main thread, and Playwright's sync API refuses to start inside one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        blocked, problems = pool.submit(look).result()
    assert blocked == []
    assert not problems, problems


# ----------------------------------------------------------------------------- without a browser
# (quick checks of what the pages above rely on)

def test_downloads_keep_numbers_and_codes_with_labels(tmp_path):
    import pandas as pd
    from openpyxl import load_workbook

    from analysis.report import exhibits

    table = pd.DataFrame({"service_type": ["perizinan", "bansos"], "n_requests": [25, 3], "share_online": [0.5, 0.25],
                          "is_trial": [True, False]})
    for folder in ("a", "b"):
        exhibits.configure(tmp_path / folder, "id")
        exhibits.show_table(table, "volumes", "Volumes", count_columns=["n_requests"])
        time.sleep(1.1)  # the workbooks are saved in different seconds: their bytes must not say when
    saved = pd.read_csv(tmp_path / "a" / "tables" / "volumes.csv")
    assert list(saved.columns) == ["service_type", "n_requests", "share_online", "is_trial", "service_type_label",
                                   "is_trial_label"]
    assert saved["service_type"].tolist() == ["perizinan", "bansos"]
    assert saved["service_type_label"].tolist() == ["Perizinan", "Bantuan sosial"]
    sheet = load_workbook(tmp_path / "a" / "tables" / "volumes.xlsx").active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("service_type", "n_requests", "share_online")
    assert rows[1][1] == 25 and rows[1][2] == 0.5 and rows[2][1] == "<10"  # numbers as numbers, small counts hidden
    assert (tmp_path / "a/tables/volumes.xlsx").read_bytes() == (tmp_path / "b/tables/volumes.xlsx").read_bytes()
    listed = exhibits.registered()[0]
    assert listed.downloads == ("tables/volumes.csv", "tables/volumes.xlsx")


def test_callouts_and_note_lines_are_marked_for_the_page_style():
    from analysis.report import exhibits, render

    markup = exhibits.callout_html("Uji tren sebelum adopsi **gagal** (p = 0,017).", "diagnostic", "id")
    assert markup.startswith('<aside class="callout callout-diagnostic" role="note">')
    assert "Diagnostik" in markup and "<strong>gagal</strong>" in markup
    with pytest.raises(ValueError, match="callout kind"):
        exhibits.callout_html("x", "shout", "id")
    assert ".callout-diagnostic" in render._CSS and "@media print" in render._CSS
    assert 'class="note-line"' in render.mark_note_lines("<p><em>Note:</em> three cells merged</p>", "en")


def test_page_appendix_banner_and_contents_from_a_notebook(tmp_path):
    import nbformat

    from analysis.report.render import render_report

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Judul\n\n## Bagian satu\n\nTeks.\n\n## Bagian dua\n\nTeks.")]
    path = tmp_path / "report.ipynb"
    nbformat.write(nb, path)
    page = render_report(path, title="t", lang="id", provenance={"inputs": {"truth.json": "0" * 64}})["html"].read_text()
    assert 'class="synthetic-banner"' in page and 'id="methods"' in page and 'class="toc"' in page
    assert page.index('class="toc"') > page.index("</h1>")  # the contents follow the title
    nb.metadata["wfa_page"] = {"appendix": False}
    nbformat.write(nb, path)
    page = render_report(path, title="t", lang="id", provenance={"inputs": {"budget.csv": "0" * 64}})["html"].read_text()
    assert 'class="synthetic-banner"' not in page and 'id="methods"' not in page
    nb.metadata["wfa_page"] = {"banner": False}  # a page with its own banner (the brief)
    nbformat.write(nb, path)
    page = render_report(path, title="t", lang="id", provenance={"inputs": {"truth.json": "0" * 64}})["html"].read_text()
    assert 'class="synthetic-banner"' not in page and 'id="methods"' in page
