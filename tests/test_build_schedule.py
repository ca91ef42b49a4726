"""The order a build starts its reports in: first language first, longest first within it."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import UsageError
from analysis.report.build import schedule
from analysis.report.config import expand_entry, load_reports
from analysis.report.runner import ReportJob
from analysis.paths import PROJECT_ROOT


def _job(slug: str, lang: str) -> ReportJob:
    return ReportJob(slug=slug, notebook_path="n.ipynb", output_dir="o", parameters={}, title=slug,
                     lang=lang, provenance={})


def test_cold_build_starts_the_longest_expected_first_and_one_language_before_the_other():
    jobs = [_job(f"{name}-{lang}", lang) for lang in ("id", "en") for name in ("short", "long", "unknown")]
    expected = {"short-id": 3.0, "long-id": 40.0, "short-en": 3.0, "long-en": 40.0}
    order = [job.slug for job in schedule(jobs, previous={}, expected=expected)]
    assert order == ["long-id", "short-id", "unknown-id", "long-en", "short-en", "unknown-en"]


def test_an_earlier_build_in_the_output_folder_outranks_the_expected_seconds():
    jobs = [_job("a-id", "id"), _job("b-id", "id")]
    order = schedule(jobs, previous={"a-id": {"duration_s": 50.0}}, expected={"a-id": 1.0, "b-id": 10.0})
    assert [job.slug for job in order] == ["a-id", "b-id"]


def test_expected_seconds_must_be_a_non_negative_number(tmp_path):
    entry = {"notebook": "00_data_overview", "slug": "x-{lang}", "matrix": {"lang": ["id"]}, "expected_seconds": "slow"}
    with pytest.raises(UsageError, match="expected_seconds"):
        expand_entry(entry, Path(tmp_path))
    entry["expected_seconds"] = 12
    assert expand_entry(entry, Path(tmp_path))[0].expected_seconds == 12.0


def test_every_report_of_the_project_has_an_expected_duration():
    specs = load_reports(PROJECT_ROOT / "reports.yaml", adopters=["17"], region_names={})
    missing = sorted({spec.notebook for spec in specs if spec.expected_seconds is None})
    assert not missing, f"reports.yaml entries without expected_seconds: {missing}"
