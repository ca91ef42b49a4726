"""Service completion times under WFA: the analysis steps notebook ``10_service_time`` calls.

Design (what is estimated, on what):

- **Unit** = Pemda × service type (one time series per office line), **time** = submission month,
  **cohort** = the Pemda's first WFA month (``analysis.treatment``), clustered by Pemda.
- **Outcomes**: ``log_median_days`` (log of the censoring-aware KM median, days),
  ``log_p90_days``, ``sla_pp`` (share within SLA, in percentage points 0–100), and the biased
  ``log_naive_median_days`` (completed requests only) for the comparison.
- **Window**: from ``ANALYSIS_START``; it ends at the last month in which at least
  ``MIN_IDENTIFIED_SHARE`` of cells have the outcome identified (the newest months have too many
  open requests for a KM median). Units missing the outcome in any window month are dropped (a
  balanced panel, which the estimators and the cell-average reading of the simple ATT need).
  Adopters whose cohort falls after the window, Pemda whose WFA switched off and Pemda already
  treated at the window start are left out (``analysis.treatment``). So are cohorts with fewer
  than ``MIN_PEMDA_PER_COHORT`` Pemda left in the balanced panel (default data: 2025-03 Sulawesi
  Selatan, 2025-11 Jawa Barat): with clustering by Pemda, a cohort of one Pemda contributes
  nothing to the cluster-robust variance of its own ATT(g,t) (its units' deviations from the
  cohort mean sum to zero inside the single cluster), so its estimates — the only ones at long
  event times — would carry a control-only standard error.
- **Heterogeneity**: the CS simple ATT for each group of treated Pemda against the same control
  Pemda, computed here with its influence function (never-treated or not-yet-treated controls, no
  covariates — the same point estimate as ``analysis.did.callaway_santanna``). Differences
  between groups are Wald tests using the joint influence functions summed by Pemda, so the
  dependence through shared control Pemda is accounted for. The variance treats the group
  weights as fixed (the CS weight-estimation term is omitted).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.panel import build_service_panel
from analysis.treatment import assign_treatment

ANALYSIS_START = "2025-01"
MIN_IDENTIFIED_SHARE = 0.95
OUTCOMES = {
    "median_days": "log_median_days",
    "p90_days": "log_p90_days",
    "sla_share": "sla_pp",
}
ESTIMATORS = ("cs", "sun_abraham", "imputation", "twfe")
SPLITS = ("spbe_band", "ekinerja", "units", "wfa_days")
#: Treated Pemda a heterogeneity group needs; sparser SPBE bands are merged with a neighbour.
MIN_TREATED_PER_GROUP = 3
#: Pemda (clusters) a treatment cohort needs in the balanced panel to enter the staggered
#: estimation; smaller cohorts are excluded (module doc: their cluster-robust variance is degenerate).
MIN_PEMDA_PER_COHORT = 2


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceInputs:
    """Everything the service-time analysis reads, built once per notebook run."""

    panel: pd.DataFrame          # analysis.panel.build_service_panel (by service type)
    panel_units: pd.DataFrame    # the same, split by units group (single/cross)
    treatment: pd.DataFrame      # analysis.treatment.assign_treatment
    regions: pd.DataFrame
    policies: pd.DataFrame
    extracted_at: pd.Timestamp
    requests_source: object = field(repr=False)  # parquet path or DataFrame (for durations)
    notes: tuple[str, ...] = ()


def _extracted_at(data_dir: Path, requests_source) -> tuple[pd.Timestamp, str]:
    meta = data_dir / "dataset.json"
    if meta.exists():
        value = json.loads(meta.read_text()).get("extracted_at")
        if value:
            return pd.Timestamp(value), ""
    import duckdb

    if isinstance(requests_source, pd.DataFrame):
        latest = pd.concat([requests_source["submitted_at"], requests_source["completed_at"]]).max()
    else:
        latest = duckdb.sql(
            f"SELECT greatest(max(submitted_at), max(completed_at)) FROM read_parquet('{requests_source}')"
        ).fetchall()[0][0]
    return pd.Timestamp(latest), "dataset.json has no extracted_at: the latest timestamp in the data is used"


def load_inputs(data_dir, *, trial_handling: str = "exclude") -> ServiceInputs:
    """Read a dataset directory and build the panels and the treatment table.

    ``service_requests.parquet`` is read directly by DuckDB (out of core; only the columns the
    panels need, never ``applicant_nik``); any other format goes through ``analysis.io``.
    """
    from analysis.io import load_table

    data_dir = Path(data_dir)
    parquet = data_dir / "service_requests.parquet"
    notes = []
    if parquet.exists():
        source = str(parquet)
    else:
        source = load_table(data_dir, "service_requests")
        source = source.drop(columns=[c for c in ("applicant_nik",) if c in source.columns])
    extracted_at, note = _extracted_at(data_dir, source)
    if note:
        notes.append(note)
    regions = load_table(data_dir, "regions")
    policies = load_table(data_dir, "policies")
    panel = build_service_panel(source, extracted_at=extracted_at)
    panel_units = build_service_panel(source, extracted_at=extracted_at, by_units=True)
    periods = sorted(panel["month"].unique())
    periods = [p for p in periods if p >= ANALYSIS_START] or periods
    treatment = assign_treatment(policies, regions, periods=periods, trial_handling=trial_handling)
    return ServiceInputs(panel, panel_units, treatment, regions, policies, extracted_at, source, tuple(notes))


# --------------------------------------------------------------------------------------------
# Estimation panel
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DidPanel:
    """The balanced estimation panel and how it was cut."""

    data: pd.DataFrame           # unit, region_code, service_type, month, cohort, y, n_submitted, ...
    outcome: str                 # column of ``data`` used as the outcome
    window: tuple[str, str]
    n_units_dropped_unbalanced: int
    excluded: pd.DataFrame       # Pemda left out and why (from the treatment table)


def _outcome_columns(panel: pd.DataFrame) -> pd.DataFrame:
    out = panel.copy()
    with np.errstate(divide="ignore"):
        out["log_median_days"] = np.log(out["median_days"].where(out["median_days"] > 0))
        out["log_p90_days"] = np.log(out["p90_days"].where(out["p90_days"] > 0))
        out["log_naive_median_days"] = np.log(out["naive_median_days"].where(out["naive_median_days"] > 0))
    out["sla_pp"] = 100.0 * out["sla_share"]
    return out


def build_did_panel(
    panel: pd.DataFrame,
    treatment: pd.DataFrame,
    *,
    outcome: str = "median_days",
    service_type: str = "all",
    start: str = ANALYSIS_START,
    end: str | None = None,
    unit_keys: tuple[str, ...] = ("region_code", "service_type"),
    naive: bool = False,
    min_cohort_pemda: int = MIN_PEMDA_PER_COHORT,
) -> DidPanel:
    """Balanced unit × month panel for the staggered estimators.

    ``outcome`` is a panel measure (``median_days``, ``p90_days``, ``sla_share``); ``naive=True``
    uses the completed-only median instead (for the bias comparison). ``end`` fixes the last month
    (default: the last month with ≥ ``MIN_IDENTIFIED_SHARE`` of cells identified).
    ``min_cohort_pemda``: treated cohorts with fewer Pemda than this in the balanced panel are
    dropped and listed in ``excluded`` (1 keeps every cohort; see the module doc).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {tuple(OUTCOMES)}, got {outcome!r}")
    y = "log_naive_median_days" if naive else OUTCOMES[outcome]
    df = _outcome_columns(panel)
    if service_type != "all":
        df = df[df["service_type"] == service_type]
        if df.empty:
            raise ValueError(f"no requests of service_type {service_type!r}")
    df = df[df["month"] >= start]
    if end is None:
        ident = df.groupby("month")[OUTCOMES[outcome]].apply(lambda s: s.notna().mean())
        ok = ident[ident >= MIN_IDENTIFIED_SHARE].index
        end = max(ok) if len(ok) else df["month"].max()
    df = df[df["month"] <= end]
    months = sorted(df["month"].unique())
    t = treatment.set_index("region_code")
    in_sample = t["in_staggered_sample"] & (t["cohort"].isna() | (t["cohort"].fillna("") <= end))
    excluded = t.loc[~in_sample, ["cohort", "status", "note"]].reset_index()
    excluded.loc[excluded["status"] == "adopter", "note"] = f"cohort after the window end {end}"
    df = df[df["region_code"].map(in_sample).fillna(False).astype(bool)].copy()
    df["cohort"] = df["region_code"].map(t["cohort"])
    df["unit"] = df[unit_keys[0]].astype(str)
    for key in unit_keys[1:]:
        df["unit"] = df["unit"] + "|" + df[key].astype(str)
    complete = df.dropna(subset=[y]).groupby("unit")["month"].nunique()
    keep = complete.index[complete == len(months)]
    n_units = df["unit"].nunique()
    df = df[df["unit"].isin(keep)].reset_index(drop=True)
    cohort_pemda = df.dropna(subset=["cohort"]).groupby("cohort")["region_code"].nunique()
    small = cohort_pemda.index[cohort_pemda < min_cohort_pemda]
    if len(small):
        dropped = df.loc[df["cohort"].isin(small), ["region_code", "cohort"]].drop_duplicates()
        dropped = dropped.assign(status="adopter", note=[
            f"cohort {c} has {cohort_pemda[c]} Pemda in the panel (< {min_cohort_pemda}): "
            "cluster-robust variance degenerate" for c in dropped["cohort"]])
        excluded = pd.concat([excluded, dropped[["region_code", "cohort", "status", "note"]]], ignore_index=True)
        df = df[~df["cohort"].isin(small)].reset_index(drop=True)
    df["y"] = df[y]
    return DidPanel(df, y, (months[0], months[-1]), int(n_units - len(keep)), excluded)


def _did_frame(dp: DidPanel) -> pd.DataFrame:
    d = dp.data[["unit", "region_code", "month", "cohort", "y"]].copy()
    d["cohort"] = d["cohort"].fillna(0)
    d["unit_id"] = pd.factorize(d["unit"], sort=True)[0] + 1
    return d


# --------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------

def estimate_all(dp: DidPanel, *, control: str = "never") -> dict:
    """Event studies with every estimator (``analysis.did``), clustered by Pemda.

    Returns ``{estimator short name: result}``; an estimator that fails is reported in
    ``result["errors"]`` instead of stopping the run.
    """
    import analysis.did as did

    data = _did_frame(dp)
    common = dict(outcome="y", unit="unit_id", time="month", cohort="cohort", cluster="region_code")
    out, errors = {}, {}
    calls = {
        "cs": lambda: did.callaway_santanna(data, control=control, **common),
        "sun_abraham": lambda: did.sun_abraham(data, control=control, **common),
        "imputation": lambda: did.imputation(data, **common),
        "twfe": lambda: did.twfe(data, **common),
    }
    for name, call in calls.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[name] = call()
        except Exception as exc:  # reported in the notebook, not silently dropped
            errors[name] = f"{type(exc).__name__}: {exc}"
    out["errors"] = errors
    return out


@dataclass(frozen=True)
class SimpleAtt:
    """CS simple ATT with per-Pemda influence function (for group differences)."""

    att: float
    se: float
    n_treated_units: int
    n_treated_cells: int
    influence: pd.Series      # by region_code (cluster), sums to the estimate's error
    cells: pd.DataFrame       # the treated unit × month cells used (unit, region_code, month)

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        z = stats.norm.ppf(0.5 + level / 2)
        return self.att - z * self.se, self.att + z * self.se


def cs_simple_att(data: pd.DataFrame, *, treated_units=None, control: str = "never") -> SimpleAtt:
    """Callaway–Sant'Anna simple ATT (no covariates) with its influence function by Pemda.

    ``data``: balanced long panel with ``unit, region_code, month, cohort`` (``YYYY-MM`` or
    0/None for never treated) and ``y``. ``treated_units`` restricts the treated units (a
    heterogeneity group); the controls are all never-treated units (``control="never"``) or, for
    each month, the units not yet treated then (``"not_yet"``). ATT(g,t) for t ≥ g uses base
    month g − 1; the simple ATT weights each (g, t) by the number of treated units in g, i.e. it
    is the average over treated unit × post-month cells.
    """
    wide = data.pivot(index="unit", columns="month", values="y")
    if wide.isna().any().any():
        raise ValueError("cs_simple_att needs a balanced panel")
    months = list(wide.columns)
    pos = {m: i for i, m in enumerate(months)}
    unit_info = data.drop_duplicates("unit").set_index("unit").loc[wide.index]
    cohort = unit_info["cohort"].where(unit_info["cohort"].astype(str) != "0")
    region = unit_info["region_code"]
    treated = cohort.notna() & cohort.isin(months) & (cohort != months[0])
    if treated_units is not None:
        treated &= wide.index.isin(list(treated_units))
    Y = wide.to_numpy()
    n_units = len(wide)
    psi = np.zeros(n_units)
    terms = []  # (att_gt, n_g)
    cohort_pos = cohort.map(pos)
    cells = []
    for g in sorted(cohort[treated].unique()):
        gi = pos[g]
        in_g = (treated & (cohort == g)).to_numpy()
        for ti in range(gi, len(months)):
            if control == "never":
                ctrl = cohort.isna().to_numpy()
            else:
                ctrl = (cohort.isna() | (cohort_pos > ti)).to_numpy() & ~in_g
            if ctrl.sum() == 0:
                continue
            dy = Y[:, ti] - Y[:, gi - 1]
            mt, mc = dy[in_g].mean(), dy[ctrl].mean()
            terms.append((mt - mc, in_g.sum(), in_g, ctrl, dy, mt, mc))
            cells.append(pd.DataFrame({"unit": wide.index[in_g], "month": months[ti]}))
    if not terms:
        raise ValueError("no treated cohort with a pre-period and controls")
    n_total = sum(t[1] for t in terms)
    att = sum(t[0] * t[1] for t in terms) / n_total
    for att_gt, n_g, in_g, ctrl, dy, mt, mc in terms:
        w = n_g / n_total
        psi[in_g] += w * (dy[in_g] - mt) / in_g.sum()
        psi[ctrl] -= w * (dy[ctrl] - mc) / ctrl.sum()
    by_cluster = pd.Series(psi, index=region.to_numpy()).groupby(level=0).sum()
    g_count = len(by_cluster)
    se = float(np.sqrt((by_cluster**2).sum() * g_count / max(g_count - 1, 1)))
    cells_df = pd.concat(cells, ignore_index=True)
    cells_df["region_code"] = cells_df["unit"].map(region)
    return SimpleAtt(float(att), se, int(treated.sum()), len(cells_df), by_cluster, cells_df)


def overall_table(results: dict) -> pd.DataFrame:
    """One row per estimator: ``estimator, att, se, ci_low, ci_high`` (outcome units)."""
    rows = []
    for name in ESTIMATORS:
        if name in results:
            o = results[name].overall()
            rows.append({"estimator": name, **{k: o.get(k) for k in ("att", "se", "ci_low", "ci_high")}})
    return pd.DataFrame(rows)


def pct_change(att: float, ci_low: float, ci_high: float) -> tuple[float, float, float]:
    """A log-point effect as a % change in the level: 100·(exp(x) − 1), CI end points transformed."""
    f = lambda x: 100.0 * math.expm1(x)  # noqa: E731
    return f(att), f(ci_low), f(ci_high)


# --------------------------------------------------------------------------------------------
# Truth (synthetic data only)
# --------------------------------------------------------------------------------------------

def truth_for_cells(cells: pd.DataFrame, truth_cells: pd.DataFrame, *, units: str = "all") -> float:
    """Mean true ``log_effect_median`` over exactly the treated cells an estimate uses.

    ``cells`` has ``unit`` (``region|service_type`` or ``region|service_type|units``) and ``month``.
    A cell with no truth row had no WFA in force in the simulation (e.g. Jawa Barat's bridged
    December 2025) and counts as 0.
    """
    parts = cells["unit"].str.split("|", expand=True)
    key = pd.DataFrame({"region_code": parts[0], "service_type": parts[1], "month": cells["month"].to_numpy()})
    key["units"] = parts[2] if parts.shape[1] > 2 else units
    tc = truth_cells[["region_code", "month", "service_type", "units", "log_effect_median"]]
    merged = key.merge(tc, on=["region_code", "month", "service_type", "units"], how="left")
    return float(merged["log_effect_median"].fillna(0.0).mean())


# --------------------------------------------------------------------------------------------
# Heterogeneity
# --------------------------------------------------------------------------------------------

def _spbe_groups(regions: pd.DataFrame, treated_regions) -> tuple[pd.Series, str]:
    from analysis.schemas import SPBE_BANDS, spbe_band

    bands = spbe_band(regions.set_index("region_code")["spbe_index"]).astype(object)
    labels = [label for label, _, _ in SPBE_BANDS]
    counts = bands[bands.index.isin(treated_regions)].value_counts()
    groups = [[b] for b in labels]
    merged = True
    while merged and len(groups) > 1:
        merged = False
        for i, grp in enumerate(groups):
            if sum(counts.get(b, 0) for b in grp) < MIN_TREATED_PER_GROUP:
                j = i + 1 if i + 1 < len(groups) else i - 1
                a, b = sorted((i, j))
                groups[a] = groups[a] + groups[b]
                del groups[b]
                merged = True
                break
    mapping = {b: "–".join((grp[0], grp[-1])) if len(grp) > 1 else grp[0] for grp in groups for b in grp}
    note = ""
    if any(len(g) > 1 for g in groups):
        note = "sparse SPBE bands merged: " + ", ".join(mapping[g[0]] for g in groups if len(g) > 1)
    return bands.map(mapping), note


def split_groups(regions: pd.DataFrame, treatment: pd.DataFrame, split: str) -> tuple[pd.Series | None, str]:
    """Group label of each Pemda for a split (``None`` + a note when the column is absent)."""
    treated = treatment.loc[treatment["status"] == "adopter", "region_code"]
    if split == "spbe_band":
        if "spbe_index" not in regions.columns or regions["spbe_index"].isna().all():
            return None, "regions has no spbe_index: the SPBE split is skipped"
        return _spbe_groups(regions, set(treated))
    if split == "ekinerja":
        if "ekinerja_daily" not in regions.columns or regions["ekinerja_daily"].isna().all():
            return None, "regions has no ekinerja_daily: the e-Kinerja split is skipped"
        col = regions.set_index("region_code")["ekinerja_daily"]
        return col.map(lambda v: None if pd.isna(v) else str(bool(v)).lower()), ""
    if split == "wfa_days":
        dose = treatment.set_index("region_code")["wfa_days_per_week"]
        return dose[dose > 0].astype(int).astype(str).where(lambda s: s.astype(int) < 3, "3"), \
            "3 or more WFA days per week pooled as 3"
    raise ValueError(f"unknown split {split!r}")


def heterogeneity(
    inputs: ServiceInputs, *, outcome: str = "median_days", service_type: str = "all", control: str = "never",
    truth_cells: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """CS simple ATT by group for each split, with a joint test of equal effects per split.

    Returns ``(groups, tests, notes)``: ``groups`` has ``split, group, att, se, ci_low, ci_high,
    n_treated_pemda, n_treated_cells`` (+ ``truth`` when ``truth_cells`` is given); ``tests`` has
    ``split, stat, df, pvalue`` (Wald test that all groups of the split have the same ATT, using
    the joint Pemda-clustered influence functions).
    """
    rows, tests, notes = [], [], []
    base = build_did_panel(inputs.panel, inputs.treatment, outcome=outcome, service_type=service_type)
    units_dp = build_did_panel(inputs.panel_units, inputs.treatment, outcome=outcome, service_type=service_type,
                               unit_keys=("region_code", "service_type", "units"), end=base.window[1])
    for split in SPLITS:
        if split == "units":
            data = _did_frame(units_dp)
            label = units_dp.data.drop_duplicates("unit").set_index("unit")["units"]
            members = {g: label.index[label == g] for g in ("single", "cross")}
            # like with like: single-unit cells of treated Pemda against single-unit controls
            fits = {g: cs_simple_att(data[data["unit"].isin(label.index[label == g])], control=control)
                    for g in members}
        else:
            groups, note = split_groups(inputs.regions, inputs.treatment, split)
            if note:
                notes.append(note)
            if groups is None:
                continue
            data = _did_frame(base)
            unit_group = data.drop_duplicates("unit").set_index("unit")["region_code"].map(groups)
            fits = {}
            for g in sorted(unit_group.dropna().unique()):
                units = unit_group.index[unit_group == g]
                treated_regions = data.loc[data["unit"].isin(units) & (data["cohort"] != 0), "region_code"].nunique()
                if treated_regions == 0:
                    continue
                fits[g] = cs_simple_att(data, treated_units=units, control=control)
        for g, fit in fits.items():
            lo, hi = fit.ci()
            row = {"split": split, "group": str(g), "att": fit.att, "se": fit.se, "ci_low": lo, "ci_high": hi,
                   "n_treated_pemda": fit.cells["region_code"].nunique(), "n_treated_cells": fit.n_treated_cells}
            if truth_cells is not None:
                row["truth"] = truth_for_cells(fit.cells, truth_cells)
            rows.append(row)
        if len(fits) >= 2:
            tests.append({"split": split, **wald_equal(list(fits.values()))})
    return pd.DataFrame(rows), pd.DataFrame(tests), notes


def wald_equal(fits: list[SimpleAtt]) -> dict:
    """Wald test that several ATTs are equal, from their joint Pemda-level influence functions."""
    psi = pd.concat([f.influence for f in fits], axis=1).fillna(0.0).to_numpy()
    g = psi.shape[0]
    vcov = psi.T @ psi * g / max(g - 1, 1)
    est = np.array([f.att for f in fits])
    k = len(fits)
    contrast = np.hstack([-np.ones((k - 1, 1)), np.eye(k - 1)])
    diff = contrast @ est
    stat = float(diff @ np.linalg.pinv(contrast @ vcov @ contrast.T) @ diff)
    return {"stat": stat, "df": k - 1, "pvalue": float(stats.chi2.sf(stat, k - 1))}


# --------------------------------------------------------------------------------------------
# The whole analysis, results and the plain-language conclusion
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceTimeAnalysis:
    """Everything notebook 10 shows. Effects on log outcomes are log points; ``sla`` in pp."""

    did_panel: DidPanel
    estimates: dict               # estimator name → result (analysis.did); "errors" → dict
    overall: pd.DataFrame         # estimator, att, se, ci_low, ci_high
    median_cs: dict               # CS simple ATT on log median days (att, se, ci_low, ci_high)
    sla_cs: dict                  # CS simple ATT on SLA share (pp)
    naive: dict                   # {"naive": SimpleAtt-like dict, "km": ..., "truth_*" when known}
    groups: pd.DataFrame
    group_tests: pd.DataFrame
    hazard: object                # analysis.durations.HazardResult
    km_curves: pd.DataFrame
    notes: tuple[str, ...]
    parameters: dict


def _as_dict(fit: SimpleAtt) -> dict:
    lo, hi = fit.ci()
    return {"att": fit.att, "se": fit.se, "ci_low": lo, "ci_high": hi, "n_treated_cells": fit.n_treated_cells}


def run_analysis(inputs: ServiceInputs, *, outcome: str = "median_days", service_type: str = "all",
                 control: str = "never", truth_cells: pd.DataFrame | None = None) -> ServiceTimeAnalysis:
    """Run every step for one parameter set (see the module doc for the design)."""
    import analysis.did as did
    from analysis import durations

    dp = build_did_panel(inputs.panel, inputs.treatment, outcome=outcome, service_type=service_type)
    estimates = estimate_all(dp, control=control)
    common = dict(outcome="y", unit="unit_id", time="month", cohort="cohort", cluster="region_code", control=control)
    median_dp = dp if outcome == "median_days" else build_did_panel(inputs.panel, inputs.treatment,
                                                                      service_type=service_type)
    median_cs = (estimates["cs"] if outcome == "median_days" and "cs" in estimates
                 else did.callaway_santanna(_did_frame(median_dp), **common)).overall()
    sla_dp = build_did_panel(inputs.panel, inputs.treatment, outcome="sla_share", service_type=service_type)
    sla_cs = (estimates["cs"] if outcome == "sla_share" and "cs" in estimates
              else did.callaway_santanna(_did_frame(sla_dp), **common)).overall()
    km_fit = cs_simple_att(_did_frame(median_dp), control=control)
    naive_dp = build_did_panel(inputs.panel, inputs.treatment, service_type=service_type, naive=True,
                               end=inputs.panel["month"].max())
    naive_fit = cs_simple_att(_did_frame(naive_dp), control=control)
    naive = {"km": _as_dict(km_fit), "naive": _as_dict(naive_fit), "naive_window": naive_dp.window,
             "km_window": median_dp.window}
    if truth_cells is not None:
        naive["km"]["truth"] = truth_for_cells(km_fit.cells, truth_cells)
        naive["naive"]["truth"] = truth_for_cells(naive_fit.cells, truth_cells)
    groups, tests, notes = heterogeneity(inputs, outcome="median_days", service_type=service_type, control=control,
                                         truth_cells=truth_cells)
    counts = durations.person_period_counts(inputs.requests_source, inputs.treatment, extracted_at=inputs.extracted_at,
                                            end=median_dp.window[1])
    if service_type != "all":
        counts = counts[counts["service_type"] == service_type]
    hazard = durations.hazard_ratio(counts)
    sample, _ = durations.request_sample(inputs.requests_source, inputs.treatment, extracted_at=inputs.extracted_at,
                                         end=median_dp.window[1], max_requests=100_000)
    if service_type != "all":
        sample = sample[sample["service_type"] == service_type]
    curves = durations.km_before_after(sample)
    params = {"outcome": outcome, "service_type": service_type, "control": control}
    return ServiceTimeAnalysis(dp, estimates, overall_table(estimates), median_cs, sla_cs, naive, groups, tests,
                               hazard, curves, tuple(inputs.notes) + tuple(notes), params)


def result_entries(a: ServiceTimeAnalysis) -> list:
    """The machine-readable results (``analysis.results.ResultEntry``) of notebook 10."""
    from analysis.results import ResultEntry

    m, s = a.median_cs, a.sla_cs
    pct = pct_change(m["att"], m["ci_low"], m["ci_high"])
    entries = [
        ResultEntry("att_log_median_days", m["att"], m["se"], m["ci_low"], m["ci_high"], "log points",
                    "CS simple ATT of WFA on log KM median completion days"),
        ResultEntry("att_pct_median_days", pct[0], None, pct[1], pct[2], "percent",
                    "CS simple ATT as % change in median completion days: 100*(exp(att)-1)"),
        ResultEntry("att_sla_share", s["att"], s["se"], s["ci_low"], s["ci_high"], "percentage points",
                    "CS simple ATT on the share completed within the SLA"),
        ResultEntry("att_log_median_days_naive", a.naive["naive"]["att"], a.naive["naive"]["se"],
                    a.naive["naive"]["ci_low"], a.naive["naive"]["ci_high"], "log points",
                    "Same, from completed-only medians (biased; for comparison)"),
        ResultEntry("hazard_ratio_completion", a.hazard.hazard_ratio, None, a.hazard.ci_low, a.hazard.ci_high, "ratio",
                    "Hazard ratio of completion under WFA (<1 = slower), piecewise-exponential PH model"),
    ]
    for r in a.groups.itertuples():
        entries.append(ResultEntry(f"att_log_median_days__{r.split}__{r.group}", r.att, r.se, r.ci_low, r.ci_high,
                                   "log points", f"CS simple ATT, {r.split} = {r.group}"))
    return entries


#: Months before adoption covered by the reported pre-trend test.
PRETREND_WINDOW = 6


def _n(value: float, decimals: int, signed: bool = False) -> str:
    """A number in Indonesian notation (decimal comma) for the ``id`` texts below."""
    from analysis.formatting import format_number

    text = format_number(value, "id", decimals)
    return ("+" + text) if signed and value is not None and value > 0 else text


def pretrend(a: ServiceTimeAnalysis):
    """Joint Wald test that the CS event-study estimates of the last ``PRETREND_WINDOW`` months
    before adoption are zero (``analysis.did.PretrendTest``), or None.

    Why a window rather than R did's test over every pre-treatment ATT(g,t) cell: the earliest
    pre-periods are supported only by the first adopters (one or two Pemda each), whose
    cluster-robust covariance is nearly singular, which makes the all-cell test meaningless.

    Reading the test (checked on the synthetic data, which have no pre-trends by design):

    - With ``base_period="varying"`` the pre-period estimates are month-on-month placebo DiDs, so
      the noise of one cell-median month enters two neighbouring estimates with opposite signs:
      alternating signs are expected, not a symptom. The joint covariance accounts for it, and a
      ``"universal"`` base gives the *same* Wald statistic over the same months (events −7..−2
      against −1 span the same differences as −6..−1 varying), so switching base does not change
      the test, only the picture.
    - Cell KM medians are very noisy (small cells; mixtures such as simple permits vs PBG or
      same-day vs KTP-print days make the median jump), so cohort means move by ±0.1 log points
      from month to month. Default seed 20260101: stat 15.3, df 6, p = 0.018, driven by a high
      month g − 1 of the treated cohorts, not by a trend (no systematic sign of the event −1
      estimate across seeds). Other seeds, same design (1–8, 10): p = 0.051, 0.647, 0.750,
      0.047, 0.286, 0.973, 0.640, 0.432, 0.113; with the default, 2 of 10 below 0.05
      (P(≥ 2 | 5 %) = 0.09). Placebo cohorts drawn among never-treated Pemda of the default data
      (same cohort sizes, 8 draws): p from 0.15 to 0.74. The low default p-value is within chance;
      10 seeds cannot rule out a mild over-rejection.
    - The same noisy base month g − 1 is why the CS simple ATT (one base month per cohort) has
      about twice the standard error of the imputation estimator (all pre-periods as the base)
      and can sit 1–2 SE from the truth on one seed (default: 0.038 vs truth 0.061).
    - Cohorts of a single Pemda are excluded before estimation (``MIN_PEMDA_PER_COHORT``): their
      Pemda-clustered variance ignores the treated Pemda's own noise. This fixes their
      standard errors at long event times but hardly moves this test (default: p = 0.017 without
      them).
    """
    from analysis.did import pretrend_test

    cs = a.estimates.get("cs")
    if cs is None:
        return None
    available = set(cs.event_study()["event"].astype(int))
    events = [e for e in range(-PRETREND_WINDOW, 0) if e in available]
    return pretrend_test(cs, events=events) if events else None


def headline_markdown(a: ServiceTimeAnalysis, lang: str) -> str:
    """The headline estimate and the pre-trend test as one Markdown sentence in ``lang``."""
    from analysis.formatting import format_pct

    m = a.median_cs
    pct, lo, hi = pct_change(m["att"], m["ci_low"], m["ci_high"])
    pt = pretrend(a)
    if lang == "id":
        text = (f"**ATT sederhana CS pada log median hari penyelesaian:** {_n(m['att'], 4)} (IK 95% {_n(m['ci_low'], 4)} "
                f"s.d. {_n(m['ci_high'], 4)}) = **{format_pct(pct, lang, signed=True)}** (IK {format_pct(lo, lang, signed=True)} "
                f"s.d. {format_pct(hi, lang, signed=True)}).")
        if pt is not None:
            text += (f" Uji Wald tren pra-adopsi ({len(pt.events)} bulan terakhir sebelum adopsi): statistik "
                     f"{_n(pt.stat, 1)}, df {pt.df}, p = {_n(pt.pvalue, 3)}.")
        return text
    text = (f"**CS simple ATT on log median completion days:** {m['att']:.4f} (95% CI {m['ci_low']:.4f} to "
            f"{m['ci_high']:.4f}) = **{format_pct(pct, lang, signed=True)}** (CI {format_pct(lo, lang, signed=True)} "
            f"to {format_pct(hi, lang, signed=True)}).")
    if pt is not None:
        text += (f" Pre-trend Wald test (last {len(pt.events)} months before adoption): stat {pt.stat:.1f}, "
                 f"df {pt.df}, p = {pt.pvalue:.3f}.")
    return text


def conclusion(a: ServiceTimeAnalysis, lang: str) -> str:
    """One plain-language paragraph whose numbers come from ``a`` (``id`` or ``en``)."""
    from analysis.formatting import format_number, format_pct

    m = a.median_cs
    pct, lo, hi = pct_change(m["att"], m["ci_low"], m["ci_high"])
    s = a.sla_cs
    h = a.hazard
    sig = m["ci_low"] > 0 or m["ci_high"] < 0
    pt = pretrend(a)
    p_pre = format_number(pt.pvalue, lang, 2) if pt is not None and pt.pvalue == pt.pvalue else "–"
    if lang == "id":
        direction = "lebih lama" if pct > 0 else "lebih cepat"
        return (
            f"Di Pemda yang menerapkan WFA, median waktu penyelesaian layanan menjadi "
            f"{format_pct(abs(pct), lang)} {direction} (IK 95%: {format_pct(lo, lang, signed=True)} s.d. "
            f"{format_pct(hi, lang, signed=True)}), dibandingkan Pemda yang belum menerapkan WFA"
            f"{'' if sig else '; perbedaan ini belum pasti secara statistik'}. Bagian permohonan yang selesai "
            f"dalam standar pelayanan berubah {_n(s['att'], 1, True)} poin persen (IK 95%: {_n(s['ci_low'], 1, True)} s.d. "
            f"{_n(s['ci_high'], 1, True)}). Model tingkat permohonan memberi rasio hazard penyelesaian {_n(h.hazard_ratio, 2)} "
            f"(IK 95%: {_n(h.ci_low, 2)}–{_n(h.ci_high, 2)}; di bawah 1 berarti lebih lambat). Uji tren sebelum adopsi: "
            f"p = {p_pre}. Permohonan yang masih terbuka saat ekstraksi diperlakukan sebagai tersensor; "
            f"mengabaikannya membuat waktu tampak lebih singkat."
        )
    direction = "longer" if pct > 0 else "shorter"
    return (
        f"In Pemda that adopted WFA, the median time to complete a service request became "
        f"{format_pct(abs(pct), lang)} {direction} (95% CI {format_pct(lo, lang, signed=True)} to "
        f"{format_pct(hi, lang, signed=True)}) than in Pemda without WFA"
        f"{'' if sig else '; the difference is not statistically clear'}. The share of requests completed "
        f"within the service standard changed by {s['att']:+.1f} percentage points (95% CI {s['ci_low']:+.1f} to "
        f"{s['ci_high']:+.1f}). The request-level model gives a completion hazard ratio of {h.hazard_ratio:.2f} "
        f"(95% CI {h.ci_low:.2f}–{h.ci_high:.2f}; below 1 means slower). Pre-adoption trend test: p = {p_pre}. "
        f"Requests still open at extraction are treated as censored; ignoring them makes times look shorter."
    )
