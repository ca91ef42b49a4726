"""Notebook 50 (pilot design) runs under papermill on the `small` synthetic dataset in both languages
and both outcomes (Indonesian: licensing completion times; English: routine spending): its
results.json holds the power, size and MDE of the chosen design with Monte Carlo errors, the
figure and table files exist, and each rendered page is in its own language, states the number of
simulated pilots and speaks of a slowdown or of a saving as its outcome asks."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analysis.paths import NOTEBOOKS_DIR
from analysis.report.render import render_report
from test_notebook_documents import ENGLISH_WORDS, INDONESIAN_WORDS, RAW_CODES, foreign_words, page_text

NOTEBOOK = NOTEBOOKS_DIR / "50_pilot_design.ipynb"
N_SIMS = 40
RUNS = {"id": {"outcome": "median_days", "service_type": "perizinan", "effect_pct": 10.0},
        "en": {"outcome": "routine_spending", "effect_pct": 3.0}}


def test_papermill_sees_every_declared_parameter():
    import papermill
    import yaml

    declared = yaml.safe_load((NOTEBOOKS_DIR / "50_pilot_design.params.yaml").read_text(encoding="utf-8"))["parameters"]
    assert set(papermill.inspect_notebook(str(NOTEBOOK))) == set(declared)


@pytest.fixture(scope="module")
def executed(tmp_path_factory, small_dataset):
    import papermill

    runs = {}
    src = str(Path(__file__).resolve().parents[1] / "src")
    with pytest.MonkeyPatch.context() as patch:  # the kernel imports this worktree's package
        patch.setenv("PYTHONPATH", src + os.pathsep + os.environ.get("PYTHONPATH", ""))
        for lang, parameters in RUNS.items():
            out = tmp_path_factory.mktemp(f"nb50-{lang}")
            papermill.execute_notebook(
                str(NOTEBOOK), str(out / "report.ipynb"), cwd=str(NOTEBOOKS_DIR), progress_bar=False,
                parameters={"data_dir": str(small_dataset), "output_dir": str(out), "lang": lang,
                            "n_sims": N_SIMS, **parameters})
            runs[lang] = {
                "out": out, "results": json.loads((out / "results.json").read_text(encoding="utf-8")),
                "page": render_report(out / "report.ipynb", title="50", lang=lang, provenance={})["html"],
            }
    return runs


def _entry(results, name):
    return next(entry for entry in results["results"] if entry["name"] == name)


@pytest.mark.parametrize("lang", RUNS)
def test_results_hold_power_size_and_mde_with_monte_carlo_errors(executed, lang):
    results = executed[lang]["results"]
    assert {"power", "size", "mde_pct"} <= {entry["name"] for entry in results["results"]}
    for name in ("power", "size"):
        entry = _entry(results, name)
        assert 0 <= entry["estimate"] <= 1 and entry["se"] > 0 and entry["unit"] == "share", entry
    mde = _entry(results, "mde_pct")
    status = mde["estimand"]["details"]["mde_status"]
    if status == "not_reached":
        assert mde["estimate"] is None
    else:
        assert math.isfinite(mde["estimate"]) and 0 < abs(mde["estimate"]) <= 50
        assert (mde["se"] > 0) if status == "reached" else mde["se"] is None
    power = _entry(results, "power")
    details = power["estimand"]["details"]
    assert details["n_adopters"] == 20 and details["months_after"] == 6 and details["outcome"] == RUNS[lang]["outcome"]
    # the effect asked about has the direction of concern: a slowdown (+) or a saving (−)
    assert details["effect_pct"] == (RUNS[lang]["effect_pct"] if lang == "id" else -RUNS[lang]["effect_pct"])
    assert power["inference"]["details"]["n_sims"] == N_SIMS
    assert power["sample"]["comparison_count"] == 465  # 552 Pemda − 67 with a WFA policy − 20 adopters


def test_spending_design_detects_a_saving_and_licensing_needs_more(executed):
    """On the small dataset (about two requests per Pemda-month) licensing medians are very noisy,
    spending is not (benchmarks/README.md): the same design's MDE differs by an order of
    magnitude, and the spending MDE is a saving."""
    spending = _entry(executed["en"]["results"], "mde_pct")
    licensing = _entry(executed["id"]["results"], "mde_pct")
    assert spending["estimand"]["details"]["mde_status"] == "reached" and -10 < spending["estimate"] < 0
    assert licensing["estimate"] is None or licensing["estimate"] > 5 * abs(spending["estimate"])


@pytest.mark.parametrize("lang", RUNS)
def test_figure_and_table_files(executed, lang):
    out = executed[lang]["out"]
    assert (out / "figures" / "power_curve.png").stat().st_size > 10_000
    table = pd.read_csv(out / "tables" / "mde_table.csv")
    assert len(table) == 4 * 3  # adopters 5, 10, 20, 40 × months 3, 6, 12 (the chosen 20 × 6 among them)
    curve = pd.DataFrame(executed[lang]["results"]["extra"]["curve"])
    chosen = curve[curve["chosen"]].iloc[0]
    assert chosen["power"] == _entry(executed[lang]["results"], "power")["estimate"]
    exhibits = json.loads((out / "exhibits.json").read_text(encoding="utf-8"))
    assert [e["file"] for e in exhibits] == ["figures/power_curve.png", "tables/mde_table.csv"]
    notebook = nbformat.read(out / "report.ipynb", as_version=4)
    assert not [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if o.get("output_type") == "error"]


def test_indonesian_page(executed):
    text = page_text(executed["id"]["page"])
    assert "Desain uji coba WFA berikutnya" in text
    assert foreign_words(text, ENGLISH_WORDS) == []
    assert not [code for code in RAW_CODES if code in text]
    assert "perlambatan sebesar 10,0% pada median waktu penyelesaian permohonan perizinan" in text
    assert f"{N_SIMS} uji coba tersimulasi per desain" in text
    assert "Gambar 1." in text and "Tabel 1." in text


def test_english_page(executed):
    text = page_text(executed["en"]["page"])
    assert "Designing the next WFA pilots" in text
    assert foreign_words(text, INDONESIAN_WORDS) == []
    assert not [code for code in RAW_CODES if code in text]
    assert "a saving of 3.0% in routine office spending" in text and "licens" not in text
    assert f"{N_SIMS} simulated pilots per design" in text
    assert "Figure 1." in text and "Table 1." in text
