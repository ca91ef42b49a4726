"""Fast unit tests of the build's pieces: configuration fan-out and selection, privacy scrub,
index formatting, and the policy brief's handling of its inputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from analysis.analyses import brief
from analysis.errors import ParameterError
from analysis.report import config, scrub
from analysis.report.index import format_entry


@pytest.fixture
def notebooks(tmp_path):
    spec = {"parameters": {
        "lang": {"type": "str", "default": "id", "choices": ["id", "en"]},
        "region": {"type": "str", "default": ""},
        "upstream": {"type": "str", "default": ""},
        "data_dir": {"type": "str", "default": ""},
    }}
    for name in ("a", "b", "case"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
        (tmp_path / f"{name}.params.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path


def _write(tmp_path, reports):
    path = tmp_path / "reports.yaml"
    path.write_text(yaml.safe_dump({"notebooks_dir": ".", "reports": reports}))
    return path


def test_fan_out_placeholders_and_dependencies(notebooks):
    path = _write(notebooks, [
        {"notebook": "a", "slug": "a-{lang}", "matrix": {"lang": ["id", "en"]}},
        {"notebook": "case", "foreach_adopter": "region"},
        {"notebook": "b", "slug": "b-{lang}", "matrix": {"lang": ["id", "en"]},
         "parameters": {"upstream": "a-{lang}"}, "depends_on": ["a-{lang}"]},
    ])
    specs = config.load_reports(path, adopters=lambda: ["33.72", "17"])
    by_slug = {s.slug: s for s in specs}
    assert set(by_slug) == {"a-id", "a-en", "case-17", "case-33.72", "b-id", "b-en"}
    assert by_slug["b-en"].parameters == {"lang": "en", "upstream": "a-en"}
    assert config.resolve_dependencies(by_slug["b-en"], specs) == ["a-en"]
    chosen = [s.slug for s in config.select_reports(specs, only="b-*", lang="en")]
    assert chosen == ["a-en", "b-en"]


def test_configuration_errors_name_report_and_parameter(notebooks):
    path = _write(notebooks, [{"notebook": "a", "parameters": {"lang": "de"}},
                              {"notebook": "b", "parameters": {"data_dir": "x"}},
                              {"notebook": "missing"}])
    with pytest.raises(ParameterError) as info:
        config.load_reports(path)
    message = str(info.value)
    assert "report 'a'" in message and "'lang'" in message
    assert "'data_dir' is set by the build" in message
    assert "missing.ipynb not found" in message


def test_dependency_cycles_and_unknown_dependencies_are_rejected(notebooks):
    with pytest.raises(ParameterError, match="cycle"):
        config.load_reports(_write(notebooks, [{"notebook": "a", "depends_on": "b"}, {"notebook": "b", "depends_on": "a"}]))
    with pytest.raises(ParameterError, match="matches no report"):
        config.load_reports(_write(notebooks, [{"notebook": "a", "depends_on": "zzz"}]))


def test_identifier_scan_uses_the_loaders_value_rule(tmp_path):
    """No input is read: any NIK/NIP-shaped value in a page is a leak, whatever column it came from."""
    assert scrub.personal_ids("x 3372015708900001 y") == ["3372************"]
    assert scrub.personal_ids("NIP 19800101 200501 1 001") == ["1980**************"]
    assert scrub.personal_ids("x 1234567890123456 y 33720157089000011 Rp 1.312.456.789.012.345") == []
    page = tmp_path / "r" / "report.html"
    page.parent.mkdir()
    page.write_text("<p>instrumen: SE 12/2026 (pemohon 33.72.01.570890.0001)</p>")
    (note,) = scrub.check_report_dir(page.parent)
    assert (note.code, note.params) == ("personal_id_in_output", {"file": "report.html", "masked": "3372************"})


def test_identifier_scan_reads_around_embedded_images_not_their_pixels(tmp_path):
    """An image payload is pixels: a digit run inside its base64 is not text anyone reads, while
    the text next to it (alt text, captions) and a non-image data URI are still scanned."""
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "report.html").write_text(
        '<img src="data:image/png;base64,iVBOR3372015708900001+/=" alt="NIK 3201015708900002">'
        '<a href="data:text/plain,3301015708900003">x</a>')
    found = sorted(note.params["masked"] for note in scrub.check_report_dir(folder))
    assert found == ["3201************", "3301************"]
    assert "3372015708900001" not in scrub.readable_text(folder / "report.html")


def test_small_count_check_reads_count_columns():
    page = ("<table><tr><th>service_type</th><th>n_requests</th><th>median_days</th></tr>"
            "<tr><td>bansos</td><td>3</td><td>2.0</td></tr><tr><td>adminduk</td><td>&lt;10</td><td>1</td></tr>"
            "<tr><td>perizinan</td><td>1.234</td><td>4</td></tr></table>")
    assert scrub.small_counts(page) == [{"table": "table 1", "column": "n_requests", "value": "3"}]


def test_entry_formatting_follows_language_and_unit():
    entry = {"name": "s", "estimate": 1.5e9, "ci_low": 1e9, "ci_high": 2e9, "unit": "IDR", "label": "Savings"}
    assert format_entry(entry, "id") == "Savings: Rp 1,5 miliar (IK 95%: Rp 1,0 miliar s.d. Rp 2,0 miliar)"
    assert format_entry(entry, "en") == "Savings: IDR 1.5 billion (95% CI: IDR 1.0 billion to IDR 2.0 billion)"
    # an entry the catalogue knows is named in the page's language
    known = {**entry, "name": "savings_idr_total"}
    assert format_entry(known, "id").startswith("Penghematan seluruh penerap selama periode pengamatan: Rp 1,5 miliar")


def _results(directory, entries, status="ok"):
    directory.mkdir(parents=True)
    (directory / "results.json").write_text(json.dumps({"report": "x", "parameters": {}, "results": entries}))
    (directory / "build-status.json").write_text(json.dumps({"status": status}))


def test_brief_reports_missing_and_failed_inputs(tmp_path):
    _results(tmp_path / "svc", [], status="failed")
    service = brief.load_report_input(tmp_path, "svc")
    budget = brief.load_report_input(tmp_path, "nothing-here")
    assert (service.problem, budget.problem) == ("failed", "missing")
    from analysis.texts import note, t

    sentences = [note(n, "en") for n in brief.missing_inputs([service, budget])]
    assert "svc" in sentences[0] and "failed" in sentences[0] and "not run" in sentences[1]
    facts = {"n_adopters": 3, "n_trials": 2, "first_adoption": "2026-01-01"}
    assert "3 Pemda" in t("90.caveats", "id", **facts) and "1 Januari 2026" in t("90.caveats", "id", **facts)


def _entry(name, est, low, high, **extra):
    return {"name": name, "estimate": est, "se": 0.01, "ci_low": low, "ci_high": high, "unit": "log points",
            "label": name, **extra}


def _difference(split, est, low, high, pvalue, pvalue_holm):
    return _entry(f"diff_log_median_days__{split}", est, low, high,
                  inference={"method": "cluster_robust", "pvalue": pvalue, "details": {"pvalue_holm": pvalue_holm}})


def test_brief_verdicts_become_indicator_entries(tmp_path):
    risks = pd.DataFrame({"risk": ["digital_readiness", "performance_management", "coordination"],
                          "verdict": ["supported", "inconclusive", "no_evidence"]})
    entries = {e.name: e for e in brief.result_entries(risks)}
    assert entries["risk_digital_readiness"].estimate == 1.0
    assert entries["risk_performance_management"].estimate is None  # unclear: no 0/1 indicator
    assert entries["risk_coordination"].estimate is None
    assert entries["risk_digital_readiness"].unit == "indicator"


def test_scrub_checks_declared_and_request_count_columns_only(tmp_path):
    """Counts of Pemda are not personal; counts of requests are, and so is any declared column."""

    from analysis.report import exhibits
    from analysis.report.scrub import check_report_dir

    exhibits.configure(tmp_path, "en")
    exhibits.show_table(pd.DataFrame({"group": ["single"], "n_treated_pemda": [2]}), "pemda", "Pemda")
    assert check_report_dir(tmp_path) == []
    exhibits.show_table(pd.DataFrame({"group": ["single"], "n_requests": [4]}), "requests", "Requests")
    assert any(note.code == "small_count_in_output" and note.params["column"] == "n_requests"
               and note.params["value"] == "4" for note in check_report_dir(tmp_path))
    exhibits.configure(tmp_path / "declared", "en")
    table = pd.DataFrame({"group": ["single"], "n_pemda": [4]})
    exhibits.show_table(table, "declared", "Declared", count_columns=["n_pemda"])
    assert check_report_dir(tmp_path / "declared") == []  # suppressed at source
    (tmp_path / "declared" / "tables" / "declared.csv").write_text("group,n_pemda\nsingle,4\n")
    assert any(note.params.get("column") == "n_pemda" and note.params.get("value") == "4"
               for note in check_report_dir(tmp_path / "declared"))


def test_index_headline_formats_by_unit():
    from analysis.report.index import format_entry

    assert format_entry({"name": "n", "label": "Requests", "estimate": 2402757.0, "unit": "requests"}, "id") == "Requests: 2.402.757 permohonan"
    verdict = {"name": "risk_coordination", "label": "coordination: supported", "estimate": 1.0, "unit": "indicator"}
    assert format_entry(verdict, "en") == "Risk: cross-unit coordination: supported by the evidence"
    assert format_entry({**verdict, "estimate": None}, "id") == "Risiko: koordinasi lintas unit: belum dapat dinilai"
    text = format_entry({"name": "s", "label": "Savings", "estimate": 3.2e10, "ci_low": 2.4e10, "ci_high": 4.0e10, "unit": "IDR"}, "en")
    assert text == "Savings: IDR 32.0 billion (95% CI: IDR 24.0 billion to IDR 40.0 billion)"


