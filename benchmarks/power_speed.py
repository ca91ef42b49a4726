"""Benchmark: speed of the pilot power simulation (analysis.power) on the simulated datasets.

For each dataset size and outcome pool it times

- building the pool (``pilot_outcomes``: service panel or budget panel, residuals);
- one draw with the default estimator (``FastImputation``: placebo future + adopter draw + fit),
  and one with the project's ``analysis.did.imputation`` through ``DidEstimator`` (the reference
  the fast path is tested against), on the design n_adopters=20, waves=2, months_after=6;
- a 4 x 4 design grid (n_adopters 5/10/20/40 x months_after 3/6/9/12) at ``--n-sims`` draws
  (``power_curve``: power at +/-10%, size, MDE at 80% power for every design).

Wall time and CPU time of this process are both printed (on a shared machine the CPU time is the
more stable number), with the peak RSS. The grid's MDE table is written to
``benchmarks/out/power_grid_<size>_<pool>.csv``.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/power_speed.py [--sizes small default] [--n-sims 200]
        [--data-root benchmarks/out/data] [--seed 20260115]
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

from analysis import did, power  # noqa: E402
from analysis.data import load as load_dataset  # noqa: E402
from analysis.simulate import ensure_dataset  # noqa: E402

OUT = Path(__file__).parent / "out"
POOLS = {  # name: (outcome, service_type, effect_pct for the power column)
    "licensing": ("median_days", "perizinan", 10.0),
    "services": ("median_days", "all", 10.0),
    "spending": ("routine_spending", "all", -10.0),
}
GRID_ADOPTERS = (5, 10, 20, 40)
GRID_MONTHS = (3, 6, 9, 12)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def per_draw(pool, design, estimator, n: int, seed: int) -> tuple[float, float]:
    estimator(power.pilot_draw(pool, design, 0, seed=seed))  # warm-up
    with Timer() as t:
        for k in range(n):
            estimator(power.pilot_draw(pool, design, k, seed=seed))
    return t.wall / n, t.cpu / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["small", "default"])
    parser.add_argument("--pools", nargs="+", default=list(POOLS), choices=list(POOLS))
    parser.add_argument("--n-sims", type=int, default=200)
    parser.add_argument("--reference-draws", type=int, default=10)
    parser.add_argument("--seed", type=int, default=power.DEFAULT_SEED)
    parser.add_argument("--data-root", type=Path, default=OUT / "data")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    design = power.PilotDesign(n_adopters=20, waves=2, months_after=6)
    reference = power.DidEstimator(did.imputation)
    rows = []
    for size in args.sizes:
        data_dir = ensure_dataset(args.data_root / size, size=size)
        with Timer() as t_load:
            dataset = load_dataset(data_dir)
        print(f"[{size}] dataset loaded: {t_load.wall:.1f} s wall", flush=True)
        for name in args.pools:
            outcome, service_type, effect = POOLS[name]
            with Timer() as t_pool:
                pool = power.pilot_outcomes(dataset, outcome, service_type=service_type)
            fast_wall, fast_cpu = per_draw(pool, design, power.FastImputation(), args.n_sims, args.seed)
            ref_wall, ref_cpu = per_draw(pool, design, reference, args.reference_draws, args.seed)
            with Timer() as t_grid:
                curve = power.power_curve(pool, design, n_adopters=GRID_ADOPTERS, months_after=GRID_MONTHS,
                                          effect_pct=effect, n_sims=args.n_sims, seed=args.seed)
            curve.to_csv(OUT / f"power_grid_{size}_{name}.csv", index=False)
            summary = pool.summary()
            rows.append({
                "size": size, "pool": name, "units": summary["n_units"], "months": summary["n_months"],
                "pool_s": round(t_pool.wall, 2), "fast_ms_per_draw": round(1000 * fast_cpu, 2),
                "did_imputation_ms_per_draw": round(1000 * ref_cpu, 1),
                "speed_up": round(ref_cpu / fast_cpu, 1),
                "grid_wall_s": round(t_grid.wall, 1), "grid_cpu_s": round(t_grid.cpu, 1),
                "peak_rss_mb": round(_peak_mb()),
            })
            print(pd.DataFrame([rows[-1]]).to_string(index=False), flush=True)
            table = curve.pivot(index="n_adopters", columns="months_after", values="mde_pct").round(1)
            print(f"  MDE (% at 80% power, n_sims={args.n_sims}) by n_adopters x months_after:")
            print(table.to_string())
            sizes = curve.pivot(index="n_adopters", columns="months_after", values="size").round(3)
            print("  size at zero effect (nominal 0.05):")
            print(sizes.to_string(), flush=True)
    print()
    print(f"machine: {os.cpu_count()} logical cores; load average {os.getloadavg()[0]:.1f}")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
