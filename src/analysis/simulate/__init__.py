"""Synthetic national dataset with known true effects of WFA (docs/interfaces.md §3).

``simulate_dataset(out_dir, seed=..., scenario=..., size=...)`` writes the files a real user would
bring, plus ``truth.json`` and the per-cell truth; ``ensure_dataset`` makes it only when missing.
Modules: ``calibration`` (every constant and its source), ``timeline``, ``regions``,
``transfers``, ``adoption``, ``services``, ``budget``, ``truth``, ``dataset`` (the writer).
"""

from analysis.simulate.calibration import CALIBRATION, DEFAULT_SEED, SCENARIOS, SIZES, Calibration
from analysis.simulate.dataset import DATASET_FILES, data_dir_or_default, ensure_dataset, simulate_dataset

__all__ = ["CALIBRATION", "DATASET_FILES", "DEFAULT_SEED", "SCENARIOS", "SIZES", "Calibration",
           "data_dir_or_default", "ensure_dataset", "simulate_dataset"]
