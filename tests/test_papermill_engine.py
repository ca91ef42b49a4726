"""The build's papermill engine (analysis.report.papermill_engine): the running notebook is written
at most every SAVE_EVERY_S seconds instead of at every cell's start and end, and still whenever the
run ends: completed, failed in a cell, or with a kernel that died."""

from __future__ import annotations

import json

import nbformat
import papermill
import pytest

from analysis.report import papermill_engine
from analysis.report.runner import ReportJob, run_notebook


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell('lang = "id"', metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)


def _run(tmp_path, cells, monkeypatch):
    notebook, executed = tmp_path / "in.ipynb", tmp_path / "out" / "report.ipynb"
    executed.parent.mkdir()
    _notebook(notebook, cells)
    writes = []
    original = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: (writes.append(path), original(nb, path)))
    job = ReportJob(slug="t", notebook_path=str(notebook), output_dir=str(executed.parent), parameters={"lang": "en"},
                    title="t", lang="en", provenance={})
    error = None
    try:
        run_notebook(job, executed)
    except Exception as exc:  # noqa: BLE001 - inspected by the tests
        error = exc
    return executed, writes, error


def _outputs(executed):
    nb = json.loads(executed.read_text(encoding="utf-8"))
    return ["".join(o.get("text", "")) for cell in nb["cells"] for o in cell.get("outputs", [])]


def test_a_run_writes_the_notebook_rarely_and_completely(tmp_path, monkeypatch):
    executed, writes, error = _run(tmp_path, [f"print({k})" for k in range(20)], monkeypatch)
    assert error is None
    assert len(writes) <= 3  # papermill's own engine: 2 per cell and more, 44 here
    assert _outputs(executed) == [f"{k}\n" for k in range(20)]


def test_a_failing_cell_leaves_the_cells_before_it_and_the_error(tmp_path, monkeypatch):
    executed, _, error = _run(tmp_path, ["print('before')", "1 / 0", "print('never')"], monkeypatch)
    assert type(error).__name__ == "PapermillExecutionError"
    assert _outputs(executed)[0] == "before\n"
    assert "ZeroDivisionError" in executed.read_text(encoding="utf-8")


def test_a_kernel_that_dies_leaves_the_cells_that_ran(tmp_path, monkeypatch):
    executed, writes, error = _run(tmp_path, ["print('ran')", "import os; os._exit(1)", "print('never')"],
                                   monkeypatch)
    assert error is not None
    assert executed.exists() and writes
    assert _outputs(executed) == ["ran\n"]


@pytest.mark.parametrize("seconds, expected", [(0.0, "every"), (3600.0, "end")])
def test_the_save_interval_is_what_limits_the_writes(tmp_path, monkeypatch, seconds, expected):
    monkeypatch.setattr(papermill_engine, "SAVE_EVERY_S", seconds)
    _, writes, error = _run(tmp_path, ["x = 1", "y = 2", "z = 3"], monkeypatch)
    assert error is None
    assert (len(writes) >= 8) if expected == "every" else (len(writes) <= 3)
