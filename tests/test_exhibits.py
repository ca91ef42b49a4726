import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis.report import exhibits


def _figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 2])
    return fig


def test_numbering_files_and_registry(tmp_path):
    exhibits.configure(tmp_path, "en")
    first = exhibits.show_figure(_figure(), "trend", "Trend", "A rising line")
    table = exhibits.show_table(pd.DataFrame({"n_pemda": [1]}), "tab-one", "One")
    second = exhibits.show_figure(_figure(), "trend-2", "Trend again", "Another line")
    assert (first.number, table.number, second.number) == (1, 1, 2)
    assert (tmp_path / "figures" / "trend.png").read_bytes()[:4] == b"\x89PNG"
    listed = json.loads((tmp_path / "exhibits.json").read_text())
    assert [e["key"] for e in listed] == ["trend", "tab-one", "trend-2"]
    with pytest.raises(ValueError, match="used twice"):
        exhibits.show_figure(_figure(), "trend", "x", "y")
    with pytest.raises(ValueError, match="alt text is required"):
        exhibits.show_figure(_figure(), "noalt", "x", " ")


def test_figure_markup_is_numbered_and_self_contained():
    markup = exhibits.figure_html(b"png", 3, "Waktu <layanan>", 'Garis "naik"', "k", "id")
    assert "Gambar 3." in markup and "data:image/png;base64," in markup
    assert 'alt="Garis &quot;naik&quot;"' in markup and "&lt;layanan&gt;" in markup


def test_same_figure_same_bytes(tmp_path):
    exhibits.configure(tmp_path / "a", "id")
    exhibits.show_figure(_figure(), "f", "c", "alt")
    exhibits.configure(tmp_path / "b", "id")
    exhibits.show_figure(_figure(), "f", "c", "alt")
    assert (tmp_path / "a/figures/f.png").read_bytes() == (tmp_path / "b/figures/f.png").read_bytes()


def test_small_counts_suppressed_and_personal_columns_refused(tmp_path):
    exhibits.configure(tmp_path, "id")
    table = pd.DataFrame({"name": ["a", "b", "c"], "n_requests": [3, 0, 25]})
    exhibits.show_table(table, "counts", "Counts", count_columns=["n_requests"])
    saved = pd.read_csv(tmp_path / "tables" / "counts.csv")
    assert saved["n_requests"].tolist() == ["<10", "0", "25"]
    with pytest.raises(ValueError, match="personal-data column"):
        exhibits.show_table(pd.DataFrame({"applicant_nik": ["1"]}), "p", "P")
    with pytest.raises(ValueError, match="count column"):
        exhibits.suppress_small_counts(table, ["missing"])
