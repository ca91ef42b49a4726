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
#: Validated-data cache of ``analysis.io.load_dataset`` (env ``PEMDA_WFA_CACHE_DIR`` overrides it).
CACHE_DIR = PROJECT_ROOT / ".cache" / "validated"

#: The bundled default dataset: generated on first use by ``analysis.simulate``.
DEFAULT_DATASET_DIR = SYNTHETIC_DIR / "default"

REGIONS_CSV = REFERENCE_DIR / "regions.csv"
POLICIES_CSV = REFERENCE_DIR / "policies.csv"
PROVINCES_GEOJSON = REFERENCE_DIR / "indonesia_provinces.geojson"
KABKOTA_GEOJSON = REFERENCE_DIR / "indonesia_kabkota.geojson"


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """Return the dataset directory a notebook or command should read.

    An empty value means the bundled default synthetic dataset, which is simulated
    (deterministically, fixed seed) the first time it is needed.
    """
    if data_dir is None or str(data_dir).strip() == "":
        from analysis.simulate import ensure_dataset

        return ensure_dataset(DEFAULT_DATASET_DIR, size="default")
    path = Path(data_dir).expanduser()
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return path
