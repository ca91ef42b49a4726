"""Heterogeneity of the service-time effect by the brief's risks (SPBE band, e-Kinerja, units
involved, WFA days): the CS simple ATT for each group of treated Pemda against the same controls,
with its Pemda-level influence function, and Wald tests of equal effects within a split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from dataclasses import dataclass
from scipy import stats

from analysis.analyses.service_sample import ServiceInputs, build_did_panel, did_frame, truth_for_cells
from analysis.data.schemas import SPBE_BANDS, spbe_band
from analysis.notes import Note

SPLITS = ("spbe_band", "ekinerja", "units", "wfa_days")
#: Treated Pemda a heterogeneity group needs; sparser SPBE bands are merged with a neighbour.
MIN_TREATED_PER_GROUP = 3


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



# --------------------------------------------------------------------------------------------
# Heterogeneity
# --------------------------------------------------------------------------------------------

def _spbe_groups(regions: pd.DataFrame, treated_regions) -> tuple[pd.Series, Note | None]:
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
    note = None
    if any(len(g) > 1 for g in groups):
        note = Note("spbe_bands_merged", {"bands": [mapping[g[0]] for g in groups if len(g) > 1],
                                          "min_treated": MIN_TREATED_PER_GROUP})
    return bands.map(mapping), note


def split_groups(regions: pd.DataFrame, treatment: pd.DataFrame, split: str) -> tuple[pd.Series | None, Note | None]:
    """Group label of each Pemda for a split (``None`` + a :class:`Note` when the column is absent)."""
    treated = treatment.loc[treatment["status"] == "adopter", "region_code"]
    if split == "spbe_band":
        if "spbe_index" not in regions.columns or regions["spbe_index"].isna().all():
            return None, Note("split_skipped", {"split": split, "column": "spbe_index"})
        return _spbe_groups(regions, set(treated))
    if split == "ekinerja":
        if "ekinerja_daily" not in regions.columns or regions["ekinerja_daily"].isna().all():
            return None, Note("split_skipped", {"split": split, "column": "ekinerja_daily"})
        col = regions.set_index("region_code")["ekinerja_daily"]
        return col.map(lambda v: None if pd.isna(v) else str(bool(v)).lower()), None
    if split == "wfa_days":
        dose = treatment.set_index("region_code")["wfa_days_per_week"]
        return dose[dose > 0].astype(int).astype(str).where(lambda s: s.astype(int) < 3, "3"), \
            Note("wfa_days_pooled", {"days": 3})
    raise ValueError(f"unknown split {split!r}")


def heterogeneity(
    inputs: ServiceInputs, *, outcome: str = "median_days", service_type: str = "all", control: str = "never",
    truth_cells: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Note]]:
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
            data = did_frame(units_dp)
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
            data = did_frame(base)
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


