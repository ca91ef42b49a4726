"""Notebook 40 (robustness): the verdict rule on constructed inputs, and the notebook under
papermill on the small dataset with its side-by-side table in results.json."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.analyses import robustness

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "40_robustness.ipynb"


def _table(atts, pvalues):
    return pd.DataFrame({"estimator": [f"e{i}" for i in range(len(atts))], "att": atts, "pvalue": pvalues})


def test_verdict_robust_when_sign_and_significance_agree():
    v = robustness.verdict(_table([-0.08, -0.07, -0.09], [0.001, 0.02, 0.0001]))
    assert v["code"] == "robust" and v["depends"] == 0 and v["n_significant"] == 3
    # all insignificant, same sign: robust too
    assert robustness.verdict(_table([0.02, 0.01], [0.4, 0.7]))["code"] == "robust"


def test_verdict_depends_on_method_when_sign_or_significance_differ():
    by_sign = robustness.verdict(_table([-0.08, 0.01, -0.05], [0.01, 0.9, 0.03]))
    assert by_sign["code"] == "depends_on_method" and by_sign["depends"] == 1
    assert by_sign["n_positive"] == 1 and by_sign["n_negative"] == 2
    by_significance = robustness.verdict(_table([-0.08, -0.02], [0.01, 0.30]))
    assert by_significance["code"] == "depends_on_method"


def test_verdict_ignores_rows_without_an_estimate():
    v = robustness.verdict(_table([-0.08, np.nan, -0.06], [0.01, np.nan, 0.04]))
    assert v["code"] == "robust" and v["n_estimates"] == 2


def test_anticipation_moves_cohorts_one_month_earlier():
    shifted = robustness._shift_cohort(pd.Series([0, "2026-01", "2025-03", 24312]), 1)
    assert list(shifted) == [0, "2025-12", "2025-02", 24311]


@pytest.mark.slow
def test_notebook_runs_and_writes_the_side_by_side_table(small_dataset, tmp_path):
    import papermill as pm

    out = tmp_path / "out"
    os.environ["PYTHONPATH"] = str(NOTEBOOK.parents[1] / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "run.ipynb"), cwd=str(tmp_path), progress_bar=False,
                        parameters={"data_dir": str(small_dataset), "output_dir": str(out), "lang": "id",
                                    "outcome": "log_routine_spending", "ri_draws": 19})
    doc = json.loads((out / "results.json").read_text())
    entries = {r["name"]: r for r in doc["results"]}
    for name in ("att_cs_never", "att_cs_not_yet", "att_imputation", "att_sun_abraham", "att_twfe",
                 "att_randomization"):
        assert name in entries, name
        assert entries[name]["estimand"] and entries[name]["sample"] and entries[name]["inference"], name
    assert entries["att_randomization"]["inference"]["method"] == "randomization"
    assert entries["att_cs_not_yet"]["inference"]["reason"] == "enough_treated_clusters"
    assert entries["conclusion_depends_on_method"]["estimate"] in (0.0, 1.0)
    assert (out / "figures" / "robustness-honest.png").exists()
    assert "Kesimpulan" in (tmp_path / "run.ipynb").read_text()


def test_every_view_of_the_service_time_outcome(small_dataset):
    """``run_robustness`` itself on the service-time outcome (the notebook test runs spending):
    every view is there, and the facts that must hold between them do."""
    panel = robustness.build_panel(small_dataset, "log_median_days")
    result = robustness.run_robustness(panel, ri_draws=19)
    table = result.table.set_index("estimator")
    assert list(table.index) == [*robustness.ESTIMATORS[:-1], "randomization"]
    assert np.isfinite(table["att"]).all() and not [n.code for n in result.notes if n.code == "estimator_failed"]
    # the randomization row tests the headline's own statistic: the imputation estimate
    assert result.parameters["headline"] == "imputation"
    assert table.loc["randomization", "att"] == pytest.approx(table.loc["imputation", "att"], rel=1e-12)
    assert 0 < table.loc["randomization", "pvalue"] <= 1
    assert result.verdict == robustness.verdict(result.table)
    # HonestDiD: one interval per M, each containing the one before (a larger M allows more)
    honest = result.honest.sort_values("M")
    assert list(honest["M"]) == list(robustness.HONEST_GRID)
    assert (np.diff(honest["ci_low"]) <= 1e-12).all() and (np.diff(honest["ci_high"]) >= -1e-12).all()
    # Goodman-Bacon: the comparison weights add up to one
    assert result.bacon_summary["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    # leave one out: one row per real adopter, named, each estimate within its own interval
    loo = result.leave_one_out
    assert list(loo["region_code"]) == list(panel.real_adopters) and len(loo) >= 2
    assert loo["name"].str.match(r"^(Provinsi|Kabupaten|Kota) ").all()
    assert ((loo["ci_low"] < loo["att"]) & (loo["att"] < loo["ci_high"])).all()
    assert list(result.anticipation["estimator"]) == ["imputation"]


def test_notebook_is_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", [])
