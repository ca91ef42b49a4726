"""The service-time estimation sample: inputs read once per notebook run and the Pemda × service ×
month panel the staggered estimators use (window, exclusions, outcome scale), with the facts of
who is in it (:class:`analysis.report.results_file.Sample`). See
:mod:`analysis.analyses.service_time` for the design.

The panel is **unbalanced**: a Pemda × service line stays in when a month has no request (there
is simply no cell) or when a cell's Kaplan–Meier median is not identified. A cell whose outcome is
not identified (more than half of its requests still open at extraction, so the KM curve never
reaches 0.5) is dropped as a missing outcome, and the number of such cells, overall and among
treated cells, is kept in ``DidPanel.counts``. The window ends at the last month in which at least
``MIN_IDENTIFIED_SHARE`` of cells are identified, so those drops are rare (default data: 12
cells, 3 of them treated) and cannot shift the newest months' averages much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.data import Dataset, load
from analysis.notes import Note
from analysis.panels.service import build_service_panel
from analysis.panels.stage import dataset_panels
from analysis.panels.treatment import assign_treatment, real_adopter_codes
from analysis.report.results_file import Sample
from analysis.simulate.truth import service_estimand_truth

ANALYSIS_START = "2025-01"
MIN_IDENTIFIED_SHARE = 0.95
OUTCOMES = {
    "median_days": "log_median_days",
    "p90_days": "log_p90_days",
    "sla_share": "sla_pp",
}

#: Pemda (clusters) a treatment cohort needs in the panel to enter the staggered estimation;
#: smaller cohorts are excluded (reason ``single_pemda_cohort``; module doc of
#: :mod:`analysis.analyses.service_time`: their cluster-robust variance is degenerate).
MIN_PEMDA_PER_COHORT = 2

#: Why a Pemda with WFA is not among the treated Pemda of the staggered estimates
#: (``Sample.excluded[].reason``).
EXCLUSION_REASONS = (
    "switched_off",                   # WFA ended inside the window (treatment not absorbing)
    "already_treated_before_window",  # cohort on or before the window's first month: no pre-period
    "cohort_after_window",            # first WFA month after the window's last month
    "single_pemda_cohort",            # the only Pemda of its cohort (see MIN_PEMDA_PER_COHORT)
    "few_pemda_cohort",               # fewer than min_cohort_pemda Pemda (only when that is > 2)
    "no_pre_period_outcome",          # no identified outcome before adoption in any service line
)

_STATUS_REASON = {"switched_off": "switched_off", "already_treated": "already_treated_before_window"}


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceInputs:
    """Everything the service-time analysis reads, built once per notebook run."""

    panel: pd.DataFrame          # analysis.panels.service.build_service_panel (by service type)
    panel_units: pd.DataFrame    # the same, split by units group (single/cross)
    treatment: pd.DataFrame      # analysis.panels.treatment.assign_treatment
    regions: pd.DataFrame
    policies: pd.DataFrame
    extracted_at: pd.Timestamp
    requests_source: object = field(repr=False)  # the validated service_requests Parquet (for durations)
    notes: tuple[Note, ...] = ()
    dataset: Dataset | None = field(default=None, repr=False)  # keeps requests_source readable
    #: the aggregation stage's person-period table (every Pemda, service type and month; None:
    #: the durations are computed from ``requests_source``)
    person_periods: pd.DataFrame | None = field(default=None, repr=False)

    def __cache_token__(self) -> list | None:
        """What determined these inputs when :func:`load_inputs` built them (the dataset's
        fingerprint and the call's arguments), for :mod:`analysis.report.compute_cache`: a cached
        step on them is keyed without hashing their frames (about 0.15 s a call on the default
        data). None for inputs built another way, or copied with ``dataclasses.replace`` (a new
        object): their frames are hashed. The frames are read as loaded; a step that changes
        one works on a copy."""
        return getattr(self, "_loaded_from", None)


def load_inputs(data_dir, *, trial_handling: str = "exclude", use_stage: bool = True) -> ServiceInputs:
    """Load a dataset directory (``analysis.data.load``: validated, cached), read the panels and
    the person periods of the dataset's aggregation stage (:func:`analysis.panels.stage.dataset_panels`:
    aggregated once per dataset, by DuckDB from the validated ``service_requests`` Parquet, out of
    core; the requests are not scanned again here) and build the treatment table.
    ``use_stage=False`` builds the panels from the requests instead (the same frames)."""
    dataset = load(data_dir)
    source = str(dataset.table_path("service_requests"))
    notes = []
    if dataset.extracted_at_source == "data":
        notes.append(Note("extracted_at_missing", {"latest": str(dataset.extracted_at.date())}))
    extracted_at = dataset.extracted_at
    regions, policies = dataset.regions, dataset.policies
    person_periods = None
    if use_stage:
        stage = dataset_panels(dataset)
        panel, panel_units, person_periods = stage.service_panel, stage.units_panel, stage.person_periods
    else:
        panel = build_service_panel(source, extracted_at=extracted_at)
        panel_units = build_service_panel(source, extracted_at=extracted_at, by_units=True)
    periods = sorted(panel["month"].unique())
    periods = [p for p in periods if p >= ANALYSIS_START] or periods
    treatment = assign_treatment(policies, regions, periods=periods, trial_handling=trial_handling)
    inputs = ServiceInputs(panel, panel_units, treatment, regions, policies, extracted_at, source, tuple(notes),
                           dataset, person_periods)
    # not a field: dataclasses.replace makes inputs without it (ServiceInputs.__cache_token__)
    object.__setattr__(inputs, "_loaded_from",
                       ["load_inputs", dataset.__cache_token__(), trial_handling, bool(use_stage)])
    return inputs


def registry_adopters(policies: pd.DataFrame) -> tuple[str, ...]:
    """Region codes of the real WFA adopters (:func:`analysis.panels.treatment.real_adopter_codes`)."""
    return tuple(sorted(real_adopter_codes(policies)))


# --------------------------------------------------------------------------------------------
# Estimation panel
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DidPanel:
    """The (unbalanced) estimation panel, how it was cut and who is in it.

    ``data``: one row per cell with an identified outcome: ``unit`` (``region|service`` or
    ``region|service|units``), ``region_code``, ``service_type`` [, ``units``], ``month``
    (``YYYY-MM``), ``cohort`` (``YYYY-MM`` or None for never treated), ``y`` (the outcome),
    ``n_submitted`` (requests in the cell: the request weights) and the panel's other columns.
    ``excluded``: Pemda with WFA left out of the treated: ``region_code, cohort, reason``
    (:data:`EXCLUSION_REASONS`), ``real_adopter`` (bool). ``counts``: ``n_cells_unidentified``
    and ``n_treated_cells_unidentified`` (cells dropped as missing outcome),
    ``n_units_no_pre_period`` (treated lines without an identified pre-adoption outcome, which
    the imputation cannot use), ``n_units_dropped_unbalanced`` (only with ``balanced=True``).
    ``real_adopters``: every real (registry) adopter of the dataset.
    """

    data: pd.DataFrame
    outcome: str
    window: tuple[str, str]
    excluded: pd.DataFrame
    counts: dict = field(default_factory=dict)
    real_adopters: tuple[str, ...] = ()

    def treated_cells(self) -> pd.DataFrame:
        """The cells an ATT averages: treated Pemda's cells from their cohort month on."""
        d = self.data
        return d[d["cohort"].notna() & (d["month"] >= d["cohort"].fillna("9999-99"))]

    @property
    def treated_pemda(self) -> tuple[str, ...]:
        return tuple(sorted(self.data.loc[self.data["cohort"].notna(), "region_code"].unique()))

    @property
    def comparison_pemda(self) -> tuple[str, ...]:
        return tuple(sorted(self.data.loc[self.data["cohort"].isna(), "region_code"].unique()))

    def sample(self, treated: tuple[str, ...] | None = None) -> Sample:
        """The facts of who is in an estimate on this panel (``treated``: a subset, e.g. a
        heterogeneity group; default every treated Pemda)."""
        treated = self.treated_pemda if treated is None else tuple(sorted(treated))
        excluded = tuple(
            {"region_code": r.region_code, "reason": r.reason, "cohort": r.cohort, "real_adopter": bool(r.real_adopter)}
            for r in self.excluded.itertuples(index=False))
        return Sample(treated=treated, comparison_count=len(self.comparison_pemda), excluded=excluded,
                      real_adopters_included=tuple(c for c in treated if c in set(self.real_adopters)))

    def truth(self, truth_cells: pd.DataFrame, *, weights: str | None = None, cells: pd.DataFrame | None = None) -> float:
        """True value (simulated data) of the ATT over ``cells`` (default: every treated cell),
        cell-weighted or weighted by the ``weights`` column (:func:`service_estimand_truth`)."""
        return service_estimand_truth(self.treated_cells() if cells is None else cells, truth_cells, weights=weights)


def _outcome_columns(panel: pd.DataFrame) -> pd.DataFrame:
    out = panel.copy()
    with np.errstate(divide="ignore"):
        out["log_median_days"] = np.log(out["median_days"].where(out["median_days"] > 0))
        out["log_p90_days"] = np.log(out["p90_days"].where(out["p90_days"] > 0))
        out["log_naive_median_days"] = np.log(out["naive_median_days"].where(out["naive_median_days"] > 0))
    out["sla_pp"] = 100.0 * out["sla_share"]
    return out


def _excluded_rows(codes, cohorts, reason: str, real: set) -> pd.DataFrame:
    codes = list(codes)
    return pd.DataFrame({"region_code": codes, "cohort": list(cohorts), "reason": reason,
                         "real_adopter": [c in real for c in codes]})


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
    balanced: bool = False,
    real_adopters: tuple[str, ...] = (),
    keep_pemda=None,
) -> DidPanel:
    """Unit × month panel for the staggered estimators (unbalanced unless ``balanced``).

    ``outcome`` is a panel measure (``median_days``, ``p90_days``, ``sla_share``); ``naive=True``
    uses the completed-only median instead (for the bias comparison). ``end`` fixes the last month
    (default: the last month with ≥ ``MIN_IDENTIFIED_SHARE`` of cells identified).
    ``min_cohort_pemda``: treated cohorts with fewer Pemda than this are dropped and listed in
    ``excluded`` (1 keeps every cohort). ``balanced=True`` also drops every unit that misses a
    month (the old rule, kept for comparisons). ``real_adopters`` marks the registry adopters in
    ``excluded`` and in :meth:`DidPanel.sample`. ``keep_pemda``: restrict to these Pemda first
    (e.g. the headline's sample, for a panel split by units group).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {tuple(OUTCOMES)}, got {outcome!r}")
    y = "log_naive_median_days" if naive else OUTCOMES[outcome]
    real = set(real_adopters)
    df = _outcome_columns(panel)
    if service_type != "all":
        df = df[df["service_type"] == service_type]
        if df.empty:
            raise ValueError(f"no requests of service_type {service_type!r}")
    df = df[df["month"] >= start]
    if end is None:
        ident = df.groupby("month")[y].apply(lambda s: s.notna().mean())
        ok = ident[ident >= MIN_IDENTIFIED_SHARE].index
        end = max(ok) if len(ok) else df["month"].max()
    df = df[df["month"] <= end]
    months = sorted(df["month"].unique())
    if keep_pemda is not None:
        df = df[df["region_code"].isin(set(keep_pemda))]

    t = treatment.set_index("region_code")
    cohort = t["cohort"]
    status_reason = t["status"].map(_STATUS_REASON)
    after_window = (t["status"] == "adopter") & cohort.notna() & (cohort.fillna("") > end)
    reason = status_reason.where(status_reason.notna(), after_window.map({True: "cohort_after_window"}))
    out_of_sample = reason.notna() | ~t["in_staggered_sample"]
    excluded = [_excluded_rows(reason.index[reason.notna()], cohort[reason.notna()], "", real)
                .assign(reason=reason[reason.notna()].to_numpy())]
    df = df[df["region_code"].map(~out_of_sample).fillna(False).astype(bool)].copy()
    df["cohort"] = df["region_code"].map(cohort)
    df["unit"] = df[unit_keys[0]].astype(str)
    for key in unit_keys[1:]:
        df["unit"] = df["unit"] + "|" + df[key].astype(str)

    counts = {}
    missing = df[y].isna()
    post = df["cohort"].notna() & (df["month"] >= df["cohort"].fillna("9999-99"))
    counts["n_cells_unidentified"] = int(missing.sum())
    counts["n_treated_cells_unidentified"] = int((missing & post).sum())
    treated_pemda_before = set(df.loc[df["cohort"].notna(), "region_code"])
    df = df[~missing]
    if balanced:
        per_unit = df.groupby("unit")["month"].nunique()
        keep = per_unit.index[per_unit == len(months)]
        counts["n_units_dropped_unbalanced"] = int(len(per_unit) - len(keep))
        df = df[df["unit"].isin(keep)]
    pre = df["cohort"].notna() & (df["month"] < df["cohort"].fillna(""))
    has_pre = set(df.loc[pre, "unit"])
    no_pre = df["cohort"].notna() & ~df["unit"].isin(has_pre)
    counts["n_units_no_pre_period"] = int(df.loc[no_pre, "unit"].nunique())
    df = df[~no_pre]
    lost = sorted(treated_pemda_before - set(df.loc[df["cohort"].notna(), "region_code"]))
    if lost:
        excluded.append(_excluded_rows(lost, cohort.loc[lost], "no_pre_period_outcome", real))

    cohort_pemda = df.dropna(subset=["cohort"]).groupby("cohort")["region_code"].nunique()
    small = cohort_pemda.index[cohort_pemda < min_cohort_pemda]
    if len(small):
        dropped = df.loc[df["cohort"].isin(small), ["region_code", "cohort"]].drop_duplicates()
        reasons = ["single_pemda_cohort" if cohort_pemda[c] == 1 else "few_pemda_cohort" for c in dropped["cohort"]]
        excluded.append(_excluded_rows(dropped["region_code"], dropped["cohort"], "", real).assign(reason=reasons))
        df = df[~df["cohort"].isin(small)]
    df = df.reset_index(drop=True)
    df["y"] = df[y]
    excluded = pd.concat(excluded, ignore_index=True).sort_values("region_code", kind="stable").reset_index(drop=True)
    return DidPanel(df, y, (months[0], months[-1]), excluded, counts, tuple(sorted(real)))


def did_frame(dp: DidPanel, *columns: str) -> pd.DataFrame:
    """The panel in the form the :mod:`analysis.did` estimators take: ``unit, region_code,
    month, cohort`` (0 = never treated), ``y``, ``n_submitted``, ``unit_id`` and ``columns``."""
    d = dp.data[["unit", "region_code", "month", "cohort", "y", "n_submitted", *columns]].copy()
    d["cohort"] = d["cohort"].astype(object).where(d["cohort"].notna(), 0)
    d["unit_id"] = pd.factorize(d["unit"], sort=True)[0] + 1
    return d


def sample_notes(dp: DidPanel, names: Mapping[str, str]) -> list[Note]:
    """Facts about the sample the reader is told: dropped cells and units, which real adopters
    the estimates include (``names``: region code -> Pemda name) and each one they leave out,
    with the reason code."""
    notes = []
    if dp.counts.get("n_cells_unidentified"):
        notes.append(Note("median_unidentified_cells_dropped", {
            "n_cells": dp.counts["n_cells_unidentified"], "n_treated_cells": dp.counts["n_treated_cells_unidentified"],
            "window_end": dp.window[1]}))
    if dp.counts.get("n_units_no_pre_period"):
        notes.append(Note("units_without_pre_period_dropped", {"n_units": dp.counts["n_units_no_pre_period"]}))
    included = [names.get(code, code) for code in dp.sample().real_adopters_included]
    notes.append(Note("real_adopters_in_headline", {"included": included}) if included
                 else Note("real_adopters_none_in_headline", {}))
    for row in dp.excluded[dp.excluded["real_adopter"]].itertuples(index=False):
        notes.append(Note("real_adopter_excluded", {"name": names.get(row.region_code, row.region_code),
                                                    "region_code": row.region_code, "reason": row.reason}))
    return notes
