"""Notebook 10 runs under papermill on the small synthetic dataset and writes its results."""

import json
import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "10_service_time.ipynb"


@pytest.mark.slow
def test_notebook_runs_and_writes_results(small_dataset, tmp_path):
    import papermill as pm

    out = tmp_path / "out"
    env_path = str(Path(__file__).resolve().parents[1] / "src")
    os.environ["PYTHONPATH"] = env_path + os.pathsep + os.environ.get("PYTHONPATH", "")
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "run.ipynb"), cwd=str(tmp_path), progress_bar=False,
                        parameters={"data_dir": str(small_dataset), "output_dir": str(out), "lang": "en"})
    doc = json.loads((out / "results.json").read_text())
    names = {r["name"] for r in doc["results"]}
    assert {"att_log_median_days", "att_pct_median_days", "att_sla_share"} <= names
    assert any(n.startswith("att_log_median_days__units__") for n in names)
    pct = next(r for r in doc["results"] if r["name"] == "att_pct_median_days")
    log = next(r for r in doc["results"] if r["name"] == "att_log_median_days")
    assert abs(pct["estimate"] - 100 * (2.718281828459045 ** log["estimate"] - 1)) < 1e-9
    # every headline entry names its estimand, its sample and its inference (codes, not sentences)
    assert all(r["estimand"] and r["sample"] and r["inference"] for r in doc["results"]), \
        [r["name"] for r in doc["results"] if not (r["estimand"] and r["sample"] and r["inference"])]
    assert log["estimand"]["estimator"] == "imputation" and log["estimand"]["weights"] == "treated_cells_equal"
    assert "simulated_truth" in log["estimand"]["details"]
    weighted = next(r for r in doc["results"] if r["name"] == "att_log_median_days_request_weighted")
    assert weighted["estimand"]["weights"] == "requests"
    assert set(log["sample"]["real_adopters_included"]) <= set(log["sample"]["treated"])
    diffs = [r for r in doc["results"] if r["name"].startswith("diff_log_median_days__")]
    assert diffs and all(r["inference"]["details"]["pvalue_holm"] >= r["inference"]["pvalue"] for r in diffs)
    assert doc["parameters"]["lang"] == "en"
    rendered = (tmp_path / "run.ipynb").read_text()
    assert "applicant_nik" not in rendered
    assert (out / "figures" / "fig-event-study.png").exists()


def test_notebook_is_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", [])


def test_bad_parameter_is_rejected():
    from analysis.errors import ParameterError
    from analysis.report.params import validate_notebook_parameters

    with pytest.raises(ParameterError, match="outcome"):
        validate_notebook_parameters("10_service_time", {"data_dir": "", "output_dir": "x", "service_type": "all",
                                                         "outcome": "mean_days", "control": "never", "lang": "id"})
