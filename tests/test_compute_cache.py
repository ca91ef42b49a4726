"""The compute cache (compute once, render per language): hits, what invalidates an entry and
what does not, two processes at once, corrupt entries; and how the build reports it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import compute_cache
from analysis.report.compute_cache import cached_call, code_version, entry_path, make_key, read_log, summary
from analysis.report.context import ReportContext

CALLS: list = []


def estimate(frame: pd.DataFrame, *, scale: float = 1.0) -> dict:
    CALLS.append(1)
    return {"total": float(frame["y"].sum()) * scale, "rows": len(frame)}


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    CALLS.clear()
    monkeypatch.setenv("PEMDA_WFA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(compute_cache.ENV_VAR, raising=False)


def test_second_call_is_read_back_and_logged(tmp_path):
    frame = pd.DataFrame({"y": [1.0, 2.0]})
    log = tmp_path / "log.jsonl"
    first = cached_call(estimate, (frame,), {"scale": 2.0}, context={"data": "d1"}, log=log)
    second = cached_call(estimate, (frame,), {"scale": 2.0}, context={"data": "d1"}, log=log)
    assert first == second == {"total": 6.0, "rows": 2}
    assert len(CALLS) == 1
    assert [r["status"] for r in read_log(log)] == ["computed", "cached"]
    assert summary(read_log(log)[1:]) == "cached" and summary(read_log(log)[:1]) == "computed"


@pytest.mark.parametrize("change", ["data", "parameters", "argument", "keyword", "code"])
def test_a_change_of_data_parameters_arguments_or_code_recomputes(change, monkeypatch):
    frame = pd.DataFrame({"y": [1.0, 2.0]})
    base = dict(args=(frame,), kwargs={"scale": 1.0}, context={"data": "d1", "parameters": {"n_draws": 99}})
    cached_call(estimate, base["args"], base["kwargs"], context=base["context"])
    other = {
        "data": dict(base, context={"data": "d2", "parameters": {"n_draws": 99}}),
        "parameters": dict(base, context={"data": "d1", "parameters": {"n_draws": 999}}),
        "argument": dict(base, args=(pd.DataFrame({"y": [1.0, 2.5]}),)),
        "keyword": dict(base, kwargs={"scale": 2.0}),
        "code": base,
    }[change]
    if change == "code":  # the analysis code changed since the entry was written
        monkeypatch.setattr(compute_cache, "code_version", lambda root=None: "another version")
    cached_call(estimate, other["args"], other["kwargs"], context=other["context"])
    assert len(CALLS) == 2


def _package(root: Path) -> Path:
    package = root / "analysis"
    for rel, text in {"did/core.py": "x = 1\n", "texts/catalogue.toml": "a = 'kata'\n",
                      "figures/plot.py": "color = 'C0'\n", "__init__.py": ""}.items():
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text(text)
    return package


def test_code_version_ignores_wording_and_figures_but_not_analysis_code(tmp_path):
    package = _package(tmp_path)
    before = code_version(package)
    (package / "texts" / "catalogue.toml").write_text("a = 'kata lain'\n")
    (package / "figures" / "plot.py").write_text("color = 'C1'\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert code_version(package) == before
    (package / "did" / "core.py").write_text("x = 2\n")
    assert code_version(package) != before


def test_language_and_output_folder_share_one_entry(tmp_path):
    frame = pd.DataFrame({"y": [3.0]})
    results = []
    for lang in ("id", "en"):
        out = tmp_path / f"out-{lang}"
        out.mkdir()
        ctx = ReportContext("10_service_time", {"lang": lang, "output_dir": str(out), "outcome": "median_days"},
                            lang, None, out)
        results.append(ctx.compute(estimate, frame, scale=1.0))
    assert results[0] == results[1] and len(CALLS) == 1
    assert read_log(tmp_path / "out-en" / compute_cache.COMPUTE_LOG)[0]["status"] == "cached"
    other = ReportContext("10_service_time", {"lang": "en", "output_dir": "", "outcome": "sla_share"}, "en", None,
                          tmp_path / "out-en")
    other.compute(estimate, frame, scale=1.0)
    assert len(CALLS) == 2  # another parameter value is another entry


def test_a_shared_step_is_one_entry_across_notebooks_and_parameters(tmp_path):
    frame = pd.DataFrame({"y": [3.0, 4.0]})
    contexts = [ReportContext(notebook, {"lang": "id", "output_dir": "", "region_code": code}, "id", None, tmp_path)
                for notebook, code in (("30_case_study", "17"), ("30_case_study", "71.11"), ("35_switch_off", "33.72"))]
    results = [ctx.compute_shared(estimate, frame, scale=2.0) for ctx in contexts]
    assert results[0] == results[1] == results[2] == {"total": 14.0, "rows": 2} and len(CALLS) == 1
    assert [r["status"] for r in read_log(tmp_path / compute_cache.COMPUTE_LOG)] == ["computed", "cached", "cached"]
    contexts[0].compute_shared(estimate, frame, scale=3.0)
    contexts[0].compute_shared(estimate, pd.DataFrame({"y": [3.0, 5.0]}), scale=2.0)
    assert len(CALLS) == 3  # other arguments are other entries
    contexts[0].compute(estimate, frame, scale=2.0)
    assert len(CALLS) == 4  # a report's own step is not the shared one


def test_corrupt_entry_is_recomputed_and_replaced():
    frame = pd.DataFrame({"y": [1.0]})
    cached_call(estimate, (frame,), context={"data": "d"})
    path = entry_path(make_key(estimate, (frame,), {}, context={"data": "d"}))
    path.write_bytes(b"not a pickle")
    assert cached_call(estimate, (frame,), context={"data": "d"}) == {"total": 1.0, "rows": 1}
    assert len(CALLS) == 2
    cached_call(estimate, (frame,), context={"data": "d"})
    assert len(CALLS) == 2


def _local_result():
    return lambda: 1  # cannot be pickled


def test_unpicklable_result_is_returned_but_not_stored(tmp_path):
    log = tmp_path / "log.jsonl"
    value = cached_call(_local_result, log=log)
    assert value() == 1 and read_log(log)[0]["status"] == "uncached"
    assert not list((tmp_path / "cache").rglob("*.pkl"))


def test_off_switch(monkeypatch):
    monkeypatch.setenv(compute_cache.ENV_VAR, "off")
    frame = pd.DataFrame({"y": [1.0]})
    cached_call(estimate, (frame,))
    cached_call(estimate, (frame,))
    assert len(CALLS) == 2


WORKER = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {here!r})
from analysis.report.compute_cache import cached_call

def slow(n):
    with open({counter!r}, "a") as handle:
        handle.write("run\\n")
    time.sleep(1.5)
    return list(range(n))

value = cached_call(slow, (5,), context={{"data": "shared"}}, log=Path(sys.argv[1]))
print(json.dumps(value))
"""


def test_two_processes_filling_the_same_entry_compute_it_once(tmp_path):
    counter = tmp_path / "runs.txt"
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(WORKER.format(here=str(tmp_path), counter=str(counter))))
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / f"log{i}.jsonl")], stdout=subprocess.PIPE,
                              text=True) for i in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert [json.loads(o) for o in outputs] == [[0, 1, 2, 3, 4]] * 2
    assert counter.read_text().count("run") == 1
    statuses = sorted(read_log(tmp_path / f"log{i}.jsonl")[0]["status"] for i in range(2))
    assert statuses == ["cached", "computed"]
    assert not list((tmp_path / "cache").rglob("*.partial"))


def test_runner_reports_estimates_and_removes_the_log(tmp_path, monkeypatch):
    from analysis.report import runner
    from analysis.report.build import Progress

    def fake(job, executed):
        executed.write_text("{}")
        (Path(job.output_dir) / compute_cache.COMPUTE_LOG).write_text(
            json.dumps({"function": "f", "key": "k", "status": "cached", "seconds": 0.1}) + "\n")

    monkeypatch.setattr(runner, "run_notebook", fake)
    monkeypatch.setattr(runner, "render_report", lambda *a, **k: {})
    monkeypatch.setattr(runner, "stabilise_notebook", lambda *a, **k: None)
    out = tmp_path / "staging"
    out.mkdir()
    job = runner.ReportJob(slug="r-en", notebook_path="x.ipynb", output_dir=str(out), parameters={}, title="t",
                           lang="en", provenance={})
    outcome = runner.execute_report(job)
    assert outcome.estimates == "cached"
    assert not (out / compute_cache.COMPUTE_LOG).exists()
    assert json.loads((out / "provenance.json").read_text())["compute"][0]["status"] == "cached"
    lines = []

    class Stream:
        def write(self, text):
            lines.append(text)

        def flush(self):
            pass

    Progress(1, Stream())("done", "r-en", outcome)
    assert "estimates: cached" in "".join(lines)


def describe(result: dict) -> str:
    CALLS.append(1)
    return f"{result['total']:.1f} over {result['rows']} rows"


def test_a_step_on_a_cached_result_is_keyed_by_that_result(tmp_path):
    frame = pd.DataFrame({"y": [1.0, 2.0]})
    first = cached_call(estimate, (frame,), context={"data": "d"})
    assert compute_cache.token(first) == ["result", make_key(estimate, (frame,), {}, context={"data": "d"})]
    assert cached_call(describe, (first,), context={"data": "d"}) == "3.0 over 2 rows"
    again = cached_call(estimate, (frame,), context={"data": "d"})  # read back: a new object, the same key
    assert cached_call(describe, (again,), context={"data": "d"}) == "3.0 over 2 rows"
    assert len(CALLS) == 2  # estimate once, describe once


def test_loaded_service_inputs_are_keyed_by_their_dataset_and_call_not_their_frames(small_dataset, monkeypatch):
    import dataclasses

    from analysis.analyses import service_sample

    inputs = service_sample.load_inputs(small_dataset)
    token = compute_cache.token(inputs)
    assert token == ["ServiceInputs", ["load_inputs", inputs.dataset.__cache_token__(), "exclude", True]]
    other = service_sample.load_inputs(small_dataset, trial_handling="absorbing")
    assert compute_cache.token(other) != token  # another call, another key
    # a copy with a changed frame is a new object without the loading token: its frames are hashed
    changed = dataclasses.replace(inputs, panel=inputs.panel.iloc[:10])
    assert changed.__cache_token__() is None
    hashed = compute_cache.token(changed)
    assert hashed[0].endswith("ServiceInputs") and hashed != token
    assert compute_cache.token(dataclasses.replace(inputs, panel=inputs.panel.iloc[:11])) != hashed
    # and the loaded inputs are keyed without hashing a frame
    monkeypatch.setattr(compute_cache, "_frame_token", lambda frame: pytest.fail("a frame was hashed"))
    assert compute_cache.token(inputs) == token
