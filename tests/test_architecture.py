"""House rules that keep the package easy to live in (issue "Say it once")."""

import json
import re
from pathlib import Path

import analysis

PACKAGE = Path(analysis.__file__).parent
MAX_MODULE_LINES = 600


def test_no_module_is_longer_than_the_limit():
    """One module per concept: a module past the limit holds more than one."""
    too_long = {str(path.relative_to(PACKAGE)): n for path in PACKAGE.rglob("*.py")
                if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert too_long == {}


def test_notebooks_import_no_private_names():
    """Notebooks call the public interface (docs/interfaces.md), never ``_private`` helpers."""
    offenders = []
    for notebook in (PACKAGE.parents[1] / "notebooks").glob("*.ipynb"):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
            if re.search(r"(\bimport\s+|\.)_[a-z]", source):
                offenders.append(notebook.name)
    assert offenders == []
