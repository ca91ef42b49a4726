"""Monte Carlo study of the staggered-DiD estimators on data with a known truth.

DGP: ``analysis.did.simulation`` (staggered cohorts, never-treated group, unit and period
effects, AR(1) noise, dynamic effects that differ by cohort, so static TWFE is biased). Each
unit's cohort is drawn at random in every replication (multinomial cohort sizes: random sampling
of units). Each replication draws a panel and fits CS (``callaway_santanna``: never-treated
control, DR, analytic SEs), Sun–Abraham, BJS imputation and TWFE, for the overall ATT and the
event-time effects e = 0, 2, 4.

Targets. Every estimator's aggregation weights cohorts by their size (overall: treated
unit-periods; event time: units observed at e), so each target exists in two versions: the
sample estimand with the realised cohort sizes (``true_effects``) and the population estimand
with the cohort probabilities (``population_effects``). Each estimator is judged against the one
its SEs are built for (``ESTIMAND``):

- CS: population. Its influence function for the ``simple`` / ``event`` aggregations includes the
  estimation of the cohort shares (the "wif" term), the variance under random sampling of units;
- Sun–Abraham: sample. IW weights treated as fixed (no Proposition 6 term), i.e. conditional
  on the cohort sizes;
- imputation: sample. BJS variance conditional on the realised treatment assignment;
- TWFE: sample (its bias is the point, not its coverage).

Both versions are written out; the printed secondary table shows the overall ATT's coverage
against both for every estimator (CS over-covers the sample estimand; SA and imputation
under-cover the population one, by the variance of the realised shares).

Printed and written to ``benchmarks/out/did_simulation_study.csv``: per estimator, target and
estimand, bias (mean of estimate - truth) with its Monte Carlo SE, RMSE, coverage of the nominal
95% interval with its MC SE, and mean SE / SD of (estimate - truth). Exit code 1 if CS, SA or
imputation has |bias| > 3 MC SE or overall coverage outside 93–97% against its own estimand, or
if TWFE's overall bias is not clearly visible (|bias| < 10 MC SE).

Usage (from the repository root): ``PYTHONPATH=src python benchmarks/did_simulation_study.py
[--reps 500] [--workers 2] [--seed 20240601]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

from analysis.did.simulation import (  # noqa: E402
    StaggeredDesign,
    population_effects,
    simulate_staggered_panel,
    true_effects,
)

DESIGN = StaggeredDesign(n_units=200, n_periods=10, cohorts=(4, 6, 8), never_treated_share=0.3,
                         ar1=0.3)
EVENTS = (0, 2, 4)
COLUMNS = dict(outcome="y", unit="unit", time="period", cohort="cohort")
OUT = Path(__file__).parent / "out"
# The estimand each estimator's SEs target (see the module docstring).
ESTIMAND = {"cs": "population", "sun_abraham": "sample", "imputation": "sample", "twfe": "sample"}


def one_replication(seed: int) -> list[dict]:
    """Fit every estimator on one simulated panel; one row per estimator x target."""
    warnings.simplefilter("ignore")
    from analysis.did import callaway_santanna, imputation, sun_abraham, twfe

    panel = simulate_staggered_panel(DESIGN, seed=seed)
    sample, population = true_effects(panel), population_effects(DESIGN)
    rows = []
    for name, fit in (("cs", callaway_santanna), ("sun_abraham", sun_abraham),
                      ("imputation", imputation), ("twfe", twfe)):
        res = fit(panel, **COLUMNS)
        o = res.overall()
        rows.append(dict(seed=seed, estimator=name, target="overall",
                         truth_sample=sample["overall"], truth_population=population["overall"],
                         **{k: o[k] for k in ("att", "se", "ci_low", "ci_high")}))
        es = res.event_study().set_index("event")
        for e in EVENTS:
            if e in es.index:
                r = es.loc[e]
                rows.append(dict(seed=seed, estimator=name, target=f"event {e}",
                                 truth_sample=float(sample["event"].loc[e]),
                                 truth_population=float(population["event"].loc[e]),
                                 att=r["att"], se=r["se"], ci_low=r["ci_low"],
                                 ci_high=r["ci_high"]))
    return rows


def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """One row per estimator x target x estimand (``sample`` / ``population``); ``matched`` marks
    the estimand of the estimator's SEs (``ESTIMAND``)."""
    long = pd.concat([draws.assign(estimand=k, truth=draws[f"truth_{k}"])
                      for k in ("sample", "population")], ignore_index=True)

    def one(g: pd.DataFrame) -> pd.Series:
        err = g["att"] - g["truth"]
        cover = ((g["ci_low"] <= g["truth"]) & (g["truth"] <= g["ci_high"])).astype(float)
        n = len(g)
        return pd.Series({
            "reps": n,
            "mean_truth": g["truth"].mean(),
            "bias": err.mean(),
            "bias_mcse": err.std(ddof=1) / np.sqrt(n),
            "rmse": np.sqrt((err**2).mean()),
            "coverage": cover.mean(),
            "coverage_mcse": np.sqrt(cover.mean() * (1 - cover.mean()) / n),
            "se_over_sd": g["se"].mean() / err.std(ddof=1),
        })

    order = {"cs": 0, "sun_abraham": 1, "imputation": 2, "twfe": 3}
    table = (long.groupby(["estimator", "target", "estimand"])
             .apply(one, include_groups=False).reset_index())
    table["reps"] = table["reps"].astype(int)
    table["matched"] = table["estimand"] == table["estimator"].map(ESTIMAND)
    return table.sort_values(["target", "estimator", "estimand"], key=lambda s: s.map(order)
                             if s.name == "estimator" else s).reset_index(drop=True)


def check(table: pd.DataFrame) -> list[str]:
    problems = []
    table = table[table["matched"]]
    for _, r in table.iterrows():
        if r["estimator"] == "twfe":
            continue
        if abs(r["bias"]) > 3 * r["bias_mcse"]:
            problems.append(f"{r['estimator']} {r['target']}: bias {r['bias']:.4f} > 3 MC SE")
        if r["target"] == "overall" and not 0.93 <= r["coverage"] <= 0.97:
            problems.append(f"{r['estimator']} overall: coverage {r['coverage']:.3f}")
    tw = table[(table["estimator"] == "twfe") & (table["target"] == "overall")].iloc[0]
    if abs(tw["bias"]) < 10 * tw["bias_mcse"]:
        problems.append("twfe overall bias not clearly visible")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args(argv)
    seeds = np.random.SeedSequence(args.seed).generate_state(args.reps).tolist()
    start = time.perf_counter()
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(one_replication, s) for s in seeds]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="replications"):
            rows.extend(fut.result())
    elapsed = time.perf_counter() - start
    draws = pd.DataFrame(rows)
    table = summarise(draws)
    OUT.mkdir(exist_ok=True)
    table.to_csv(OUT / "did_simulation_study.csv", index=False)
    draws.to_csv(OUT / "did_simulation_draws.csv", index=False)
    d = DESIGN
    print(f"\nDGP: {d.n_units} units x {d.n_periods} periods, cohorts {d.cohorts}, "
          f"{d.never_treated_share:.0%} never treated, AR(1) {d.ar1}; {args.reps} replications, "
          f"{args.workers} workers, {elapsed:.0f} s")
    sample_overall = draws.loc[draws["target"] == "overall", "truth_sample"]
    print(f"population overall ATT {population_effects(DESIGN)['overall']:.4f}; sample overall "
          f"ATT: mean {sample_overall.mean():.4f}, SD {sample_overall.std(ddof=1):.4f}")
    with pd.option_context("display.width", 160, "display.float_format", "{:.4f}".format):
        print("\nEach estimator against the estimand of its SEs:")
        print(table[table["matched"]].drop(columns="matched").to_string(index=False))
        print("\nOverall ATT against both estimands:")
        print(table[table["target"] == "overall"].to_string(index=False))
    problems = check(table)
    for p in problems:
        print("CHECK FAILED:", p)
    print("all checks passed" if not problems else f"{len(problems)} check(s) failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
