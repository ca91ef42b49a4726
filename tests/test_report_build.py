"""End-to-end tests of the report build on tiny notebooks in a temporary project.

One module-scoped build runs four reports (one fine, one dependent on it, one failing, one
leaking a NIK) with two workers; further tests rebuild incrementally and with ``--force``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from analysis.__main__ import main as cli_main
from analysis.errors import ParameterError
from analysis.report.build import build_reports

NIK = "3372015708900001"

COMMON_SPEC = {
    "data_dir": {"type": "str", "default": "", "help": "dataset directory"},
    "output_dir": {"type": "str", "default": ".", "help": "where results go"},
    "lang": {"type": "str", "default": "id", "choices": ["id", "en"], "help": "language"},
}

OK_CELLS = [
    'from pathlib import Path\nimport pandas as pd\nimport matplotlib\nmatplotlib.use("Agg")\n'
    "import matplotlib.pyplot as plt\n"
    "from analysis.report.params import load_spec, validate_parameters\n"
    "from analysis.report import exhibits\nfrom analysis.report.results_file import ResultEntry, write_results",
    'params = validate_parameters(load_spec("tiny_ok", NOTEBOOKS), {"data_dir": data_dir, "output_dir": output_dir, '
    '"lang": lang, "scale": scale}, context="tiny_ok")\nexhibits.configure(output_dir, lang)',
    'requests = pd.read_csv(Path(data_dir) / "service_requests.csv", dtype=str)\n'
    'counts = requests.groupby("service_type").size().rename("n_requests").reset_index()',
    'fig, ax = plt.subplots(figsize=(4, 3))\nax.bar(counts["service_type"], counts["n_requests"].astype(float))\n'
    'exhibits.show_figure(fig, "volumes", "Requests per service type", "Bar chart of request counts per service type")',
    'exhibits.show_table(counts, "volume-table", "Requests per service type", count_columns=["n_requests"])',
    'write_results(output_dir, "tiny_ok", {"lang": lang, "scale": scale}, [ResultEntry("requests", '
    'scale * len(requests), 0.5, scale * len(requests) - 1, scale * len(requests) + 1, "days", "Scaled requests")])',
]

FAIL_CELLS = [
    "x = 1",
    'raise ValueError("deliberate failure for the test")',
    "print('never reached')",
]

LEAK_CELLS = [
    "import pandas as pd\nfrom pathlib import Path",
    'print(pd.read_csv(Path(data_dir) / "service_requests.csv", dtype=str)["applicant_nik"].iloc[0])',
]

DEPENDENT_CELLS = [
    "import json\nfrom pathlib import Path\nfrom analysis.report.results_file import ResultEntry, write_results",
    'source = Path(reports_dir) / "tiny_ok-id" / "results.json"\n'
    'value = json.loads(source.read_text())["results"][0]["estimate"] if source.exists() else None\n'
    'write_results(output_dir, "tiny_dep", {}, [ResultEntry("twice", None if value is None else 2 * value, '
    'unit="days", label="Twice")])',
]


def _notebook(path: Path, parameter_lines: str, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(parameter_lines, metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)


def _spec(path: Path, extra: dict) -> None:
    import yaml

    path.write_text(yaml.safe_dump({"parameters": {**COMMON_SPEC, **extra}}), encoding="utf-8")


def make_project(root: Path, *, with_failures: bool = True) -> dict[str, Path]:
    """A tiny project: notebooks, a reports.yaml and a dataset directory with NIKs."""
    notebooks = root / "notebooks"
    notebooks.mkdir(parents=True)
    params = 'data_dir = ""  # dataset\noutput_dir = "."  # output\nlang = "id"  # language\n'
    _notebook(
        notebooks / "tiny_ok.ipynb",
        params + f'scale = 1.0  # multiplier\nNOTEBOOKS = {str(notebooks)!r}  # spec location',
        OK_CELLS,
    )
    _spec(notebooks / "tiny_ok.params.yaml", {
        "scale": {"type": "float", "default": 1.0, "min": 0, "help": "multiplier"},
        "NOTEBOOKS": {"type": "str", "default": "", "help": "spec location"},
    })
    _notebook(notebooks / "tiny_dep.ipynb", params + 'reports_dir = ""  # build output', DEPENDENT_CELLS)
    _spec(notebooks / "tiny_dep.params.yaml", {"reports_dir": {"type": "str", "default": "", "help": "reports"}})
    _notebook(notebooks / "tiny_fail.ipynb", params, FAIL_CELLS)
    _spec(notebooks / "tiny_fail.params.yaml", {})
    _notebook(notebooks / "tiny_leak.ipynb", params, LEAK_CELLS)
    _spec(notebooks / "tiny_leak.params.yaml", {})

    reports = [
        {"notebook": "tiny_ok", "matrix": {"lang": ["id", "en"]}, "parameters": {"scale": 2.0, "NOTEBOOKS": str(notebooks)},
         "title": {"id": "Uji kecil", "en": "Tiny test"}},
        {"notebook": "tiny_dep", "slug": "tiny_dep", "depends_on": ["tiny_ok-id"]},
    ]
    if with_failures:
        reports += [{"notebook": "tiny_fail", "slug": "tiny_fail"}, {"notebook": "tiny_leak", "slug": "tiny_leak"}]
    import yaml

    config = root / "reports.yaml"
    config.write_text(yaml.safe_dump({"reports": reports}, sort_keys=False), encoding="utf-8")

    data = root / "data"
    data.mkdir()
    rows = ["request_id,region_code,service_type,submitted_at,completed_at,units_involved,channel,sla_days,applicant_nik"]
    for i in range(30):
        nik = NIK if i == 0 else f"33720157089{i:05d}"
        day = 1 + i % 28
        rows.append(f"r{i},33.72,{'perizinan' if i < 25 else 'bansos'},2026-0{1 + i % 3}-{day:02d} 08:00,"
                    f"2026-0{1 + i % 3}-{day:02d} 15:00,1,online,5,{nik}")
    (data / "service_requests.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (data / "policies.csv").write_text(
        "region_code,start_date,end_date,wfa_days_per_week,wfa_weekdays,is_trial,instrument,source\n"
        "33.72,2026-01-14,,1,rabu,true,SE Sekda 1/2026,test\n", encoding="utf-8")
    (data / "dataset.json").write_text('{"extracted_at": "2026-10-31", "source": "test"}', encoding="utf-8")
    return {"config": config, "data": data, "notebooks": notebooks}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    paths = make_project(root)
    out = root / "out"
    summary = build_reports(config_path=paths["config"], data_dir=paths["data"], out_dir=out, jobs=2)
    return {**paths, "out": out, "summary": summary, "root": root}


def _records(out: Path) -> dict[str, dict]:
    manifest = json.loads((out / "manifest.json").read_text())
    return {r["slug"]: r for r in manifest["reports"]}


def test_failures_are_isolated_and_make_the_build_fail(built):
    records = _records(built["out"])
    assert set(records) == {"tiny_ok-id", "tiny_ok-en", "tiny_dep", "tiny_fail", "tiny_leak"}
    assert records["tiny_ok-id"]["status"] == "ok"
    assert records["tiny_ok-en"]["status"] == "ok"
    assert records["tiny_dep"]["status"] == "ok"
    assert records["tiny_fail"]["status"] == "failed"
    assert records["tiny_fail"]["error"]["ename"] == "ValueError"
    assert records["tiny_fail"]["error"]["cell_index"] is not None
    assert built["summary"].exit_code == 1


def test_failing_report_page_shows_error_and_failing_cell(built):
    page = (built["out"] / "tiny_fail" / "report.html").read_text()
    assert 'class="report-error"' in page
    assert "deliberate failure for the test" in page
    assert "raise ValueError" in page  # the failing cell's source, even in the reviewer view


def test_dependency_ran_after_its_input(built):
    ok = json.loads((built["out"] / "tiny_ok-id" / "results.json").read_text())
    dep = json.loads((built["out"] / "tiny_dep" / "results.json").read_text())
    assert dep["results"][0]["estimate"] == 2 * ok["results"][0]["estimate"] == 2 * 2.0 * 30


def test_manifest_and_report_provenance(built):
    manifest = json.loads((built["out"] / "manifest.json").read_text())
    build = manifest["build"]
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in built["data"].iterdir()}
    assert build["inputs"] == expected
    assert {"commit", "dirty"} <= set(build["git"])
    assert build["packages"]["papermill"] and build["packages"]["pandas"]
    report_prov = json.loads((built["out"] / "tiny_ok-id" / "provenance.json").read_text())
    assert report_prov["inputs"] == expected
    # an absolute path in a parameter is recorded as a display path (no machine paths in outputs)
    assert report_prov["parameters"] == {"scale": 2.0, "NOTEBOOKS": "notebooks", "lang": "id"}
    assert report_prov["started_at"] and report_prov["duration_s"] > 0
    assert "seed" in report_prov and "git" in report_prov
    nb = nbformat.read(built["out"] / "tiny_ok-id" / "report.ipynb", as_version=4)
    assert nb.metadata["wfa_provenance"]["key"] == _records(built["out"])["tiny_ok-id"]["key"]
    page = (built["out"] / "tiny_ok-id" / "report.html").read_text()
    assert 'class="provenance"' in page and expected["service_requests.csv"][:12] in page


def test_reviewer_html_hides_code_and_is_offline(built):
    page = (built["out"] / "tiny_ok-id" / "report.html").read_text()
    full = (built["out"] / "tiny_ok-id" / "report-full.html").read_text()
    assert "show_figure" not in page and "show_figure" in full
    assert '<html lang="id"' in page
    assert 'href="report-full.html"' in page
    assert "<script src=" not in page and "<script src=" not in full
    assert "cdnjs" not in page and "mathjax" not in page.lower()
    assert "Gambar 1." in page and "Tabel 1." in page
    assert "Figure 1." in (built["out"] / "tiny_ok-en" / "report.html").read_text()
    assert 'alt="Bar chart of request counts per service type"' in page


def test_small_counts_are_suppressed(built):
    table = (built["out"] / "tiny_ok-id" / "tables" / "volume-table.csv").read_text()
    assert "bansos,<10" in table and "perizinan,25" in table


def test_nik_in_a_rendered_page_fails_the_build(built):
    record = _records(built["out"])["tiny_leak"]
    assert record["status"] == "failed"
    assert record["error"]["ename"] == "PrivacyCheckFailed"
    assert NIK not in record["error"]["evalue"]
    for page in (built["out"] / "tiny_leak").glob("*.html"):
        assert NIK not in page.read_text()


def test_index_lists_every_report_with_status_headline_and_links(built):
    index = (built["out"] / "index.html").read_text()
    for slug in ("tiny_ok-id", "tiny_ok-en", "tiny_dep", "tiny_fail", "tiny_leak"):
        assert f'data-slug="{slug}"' in index
        assert f'href="{slug}/report.html"' in index or slug == "tiny_leak"
    assert 'data-status="failed"' in index
    assert "Scaled requests: 60,0 hari (IK 95%: 59,0 hari s.d. 61,0 hari)" in index  # id formatting
    assert "Scaled requests: 60.0 days (95% CI: 59.0 days to 61.0 days)" in index  # en formatting
    assert '<meta name="viewport"' in index and "<script" not in index and "http" not in index.split("<body>")[1]


def test_unchanged_rebuild_skips_and_force_is_deterministic(built, tmp_path):
    out, data, config = built["out"], built["data"], built["config"]
    executed = out / "tiny_ok-id" / "report.ipynb"
    before = executed.stat().st_mtime_ns
    results_before = {p.parent.name: p.read_bytes() for p in out.glob("*/results.json")}
    nb_before = nbformat.read(executed, as_version=4)

    again = build_reports(config_path=config, data_dir=data, out_dir=out, jobs=2, only="tiny_ok*,tiny_dep")
    statuses = {r["slug"]: r["status"] for r in again.records}
    assert statuses["tiny_ok-id"] == statuses["tiny_ok-en"] == statuses["tiny_dep"] == "skipped"
    assert executed.stat().st_mtime_ns == before
    assert again.exit_code == 0  # only this build's reports count (tiny_fail/tiny_leak were not selected)
    assert {r["slug"]: r["status"] for r in _records(out).values()}["tiny_fail"] == "failed"  # still listed

    forced = build_reports(config_path=config, data_dir=data, out_dir=out, jobs=2, only="tiny_ok*,tiny_dep", force=True)
    assert {r["slug"]: r["status"] for r in forced.records if r["slug"].startswith("tiny_ok")} == {
        "tiny_ok-id": "ok", "tiny_ok-en": "ok"}
    assert executed.stat().st_mtime_ns != before
    results_after = {p.parent.name: p.read_bytes() for p in out.glob("*/results.json")}
    assert results_after == results_before
    assert _normalised(nbformat.read(executed, as_version=4)) == _normalised(nb_before)


def test_changed_input_data_reruns_dependent_reports(tmp_path):
    paths = make_project(tmp_path, with_failures=False)
    out = tmp_path / "out"
    first = build_reports(config_path=paths["config"], data_dir=paths["data"], out_dir=out, jobs=1, only="tiny_ok-id")
    assert {r["slug"]: r["status"] for r in first.records} == {"tiny_ok-id": "ok"}
    with open(paths["data"] / "service_requests.csv", "a") as handle:
        handle.write("r99,33.72,bansos,3372015708909999\n")
    second = build_reports(config_path=paths["config"], data_dir=paths["data"], out_dir=out, jobs=1,
                           only="tiny_dep")
    statuses = {r["slug"]: r["status"] for r in second.records}
    assert statuses == {"tiny_ok-id": "ok", "tiny_dep": "ok"}
    assert json.loads((out / "tiny_dep" / "results.json").read_text())["results"][0]["estimate"] == 2 * 2.0 * 31
    assert second.exit_code == 0


def _normalised(nb) -> dict:
    """An executed notebook without timestamps and durations (papermill, provenance)."""
    nb = json.loads(json.dumps(nb))
    nb["metadata"].pop("papermill", None)
    for key in ("started_at", "duration_s"):
        nb["metadata"]["wfa_provenance"].pop(key, None)
    nb["metadata"]["wfa_provenance"]["git"].pop("dirty", None)
    for cell in nb["cells"]:
        cell["metadata"].pop("papermill", None)
        cell["metadata"].pop("execution", None)
    return nb


def test_invalid_parameters_stop_the_build_before_any_kernel(tmp_path):
    import yaml

    paths = make_project(tmp_path, with_failures=False)
    out = tmp_path / "out"
    for bad, fragment in (
        ({"scale": "two"}, "'scale'"),
        ({"colour": 1}, "'colour'"),
        ({"lang": "fr"}, "'lang'"),
        ({"scale": -1.0}, "'scale'"),
    ):
        config = yaml.safe_load(paths["config"].read_text())
        config["reports"][0]["parameters"].update(bad)
        config["reports"][0].pop("matrix") if "lang" in bad else None
        paths["config"].write_text(yaml.safe_dump(config))
        with pytest.raises(ParameterError) as info:
            build_reports(config_path=paths["config"], data_dir=paths["data"], out_dir=out)
        assert fragment in str(info.value) and "tiny_ok" in str(info.value)
        assert not list(out.glob("tiny_*"))
        make_project_config_reset = yaml.safe_load(paths["config"].read_text())
        make_project_config_reset["reports"][0]["parameters"] = {"scale": 2.0, "NOTEBOOKS": str(paths["notebooks"])}
        make_project_config_reset["reports"][0]["matrix"] = {"lang": ["id", "en"]}
        paths["config"].write_text(yaml.safe_dump(make_project_config_reset))


def test_cli_exit_codes(tmp_path, capsys):
    import yaml

    paths = make_project(tmp_path, with_failures=False)
    out = tmp_path / "out"
    code = cli_main(["build", "--config", str(paths["config"]), "--data", str(paths["data"]), "--out", str(out),
                     "--only", "tiny_ok", "--lang", "en", "--jobs", "1"])
    assert code == 0
    assert "index:" in capsys.readouterr().out
    assert [r["slug"] for r in json.loads((out / "manifest.json").read_text())["reports"]] == ["tiny_ok-en"]
    config = yaml.safe_load(paths["config"].read_text())
    config["reports"][1]["parameters"] = {"nope": 1}
    paths["config"].write_text(yaml.safe_dump(config))
    assert cli_main(["build", "--config", str(paths["config"]), "--data", str(paths["data"]), "--out", str(out)]) == 2
    assert "'nope'" in capsys.readouterr().err


def test_no_machine_path_in_any_output_of_a_real_build(built):
    """results.json held absolute paths; executed notebooks hold papermill's paths and library
    warnings: every output names places relative to the project, or by name only."""
    root = str(built["root"])
    for path in built["out"].rglob("*"):
        if path.is_file() and path.suffix in (".json", ".ipynb", ".html", ".csv", ".svg"):
            assert root not in path.read_text(errors="replace"), path
    nb = nbformat.read(built["out"] / "tiny_ok-id" / "report.ipynb", as_version=4)
    assert nb.metadata["papermill"]["input_path"] == "tiny_ok.ipynb"
    injected = next(c for c in nb.cells if c.get("id") == "injected-parameters")
    assert 'output_dir = "tiny_ok-id"' in injected.source and 'data_dir = "data"' in injected.source


def test_next_report_starts_before_a_finished_one_is_published_but_not_its_dependents(tmp_path):
    """run_jobs: when a report finishes, free slots are refilled before the build's (serial)
    check-and-publish step of the finished report runs, except with reports that depend on it."""
    from analysis.report.runner import ReportJob, run_jobs

    notebook = tmp_path / "quick.ipynb"
    _notebook(notebook, 'lang = "id"', ["x = 1"])
    jobs = []
    for slug in ("first", "independent", "dependent"):
        (tmp_path / slug).mkdir()
        jobs.append(ReportJob(slug=slug, notebook_path=str(notebook), output_dir=str(tmp_path / slug),
                              parameters={"lang": "id"}, title=slug, lang="id", provenance={}))
    events: list[str] = []

    def on_event(kind, slug, _outcome):
        events.append(f"{kind} {slug}")

    def on_finish(outcome):
        events.append(f"finish {outcome.slug}")
        return outcome

    done = run_jobs(jobs, {"dependent": ["first"]}, max_workers=1, on_event=on_event, on_finish=on_finish)
    assert {slug: outcome.status for slug, outcome in done.items()} == dict.fromkeys(["first", "independent", "dependent"], "ok")
    assert events.index("start independent") < events.index("finish first")
    assert events.index("finish first") < events.index("start dependent")
    assert events.index("finish independent") < events.index("done independent")
