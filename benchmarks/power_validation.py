"""Check: does the placebo-future simulation reproduce the noise of an actual estimate?

On a simulated dataset the rollout actually happened (registry adopters plus simulated waves in
2026), so the imputation estimator's SE on the real data is known. The power simulation, given
the same cohorts (sizes and months) and window, predicts that SE from the never-adopter pool
alone. This script prints both:

- actual: ``analysis.did.imputation`` on the service-time estimation panel
  (``analysis.analyses.service_sample.build_did_panel``, service ``all``, clustered by Pemda);
- simulated: ``--n-sims`` draws from ``analysis.power`` with the actual cohorts, each adopter's
  effect either constant or spread with the SD of the true per-Pemda effects in
  ``truth_service_cells.parquet`` (the truth's heterogeneity): SD of the estimates over draws
  and mean SE.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/power_validation.py [--size default] [--n-sims 300]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import warnings  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis import did, power  # noqa: E402
from analysis.analyses.service_sample import build_did_panel, did_frame, load_inputs  # noqa: E402
from analysis.data import load as load_dataset  # noqa: E402
from analysis.simulate import ensure_dataset  # noqa: E402

OUT = Path(__file__).parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default")
    parser.add_argument("--n-sims", type=int, default=300)
    parser.add_argument("--seed", type=int, default=power.DEFAULT_SEED)
    parser.add_argument("--data-root", type=Path, default=OUT / "data")
    args = parser.parse_args()
    data_dir = ensure_dataset(args.data_root / args.size, size=args.size)

    inputs = load_inputs(data_dir)
    panel = build_did_panel(inputs.panel, inputs.treatment, service_type="all")
    frame = did_frame(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        actual = did.imputation(frame, outcome="y", unit="unit_id", time="month", cohort="cohort",
                                cluster="region_code").overall()
    cohorts = frame.drop_duplicates("region_code").query("cohort != 0").groupby("cohort").size()
    months = pd.period_range(*panel.window, freq="M").strftime("%Y-%m").tolist()
    starts = np.array([months.index(c) for c in cohorts.index])
    truth = pd.read_parquet(Path(data_dir) / "truth_service_cells.parquet")
    truth_sd = float(truth[truth["units"] == "all"].groupby("region_code")["log_effect_median"].mean().std())

    pool = power.pilot_outcomes(load_dataset(data_dir), "median_days", service_type="all")
    design = power.PilotDesign(n_adopters=int(cohorts.sum()), months_before=int(starts[0]),
                               months_after=len(months) - int(starts[0]),
                               first_wave_month=int(months[starts[0]][5:]))
    cohort_of_adopter = np.repeat(starts + 1, cohorts.to_numpy())
    rows = []
    for label, sd in (("constant effect", 0.0), ("effects spread as in the truth", truth_sd)):
        atts, ses = [], []
        for k in range(args.n_sims):
            draw = power.pilot_draw(pool, design, k, seed=args.seed)
            adopters = np.unique(draw.cluster[draw.cohort > 0])
            pemda_cohort = np.zeros(draw.n_clusters, dtype=np.int64)
            pemda_cohort[adopters] = cohort_of_adopter
            draw = replace(draw, cohort=pemda_cohort[draw.cluster])
            deviation = np.zeros(draw.n_clusters)
            deviation[adopters] = np.random.default_rng([args.seed, k]).normal(0.0, sd, len(adopters))
            draw = replace(draw, values=np.where(draw.treated(), draw.values + deviation[draw.cluster][:, None],
                                                 draw.values))
            fit = power.FastImputation()(draw)
            atts.append(fit.att)
            ses.append(fit.se)
        rows.append({"estimate": f"simulated, {label}", "effect_sd_log": round(sd, 4),
                     "sd_of_att": round(float(np.std(atts)), 4), "mean_se": round(float(np.mean(ses)), 4)})
    rows.insert(0, {"estimate": "actual rollout (imputation on the data)", "effect_sd_log": None,
                    "sd_of_att": None, "mean_se": round(actual["se"], 4)})
    print(f"dataset {args.size}; window {panel.window[0]}..{panel.window[1]}; cohorts "
          f"{ {str(k): int(v) for k, v in cohorts.items()} }; pool {pool.n_pemda} Pemda / {pool.n_units} units; n_sims {args.n_sims}")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
