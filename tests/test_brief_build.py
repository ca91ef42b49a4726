"""The policy brief built on the default dataset, read in headless Chromium (slow: builds the
service-time and budget reports it quotes).

Every number of the key messages, the table and the diagnostics equals the ``results.json``
entry it cites, in that entry's unit; the PDF has at most two A4 pages; the Indonesian page has no
English running text and the reverse; the synthetic-data banner is there; at 390 px nothing
scrolls sideways. Screenshots of the Indonesian brief (1280 px and 390 px) are saved into the
build output (``screenshots/``) for a reviewer without a browser; set ``WFA_BRIEF_BUILD`` to an
existing build folder (e.g. ``reports``) to check that build instead of making one.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from analysis.analyses import brief, brief_page
from analysis.analyses.brief_context import fiscal_context
from analysis.report.pdf import page_count
from test_brief import check_numbers

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium")
LANGS = ("id", "en")
#: words that give away running text in the other language
FOREIGN = {"id": re.compile(r"\b(the|and|with|without|services|spending|savings|verdict|evidence)\b"),
           "en": re.compile(r"\b(dan|yang|dengan|tanpa|layanan|belanja|penghematan|penilaian|bukti)\b")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    given = os.environ.get("WFA_BRIEF_BUILD")
    if given:
        return Path(given)
    from analysis.report.build import build_reports
    from analysis.simulate import data_dir_or_default

    out = tmp_path_factory.mktemp("brief-build") / "out"
    summary = build_reports(data_dir=data_dir_or_default(""), out_dir=out, jobs=2, only="90_policy_brief")
    assert summary.exit_code == 0, summary.failed
    return out


def _content(page: str) -> str:
    """The brief's own boxes and table (not the page template around them)."""
    parts = re.findall(r'<section[^>]*class="brief-box brief-(?:key|diagnostics)".*?</section>|'
                       r'<figure[^>]*class="exhibit exhibit-table brief-table".*?</figure>', page, flags=re.S)
    assert len(parts) == 3
    return "".join(parts)


@pytest.mark.parametrize("lang", LANGS)
def test_every_number_of_the_built_brief_is_its_entry(built, lang):
    from analysis.data import load
    from analysis.simulate import data_dir_or_default

    page = (built / f"90_policy_brief-{lang}" / "report.html").read_text(encoding="utf-8")
    service = brief.load_report_input(built, f"10_service_time-all-{lang}")
    budget = brief.load_report_input(built, f"20_budget_savings-{lang}")
    dataset = load(data_dir_or_default(""))
    fiscal = fiscal_context(dataset.transfers, dataset.regions, dataset.budget, budget.entries[brief_page.SAVINGS])
    checked = check_numbers(_content(page), {service.slug: service, budget.slug: budget}, fiscal, lang)
    assert checked >= 40
    assert ("DATA SINTETIS" if lang == "id" else "SYNTHETIC DATA") in page


@pytest.mark.parametrize("lang", LANGS)
def test_one_language_per_page(built, lang):
    page = (built / f"90_policy_brief-{lang}" / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S))
    text = re.sub(r'"[^"]*"', " ", text)
    body = text.split("Asal-usul laporan" if lang == "id" else "Report provenance")[0]
    assert not FOREIGN[lang].findall(body), sorted(set(FOREIGN[lang].findall(body)))
    shown = re.sub(r"<[^>]+>", " ", _content(page))
    assert not re.search(r"\b[a-z]+_[a-z_]+\b|True|False", shown), "a raw code on the page"


@pytest.mark.parametrize("lang", LANGS)
def test_the_pdf_has_at_most_two_a4_pages(built, lang):
    if CHROMIUM is None:
        pytest.skip("Debian chromium not installed (make browser)")
    pdf = built / f"90_policy_brief-{lang}" / f"90_policy_brief-{lang}.pdf"
    assert pdf.is_file()
    assert 1 <= page_count(pdf) <= 2
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45]\.\d+ 84[12]\.\d+", pdf.read_bytes()), "not A4"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (make browser)")
def test_brief_on_desktop_and_phone_with_screenshots(built):
    from playwright.sync_api import sync_playwright

    shots = built / "screenshots"
    shots.mkdir(exist_ok=True)
    url = (built / "90_policy_brief-id" / "report.html").resolve().as_uri()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            for width, height in ((1280, 900), (390, 844)):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(url, wait_until="load")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(shots / f"90_policy_brief-id-{width}px.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    assert (shots / "90_policy_brief-id-390px.png").stat().st_size > 10_000
