"""Do the single-adopter case studies cover the true effect? Bias and coverage of synthetic
control, synthetic DiD and the interrupted time series (``analysis.analyses.case_study``), with
and without the TKD-cut adjustment, over many adopters of the simulated data.

Design: ``default``-scenario datasets (seeds ``--seeds``, default size): the 7 real adopters and
the 60 simulated ones (adoption probability rising with the TKD cut share, as in the generator),
each studied alone against the never-adopters of its level, for the monthly outcomes
``log_routine_spending`` and ``log_median_days``. The truth of each case study is its own
(``case_study.true_effect``: the mean over exactly the post months the estimates average of the
true log effect from the truth cells). Adopters whose outcome series is incomplete are skipped
(counted). ``--raw`` also fits every case on the unadjusted outcome (the issue's starting point).

Printed and written to ``benchmarks/out/case_study_coverage.csv`` (one row per case and method)
and ``case_study_coverage_summary.csv``: per outcome, adjustment and method, the number of
cases, the bias (mean estimate - truth) with its Monte Carlo SE, the RMSE, the coverage of the
95% interval with its MC SE, and mean SE / SD(estimate - truth).

Usage (repository root): ``PYTHONPATH=src python benchmarks/case_study_coverage.py [--seeds
20260101] [--outcomes log_routine_spending log_median_days] [--adopters all|real] [--raw]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.analyses import case_study  # noqa: E402
from analysis.data import load as load_dataset  # noqa: E402
from analysis.simulate import ensure_dataset  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
REAL = ("17", "71.11", "32.14", "17.09", "32", "73", "33.72")


def cases_of(data_dir: Path, which: str) -> list[str]:
    adopters = json.loads((data_dir / "truth.json").read_text())["adopters"]
    codes = [a["region_code"] for a in adopters]
    return [c for c in codes if c in REAL] if which == "real" else codes


def run_seed(seed: int, root: Path, outcomes: list[str], which: str, raw: bool) -> list[dict]:
    data_dir = ensure_dataset(root / f"default-{seed}", size="default", seed=seed)
    dataset = load_dataset(data_dir)
    rows = []
    for outcome in outcomes:
        series = case_study.monthly_outcome(dataset, outcome)
        cells = case_study.service_cells(dataset) if outcome == "log_median_days" else None
        for code in cases_of(data_dir, which):
            start = time.time()
            try:
                data = case_study.build_case_study_data(dataset, code, outcome, series=series)
            except case_study.CaseStudyError as error:
                rows.append({"seed": seed, "outcome": outcome, "region_code": code, "skipped": str(error)})
                continue
            for adjusted in ([True, False] if raw else [True]):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = case_study.run_case_study(data, adjust_for_cut=adjusted)
                truth = case_study.true_effect(data_dir, result, cells=cells)
                for row in result.estimates.itertuples(index=False):
                    rows.append({"seed": seed, "outcome": outcome, "region_code": code, "real": code in REAL,
                                 "level": data.level, "adjusted": adjusted, "method": row.method,
                                 "estimate": row.estimate, "se": row.se, "ci_low": row.ci_low,
                                 "ci_high": row.ci_high, "truth": truth,
                                 "n_donors": len(result.donors_used),
                                 "notes": ";".join(n.code for n in result.notes)})
            print(f"  seed {seed} {outcome} {code} ({time.time() - start:.0f} s)", file=sys.stderr, flush=True)
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    done = frame.dropna(subset=["estimate"]).copy()
    done["error"] = done["estimate"] - done["truth"]
    done["covered"] = (done["ci_low"] <= done["truth"]) & (done["truth"] <= done["ci_high"])
    out = []
    for key, group in done.groupby(["outcome", "adjusted", "method"], sort=False):
        n = len(group)
        cover = group["covered"].mean()
        out.append({
            "outcome": key[0], "adjusted": key[1], "method": key[2], "cases": n,
            "real_cases_covered": f"{int(group.loc[group['real'], 'covered'].sum())}/{int(group['real'].sum())}",
            "bias": group["error"].mean(), "bias_mc_se": group["error"].std(ddof=1) / np.sqrt(n),
            "rmse": float(np.sqrt((group["error"] ** 2).mean())), "coverage": cover,
            "coverage_mc_se": float(np.sqrt(cover * (1 - cover) / n)),
            "se_over_sd": group["se"].mean() / group["error"].std(ddof=1),
        })
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[20260101])
    parser.add_argument("--outcomes", nargs="+", default=["log_routine_spending", "log_median_days"])
    parser.add_argument("--adopters", choices=["all", "real"], default="all")
    parser.add_argument("--raw", action="store_true", help="also fit on the outcome without the cut adjustment")
    parser.add_argument("--data-root", default=None, help="where the simulated datasets are kept (default: temporary)")
    args = parser.parse_args(argv)
    started = time.time()
    rows = []
    with tempfile.TemporaryDirectory(prefix="case_cov_") as tmp:
        root = Path(args.data_root) if args.data_root else Path(tmp)
        for seed in args.seeds:
            rows += run_seed(seed, root, args.outcomes, args.adopters, args.raw)
    frame = pd.DataFrame(rows)
    OUT.mkdir(exist_ok=True)
    frame.to_csv(OUT / "case_study_coverage.csv", index=False)
    table = summarise(frame)
    table.to_csv(OUT / "case_study_coverage_summary.csv", index=False)
    skipped = frame["skipped"].notna().sum() if "skipped" in frame.columns else 0
    with pd.option_context("display.width", 160):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\n{len(frame)} rows ({skipped} case(s) skipped: incomplete series) in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
