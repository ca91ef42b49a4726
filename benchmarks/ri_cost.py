"""What randomization inference costs on the headline panels (registry-only data, 4 treated
Pemda): one estimator call and a full run (999 draws, interval by test inversion) with the fast
imputation statistic, and one call of the CS estimator (the budget headline), from which the
cost of an RI run with CS follows (calls = (draws + 1) x (1 + evaluations of the inversion)).

Usage (repository root): ``PYTHONPATH=src python benchmarks/ri_cost.py [--draws 999]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from few_treated_size import budget_frame, cs_analytic, imputation_estimator, service_frame, unit_info  # noqa: E402

from analysis.did.inference import randomization_inference  # noqa: E402
from analysis.simulate import simulate_dataset  # noqa: E402


def timed(call, repeat: int = 1) -> tuple[float, object]:
    start = time.perf_counter()
    for _ in range(repeat):
        out = call()
    return (time.perf_counter() - start) / repeat, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=999)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = simulate_dataset(Path(tmp) / "data", seed=1, scenario="registry_only", size="default")
        info = unit_info(data_dir)
        frames = {"budget": budget_frame(data_dir, info), "service": service_frame(data_dir, info)}
    rows = []
    for kind, frame in frames.items():
        estimator = imputation_estimator(kind)
        one, _ = timed(lambda: estimator(frame), repeat=20)
        full, result = timed(lambda: randomization_inference(
            frame, estimator, assign_by="pemda", cohort="cohort", outcome="y", time="time", strata=["level"],
            draws=args.draws, seed=1))
        rows.append((kind, "imputation (balanced)", one, full, result.pvalue, result.ci_low, result.ci_high))
        if kind == "budget":
            cs_one, _ = timed(lambda: cs_analytic(frame), repeat=3)
            rows.append((kind, "CS (did.callaway_santanna)", cs_one, float("nan"), float("nan"), float("nan"),
                         float("nan")))
    print(f"{'panel':8} {'statistic':28} {'one call s':>10} {'RI run s':>9} {'p':>6} {'ci_low':>8} {'ci_high':>8}")
    for kind, name, one, full, p, lo, hi in rows:
        print(f"{kind:8} {name:28} {one:10.4f} {full:9.1f} {p:6.3f} {lo:8.4f} {hi:8.4f}")
    imputation_budget = rows[0]
    calls = imputation_budget[3] / imputation_budget[2]
    print(f"\nAn RI run with {args.draws} draws and the interval made ~{calls:,.0f} imputation calls; the same "
          f"number of CS calls would take ~{calls * rows[1][2] / 3600:.1f} h, a p-value alone "
          f"({args.draws + 1} calls) ~{(args.draws + 1) * rows[1][2] / 60:.0f} min.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
