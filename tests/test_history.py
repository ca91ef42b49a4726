"""Issue #16: monthly regeneration — build history, what changed since the last build, and why.

Unit tests of :func:`analysis.report.changes.compare` on hand-made records; builds with the fake
papermill of :mod:`build_fakes` on a tiny dataset in the data contract; and (slow) two real
builds on simulated data, the second with one more month and one more adopter.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import build_fakes
from analysis.__main__ import main as cli_main
from analysis.data.privacy import find_personal_ids
from analysis.report import history
from analysis.report import provenance as prov
from analysis.report.build import build_reports
from analysis.report.changes import compare, changes_for_brief
from test_report_build import NIK, make_project


# -- compare() on hand-made records -----------------------------------------------------------------

def _record(**changes) -> dict:
    record = {
        "schema": 1, "build_id": "20260101T000000Z", "built_at": "2026-01-01T00:00:00+00:00",
        "selection": {"only": None, "lang": None},
        "code": {"analysis_code_sha256": "a" * 64, "git_commit": "c" * 40, "notebooks": {"nb": "n" * 64},
                 "packages": {"pandas": "3.1.1"}},
        "data": {"label": "data", "readable": True, "extracted_at": "2026-09-30",
                 "fingerprint": {"service_requests.parquet": "1" * 64, "budget.csv": "2" * 64},
                 "tables": {"service_requests": {"rows_read": 100, "rows_accepted": 98, "rows_rejected": 2,
                                                 "months": ["2026-08/2026-09"]},
                            "budget": {"rows_read": 50, "rows_accepted": 50, "rows_rejected": 0,
                                       "months": ["2026-08/2026-09"]}},
                 "adopters": [["17", "2026-01-01", None, False]]},
        "reports": {"r-id": {"notebook": "nb", "parameters": {"lang": "id"}, "status": "ok", "headline": "att",
                             "results": [["att", 0.05, 0.01, 0.03, 0.07, "log points"],
                                         ["n", 98.0, None, None, None, "requests"]]}},
    }
    for path, value in changes.items():
        target = record
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return record


def _codes(changes) -> list[str]:
    return [note.code for note in changes.reasons]


def test_same_record_is_no_change():
    changes = compare(_record(), _record(build_id="20260201T000000Z"))
    assert changes.status == "no_change" and not changes.reasons and not changes.moved
    assert [n.name for n in changes.numbers] == ["att", "n"]


def test_months_are_stored_as_runs():
    assert history.month_runs(["2026-03", "2026-01", "2026-02", "2026-06"]) == ["2026-01/2026-03", "2026-06"]
    assert history.expand_months(["2025-12/2026-02", "2026-06"]) == ["2025-12", "2026-01", "2026-02", "2026-06"]


def test_first_build_has_nothing_to_compare_with():
    assert compare(None, _record()).status == "no_previous"


def test_code_only_change_is_the_reason_of_a_move():
    current = _record(code__analysis_code_sha256="b" * 64)
    current["reports"]["r-id"]["results"][0][1] = 0.09  # outside the previous CI
    changes = compare(_record(), current)
    assert _codes(changes) == ["code_changed"]
    assert changes.reasons[0].params == {"analysis_code": True, "notebooks": []}
    [moved] = changes.moved
    assert (moved.name, moved.within_previous_ci, moved.reasons, moved.flag) == ("att", False, ("code_changed",), False)
    assert moved.change == pytest.approx(0.04) and moved.headline


def test_new_month_adopter_and_rows_are_reasons():
    current = _record(data__extracted_at="2026-10-31")
    current["data"]["tables"]["service_requests"].update(rows_read=120, rows_accepted=117, rows_rejected=3,
                                                          months=["2026-08/2026-10"])
    current["data"]["adopters"].append(["32", "2026-10-01", None, False])
    current["data"]["fingerprint"]["service_requests.parquet"] = "3" * 64
    current["reports"]["r-id"]["results"][1][1] = 117.0
    changes = compare(_record(), current)
    assert _codes(changes) == ["extraction_date_changed", "new_months", "rows_added", "rows_rejected_changed",
                               "new_adopters"]
    notes = {note.code: note.params for note in changes.reasons}
    assert notes["new_months"] == {"table": "service_requests", "months": ["2026-10"]}
    assert notes["new_adopters"] == {"region_codes": ["32"]}
    assert notes["rows_added"] == {"table": "service_requests", "previous": 98, "current": 117}
    [moved] = changes.moved
    assert moved.name == "n" and moved.within_previous_ci is None and not moved.flag
    assert "new_months" in moved.reasons and "new_adopters" in moved.reasons


def test_ended_adopter_and_corrected_rows():
    current = _record(data__extracted_at="2026-10-31")
    current["data"]["adopters"][0][2] = "2026-10-15"
    current["data"]["fingerprint"]["budget.csv"] = "9" * 64  # same counts and months: corrected rows
    codes = {note.code: note.params for note in compare(_record(), current).reasons}
    assert codes["ended_adopters"] == {"region_codes": ["17"]}
    assert codes["rows_changed"] == {"table": "budget"}


def test_move_beyond_the_ci_without_reason_is_flagged():
    current = _record()
    current["reports"]["r-id"]["results"][0][1] = 0.08
    [moved] = compare(_record(), current).moved
    assert moved.flag and moved.within_previous_ci is False and moved.reasons == ()
    current["reports"]["r-id"]["results"][0][1] = 0.06  # moved, but within the previous CI
    [moved] = compare(_record(), current).moved
    assert not moved.flag and moved.within_previous_ci is True


def test_parameters_changed_applies_to_that_report_only():
    previous = _record()
    previous["reports"]["r-en"] = copy.deepcopy(previous["reports"]["r-id"])
    current = copy.deepcopy(previous)
    current["reports"]["r-id"]["parameters"] = {"lang": "id", "n_boot": 999}
    for slug in ("r-id", "r-en"):
        current["reports"][slug]["results"][0][1] = 0.09
    changes = compare(previous, current)
    assert _codes(changes) == ["parameters_changed"]
    by_report = {n.report: n for n in changes.moved}
    assert by_report["r-id"].reasons == ("parameters_changed",) and not by_report["r-id"].flag
    assert by_report["r-en"].reasons == () and by_report["r-en"].flag


# -- builds on a tiny dataset (fake papermill) --------------------------------------------------------

@pytest.fixture
def project(tmp_path):
    paths = make_project(tmp_path, with_failures=False)
    return {**paths, "root": tmp_path, "out": tmp_path / "out"}


def _build(project, monkeypatch, **kwargs):
    build_fakes.install(monkeypatch, **kwargs.pop("fake", {}))
    return build_reports(config_path=project["config"], data_dir=project["data"], out_dir=project["out"],
                         jobs=1, stream=open(os.devnull, "w"), **kwargs)


def _changes(out: Path) -> dict:
    return json.loads((out / "changes.json").read_text())


def _add_month_and_adopter(data: Path) -> None:
    with open(data / "service_requests.csv", "a", encoding="utf-8") as handle:
        handle.write("r30,33.72,perizinan,2026-04-02 08:00,2026-04-02 15:00,1,online,5,3372015708900030\n")
    with open(data / "policies.csv", "a", encoding="utf-8") as handle:
        handle.write("17,2026-04-01,,2,kamis;jumat,false,Pergub 1/2026,test\n")


def test_unchanged_rebuild_says_no_change(project, monkeypatch):
    first = _build(project, monkeypatch)
    assert _changes(project["out"])["status"] == "no_previous"
    second = _build(project, monkeypatch)
    changes = _changes(project["out"])
    assert changes["status"] == "no_change" and changes["reasons"] == [] and changes["moved"] == 0
    assert changes["previous"]["build_id"] == first.history_path.stem
    assert len(history.list_records(project["out"])) == 2 and second.history_path.exists()
    index = (project["out"] / "index.html").read_text()
    assert 'id="changes"' in index and "No change" in index


def test_code_only_change_gives_reason_analysis_code_changed(project, monkeypatch):
    _build(project, monkeypatch)
    monkeypatch.setattr(prov, "code_fingerprint", lambda package_dir=None: "f" * 64)
    summary = _build(project, monkeypatch)
    assert {r["status"] for r in summary.records} == {"ok"}  # the key holds the code: every report reran
    changes = _changes(project["out"])
    assert changes["reasons"] == [{"code": "code_changed", "params": {"analysis_code": True, "notebooks": []}}]
    assert changes["status"] == "changed" and changes["moved"] == 0
    assert "analysis code changed" in (project["out"] / "index.html").read_text()


def test_changed_notebook_is_a_code_reason(project, monkeypatch):
    _build(project, monkeypatch)
    notebook = project["notebooks"] / "tiny_dep.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A note."))
    nbformat.write(nb, notebook)
    _build(project, monkeypatch)
    assert _changes(project["out"])["reasons"] == [
        {"code": "code_changed", "params": {"analysis_code": False, "notebooks": ["tiny_dep"]}}]


def test_new_month_and_adopter_are_named_with_the_moved_numbers(project, monkeypatch):
    _build(project, monkeypatch)
    _add_month_and_adopter(project["data"])
    _build(project, monkeypatch)
    changes = _changes(project["out"])
    reasons = {r["code"]: r["params"] for r in changes["reasons"]}
    assert reasons["new_months"] == {"table": "service_requests", "months": ["2026-04"]}
    assert reasons["new_adopters"] == {"region_codes": ["17"]}
    assert reasons["rows_added"] == {"table": "service_requests", "previous": 30, "current": 31}
    moved = {(n["report"], n["name"]): n for n in changes["numbers"] if n["moved"]}
    assert set(moved) == {("tiny_ok-id", "requests"), ("tiny_ok-en", "requests"), ("tiny_dep", "requests")}
    number = moved[("tiny_ok-id", "requests")]
    assert number["previous"]["estimate"] == 60.0 and number["current"]["estimate"] == 62.0
    assert number["previous"]["ci_low"] == 59.0 and number["current"]["ci_high"] == 63.0
    assert number["within_previous_ci"] is False and not number["flag"]
    assert {"new_months", "new_adopters"} <= set(number["reasons"])
    index = (project["out"] / "index.html").read_text()
    assert 'data-code="new_months"' in index and 'data-code="new_adopters"' in index
    assert 'data-report="tiny_ok-id" data-name="requests"' in index


def test_unexplained_move_is_flagged_in_changes_and_index(project, monkeypatch):
    _build(project, monkeypatch)
    _build(project, monkeypatch, force=True, fake={"offset": {"tiny_ok-en": 5.0}})
    changes = _changes(project["out"])
    assert changes["reasons"] == [] and changes["flagged"] == 1
    [flagged] = [n for n in changes["numbers"] if n["flag"]]
    assert (flagged["report"], flagged["within_previous_ci"]) == ("tiny_ok-en", False)
    assert 'class="flagged" data-report="tiny_ok-en"' in (project["out"] / "index.html").read_text()


def test_history_record_is_compact_and_holds_no_personal_or_row_data(project, monkeypatch):
    summary = _build(project, monkeypatch)
    text = summary.history_path.read_text()
    record = json.loads(text)
    assert len(text.encode()) < 8000
    assert set(record) == {"schema", "build_id", "built_at", "selection", "code", "data", "reports"}
    assert set(record["data"]) == {"label", "fingerprint", "readable", "extracted_at", "tables", "adopters"}
    raw = pd.read_csv(project["data"] / "service_requests.csv", dtype=str)
    for column in raw.columns:  # no value of any row of the requests table (ids, NIKs, timestamps)
        for value in raw[column].unique():
            if len(value) > 5:
                assert value not in text, (column, value)
    assert not [f'"{v}"' for v in raw["request_id"] if f'"{v}"' in text]
    assert NIK not in text
    assert find_personal_ids(re.sub(r"[0-9a-f]{40,}", "", text)) == []
    assert record["data"]["tables"]["service_requests"] == {"rows_read": 30, "rows_accepted": 30, "rows_rejected": 0,
                                                            "months": ["2026-01/2026-03"]}
    assert record["reports"]["tiny_ok-id"]["results"][0] == ["requests", 60.0, 0.5, 59.0, 61.0, "days"]
    assert history.entries(record["reports"]["tiny_ok-id"])[0]["ci_high"] == 61.0


def test_compare_to_names_a_build_and_unknown_is_a_usage_error(project, monkeypatch, capsys):
    first = _build(project, monkeypatch)
    _add_month_and_adopter(project["data"])
    _build(project, monkeypatch)
    _build(project, monkeypatch)
    assert _changes(project["out"])["status"] == "no_change"  # against the latest build
    _build(project, monkeypatch, compare_to=first.history_path.stem)
    changes = _changes(project["out"])
    assert changes["previous"]["build_id"] == first.history_path.stem and changes["status"] == "changed"
    build_fakes.install(monkeypatch)
    code = cli_main(["build", "--config", str(project["config"]), "--data", str(project["data"]),
                     "--out", str(project["out"]), "--compare-to", "19990101T000000Z"])
    err = capsys.readouterr().err
    assert code == 2 and "no such history record" in err and first.history_path.stem in err
    assert "Traceback" not in err


def test_history_command_lists_builds_and_headline_numbers(project, monkeypatch, capsys):
    _build(project, monkeypatch)
    _add_month_and_adopter(project["data"])
    _build(project, monkeypatch)
    assert cli_main(["history", "--out", str(project["out"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["#", "build", "data", "as", "of", "code", "ok", "failed"]
    assert len([line for line in lines if re.match(r"\d+\s+\d{8}T\d{6}Z", line)]) == 2
    row = next(line for line in lines if line.startswith("tiny_ok-id"))
    assert row.split()[:4] == ["tiny_ok-id", "requests", "60", "62"] and "[61, 63]" in row
    assert cli_main(["history", "--out", str(project["root"] / "nowhere")]) == 2


def test_changes_for_brief_compares_its_inputs_with_the_last_build(project, monkeypatch):
    assert changes_for_brief(project["out"], project["data"], ["tiny_ok-id"]).status == "no_previous"
    _build(project, monkeypatch)
    same = changes_for_brief(project["out"], project["data"], ["tiny_ok-id"])
    assert same.status == "no_change" and same.current["data_as_of"] == "2026-10-31"
    _add_month_and_adopter(project["data"])
    build_fakes.install(monkeypatch)
    # inside the next build: its input report has been rerun, the build's own record not written yet
    from analysis.report import runner, report_folder  # noqa: F401

    summary = build_reports(config_path=project["config"], data_dir=project["data"], out_dir=project["out"],
                            only="tiny_ok-id", stream=open(os.devnull, "w"))
    summary.history_path.unlink()
    brief = changes_for_brief(project["out"], project["data"], ["tiny_ok-id"])
    assert {"new_months", "new_adopters"} <= {note.code for note in brief.reasons}
    [moved] = brief.moved
    assert (moved.report, moved.previous["estimate"], moved.current["estimate"]) == ("tiny_ok-id", 60.0, 62.0)


# -- real builds on simulated data (slow) --------------------------------------------------------

SIM_CELLS = [
    "import math\nfrom analysis.data import load as load_dataset\n"
    "from analysis.report.results_file import ResultEntry, write_results",
    "dataset = load_dataset(data_dir)\nrequests = dataset.service_requests\n"
    "done = requests.dropna(subset=['completed_at'])\n"
    "days = (done['completed_at'] - done['submitted_at']).dt.total_seconds() / 86400\n"
    "within = float((days <= done['sla_days']).mean())\n"
    "se = math.sqrt(within * (1 - within) / len(done))\n"
    "adopters = dataset.policies['region_code'].nunique()",
    "write_results(output_dir, 'sim', {}, [ResultEntry('share_within_sla', within, se, within - 1.96 * se, "
    "within + 1.96 * se, 'share', 'Share completed within SLA'), ResultEntry('n_adopters', float(adopters), "
    "unit='pemda', label='Adopters')])",
]


def _sim_project(root: Path) -> Path:
    import yaml

    notebooks = root / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell('data_dir = ""  # dataset\noutput_dir = "."  # output',
                                          metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in SIM_CELLS]
    nbformat.write(nb, notebooks / "sim.ipynb")
    (notebooks / "sim.params.yaml").write_text(yaml.safe_dump({"parameters": {
        "data_dir": {"type": "str", "default": ""}, "output_dir": {"type": "str", "default": "."}}}))
    config = root / "reports.yaml"
    config.write_text(yaml.safe_dump({"reports": [{"notebook": "sim", "slug": "sim", "headline": "share_within_sla"}]}))
    return config


def test_two_builds_on_simulated_data_name_the_new_month_and_adopter(small_dataset, tmp_path):
    """The second build adds one month (extraction a month later) and one adopter (a policies row)."""
    from analysis.simulate import simulate_dataset

    earlier = simulate_dataset(tmp_path / "september", size="small", extracted_at="2026-09-30")
    later = tmp_path / "october"
    shutil.copytree(small_dataset, later)
    policies = pd.read_csv(later / "policies.csv", dtype=str)
    newcomer = next(code for code in ("32.01", "35.78", "31.71", "51.71") if code not in set(policies["region_code"]))
    row = policies.iloc[[0]].copy()
    row["region_code"], row["start_date"], row["end_date"], row["name"] = newcomer, "2026-10-01", "", "test adopter"
    pd.concat([policies, row]).to_csv(later / "policies.csv", index=False)
    config = _sim_project(tmp_path)
    out = tmp_path / "out"
    first = build_reports(config_path=config, data_dir=earlier, out_dir=out, jobs=1, stream=open(os.devnull, "w"))
    assert first.exit_code == 0
    second = build_reports(config_path=config, data_dir=later, out_dir=out, jobs=1, stream=open(os.devnull, "w"))
    assert second.exit_code == 0
    changes = json.loads((out / "changes.json").read_text())
    reasons = {r["code"]: r["params"] for r in changes["reasons"]}
    assert reasons["extraction_date_changed"] == {"previous": "2026-09-30", "current": "2026-10-31"}
    assert {"table": "service_requests", "months": ["2026-10"]} in [
        r["params"] for r in changes["reasons"] if r["code"] == "new_months"]
    assert reasons["new_adopters"] == {"region_codes": [newcomer]}
    moved = {n["name"]: n for n in changes["numbers"] if n["moved"]}
    assert moved["n_adopters"]["current"]["estimate"] == moved["n_adopters"]["previous"]["estimate"] + 1
    assert "share_within_sla" in moved and not moved["share_within_sla"]["flag"]
    assert {"new_months", "new_adopters"} <= set(moved["share_within_sla"]["reasons"])
    text = second.history_path.read_text()
    assert len(text.encode()) < 8000 and find_personal_ids(re.sub(r"[0-9a-f]{40,}", "", text)) == []
