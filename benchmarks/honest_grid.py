"""What a coarser HonestDiD grid would save, and what it would change (an owner decision of issue #13).

The robustness report (notebook 40) inverts the Rambachan–Roth test on
``robustness.HONEST_GRID_POINTS`` (200) candidate values of the target for each of 7 values of
Mbar (``robustness.honest_intervals``, which this calls); the robust interval's ends are grid
points, so a coarser grid is cheaper and can move them. For both robustness outcomes of the
default data this prints, per grid size: the seconds of ``honest_sensitivity`` (median of
``--repeats`` runs in this process), the largest move of an interval end from its end on the
report's grid (in the outcome's log units) and as a share of that interval's width, and the breakdown
value (the smallest Mbar whose interval covers zero, which the report states).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/honest_grid.py [--repeats 3]

(one BLAS thread, as each kernel has in a build with ``--jobs 2`` on 2 cores)
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from analysis.analyses import robustness
from analysis.analyses.robustness import HONEST_GRID_POINTS, _fit, honest_intervals
from analysis.paths import DEFAULT_DATASET_DIR

#: the report's grid first: the reference the others are compared with
GRID_POINTS = (HONEST_GRID_POINTS, HONEST_GRID_POINTS // 2, HONEST_GRID_POINTS // 4)
OUTCOMES = ("log_median_days", "log_routine_spending")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'outcome':<21} {'points':>6} {'seconds':>8} {'max end move':>13} {'share of width':>15} {'breakdown Mbar':>15}")
    for outcome in OUTCOMES:
        panel = robustness.build_panel(DEFAULT_DATASET_DIR, outcome)
        sun_abraham = _fit(panel, "sun_abraham")
        reference = None
        for points in GRID_POINTS:
            seconds = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                result = honest_intervals(sun_abraham, grid_points=points)
                seconds.append(time.perf_counter() - started)
            table = result.intervals.sort_values("M").reset_index(drop=True)
            reference = table if reference is None else reference  # the report's grid
            moves = np.maximum(np.abs(table["ci_low"] - reference["ci_low"]),
                               np.abs(table["ci_high"] - reference["ci_high"])).to_numpy()
            widths = (reference["ci_high"] - reference["ci_low"]).to_numpy()
            print(f"{outcome:<21} {points:>6} {statistics.median(seconds):>8.2f} {np.nanmax(moves):>13.4f}"
                  f" {np.nanmax(moves / widths):>15.3f} {result.breakdown():>15}")


if __name__ == "__main__":
    main()
