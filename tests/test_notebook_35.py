"""Notebook 35 (a WFA trial that ended) runs under papermill on the small synthetic dataset."""

import json
import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "35_switch_off.ipynb"


@pytest.mark.slow
def test_notebook_runs_and_writes_results(small_dataset, tmp_path):
    import papermill as pm

    out = tmp_path / "out"
    os.environ["PYTHONPATH"] = str(NOTEBOOK.parents[1] / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "run.ipynb"), cwd=str(tmp_path), progress_bar=False,
                        parameters={"data_dir": str(small_dataset), "output_dir": str(out), "lang": "id"})
    doc = json.loads((out / "results.json").read_text())
    entries = {r["name"]: r for r in doc["results"]}
    on = entries["switch_off_effect_on"]
    assert on["inference"]["method"] == "randomization" and on["inference"]["n_treated_clusters"] == 1
    assert on["ci_low"] <= on["estimate"] <= on["ci_high"]
    assert "switch_off_effect_after" in entries
    rendered = (tmp_path / "run.ipynb").read_text()
    assert "Kota Surakarta" in rendered and "uji coba" in rendered


def test_notebook_is_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", [])
