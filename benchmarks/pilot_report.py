"""Benchmark: the cost of notebook 50's computation (``pilot_design.pilot_report``) per outcome pool.

For each pool (licensing = ``median_days`` of ``perizinan``; services = ``median_days`` of all
service types; spending = ``routine_spending``) and each ``--n-sims`` it times building the pool
and the report's simulations: the chosen design (20 Pemda, 2 waves, 6 months), the same design
with the other effect spread, and the grid of the power curve and MDE table (adopters 5/10/20/40 ×
months 3/6/12, the notebook's defaults). Loading the dataset (from the validated-data cache after
the first load) is timed once. Wall and CPU time of this process are both printed (on a shared
machine the CPU time is the stable number), with the chosen design's power and MDE.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/pilot_report.py [--size default | --data DIR] [--n-sims 100 500]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from analysis import power  # noqa: E402
from analysis.analyses import pilot_design  # noqa: E402
from analysis.data import load as load_dataset  # noqa: E402
from analysis.simulate import ensure_dataset  # noqa: E402

OUT = Path(__file__).parent / "out"
POOLS = {  # name: settings of the report (effect_pct in the direction of concern)
    "licensing": dict(outcome="median_days", service_type="perizinan", effect_pct=10.0),
    "services": dict(outcome="median_days", service_type="all", effect_pct=10.0),
    "spending": dict(outcome="routine_spending", effect_pct=3.0),
}


class Timer:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", help="simulated dataset size (ignored with --data)")
    parser.add_argument("--data", type=Path, help="an existing dataset directory")
    parser.add_argument("--pools", nargs="+", default=list(POOLS), choices=list(POOLS))
    parser.add_argument("--n-sims", nargs="+", type=int, default=[100, 500])
    args = parser.parse_args()
    data_dir = args.data or ensure_dataset(OUT / "data" / args.size, size=args.size)
    load_dataset(data_dir)  # validate and cache once: the report reads the cache
    with Timer() as t_load:
        dataset = load_dataset(data_dir)
    print(f"dataset loaded from the cache: {t_load.wall:.1f} s wall", flush=True)
    rows = []
    for name in args.pools:
        with Timer() as t_pool:
            pool = power.pilot_outcomes(dataset, POOLS[name]["outcome"],
                                        service_type=POOLS[name].get("service_type", "perizinan"))
        for n_sims in args.n_sims:
            settings = pilot_design.PilotSettings(n_sims=n_sims, **POOLS[name])
            with Timer() as t_report:
                report = pilot_design.assess_pilot(pool, settings)
            a = report.assessment
            rows.append({
                "pool": name, "units": pool.n_units, "n_sims": n_sims, "designs": len(report.curve) + 2,
                "pool_wall_s": round(t_pool.wall, 1), "sims_wall_s": round(t_report.wall, 1),
                "sims_cpu_s": round(t_report.cpu, 1), "power": a.power.power,
                "power_se": round(a.power.power_se, 3), "mde_pct": round(a.mde.mde_pct, 1),
                "mde_pct_se": round(a.mde.mde_pct_se, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            })
            print(pd.DataFrame([rows[-1]]).to_string(index=False), flush=True)
    print()
    print(f"machine: {os.cpu_count()} logical cores; load average {os.getloadavg()[0]:.1f}")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
