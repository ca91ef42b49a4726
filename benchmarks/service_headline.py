"""Service-time headline over simulated datasets: bias, SE and coverage of each candidate estimator
against the truth of its own estimand, and the heterogeneity split tests' behaviour.

For every seed a `default`-size dataset is simulated (``analysis.simulate``, default scenario) into
a temporary directory and deleted afterwards. Per seed:

- the headline sample (``service_sample.build_did_panel``: unbalanced, unidentified cells dropped)
  and the referee's balanced panel (``balanced=True``);
- imputation, cells equal and request-weighted (the headline and its companion), on the
  unbalanced sample; imputation and Callaway–Sant'Anna (never-treated controls; for the
  post-adoption cells a universal base gives the same simple ATT as the varying one) on the
  balanced panel;
- the truth of each estimate's own estimand (``DidPanel.truth``: the mean true log effect over the
  cells it averages, weighted like it);
- the four heterogeneity split tests (``heterogeneity.heterogeneity``): difference, its SE and
  truth, raw and Holm-adjusted p-values, and the brief's verdicts.

Printed: per estimator, mean error (estimate − truth) with its Monte Carlo SE, SD of the error,
mean reported SE, coverage of the 95 % CI; per split, coverage of the difference CI, share of
raw and Holm-adjusted rejections at 5 % and mean truth; verdict counts per risk. Written to
``benchmarks/out/service_headline.csv`` and ``service_headline_splits.csv``.

Usage (from the repository root): ``PYTHONPATH=src nice -n 10 python benchmarks/service_headline.py
[--seeds 20] [--first-seed 1]`` (about 40 s per seed on a 2-core machine).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import did
from analysis.analyses import heterogeneity as H
from analysis.analyses import service_sample as S
from analysis.analyses import service_time as T
from analysis.simulate import simulate_dataset

OUT = Path(__file__).resolve().parent / "out"
COMMON = dict(outcome="y", unit="unit_id", time="month", cohort="cohort", cluster="region_code")


def one_seed(seed: int, work: Path) -> tuple[list[dict], list[dict], list[dict]]:
    data_dir = simulate_dataset(work / f"seed{seed}", seed=seed, size="default")
    try:
        inputs = S.load_inputs(data_dir)
        truth_cells = pd.read_parquet(data_dir / "truth_service_cells.parquet")
        dp = S.build_did_panel(inputs.panel, inputs.treatment)
        balanced = S.build_did_panel(inputs.panel, inputs.treatment, balanced=True)
        rows = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits = {
                ("unbalanced", "imputation_cells"): (dp, T.headline_fit(dp), None),
                ("unbalanced", "imputation_requests"): (dp, T.headline_fit(dp, weights="n_submitted"), "n_submitted"),
                ("balanced", "imputation_cells"): (balanced, T.headline_fit(balanced), None),
                ("balanced", "cs"): (balanced, did.callaway_santanna(S.did_frame(balanced), **COMMON), None),
            }
        for (sample, estimator), (panel, fit, weights) in fits.items():
            o = fit.overall()
            truth = panel.truth(truth_cells, weights=weights)
            rows.append({"seed": seed, "sample": sample, "estimator": estimator, "att": o["att"], "se": o["se"],
                         "truth": truth, "covers": o["ci_low"] <= truth <= o["ci_high"],
                         "n_units": panel.data["unit"].nunique(), "n_treated_pemda": len(panel.treated_pemda)})
        het = H.heterogeneity(inputs, dp, truth_cells=truth_cells)
        splits = [{"seed": seed, **{k: t[k] for k in ("split", "difference", "se", "ci_low", "ci_high", "pvalue",
                                                       "pvalue_holm", "truth")}}
                  for t in het.tests.to_dict("records")]
        verdicts = [{"seed": seed, "risk": r["risk"], "verdict": r["verdict"]}
                    for r in H.risk_verdicts(het.tests).to_dict("records")]
        return rows, splits, verdicts
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    rows, splits, verdicts = [], [], []
    with tempfile.TemporaryDirectory(prefix="service_headline_") as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            start = time.time()
            r, s, v = one_seed(seed, Path(tmp))
            rows += r
            splits += s
            verdicts += v
            print(f"seed {seed}: {time.time() - start:.0f} s", flush=True)
    est = pd.DataFrame(rows)
    est["error"] = est["att"] - est["truth"]
    est.to_csv(OUT / "service_headline.csv", index=False)
    summary = est.groupby(["sample", "estimator"], sort=False).agg(
        seeds=("seed", "size"), mean_error=("error", "mean"), sd_error=("error", "std"), mean_se=("se", "mean"),
        coverage=("covers", "mean"), mean_truth=("truth", "mean"), units=("n_units", "mean"))
    summary.insert(2, "mc_se", summary["sd_error"] / np.sqrt(summary["seeds"]))
    print("\nHeadline candidates (truth = the estimand each estimate averages)")
    print(summary.round(4).to_string())
    tests = pd.DataFrame(splits)
    tests.to_csv(OUT / "service_headline_splits.csv", index=False)
    tests["covers"] = (tests["ci_low"] <= tests["truth"]) & (tests["truth"] <= tests["ci_high"])
    by_split = tests.groupby("split", sort=False).agg(
        seeds=("seed", "size"), mean_truth=("truth", "mean"), mean_difference=("difference", "mean"),
        sd_difference=("difference", "std"), mean_se=("se", "mean"), coverage=("covers", "mean"),
        reject_raw=("pvalue", lambda p: float((p < 0.05).mean())),
        reject_holm=("pvalue_holm", lambda p: float((p < 0.05).mean())))
    print("\nHeterogeneity split tests (difference = at-risk side minus comparison side, log points)")
    print(by_split.round(4).to_string())
    print("\nVerdicts of the brief per risk (seeds)")
    print(pd.DataFrame(verdicts).groupby(["risk", "verdict"]).size().unstack(fill_value=0).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
