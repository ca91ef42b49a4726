"""Size of the inference for the two headlines when few Pemda are treated (issue #10).

Question: with 4-5 treated Pemda and no true effect, how often does a 5% test reject? For the
budget headline (log real routine spending, monthly, TKD-adjusted) and the service headline
(log KM median completion days, Pemda x service type x month, clustered by Pemda).

Designs (each says what it tests):

- ``registry``: the ``registry_only`` scenario with every WFA effect switched off (budget and
  service effects 0 in the calibration), one new simulated dataset per draw (seed = base + i).
  The treated Pemda are the real adopters of the 2026-01 cohort that the estimators keep
  (Provinsi Bengkulu, Bengkulu Tengah, Purwakarta, Bolaang Mongondow Selatan: 4; the one-Pemda
  cohorts Jawa Barat 2025-11 and Sulawesi Selatan 2025-03 and Surakarta's switched-off trial are
  left out as in the notebooks), with their large TKD cuts, so adoption stays correlated with
  the cut as in reality. Tests the whole pipeline under repeated sampling of the outcomes with
  the assignment fixed (what the issue measured: CS CI covering 9 of 12).
- ``placebo``: one ``default``-scenario dataset per ``--datasets`` seed; every adopter
  (real and simulated) is dropped and ``k`` placebo adopters (cohort 2026-01) are drawn among the
  never-adopters with probability proportional to ``exp(20 (cut share - mean))`` (the
  generator's own adoption model: adoption still follows the TKD cut). Outcomes fixed, the
  assignment drawn: the design-based view, and ``--k`` varies the number of treated Pemda to find
  where the analytic standard errors become reliable (the threshold of ``choose_inference``).

Methods compared (reject when p <= 0.05 or |t| > 1.96):

- ``cs_analytic`` (budget, ``registry`` design): Callaway-Sant'Anna, doubly robust with the TKD
  covariates (cut share, log TKD per capita, log population), not-yet-treated controls,
  analytic influence-function SE clustered by Pemda: the current budget headline.
- ``imputation_analytic``: BJS imputation ATT with the BJS conservative clustered SE (budget:
  with the time-varying covariate ``cut share x [month >= 2026-01]``).
- ``ri_<statistic>_<strata>``: randomization inference with the imputation estimator
  (:mod:`analysis.did.inference`), ``statistic`` ``t`` (studentised) or ``est``, assignments
  permuted unstratified (``none``), within level (province vs kabupaten/kota: ``level``) or
  within level x TKD-cut tercile (``level_cut``), ``--permutations`` draws.

Printed (and written to ``benchmarks/out/few_treated_size.csv``; the per-draw p-values to
``few_treated_draws_<design>.csv``): per design, outcome, k and method the rejection rate with
its Monte Carlo SE (sqrt(p(1-p)/draws)); ``--summarise CSV...`` re-prints earlier draws. Exit code 1 if the
method the project uses (``ri_t_level``) rejects outside 2-8% in the ``registry`` design.

Usage (repository root): ``PYTHONPATH=src python benchmarks/few_treated_size.py
[--design registry|placebo|both] [--outcome budget|service|both] [--draws 100]
[--permutations 99] [--k 5 10 20 40] [--datasets 5]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from analysis import did  # noqa: E402
from analysis.analyses.service_sample import build_did_panel  # noqa: E402
from analysis.did.imputation_balanced import balanced_imputation_att  # noqa: E402
from analysis.did.inference import quantile_bands, randomization_inference  # noqa: E402
from analysis.panels.budget import (  # noqa: E402
    ROUTINE_TOTAL,
    TKD_COVARIATES,
    adoption_table,
    cohorts_for_estimation,
    spending_panel,
    tkd_covariates,
)
from analysis.panels.service import build_service_panel  # noqa: E402
from analysis.panels.treatment import assign_treatment  # noqa: E402
from analysis.simulate import simulate_dataset  # noqa: E402
from analysis.simulate.calibration import CALIBRATION, Calibration  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
CUT_START_TIME = 2026 * 12  # period_to_time("2026-01")
STRATA = {"none": [], "level": ["level"], "level_cut": ["level", "cut_band"]}
USED_METHOD = "ri_t_level"


def zero_effect_calibration() -> Calibration:
    """The default calibration with every WFA effect set to 0 (budget and service)."""
    budget = dataclasses.replace(CALIBRATION.budget, wfa_log_effect={k: 0.0 for k in CALIBRATION.budget.wfa_log_effect})
    service = dataclasses.replace(CALIBRATION.service_effect, floor=0.0, spbe_weight=0.0, cross_weight=0.0,
                                  ekinerja_weight=0.0)
    return dataclasses.replace(CALIBRATION, budget=budget, service_effect=service)


def read_csv(path: Path) -> pd.DataFrame:
    """A synthetic table read directly (codes and periods as text): the size study measures
    inference, so it skips the validating loader (the files are the generator's own)."""
    text = {c: str for c in ("region_code", "province_code", "period", "account_code", "start_date", "end_date")}
    return pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""], engine="pyarrow")


def unit_info(data_dir: Path) -> pd.DataFrame:
    """Per Pemda: ``pemda`` (integer code), ``level`` (provinsi / kabkota), the TKD covariates
    and ``cut_band`` (TKD-cut tercile)."""
    regions = read_csv(data_dir / "regions.csv")
    cov = tkd_covariates(read_csv(data_dir / "transfers.csv"), regions)
    level = regions.set_index("region_code")["level"]
    cov["level"] = cov["region_code"].map(lambda c: "provinsi" if level[c] == "provinsi" else "kabkota")
    cov["cut_band"] = quantile_bands(cov["tkd_cut_share"], 3)
    cov["pemda"] = np.arange(len(cov))
    return cov


def budget_frame(data_dir: Path, info: pd.DataFrame) -> pd.DataFrame:
    """Monthly log real routine spending per Pemda with ``cohort`` (integer month, 0 = never),
    the cut exposure and the strata; switched-off, already treated and one-Pemda cohorts out."""
    regions, policies = read_csv(data_dir / "regions.csv"), read_csv(data_dir / "policies.csv")
    budget = read_csv(data_dir / "budget.csv")
    panel = spending_panel(budget, frequency="month")
    panel = panel[panel["category"] == ROUTINE_TOTAL]
    adoption = adoption_table(policies, regions, periods=budget["period"])
    units, _ = cohorts_for_estimation(adoption, panel, frequency="month")
    sizes = units.loc[units["cohort_time"] > 0, "cohort_time"].value_counts()
    units = units[~units["cohort_time"].isin(sizes.index[sizes < 2])]
    frame = panel.merge(units[["region_code", "cohort_time"]], on="region_code").merge(info, on="region_code")
    complete = frame.groupby("region_code")["log_realized_real"].transform(lambda s: s.notna().all())
    frame = frame[complete].rename(columns={"cohort_time": "cohort", "log_realized_real": "y"})
    frame["cut_exposure"] = frame["tkd_cut_share"] * (frame["time"] >= CUT_START_TIME)
    return frame.reset_index(drop=True)


def service_frame(data_dir: Path, info: pd.DataFrame) -> pd.DataFrame:
    """The service headline panel (``analysis.analyses.service_sample.build_did_panel``: log KM
    median days, Pemda x service x month, balanced, one-Pemda cohorts out) with the strata."""
    regions, policies = read_csv(data_dir / "regions.csv"), read_csv(data_dir / "policies.csv")
    extracted = pd.Timestamp(pd.read_json(data_dir / "dataset.json", typ="series")["extracted_at"])
    panel = build_service_panel(str(data_dir / "service_requests.parquet"), extracted_at=extracted)
    periods = sorted(m for m in panel["month"].unique() if m >= "2025-01")
    treatment = assign_treatment(policies, regions, periods=periods)
    dp = build_did_panel(panel, treatment)
    frame = dp.data[["unit", "region_code", "month", "cohort", "y"]].merge(info, on="region_code")
    cohort = frame["cohort"].astype(object)
    frame["cohort"] = [0 if pd.isna(c) else int(c[:4]) * 12 + int(c[5:7]) - 1 for c in cohort]
    frame["time"] = [int(m[:4]) * 12 + int(m[5:7]) - 1 for m in frame["month"]]
    frame["unit"] = pd.factorize(frame["unit"])[0]
    return frame


def imputation_estimator(outcome_kind: str):
    if outcome_kind == "budget":
        return lambda d: balanced_imputation_att(d, outcome="y", unit="pemda", time="time", cohort="cohort",
                                                 covariates=["cut_exposure"])
    return lambda d: balanced_imputation_att(d, outcome="y", unit="unit", time="time", cohort="cohort",
                                             cluster="pemda")


def cs_analytic(frame: pd.DataFrame) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        overall = did.callaway_santanna(frame, outcome="y", unit="pemda", time="time", cohort="cohort",
                                        covariates=list(TKD_COVARIATES), control="not_yet", method="dr").overall()
    return overall["att"], overall["se"]


def evaluate(frame: pd.DataFrame, outcome_kind: str, *, permutations: int, seed: int, with_cs: bool,
             with_ri: bool = True) -> dict:
    """Two-sided p-values of no effect of every method on one dataset (analytic: normal), and
    the estimates / SEs (``*_att``, ``*_se``)."""
    estimator = imputation_estimator(outcome_kind)
    out = {}
    if with_cs:
        try:
            att, se = cs_analytic(frame)
            out.update(cs_att=att, cs_se=se, cs_analytic=2 * stats.norm.sf(abs(att / se)))
        except Exception:  # noqa: BLE001 - a failed fit is recorded as missing, not hidden
            out["cs_analytic"] = np.nan
    att, se = estimator(frame)
    out.update(imputation_att=att, imputation_se=se, imputation_analytic=2 * stats.norm.sf(abs(att / se)))
    out["n_treated"] = int(frame.loc[frame["cohort"] > 0, "pemda"].nunique())
    if not with_ri:
        return out
    for name, strata in STRATA.items():
        result = randomization_inference(frame, estimator, assign_by="pemda", cohort="cohort", strata=strata,
                                         statistic="t", draws=permutations, seed=seed, confidence_interval=False)
        p_est = (1 + np.sum(np.abs(result.null_estimates) >= abs(result.estimate) * (1 - 1e-10))) / (result.draws + 1)
        out[f"ri_t_{name}"] = result.pvalue
        out[f"ri_est_{name}"] = p_est
    return out


def registry_design(outcomes: list[str], draws: int, permutations: int, base_seed: int) -> list[dict]:
    rows = []
    calibration = zero_effect_calibration()
    size = "default" if "service" in outcomes else "small"
    with tempfile.TemporaryDirectory(prefix="few_treated_") as tmp:
        for i in range(draws):
            start = time.time()
            data_dir = simulate_dataset(Path(tmp) / "data", seed=base_seed + i, scenario="registry_only",
                                        size=size, calibration=calibration)
            info = unit_info(data_dir)
            for kind in outcomes:
                frame = budget_frame(data_dir, info) if kind == "budget" else service_frame(data_dir, info)
                result = evaluate(frame, kind, permutations=permutations, seed=base_seed + i,
                                  with_cs=kind == "budget")
                rows.append({"design": "registry", "outcome": kind, "draw": i, **result})
            print(f"  registry draw {i + 1}/{draws} ({time.time() - start:.1f} s)", file=sys.stderr, flush=True)
    return rows


def placebo_design(outcomes: list[str], ks: list[int], datasets: int, draws: int, permutations: int,
                   base_seed: int, cs_ks: list[int], ri_max_k: int) -> list[dict]:
    rows = []
    per_dataset = int(np.ceil(draws / datasets))
    with tempfile.TemporaryDirectory(prefix="few_treated_") as tmp:
        for d in range(datasets):
            data_dir = simulate_dataset(Path(tmp) / "data", seed=base_seed + 1000 + d, scenario="default",
                                        size="default" if "service" in outcomes else "small")
            info = unit_info(data_dir)
            for kind in outcomes:
                frame = budget_frame(data_dir, info) if kind == "budget" else service_frame(data_dir, info)
                frame = frame[frame["cohort"] == 0].copy()
                pemda = frame.drop_duplicates("region_code")[["region_code", "tkd_cut_share"]]
                weight = np.exp(20.0 * (pemda["tkd_cut_share"] - pemda["tkd_cut_share"].mean())).to_numpy()
                rng = np.random.default_rng([base_seed, d])
                for k in ks:
                    for j in range(per_dataset):
                        start = time.time()
                        chosen = rng.choice(len(pemda), size=k, replace=False, p=weight / weight.sum())
                        adopters = set(pemda["region_code"].iloc[chosen])
                        placebo = frame.assign(cohort=np.where(frame["region_code"].isin(adopters), CUT_START_TIME, 0))
                        result = evaluate(placebo, kind, permutations=permutations, seed=base_seed + j,
                                          with_cs=kind == "budget" and k in cs_ks, with_ri=k <= ri_max_k)
                        rows.append({"design": "placebo", "outcome": kind, "k": k, "dataset": d, "draw": j, **result})
                        print(f"  placebo dataset {d + 1}/{datasets} {kind} k={k} draw {j + 1}/{per_dataset} "
                              f"({time.time() - start:.1f} s)", file=sys.stderr, flush=True)
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Rejection rate at 5% per design, outcome, number of placebo adopters ``k`` (placebo
    design; the registry design has the real adopters, ``treated`` gives the range of treated
    Pemda that entered the estimate) and method."""
    frame = frame.copy()
    if "k" not in frame.columns:
        frame["k"] = np.nan
    frame["k"] = frame["k"].astype(object).where(frame["design"] == "placebo", "real")
    methods = [c for c in frame.columns if c in ("cs_analytic", "imputation_analytic") or c.startswith("ri_")]
    treated = frame.groupby(["design", "outcome", "k"], sort=False)["n_treated"].agg(
        lambda s: f"{int(s.min())}-{int(s.max())}" if s.min() != s.max() else f"{int(s.min())}")
    long = frame.melt(id_vars=["design", "outcome", "k"], value_vars=methods, var_name="method",
                      value_name="pvalue").dropna(subset=["pvalue"])
    long["reject"] = (long["pvalue"] <= 0.05).astype(float)
    table = long.groupby(["design", "outcome", "k", "method"], sort=False)["reject"].agg(["mean", "count"]).reset_index()
    table["mc_se"] = np.sqrt(table["mean"] * (1 - table["mean"]) / table["count"])
    table["treated"] = [treated[(d, o, k)] for d, o, k in zip(table["design"], table["outcome"], table["k"])]
    return table.rename(columns={"mean": "rejection_rate", "count": "draws"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--design", choices=["registry", "placebo", "both"], default="both")
    parser.add_argument("--outcome", choices=["budget", "service", "both"], default="both")
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--permutations", type=int, default=99)
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10, 20, 40])
    parser.add_argument("--datasets", type=int, default=5)
    parser.add_argument("--cs-k", type=int, nargs="*", default=[5, 20], help="k with CS analytic (it is slow)")
    parser.add_argument("--ri-max-k", type=int, default=5, help="randomization inference only up to this k")
    parser.add_argument("--seed", type=int, default=20260200)
    parser.add_argument("--summarise", nargs="+", default=None, metavar="CSV",
                        help="only summarise earlier few_treated_draws CSV file(s)")
    args = parser.parse_args(argv)
    outcomes = ["budget", "service"] if args.outcome == "both" else [args.outcome]
    started = time.time()
    if args.summarise:
        frame = pd.concat([pd.read_csv(path) for path in args.summarise], ignore_index=True)
    else:
        rows = []
        if args.design in ("registry", "both"):
            rows += registry_design(outcomes, args.draws, args.permutations, args.seed)
        if args.design in ("placebo", "both"):
            rows += placebo_design(outcomes, args.k, args.datasets, args.draws, args.permutations, args.seed,
                                   args.cs_k, args.ri_max_k)
        frame = pd.DataFrame(rows)
        OUT.mkdir(exist_ok=True)
        frame.to_csv(OUT / f"few_treated_draws_{args.design}.csv", index=False)
    table = summarise(frame)
    table.to_csv(OUT / "few_treated_size.csv", index=False)
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\n{len(frame)} evaluations in {time.time() - started:.0f} s; permutations per RI: {args.permutations}")
    used = table[(table["design"] == "registry") & (table["method"] == USED_METHOD)]
    bad = used[(used["rejection_rate"] < 0.02) | (used["rejection_rate"] > 0.08)]
    if len(bad):
        print(f"FAIL: {USED_METHOD} rejects outside 2-8% in the registry design:\n{bad.to_string(index=False)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
