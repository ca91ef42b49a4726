"""Case study (notebook 30): steps on the small synthetic dataset, coverage of the true effect,
and the notebook under papermill."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.analyses import case_study
from analysis.data.schemas import ROUTINE_CATEGORIES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def small_dataset_dir(tmp_path_factory) -> Path:
    from analysis.simulate import simulate_dataset

    return simulate_dataset(tmp_path_factory.mktemp("small") / "data", size="small", seed=1)


@pytest.fixture(scope="session")
def small_dataset(small_dataset_dir):
    from analysis.data import load as load_dataset

    return load_dataset(small_dataset_dir)


@pytest.fixture(scope="session")
def spending_series(small_dataset) -> pd.DataFrame:
    return case_study.monthly_outcome(small_dataset, "log_routine_spending")


@pytest.fixture(scope="session")
def bengkulu(small_dataset, spending_series):
    data = case_study.build_case_study_data(small_dataset, "17", "log_routine_spending", series=spending_series)
    return case_study.run_case_study(data)


def true_log_routine_effect(truth_dir: Path, region_code: str, first: str, last: str) -> float:
    """Mean over post months of log(routine realised / routine counterfactual) for one Pemda."""
    cells = pd.read_parquet(truth_dir / "truth_budget_cells.parquet")
    cells = cells[(cells["region_code"].astype(str) == region_code) & cells["category"].isin(ROUTINE_CATEGORIES)
                  & (cells["period"] >= first) & (cells["period"] <= last)]
    monthly = cells.groupby("period")[["realized_idr", "counterfactual_idr"]].sum()
    return float(np.mean(np.log(monthly["realized_idr"] / monthly["counterfactual_idr"])))


def test_province_donor_pool_is_never_adopting_provinces(small_dataset, bengkulu):
    data = bengkulu.data
    regions = small_dataset.regions.set_index("region_code")
    assert data.treatment_start == "2026-01"
    assert (regions.loc[data.donors["region_code"], "level"] == "provinsi").all()
    status = case_study.adoption_status(small_dataset, data.panel["period"].unique()).set_index("region_code")
    assert (status.loc[data.donors["region_code"], "status"] == "never").all()
    assert "17" not in set(data.donors["region_code"])


def test_sdid_interval_covers_the_true_effect(small_dataset_dir, bengkulu):
    d = bengkulu.data
    truth = true_log_routine_effect(small_dataset_dir, d.region_code, d.treatment_start, d.last_post)
    assert case_study.true_effect(small_dataset_dir, bengkulu) == pytest.approx(truth)
    sdid = bengkulu.estimate("sdid")
    assert sdid["ci_low"] <= truth <= sdid["ci_high"]
    assert bengkulu.sdid_se.draws == "all" and bengkulu.sdid_se.replications == len(d.donors)
    assert sdid["se"] ** 2 == pytest.approx(sdid["se_placebo"] ** 2 + sdid["se_adjustment"] ** 2)
    assert d.region_label == "Provinsi Bengkulu" and bengkulu.adjustment is not None


def test_results_entries_and_conclusion_use_the_computed_numbers(bengkulu):
    from analysis.texts import t
    from analysis.texts.numbers import format_value

    entries = {e.name: e for e in case_study.result_entries(bengkulu)}
    assert set(entries) >= {"sc_effect", "sdid_effect", "its_effect", "placebo_pvalue", "pre_rmspe"}
    assert entries["sdid_effect"].estimate == bengkulu.sdid.estimate
    assert entries["sdid_effect"].inference.method == "placebo"
    assert entries["its_effect"].estimand.details["cut_adjusted"] is True
    assert entries["sdid_effect"].sample.treated == ("17",)
    assert entries["sdid_effect"].ci_low < entries["sdid_effect"].estimate < entries["sdid_effect"].ci_high
    assert 0 < entries["placebo_pvalue"].estimate <= 1
    facts = case_study.conclusion_facts(bengkulu)
    text_en = t("30.conclusion", "en", **facts)
    assert format_value(bengkulu.sdid.estimate, "slp3", "en") in text_en
    text_id = t("30.conclusion", "id", **facts)
    assert format_value(bengkulu.sdid.estimate, "slp3", "id") in text_id and "poin log" in text_id
    table = case_study.weights_table(bengkulu)
    assert list(table.columns) == ["name", "region_code", "sc_weight", "sdid_weight"] and len(table) <= 10


def test_switched_off_trial_post_period_stops_when_wfa_ended(small_dataset, spending_series):
    data = case_study.build_case_study_data(small_dataset, "33.72", "log_routine_spending", series=spending_series)
    assert data.status == "switched_off"
    assert (data.treatment_start, data.last_post) == ("2026-01", "2026-01")
    regions = small_dataset.regions.set_index("region_code")
    assert set(regions.loc[data.donors["region_code"], "level"]) <= {"kabupaten", "kota"}


def test_bad_requests(small_dataset, spending_series):
    with pytest.raises(case_study.CaseStudyError, match="not in the regions table"):
        case_study.build_case_study_data(small_dataset, "99.99", "log_routine_spending", series=spending_series)
    never = case_study.adoption_status(small_dataset, spending_series["period"].unique())
    never_code = never.loc[never["status"] == "never", "region_code"].iloc[0]
    with pytest.raises(case_study.CaseStudyError, match="no WFA policy"):
        case_study.build_case_study_data(small_dataset, never_code, "log_routine_spending", series=spending_series)
    with pytest.raises(case_study.CaseStudyError, match="outcome must be one of"):
        case_study.monthly_outcome(small_dataset, "happiness")


@pytest.mark.slow
def test_notebook_runs_under_papermill(small_dataset_dir, tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    out_dir = tmp_path / "report"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "30_case_study.ipynb"), str(tmp_path / "out.ipynb"),
        parameters={"region_code": "17", "data_dir": str(small_dataset_dir), "output_dir": str(out_dir),
                    "outcome": "log_routine_spending", "lang": "en"},
        cwd=str(ROOT), progress_bar=False, kernel_name="python3",
    )
    document = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
    names = {r["name"]: r for r in document["results"]}
    assert {"sc_effect", "sdid_effect", "placebo_pvalue", "pre_rmspe"} <= set(names)
    assert names["sdid_effect"]["se"] > 0
    assert document["extra"]["region_code"] == "17"
    assert (out_dir / "figures" / "case-path.png").exists() and (out_dir / "figures" / "case-gap.png").exists()
    assert (out_dir / "tables" / "case-weights.csv").exists()


def test_committed_notebook_has_no_outputs():
    import nbformat

    notebook = nbformat.read(ROOT / "notebooks" / "30_case_study.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
            assert "def " not in cell.source
