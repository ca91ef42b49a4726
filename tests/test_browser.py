"""Open a built index and report in headless Chromium (Debian's ``chromium`` driven by Playwright,
no browser download), served over loopback with every other host blocked."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from analysis.report.build import build_reports
from test_report_build import make_project

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed (make browser)")

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
    "--font-render-hinting=none", "--disable-lcd-text", "--force-color-profile=srgb",
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    paths = make_project(root, with_failures=False)
    out = root / "out"
    summary = build_reports(config_path=paths["config"], data_dir=paths["data"], out_dir=out, jobs=1,
                            only="tiny_ok-id")
    assert summary.exit_code == 0
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(out))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def page_and_log(served):
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)

        def route(request_route):
            url = request_route.request.url
            if url.startswith(served) or url.startswith("data:"):
                request_route.continue_()
            else:
                blocked.append(url)
                request_route.abort()

        context.route("**/*", route)
        page = context.new_page()
        yield page, blocked, served
        context.close()
        browser.close()


def test_index_and_report_render_offline(page_and_log):
    page, blocked, base = page_and_log
    response = page.goto(f"{base}/index.html", wait_until="load")
    assert response.status == 200
    assert page.locator("li.report").count() == 1
    assert page.locator('li.report[data-status="ok"] .headline').inner_text().startswith("Scaled requests")
    # responsive: no horizontal scrolling on a phone-sized viewport
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.click("text=Laporan / Report >> nth=-1")
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

    page.click("text=Tampilkan dengan kode")
    page.wait_for_selector(".jp-InputArea")
    assert page.locator(".jp-InputArea").count() > 0
    assert blocked == []
