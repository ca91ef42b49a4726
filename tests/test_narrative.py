"""Report narrative: every text exists in both languages, notebooks use only known keys, and
sentences with numbers carry the numbers they are given."""

from __future__ import annotations

import re

import nbformat
import pandas as pd
import pytest

from analysis.texts import narrative
from analysis.paths import NOTEBOOKS_DIR

NARRATED = ("00_data_overview", "10_service_time", "20_budget_savings", "30_case_study")


def test_every_text_has_both_languages_and_they_differ():
    for key, texts in narrative.TEXTS.items():
        assert set(texts) == {"id", "en"}, key
        assert texts["id"].strip() and texts["en"].strip(), key
        if len(texts["en"]) > 40:
            assert texts["id"] != texts["en"], f"{key}: Indonesian text is a copy of the English"


def test_unknown_key_or_language_is_an_error():
    with pytest.raises(KeyError, match="no narrative text"):
        narrative.text("10.nope", "id")
    with pytest.raises(ValueError, match="lang"):
        narrative.text("10.censoring", "fr")


@pytest.mark.parametrize("stem", NARRATED)
def test_notebook_narrative_comes_from_the_module(stem):
    nb = nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4)
    assert not [c for c in nb.cells if c.cell_type == "markdown"], f"{stem}: markdown cell shows one language only"
    # the developer note that keeps the parameters cell second must not reach the rendered report
    assert all(c.metadata.get("raw_mimetype") == "text/plain" for c in nb.cells if c.cell_type == "raw"), stem
    keys = [k for c in nb.cells if c.cell_type == "code" for k in re.findall(r'narrative\.text\("([^"]+)"', c.source)]
    assert keys, f"{stem}: no narrative text shown"
    assert all(k in narrative.TEXTS for k in keys), [k for k in keys if k not in narrative.TEXTS]
    assert keys[0].endswith(".title"), f"{stem}: the report does not start with its title"


def test_hazard_sentence_carries_the_numbers_in_each_language():
    args = dict(hazard_ratio=0.9371, ci_low=0.914, ci_high=0.961, n_requests=1092659, n_treated_pemda=66,
                n_control_pemda=485,
                model="piecewise-exponential PH (Poisson on 414,510 person-period cells, 15 day bins)")
    en = narrative.hazard_markdown(**args, lang="en")
    id_ = narrative.hazard_markdown(**args, lang="id")
    assert "0.937" in en and "1,092,659" in en and "95% CI" in en
    assert "0,937" in id_ and "1.092.659" in id_ and "IK 95%" in id_ and "414.510" in id_
    assert "requests" not in id_ and "piecewise" not in id_


def test_window_sentence():
    assert "2025-01–2026-09" in narrative.window_markdown(("2025-01", "2026-09"), 1901, 265, "id")
    assert "1.901 unit" in narrative.window_markdown(("2025-01", "2026-09"), 1901, 265, "id")
    assert "1,901 Pemda × service units kept" in narrative.window_markdown(("2025-01", "2026-09"), 1901, 265, "en")


@pytest.mark.parametrize("note, expected", [
    ("switched_off: WFA ended after 2026-01; excluded from staggered estimators",
     "WFA dihentikan: WFA berakhir setelah 2026-01; dikeluarkan dari penduga bertahap"),
    ("gap 2025-12 bridged (rule 2); WFA ended after 2026-03; kept as treated (absorbing)",
     "jeda 2025-12 dijembatani (aturan 2); WFA berakhir setelah 2026-03; tetap dihitung sebagai penerap "
     "(perlakuan menetap)"),
    ("3 or more WFA days per week pooled as 3", "3 hari WFA per minggu atau lebih digabung sebagai 3"),
    ("something new", "something new"),
])
def test_module_notes_are_translated(note, expected):
    assert narrative.note_text(note, "id") == expected
    assert narrative.note_text(note, "en") == note


def test_budget_sentences():
    excluded = pd.DataFrame({"region_code": ["33.72"],
                             "reason": ["switched_off: WFA ended after 2026-01; excluded from staggered estimators"]})
    assert "33.72: WFA dihentikan" in narrative.excluded_markdown(excluded, "id")
    truth = {"savings_idr_total": 60.1e9, "savings_idr_over_estimated_cells": 31.0e9}
    assert "Rp 31,0 miliar" in narrative.truth_savings_markdown(truth, "id")
    assert "IDR 31.0 billion" in narrative.truth_savings_markdown(truth, "en")
    text = narrative.projection_markdown(552, 1.0, (1.0, 2.0, 3.0), False, "", "id")
    assert "552 Pemda" in text and "1 hari WFA" in text and "1, 2, 3" in text
    assert "Extrapolation" in narrative.projection_markdown(552, 4.0, (1.0, 2.0, 3.0), True, "32", "en")
