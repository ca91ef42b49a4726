"""Speed of our Callaway–Sant'Anna adapter against moderndid, csdid and diff-diff called directly.

Setup (shared/notes/did-libraries.md §7): 3,000 units x 40 periods (120,000 rows), 30% never
treated, 8 cohorts (first treated in period 8, 12, ..., 36), cohort-specific level + slope
dynamic effects, unit and period effects, AR(1) noise (``analysis.did.simulation``, seed
20240601). Task: all ATT(g,t) (never-treated control, doubly robust, no covariates, varying
base period, analytic SEs) plus the simple aggregation.

Each run is a fresh Python subprocess that imports the library, reads the panel (Parquet), then
times the fit (imports and reading excluded); peak RSS of the subprocess includes imports.
Median over ``--runs`` runs (default 3). The simple ATT and SE must agree across libraries
(1e-6). Our overhead = median(ours) / median(moderndid); the script exits 1 if it exceeds 1.10.

Usage (repository root): ``PYTHONPATH=src python benchmarks/did_speed.py [--runs 3]``.
csdid and diff-diff are benchmark-only peers (``pip install csdid diff-diff``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.did.simulation import StaggeredDesign, simulate_staggered_panel

# Fixed cohort sizes (the DGP's former default), so the recorded panel and numbers are unchanged.
DESIGN = StaggeredDesign(n_units=3000, n_periods=40, cohorts=tuple(range(8, 37, 4)),
                         never_treated_share=0.3, ar1=0.5, random_cohorts=False)
MAX_OVERHEAD = 1.10

_PRELUDE = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
"""
_EPILOGUE = """
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "att": float(att), "se": float(se), "rss_mb": rss_mb}))
"""
CHILD = {
    "ours (analysis.did)": """
from analysis.did import callaway_santanna
df = pd.read_parquet(sys.argv[1])
t0 = time.perf_counter()
res = callaway_santanna(df, outcome="y", unit="unit", time="period", cohort="cohort",
                        control="never", method="dr", base_period="varying")
o = res.overall()
seconds = time.perf_counter() - t0
att, se = o["att"], o["se"]
""",
    "moderndid": """
import moderndid
df = pd.read_parquet(sys.argv[1])
t0 = time.perf_counter()
fit = moderndid.att_gt(df, yname="y", tname="period", idname="unit", gname="cohort",
                       control_group="nevertreated", est_method="dr", base_period="varying",
                       boot=False, cband=False)
agg = moderndid.aggte(fit, type="simple")
seconds = time.perf_counter() - t0
att, se = agg.overall_att, agg.overall_se
""",
    "csdid": """
from csdid.att_gt import ATTgt
df = pd.read_parquet(sys.argv[1])
t0 = time.perf_counter()
fit = ATTgt(yname="y", tname="period", idname="unit", gname="cohort", data=df,
            control_group="nevertreated").fit(est_method="dr", base_period="varying",
                                              bstrap=False)
fit.aggte(typec="simple", bstrap=False)
seconds = time.perf_counter() - t0
att, se = fit.atte["overall_att"], fit.atte["overall_se"]
""",
    "diff-diff": """
from diff_diff import CallawaySantAnna
df = pd.read_parquet(sys.argv[1])
t0 = time.perf_counter()
res = CallawaySantAnna(control_group="never_treated", estimation_method="dr",
                       base_period="varying", n_bootstrap=0).fit(
    df, outcome="y", unit="unit", time="period", first_treat="cohort")
seconds = time.perf_counter() - t0
att, se = res.overall_att, res.overall_se
""",
}
VERSIONS = {"ours (analysis.did)": "moderndid", "moderndid": "moderndid", "csdid": "csdid",
            "diff-diff": "diff-diff"}


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines()
                          if l.startswith("MemTotal")).split()[1])
        ram = f"{mem_kb / 1024**2:.0f} GB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    libs = ", ".join(f"{p} {_version(p)}" for p in ("moderndid", "csdid", "diff-diff",
                                                   "pandas", "numpy"))
    return (f"{cpu}; {os.cpu_count()} logical cores; {ram}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; {libs}")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def run_child(code: str, path: Path) -> dict:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _PRELUDE + code + _EPILOGUE, str(path)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args(argv)
    panel = simulate_staggered_panel(DESIGN, seed=args.seed)
    true_att = float(panel.loc[panel["treated"] == 1, "true_effect"].mean())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "panel.parquet"
        panel[["unit", "period", "cohort", "y"]].to_parquet(path, index=False)
        for name, code in CHILD.items():
            if _version(VERSIONS[name]) == "not installed":
                print(f"skipping {name}: not installed")
                continue
            runs = [run_child(code, path) for _ in range(args.runs)]
            rows.append({
                "library": name,
                "version": _version(VERSIONS[name]),
                "median_s": float(np.median([r["seconds"] for r in runs])),
                "min_s": min(r["seconds"] for r in runs),
                "peak_rss_mb": max(r["rss_mb"] for r in runs),
                "simple_att": runs[0]["att"],
                "simple_se": runs[0]["se"],
            })
    table = pd.DataFrame(rows)
    print(f"Machine: {machine()}")
    print(f"Panel: {DESIGN.n_units} units x {DESIGN.n_periods} periods, cohorts "
          f"{DESIGN.cohorts}, 30% never treated; true sample ATT {true_att:.4f}; "
          f"median of {args.runs} fresh-subprocess runs (imports excluded from time)")
    with pd.option_context("display.width", 160, "display.float_format", "{:.7f}".format):
        print(table.to_string(index=False))
    ref = table.iloc[0]
    agree = np.allclose(table["simple_att"], ref["simple_att"], atol=1e-6) and np.allclose(
        table["simple_se"], ref["simple_se"], atol=1e-6)
    print("simple ATT and SE agree across libraries (1e-6):", agree)
    status = 0 if agree else 1
    by = table.set_index("library")["median_s"]
    if "moderndid" in by and "ours (analysis.did)" in by:
        ratio = by["ours (analysis.did)"] / by["moderndid"]
        print(f"overhead of our adapter over moderndid: {ratio:.3f} (limit {MAX_OVERHEAD})")
        if ratio > MAX_OVERHEAD:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
