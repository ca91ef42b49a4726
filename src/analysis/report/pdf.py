"""A PDF of the reports meant to be printed (the policy brief), by headless Chromium.

A report of a notebook in :data:`PDF_NOTEBOOKS` gets a PDF name from the build
(:func:`report_pdf_name`); the worker that ran the report prints its ``report.html`` to
``<slug>.pdf`` in the same folder right after rendering it (:func:`add_pdf`), with Debian's
``chromium`` (the browser the HTML tests use; ``make browser`` installs it). Printing in the
worker keeps Chromium's seconds in the report's own slot: done by the build's process, it held up
the start of the next report and ran alone at the end of a build. The page's print stylesheet
decides the paper (A4) and hides the navigation. Without Chromium, or when it fails, no PDF is
written and the build logs one line saying why: the HTML report stays the product.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

#: Notebooks whose reports get a PDF.
PDF_NOTEBOOKS = ("90_policy_brief",)
#: Seconds Chromium may take for one page.
TIMEOUT_S = 120
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
                 "--font-render-hinting=none", "--run-all-compositor-stages-before-draw")


def chromium() -> str | None:
    """The Chromium executable, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pdf_name(slug: str) -> str:
    return f"{slug}.pdf"


def print_pdf(html_path: Path, pdf_path: Path, *, executable: str | None = None) -> str | None:
    """Print ``html_path`` to ``pdf_path``; returns None on success, else why not (one line)."""
    executable = executable or chromium()
    if executable is None:
        return "chromium not found (make browser)"
    pdf_path = Path(pdf_path)
    with tempfile.TemporaryDirectory(prefix="wfa-pdf-") as profile:
        command = [executable, *CHROMIUM_ARGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf_path}",
                   Path(html_path).resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"chromium did not finish ({exc.__class__.__name__})"
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return f"chromium wrote no PDF ({tail[0][:200]})"
    return None


def page_count(pdf_path: Path) -> int:
    """Pages of a PDF, counted from its page objects (``/Type /Page``, not ``/Pages``)."""
    data = Path(pdf_path).read_bytes()
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data))


def report_pdf_name(slug: str, notebook: str) -> str | None:
    """The PDF file name of a report of ``notebook`` (None: a report that is not printed)."""
    return pdf_name(slug) if notebook in PDF_NOTEBOOKS else None


def add_pdf(folder: Path, name: str, *, executable: str | None = None) -> str | None:
    """Print ``folder/report.html`` to ``folder/<name>``; None when printed, else why not (one line)."""
    html_path = Path(folder) / "report.html"
    if not html_path.is_file():
        return "no report.html to print"
    return print_pdf(html_path, Path(folder) / name, executable=executable)
