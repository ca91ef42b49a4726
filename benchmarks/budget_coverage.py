"""Monte Carlo of the budget headline numbers against the truth of their own estimands.

For each seed: simulate the synthetic dataset (``analysis.simulate``, ``small`` size: all 552
Pemda, the budget tables do not depend on the size), run
:func:`analysis.analyses.budget_savings.run_budget_analysis` on it (TKD-adjusted CS, monthly by
default; the six routine categories for the savings and the projection; the unadjusted twin of
the headline only) and compare every headline entry with ``BudgetAnalysis.estimand_truth``: the
truth over the same Pemda, periods and weights, computed from the simulation's potential
outcomes (``analysis.simulate.truth``). The projection's truth uses each target Pemda's own
effect per WFA day (``projection_truth``), the estimate the adopters' average.

Printed (and written to ``benchmarks/out/budget_coverage.csv``, one row per seed and entry): per
entry, the mean estimate and truth, bias (mean of estimate - truth) with its Monte Carlo SE, SD
of estimate - truth, mean SE, SE/SD, and the share of 95% intervals covering the truth; and the
rejection rate at 5% of the pre-trend test (12 months before adoption) and of the joint
placebo test is not computed here (placebo categories are not estimated, to save time).

Usage (from the repository root): ``PYTHONPATH=src nice -n 10 python benchmarks/budget_coverage.py
[--seeds 20] [--first-seed 1] [--frequency month] [--draws 499]``. One seed takes about a
minute on one core (eight CS fits on 46 months x 552 Pemda).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.analyses.budget_savings import result_entries, run_budget_analysis  # noqa: E402
from analysis.panels.budget import ROUTINE_CATEGORIES, ROUTINE_TOTAL  # noqa: E402
from analysis.simulate import simulate_dataset  # noqa: E402

ENTRIES = ("att_log_routine_spending", "att_log_routine_spending_unadjusted", "savings_idr_total",
           "savings_idr_per_adopter_year", "projection_idr_per_year")
OUT = Path(__file__).resolve().parent / "out" / "budget_coverage.csv"


def one_seed(seed: int, workdir: Path, *, frequency: str, draws: int) -> list[dict]:
    data_dir = simulate_dataset(workdir / f"seed{seed}", seed=seed, size="small")
    try:
        analysis = run_budget_analysis(
            data_dir, frequency=frequency, n_draws=draws, seed=seed,
            categories=(ROUTINE_TOTAL, *ROUTINE_CATEGORIES), unadjusted_categories=(ROUTINE_TOTAL,),
        )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    entries = {entry.name: entry for entry in result_entries(analysis)}
    rows = []
    for name in ENTRIES:
        entry = entries[name]
        rows.append({
            "seed": seed, "entry": name, "estimate": entry.estimate, "se": entry.se,
            "ci_low": entry.ci_low, "ci_high": entry.ci_high, "truth": analysis.estimand_truth[name],
            "n_treated": len(entry.sample.treated),
        })
    for name, effect in (("pretrend_adjusted", analysis.effects[ROUTINE_TOTAL]),
                         ("pretrend_unadjusted", analysis.unadjusted[ROUTINE_TOTAL])):
        rows.append({"seed": seed, "entry": name, "estimate": effect.pretrend_pvalue})
    rows.append({"seed": seed, "entry": "truth_json_att_log_routine_spending",
                 "estimate": analysis.truth["att_log_routine_spending"]})
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    out = []
    for name in ENTRIES:
        rows = frame[frame["entry"] == name]
        error = rows["estimate"] - rows["truth"]
        n = len(rows)
        covered = (rows["ci_low"] <= rows["truth"]) & (rows["truth"] <= rows["ci_high"])
        out.append({
            "entry": name, "n": n, "mean_estimate": rows["estimate"].mean(), "mean_truth": rows["truth"].mean(),
            "bias": error.mean(), "bias_mc_se": error.std(ddof=1) / np.sqrt(n), "sd_error": error.std(ddof=1),
            "mean_se": rows["se"].mean(), "se_over_sd": rows["se"].mean() / error.std(ddof=1),
            "coverage": covered.mean(),
        })
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--frequency", choices=("month", "quarter"), default="month")
    parser.add_argument("--draws", type=int, default=499)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = []
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="budget-coverage-") as tmp:
        os.environ.setdefault("PEMDA_WFA_CACHE_DIR", str(Path(tmp) / "cache"))
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            t0 = time.time()
            rows += one_seed(seed, Path(tmp), frequency=args.frequency, draws=args.draws)
            print(f"seed {seed}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
            frame = pd.DataFrame(rows)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(args.out, index=False)
    frame = pd.DataFrame(rows)
    table = summarise(frame)
    pd.set_option("display.width", 200)
    print(f"budget headline entries vs the truth of their own estimand, {args.seeds} seeds, "
          f"frequency={args.frequency}, size=small, {time.time() - start:.0f} s")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for name in ("pretrend_adjusted", "pretrend_unadjusted"):
        p = frame.loc[frame["entry"] == name, "estimate"].dropna()
        print(f"{name}: rejects at 5% in {(p < 0.05).mean():.2f} of {len(p)} seeds")
    truth_json = frame.loc[frame["entry"] == "truth_json_att_log_routine_spending", "estimate"].mean()
    print(f"mean truth.json att_log_routine_spending (every treated month): {truth_json:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
