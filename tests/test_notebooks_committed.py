"""Every committed notebook is clean: no outputs or execution counts, a tagged parameters cell
whose defaults equal the declared ones, the one prologue (``report_context``, which validates them)
in the next cell, no functions or classes."""

from __future__ import annotations

import ast

import nbformat
import pytest

from analysis.report.params import load_spec
from analysis.paths import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code_cells:
        assert cell.outputs == [], f"{path.name}: outputs committed"
        assert cell.execution_count is None, f"{path.name}: execution count committed"
        tree = ast.parse(cell.source)
        assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))], (
            f"{path.name}: def/class in a notebook cell (move it to src/analysis)")

    first = code_cells[0]
    assert "parameters" in first.metadata.get("tags", []), f"{path.name}: first code cell not tagged 'parameters'"
    defaults = {}
    for node in ast.parse(first.source).body:
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), f"{path.name}: parameters cell holds only assignments"
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        defaults[target.id] = ast.literal_eval(node.value)
    declared = {name: spec.default for name, spec in load_spec(path.stem).items()}
    assert defaults == declared, f"{path.name}: parameters cell defaults differ from {path.stem}.params.yaml"

    assert f'ctx = report_context("{path.stem}", globals())' in code_cells[1].source, (
        f"{path.name}: the cell after the parameters must be the prologue ctx = report_context(...)")
