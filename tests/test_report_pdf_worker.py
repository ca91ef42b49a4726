"""The brief's PDF is printed by the worker that ran the report, not by the build's process.

Printing took the build's process seconds of Chromium per brief: the next report's slot waited
for it, and the last brief's PDF ran alone at the end of a build. The end-to-end check (a real
build prints an A4 PDF of at most two pages) is in ``test_brief_build.py``.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from analysis.report import pdf, runner
from analysis.report.build import _record, schedule
from analysis.report.config import load_reports
from analysis.paths import PROJECT_ROOT


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """execute_report with the notebook run and the render faked: the render writes report.html."""
    calls = []

    def run(job, executed):
        executed.write_text("{}")

    def render(executed, **kwargs):
        page = Path(executed).parent / "report.html"
        page.write_text("<html><body>brief</body></html>")
        return {"report": page}

    def fake_add_pdf(folder, name):
        calls.append((Path(folder), name))
        (Path(folder) / name).write_bytes(b"%PDF-1.4\n")
        return None

    monkeypatch.setattr(runner, "run_notebook", run)
    monkeypatch.setattr(runner, "render_report", render)
    monkeypatch.setattr(runner, "stabilise_notebook", lambda *a, **k: None)
    monkeypatch.setattr(runner, "add_pdf", fake_add_pdf)
    replaced = []
    monkeypatch.setattr(runner, "replace_machine_paths", lambda out, paths: replaced.append(Path(out)))

    def execute(pdf_name):
        out = tmp_path / f"staging-{len(calls)}-{pdf_name}"
        out.mkdir()
        job = runner.ReportJob(slug="90_policy_brief-en", notebook_path="x.ipynb", output_dir=str(out),
                               parameters={}, title="t", lang="en", provenance={}, pdf_name=pdf_name)
        outcome = runner.execute_report(job)
        assert replaced == [out], "machine paths are replaced once, whether or not a PDF is printed"
        replaced.clear()
        return out, outcome

    execute.calls = calls
    return execute


def test_the_worker_prints_the_pdf_after_rendering_the_page(worker):
    out, outcome = worker("90_policy_brief-en.pdf")
    assert outcome.status == "ok" and outcome.pdf_skipped is None
    assert worker.calls == [(out, "90_policy_brief-en.pdf")]
    assert (out / "90_policy_brief-en.pdf").read_bytes().startswith(b"%PDF")


def test_a_report_without_a_pdf_name_is_not_printed(worker):
    out, outcome = worker(None)
    assert outcome.status == "ok" and outcome.pdf_skipped is None
    assert worker.calls == []
    assert not list(out.glob("*.pdf"))


def test_a_failed_report_is_not_printed(worker, monkeypatch):
    def fail(job, executed):
        raise RuntimeError("cell failed")

    monkeypatch.setattr(runner, "run_notebook", fail)
    _, outcome = worker("90_policy_brief-en.pdf")
    assert outcome.status == "failed"
    assert worker.calls == []


def test_why_a_pdf_was_not_printed_comes_back_but_stays_out_of_the_manifest(worker, monkeypatch):
    monkeypatch.setattr(runner, "add_pdf", lambda folder, name: "chromium not found (make browser)")
    _, outcome = worker("90_policy_brief-en.pdf")
    assert outcome.status == "ok"   # the HTML report stays the product
    assert outcome.pdf_skipped == "chromium not found (make browser)"
    record = _record(outcome)
    assert "pdf_skipped" not in record and record["slug"] == "90_policy_brief-en"
    json.dumps(record)


def _fake_chromium(path: Path, writes: bool) -> str:
    body = ('for a in "$@"; do case "$a" in --print-to-pdf=*) printf "%%PDF-1.4\\n" > "${a#--print-to-pdf=}";; '
            'esac; done\n') if writes else "exit 0\n"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_add_pdf_prints_report_html_and_says_why_not(tmp_path):
    folder = tmp_path / "report"
    folder.mkdir()
    assert pdf.add_pdf(folder, "b.pdf", executable=_fake_chromium(tmp_path / "ok", True)) == "no report.html to print"
    (folder / "report.html").write_text("<html></html>")
    assert pdf.add_pdf(folder, "b.pdf", executable=_fake_chromium(tmp_path / "ok", True)) is None
    assert (folder / "b.pdf").read_bytes().startswith(b"%PDF")
    (folder / "b.pdf").unlink()
    problem = pdf.add_pdf(folder, "b.pdf", executable=_fake_chromium(tmp_path / "silent", False))
    assert problem is not None and problem.startswith("chromium wrote no PDF")


def test_only_the_brief_gets_a_pdf_name():
    assert pdf.report_pdf_name("90_policy_brief-id", "90_policy_brief") == "90_policy_brief-id.pdf"
    assert pdf.report_pdf_name("10_service_time-all-id", "10_service_time") is None


def test_a_cold_build_does_not_leave_the_brief_to_run_alone_at_the_end():
    """The brief's slot also prints its PDF (reports.yaml's expected_seconds count it), so a cold
    build starts it before the short case studies instead of last in its language."""
    specs = load_reports(PROJECT_ROOT / "reports.yaml", adopters=["17", "71.11"], region_names={})
    jobs = [runner.ReportJob(slug=s.slug, notebook_path=s.notebook, output_dir="o", parameters={}, title=s.slug,
                             lang=s.lang, provenance={}) for s in specs]
    order = [job.slug for job in schedule(jobs, previous={}, expected={s.slug: s.expected_seconds for s in specs})]
    for lang in ("id", "en"):
        mine = [slug for slug in order if slug.endswith(f"-{lang}")]
        brief = mine.index(f"90_policy_brief-{lang}")
        first_case_study = min(i for i, slug in enumerate(mine) if slug.startswith("30_case_study"))
        assert brief < first_case_study, mine
