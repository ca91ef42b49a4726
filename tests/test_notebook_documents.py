"""Notebooks read as documents: every markdown cell is in one language (tag lang-id / lang-en) and
has its twin in the other; the rendered page of a report keeps only its language; code cells take
their sentences from the catalogue; one prologue; no variable shadows the package. The slow test
renders notebook 10 in both languages and reads the pages."""

from __future__ import annotations

import ast
import html
import os
import re
from pathlib import Path

import nbformat
import pytest

from analysis.paths import NOTEBOOKS_DIR
from analysis.report.context import project_path, report_context
from analysis.report.render import render_report

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
LANG_TAGS = {"lang-id", "lang-en"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_cells_come_in_language_pairs(path):
    nb = nbformat.read(path, as_version=4)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert len(markdown) >= 4, f"{path.name}: the prose a reader needs belongs in markdown cells"
    for cell in markdown:
        tags = set(cell.metadata.get("tags", [])) & LANG_TAGS
        assert len(tags) == 1, f"{path.name}: markdown cell without exactly one language tag: {cell.source[:60]!r}"
    assert [c.cell_type for c in nb.cells if c.cell_type != "raw"][0] == "markdown", f"{path.name}: starts with its title"
    cells = nb.cells
    for index, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        tag = next(iter(set(cell.metadata["tags"]) & LANG_TAGS))
        if tag == "lang-id":
            twin = cells[index + 1] if index + 1 < len(cells) else None
            assert twin is not None and twin.cell_type == "markdown" and "lang-en" in twin.metadata.get("tags", []), (
                f"{path.name}: the Indonesian cell {cell.source[:40]!r} is not followed by its English twin")
            assert twin.source.count("#") == cell.source.count("#"), f"{path.name}: twins with different headings"
        else:
            assert index > 0 and "lang-id" in cells[index - 1].metadata.get("tags", []), (
                f"{path.name}: the English cell {cell.source[:40]!r} has no Indonesian twin before it")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_take_words_from_the_catalogue(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        assert "analysis" not in names, f"{path.name}: a variable shadows the analysis package"
        assert "Markdown(" not in cell.source, f"{path.name}: prose shown from code; use ctx.show(key) or a markdown cell"
        assert not re.search(r'\{\s*"id"\s*:', cell.source), f"{path.name}: an inline language dictionary"
        assert "lang ==" not in cell.source and "LANG" not in cell.source, f"{path.name}: language switch in code"


def test_paths_resolve_against_the_project_not_the_working_directory(tmp_path, monkeypatch):
    from analysis.paths import PROJECT_ROOT, REPORTS_DIR

    monkeypatch.chdir(tmp_path)
    assert project_path("", REPORTS_DIR / "x") == REPORTS_DIR / "x"
    assert project_path("reports/custom", REPORTS_DIR) == PROJECT_ROOT / "reports" / "custom"
    assert project_path(str(tmp_path / "abs"), REPORTS_DIR) == tmp_path / "abs"
    ctx = report_context("90_policy_brief", {"lang": "en", "data_dir": str(tmp_path), "output_dir": str(tmp_path / "out"),
                                             "reports_dir": "elsewhere"})
    assert (ctx.lang, ctx.output_dir, ctx.data_dir) == ("en", tmp_path / "out", tmp_path)
    assert ctx.path("reports_dir", REPORTS_DIR) == PROJECT_ROOT / "elsewhere"
    assert ctx.t("label.bool.true") == "yes"


def test_prologue_rejects_bad_parameters(tmp_path):
    from analysis.errors import ParameterError

    with pytest.raises(ParameterError, match="'lang'"):
        report_context("00_data_overview", {"lang": "fr", "data_dir": str(tmp_path), "output_dir": str(tmp_path)})
    with pytest.raises(ParameterError, match="'control'"):
        report_context("20_budget_savings", {"lang": "id", "data_dir": str(tmp_path), "output_dir": str(tmp_path),
                                             "control": "notyettreated"})


def _tagged_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Judul laporan", metadata={"tags": ["lang-id"]}),
        nbformat.v4.new_markdown_cell("# Report title", metadata={"tags": ["lang-en"]}),
        nbformat.v4.new_code_cell("1 + 1"),
    ])
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize(("lang", "kept", "dropped"), [("id", "Judul laporan", "Report title"),
                                                       ("en", "Report title", "Judul laporan")])
def test_a_page_keeps_only_its_language(tmp_path, lang, kept, dropped):
    notebook = _tagged_notebook(tmp_path / "report.ipynb")
    pages = render_report(notebook, title="t", lang=lang, provenance={})
    for page in pages.values():
        text = page.read_text(encoding="utf-8")
        assert kept in text and dropped not in text
    assert "Report title" in notebook.read_text() and "Judul laporan" in notebook.read_text()  # both kept for researchers


def test_a_page_without_a_language_keeps_both(tmp_path):
    notebook = _tagged_notebook(tmp_path / "report.ipynb")
    text = render_report(notebook, title="t", lang=None, provenance={})["html"].read_text(encoding="utf-8")
    assert "Judul laporan" in text and "Report title" in text and "Daftar laporan / All reports" in text


# ------------------------------------------------------------------------------------------ pages
#: Frequent function words: one of them in running text means a sentence in the other language.
ENGLISH_WORDS = {"the", "and", "of", "with", "is", "are", "to", "from", "for", "that", "this", "which", "by", "than",
                 "not", "when", "were", "was", "has", "have"}
INDONESIAN_WORDS = {"yang", "dan", "dengan", "untuk", "dari", "pada", "tidak", "adalah", "ini", "itu", "sebagai",
                    "karena", "atau", "dalam", "sebelum", "sesudah"}
#: Codes that must never reach a page.
RAW_CODES = ("switched_off", "spbe_band", "ci_low", "ci_high", "duration_s", "100*(exp", "already_treated",
             "log_median_days", "n_treated", "True", "False", "analysis.", "nevertreated", "notyettreated")


def page_text(path: Path) -> str:
    """The visible running text of a rendered page, without its provenance footer."""
    page = path.read_text(encoding="utf-8")
    page = page.split('class="provenance"')[0]
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<img\b[^>]*\balt=\"([^\"]*)\"[^>]*>", r" \1 ", page)
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(page)


def foreign_words(text: str, words: set[str]) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in words]


@pytest.fixture(scope="module")
def rendered_10(small_dataset, tmp_path_factory):
    import papermill

    pages = {}
    src = str(Path(__file__).resolve().parents[1] / "src")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", src + os.pathsep + os.environ.get("PYTHONPATH", ""))
        for lang in ("id", "en"):
            out = tmp_path_factory.mktemp(f"nb10-{lang}")
            papermill.execute_notebook(str(NOTEBOOKS_DIR / "10_service_time.ipynb"), str(out / "report.ipynb"),
                                       cwd=str(NOTEBOOKS_DIR), progress_bar=False,
                                       parameters={"data_dir": str(small_dataset), "output_dir": str(out), "lang": lang})
            pages[lang] = render_report(out / "report.ipynb", title="10", lang=lang, provenance={})["html"]
    return pages


def test_indonesian_page_has_no_english_running_text(rendered_10):
    text = page_text(rendered_10["id"])
    assert "Waktu penyelesaian layanan publik dan WFA" in text and "Kesimpulan" in text
    assert foreign_words(text, ENGLISH_WORDS) == []
    assert not [code for code in RAW_CODES if code in text]
    assert re.search(r"IK 95%: −?\d+,\d%", text), "numbers in Indonesian notation"


def test_english_page_has_no_indonesian_running_text(rendered_10):
    text = page_text(rendered_10["en"])
    assert "Public-service completion times under WFA" in text and "Conclusion" in text
    assert foreign_words(text, INDONESIAN_WORDS) == []
    assert not [code for code in RAW_CODES if code in text]
    assert re.search(r"95% CI −?\d+\.\d%", text), "numbers in English notation"
