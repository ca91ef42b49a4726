"""Project paths, resolved from the installed (editable) package location.

All paths are relative to the project root; nothing here depends on the current directory.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
SYNTHETIC_DIR = DATA_DIR / "synthetic"
RAW_DIR = DATA_DIR / "raw"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
#: Validated-data cache of ``analysis.data.load`` (env ``PEMDA_WFA_CACHE_DIR`` overrides it).
CACHE_DIR = PROJECT_ROOT / ".cache" / "validated"

#: The bundled default dataset: generated on first use by ``analysis.simulate``.
DEFAULT_DATASET_DIR = SYNTHETIC_DIR / "default"

REGIONS_CSV = REFERENCE_DIR / "regions.csv"
POLICIES_CSV = REFERENCE_DIR / "policies.csv"
PROVINCES_GEOJSON = REFERENCE_DIR / "indonesia_provinces.geojson"
KABKOTA_GEOJSON = REFERENCE_DIR / "indonesia_kabkota.geojson"


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The dataset directory named by ``data_dir`` as an absolute path; an empty value names the
    bundled default synthetic dataset (``DEFAULT_DATASET_DIR``, which may not exist yet: see
    :func:`analysis.simulate.ensure_default_dataset`)."""
    if data_dir is None or str(data_dir).strip() == "":
        return DEFAULT_DATASET_DIR
    path = Path(data_dir).expanduser()
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path
