"""Heterogeneity of the service-time effect by the brief's risks (SPBE band, e-Kinerja, units
involved, WFA days): group ATTs, one confirmatory difference test per split, Holm-adjusted, and
the verdict rule of the policy brief.

One mechanism (:mod:`analysis.did.imputation`, the headline estimator):

- **Group ATTs.** For the Pemda-level splits (SPBE band, e-Kinerja, WFA days) a group ATT is the
  imputation estimator's average of the headline's per-cell effects over the group's treated cells
  (``imputation(..., groups=...)``: one fit, the same untreated-outcome model as the headline).
  The ``units`` split compares different service lines, so it is like with like: one fit on the
  single-unit lines of every Pemda and one on the cross-unit lines.
- **Difference tests.** Each split has one confirmatory contrast, the *at-risk* side against the
  *comparison* side (:data:`SPLIT_SIDES`; bands or doses pooled into the two sides). The
  difference of the two side ATTs is tested with the cluster scores of both
  (``result.influence(...).by_cluster()``, summed by Pemda and aligned, so comparison Pemda shared
  by both sides are accounted for): ``z = d / se(d)``, two-sided.
- **Multiplicity.** The four split tests form one family; p-values are Holm-adjusted across it.
  Holm rather than Benjamini–Hochberg: this is a small family of confirmatory tests each of which
  can change a recommendation in the brief, so the chance of *any* false "supported" (family-wise
  error) is what must be controlled, not the expected share of false discoveries among many
  exploratory ones; Holm does that for any dependence between the tests.
- **Verdicts.** :func:`risk_verdicts` (the only place the rule lives; the brief uses it).

Variance: BJS conservative cluster-robust variance; the residual cell averages are pooled across
groups (see :mod:`analysis.did.imputation`), so a real difference between groups makes each group's
SE larger, never degenerate when a group has a single Pemda in a cohort.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis import did
from analysis.analyses.service_sample import (
    DidPanel,
    ServiceInputs,
    build_did_panel,
    did_frame,
)
from analysis.data.schemas import SPBE_BANDS, spbe_band
from analysis.did.results import normal_pvalue
from analysis.notes import Note

SPLITS = ("spbe_band", "ekinerja", "units", "wfa_days")
#: Treated Pemda a displayed heterogeneity group needs; sparser SPBE bands are merged with a neighbour.
MIN_TREATED_PER_GROUP = 3
#: The confirmatory contrast of each split: (groups at risk, comparison groups).
SPLIT_SIDES = {
    "spbe_band": (("Kurang", "Cukup"), ("Baik", "Sangat Baik", "Memuaskan")),
    "ekinerja": (("false",), ("true",)),
    "units": (("cross",), ("single",)),
    "wfa_days": (("2", "3"), ("1",)),
}
#: The policy brief's risks and the split that tests each.
RISKS = {"digital_readiness": "spbe_band", "performance_management": "ekinerja", "coordination": "units"}
#: Family-wise error rate of the verdicts.
ALPHA = 0.05
#: Values of ``risk_verdicts(...)["verdict"]``.
VERDICTS = ("supported", "not_supported", "unclear", "no_evidence")
#: Doses of this many WFA days per week or more are one group.
MAX_DOSE_GROUP = 3


# --------------------------------------------------------------------------------------------
# Groups of Pemda
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
    merged_groups = [mapping[g[0]] for g in groups if len(g) > 1]
    note = Note("spbe_bands_merged", {"bands": merged_groups, "min_treated": MIN_TREATED_PER_GROUP}) \
        if merged_groups else None
    return bands.map(mapping), note


def pemda_attribute(regions: pd.DataFrame, treatment: pd.DataFrame, split: str) -> tuple[pd.Series | None, Note | None]:
    """The underlying value of each Pemda for a Pemda-level split (SPBE band, ``true``/``false``
    for e-Kinerja, WFA days pooled at :data:`MAX_DOSE_GROUP`), or ``None`` and a note when the
    column is absent."""
    if split == "spbe_band":
        if "spbe_index" not in regions.columns or regions["spbe_index"].isna().all():
            return None, Note("split_skipped", {"split": split, "column": "spbe_index"})
        return spbe_band(regions.set_index("region_code")["spbe_index"]).astype(object), None
    if split == "ekinerja":
        if "ekinerja_daily" not in regions.columns or regions["ekinerja_daily"].isna().all():
            return None, Note("split_skipped", {"split": split, "column": "ekinerja_daily"})
        col = regions.set_index("region_code")["ekinerja_daily"]
        return col.map(lambda v: None if pd.isna(v) else str(bool(v)).lower()), None
    if split == "wfa_days":
        dose = treatment.set_index("region_code")["wfa_days_per_week"]
        dose = dose[dose > 0].astype(int).clip(upper=MAX_DOSE_GROUP).astype(str)
        return dose, Note("wfa_days_pooled", {"days": MAX_DOSE_GROUP})
    raise ValueError(f"unknown Pemda-level split {split!r}")


def split_groups(regions: pd.DataFrame, treatment: pd.DataFrame, split: str) -> tuple[pd.Series | None, list[Note]]:
    """Displayed group label of each Pemda for a split (sparse SPBE bands merged), with notes."""
    values, note = pemda_attribute(regions, treatment, split)
    notes = [note] if note else []
    if values is not None and split == "spbe_band":
        treated = treatment.loc[treatment["status"] == "adopter", "region_code"]
        values, merge_note = _spbe_groups(regions, set(treated))
        notes += [merge_note] if merge_note else []
    return values, notes


def side_of(split: str, value) -> str | None:
    """``at_risk``, ``comparison`` or None for one underlying group value of a split."""
    at_risk, comparison = SPLIT_SIDES[split]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return "at_risk" if str(value) in at_risk else "comparison" if str(value) in comparison else None


# --------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------

_COMMON = dict(outcome="y", unit="unit_id", time="month", cohort="cohort", cluster="region_code")


@dataclass(frozen=True)
class GroupEstimate:
    """A group ATT (log points) and its cluster scores (Pemda-indexed Series summing to its error)."""

    att: float
    se: float
    scores: pd.Series
    cells: pd.DataFrame     # the treated cells averaged (region_code, month, service_type[, units])

    @property
    def n_treated_pemda(self) -> int:
        return int(self.cells["region_code"].nunique())


def difference_test(a: GroupEstimate, b: GroupEstimate, level: float = 0.95) -> dict:
    """``a − b`` with its cluster-robust SE from the two estimates' Pemda scores (aligned;
    a Pemda missing from one side contributes 0 there), normal CI and two-sided p-value."""
    scores = pd.concat([a.scores, b.scores], axis=1).fillna(0.0).to_numpy()
    diff = a.att - b.att
    se = float(np.sqrt(np.sum((scores[:, 0] - scores[:, 1]) ** 2)))
    z = stats.norm.ppf(0.5 + level / 2)
    pvalue = normal_pvalue(diff, se)
    return {"difference": diff, "se": se, "ci_low": diff - z * se, "ci_high": diff + z * se, "pvalue": pvalue}


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN and is not counted in the family)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def _fit(data: pd.DataFrame, groups: list[str]):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return did.imputation(data, groups=groups, **_COMMON)


def _estimates_from_fit(fit, cells: pd.DataFrame, columns: list[str]) -> dict:
    """``{(column, value): GroupEstimate}`` for every group of a fit with ``groups=columns``."""
    table = fit.details["groups"]
    influence = fit.influence("group").by_cluster()
    out = {}
    for row in table.itertuples(index=False):
        key = (row.column, row.group)
        out[key] = GroupEstimate(float(row.att), float(row.se), influence[key],
                                 cells[cells[row.column] == row.group])
    return out


def _whole_fit_estimate(data: pd.DataFrame, cells: pd.DataFrame) -> GroupEstimate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = did.imputation(data, **_COMMON)
    o = fit.overall()
    return GroupEstimate(o["att"], o["se"], fit.influence("simple").by_cluster()["overall"], cells)


@dataclass(frozen=True)
class Heterogeneity:
    """Group ATTs, the split tests and who is in each group (see :func:`heterogeneity`)."""

    groups: pd.DataFrame
    tests: pd.DataFrame
    members: dict            # (split, group or side) -> tuple of treated region codes
    notes: tuple[Note, ...] = ()


def heterogeneity(inputs: ServiceInputs, base: DidPanel, *, truth_cells: pd.DataFrame | None = None) -> Heterogeneity:
    """Group ATTs and the Holm-adjusted difference test of each split, on the headline's sample.

    ``groups``: ``split, group, att, se, ci_low, ci_high,
    n_treated_pemda, n_treated_cells`` (+ ``truth`` with ``truth_cells``), one row per displayed
    group (sparse SPBE bands merged). ``tests``: one row per split, ``split, at_risk_groups,
    comparison_groups, at_risk_att, at_risk_se, comparison_att, comparison_se, difference, se,
    ci_low, ci_high, pvalue, pvalue_holm, n_at_risk_pemda, n_comparison_pemda`` (+ ``truth`` of
    the difference); the difference and its CI are at-risk minus comparison, in log points.
    """
    notes: list[Note] = []
    z = stats.norm.ppf(0.975)
    estimates: dict[str, dict[str, GroupEstimate]] = {}  # split -> {group or side -> estimate}

    # Pemda-level splits: one imputation fit with every grouping column
    columns, frame = [], did_frame(base, "service_type")
    for split in ("spbe_band", "ekinerja", "wfa_days"):
        shown, split_notes = split_groups(inputs.regions, inputs.treatment, split)
        notes += split_notes
        if shown is None:
            continue
        values, _ = pemda_attribute(inputs.regions, inputs.treatment, split)
        treated = frame["cohort"] != 0
        frame[f"{split}:group"] = frame["region_code"].map(shown).where(treated)
        frame[f"{split}:side"] = frame["region_code"].map(values).map(lambda v, s=split: side_of(s, v)).where(treated)
        columns += [f"{split}:group", f"{split}:side"]
    if columns:
        post = frame[(frame["cohort"] != 0) & (frame["month"] >= frame["cohort"].astype(str))]
        by_key = _estimates_from_fit(_fit(frame, columns), post, columns)
        for (column, value), est in by_key.items():
            estimates.setdefault(column.split(":")[0], {})[value] = est

    # units: like with like, one fit per units group on the same Pemda
    units_dp = build_did_panel(inputs.panel_units, inputs.treatment, outcome="median_days",
                               service_type=_service_type(base), end=base.window[1],
                               unit_keys=("region_code", "service_type", "units"), min_cohort_pemda=1,
                               keep_pemda=set(base.data["region_code"]))
    for group in ("single", "cross"):
        sub = units_dp.data[units_dp.data["units"] == group]
        if sub.empty or sub["cohort"].notna().sum() == 0:
            continue
        part = DidPanel(sub.reset_index(drop=True), units_dp.outcome, units_dp.window, units_dp.excluded)
        data = did_frame(part, "service_type", "units")
        estimates.setdefault("units", {})[group] = _whole_fit_estimate(data, part.treated_cells())
    if "units" in estimates:
        for group, side in (("cross", "at_risk"), ("single", "comparison")):
            if group in estimates["units"]:
                estimates["units"][side] = estimates["units"][group]

    rows, tests = [], []
    for split in SPLITS:
        for group, est in estimates.get(split, {}).items():
            if group in ("at_risk", "comparison"):
                continue
            row = {"split": split, "group": str(group), "att": est.att, "se": est.se,
                   "ci_low": est.att - z * est.se, "ci_high": est.att + z * est.se,
                   "n_treated_pemda": est.n_treated_pemda, "n_treated_cells": len(est.cells)}
            if truth_cells is not None:
                row["truth"] = base.truth(truth_cells, cells=est.cells)
            rows.append(row)
        sides = estimates.get(split, {})
        if "at_risk" in sides and "comparison" in sides:
            a, b = sides["at_risk"], sides["comparison"]
            test = {"split": split, "at_risk_groups": list(SPLIT_SIDES[split][0]),
                    "comparison_groups": list(SPLIT_SIDES[split][1]), "at_risk_att": a.att, "at_risk_se": a.se,
                    "comparison_att": b.att, "comparison_se": b.se, **difference_test(a, b),
                    "n_at_risk_pemda": a.n_treated_pemda, "n_comparison_pemda": b.n_treated_pemda}
            if truth_cells is not None:
                test["truth"] = base.truth(truth_cells, cells=a.cells) - base.truth(truth_cells, cells=b.cells)
            tests.append(test)
    tests = pd.DataFrame(tests)
    if len(tests):
        tests.insert(tests.columns.get_loc("pvalue") + 1, "pvalue_holm", holm(tests["pvalue"]))
    members = {(split, str(group)): tuple(sorted(est.cells["region_code"].unique()))
               for split, by_group in estimates.items() for group, est in by_group.items()}
    return Heterogeneity(pd.DataFrame(rows), tests, members, tuple(notes))


def _service_type(dp: DidPanel) -> str:
    types = dp.data["service_type"].unique()
    return str(types[0]) if len(types) == 1 else "all"


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------

def risk_verdicts(tests: pd.DataFrame, *, alpha: float = ALPHA) -> pd.DataFrame:
    """The brief's verdict on each risk, from the Holm-adjusted difference test of its split only.

    Rule, with ``d`` = ATT(at-risk side) − ATT(comparison side) (log points; > 0 means WFA slows
    services more where the risk is present) and ``p`` its Holm-adjusted p-value:

    - ``supported``: ``p < alpha`` and ``d > 0``;
    - ``not_supported``: ``p < alpha`` and ``d < 0`` (the at-risk side is affected *less*);
    - ``unclear``: ``p ≥ alpha`` (the data cannot tell the sides apart), whatever each group's
      own interval says;
    - ``no_evidence``: the split was not tested (column absent, a side without treated Pemda).

    ``tests``: one row per split with ``split``, ``difference``, ``pvalue_holm`` (as from
    :func:`heterogeneity`, or rebuilt from ``results.json``), optionally ``at_risk_att``,
    ``comparison_att``, ``ci_low``, ``ci_high``, ``pvalue``. Returns ``risk, split, at_risk_att,
    comparison_att, difference, ci_low, ci_high, pvalue, pvalue_holm, verdict``.
    """
    by_split = tests.set_index("split") if len(tests) else pd.DataFrame()
    rows = []
    for risk, split in RISKS.items():
        if split not in by_split.index:
            rows.append({"risk": risk, "split": split, "verdict": "no_evidence"})
            continue
        t = by_split.loc[split]
        d, p = t.get("difference"), t.get("pvalue_holm")
        if d is None or p is None or not np.isfinite(d) or not np.isfinite(p):
            verdict = "no_evidence"
        elif p < alpha:
            verdict = "supported" if d > 0 else "not_supported"
        else:
            verdict = "unclear"
        rows.append({"risk": risk, "split": split, **{k: t.get(k) for k in (
            "at_risk_att", "comparison_att", "difference", "ci_low", "ci_high", "pvalue", "pvalue_holm")},
            "verdict": verdict})
    columns = ["risk", "split", "at_risk_att", "comparison_att", "difference", "ci_low", "ci_high", "pvalue",
               "pvalue_holm", "verdict"]
    return pd.DataFrame(rows).reindex(columns=columns)
