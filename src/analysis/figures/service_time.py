"""Figures of the service-time analysis (notebook 10). Each function draws and returns a Figure;
labels in Indonesian (``id``) or English (``en``). Nothing here computes estimates."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

LABELS = {
    "month": {"id": "Bulan pengajuan", "en": "Submission month"},
    "pemda": {"id": "Pemda", "en": "Pemda"},
    "timeline": {"id": "Bulan dengan WFA berlaku", "en": "Months with WFA in force"},
    "log_median": {"id": "Log median hari penyelesaian (KM)", "en": "Log median completion days (KM)"},
    "adopter": {"id": "Pemda pengadopsi WFA", "en": "WFA-adopting Pemda"},
    "comparison": {"id": "Pemda pembanding", "en": "Comparison Pemda"},
    "event": {"id": "Bulan sejak adopsi WFA", "en": "Months since WFA adoption"},
    "effect": {"id": "Efek pada log median hari", "en": "Effect on log median days"},
    "group": {"id": "Kelompok", "en": "Group"},
    "days": {"id": "Hari sejak pengajuan", "en": "Days since submission"},
    "still_open": {"id": "Bagian permohonan belum selesai", "en": "Share of requests still open"},
    "before": {"id": "sebelum", "en": "before"},
    "after": {"id": "sesudah", "en": "after"},
    "naive": {"id": "Hanya permohonan selesai (naif)", "en": "Completed requests only (naive)"},
    "km": {"id": "Kaplan–Meier (dengan sensor)", "en": "Kaplan–Meier (censoring-aware)"},
    "mean_median": {"id": "Rata-rata median hari per sel", "en": "Mean of cell median days"},
    "cs": {"id": "Callaway–Sant'Anna", "en": "Callaway–Sant'Anna"},
    "sun_abraham": {"id": "Sun–Abraham", "en": "Sun–Abraham"},
    "imputation": {"id": "Imputasi (BJS)", "en": "Imputation (BJS)"},
    "twfe": {"id": "TWFE (pembanding)", "en": "TWFE (baseline)"},
    "spbe_band": {"id": "Indeks SPBE", "en": "SPBE index"},
    "ekinerja": {"id": "e-Kinerja harian", "en": "Daily e-Kinerja"},
    "units": {"id": "Unit kerja terlibat", "en": "Units involved"},
    "wfa_days": {"id": "Hari WFA per minggu", "en": "WFA days per week"},
    # groups of the heterogeneity splits (values of ``groups["group"]``)
    "true": {"id": "ya", "en": "yes"},
    "false": {"id": "tidak", "en": "no"},
    "single": {"id": "satu unit kerja", "en": "single unit"},
    "cross": {"id": "lintas unit kerja", "en": "cross-unit"},
}

#: Readable names of the outcome columns a caller may pass as ``ylabel`` (raw column names must not
#: reach the axes): the level of the outcome, and the effect on it.
OUTCOME_LABELS = {
    "median_days": {"id": "Median hari penyelesaian (KM)", "en": "Median completion days (KM)"},
    "log_median_days": {"id": "Log median hari penyelesaian (KM)", "en": "Log median completion days (KM)"},
    "p90_days": {"id": "Persentil ke-90 hari penyelesaian (KM)", "en": "90th percentile of completion days (KM)"},
    "log_p90_days": {"id": "Log persentil ke-90 hari penyelesaian (KM)",
                     "en": "Log 90th percentile of completion days (KM)"},
    "naive_median_days": {"id": "Median hari, hanya permohonan selesai", "en": "Median days, completed requests only"},
    "log_naive_median_days": {"id": "Log median hari, hanya permohonan selesai",
                              "en": "Log median days, completed requests only"},
    "sla_share": {"id": "Bagian permohonan selesai dalam standar pelayanan",
                  "en": "Share of requests completed within the service standard"},
    "sla_pp": {"id": "Bagian selesai dalam standar pelayanan (poin persen)",
               "en": "Share completed within the service standard (percentage points)"},
}
EFFECT_LABELS = {
    "median_days": {"id": "Efek pada median hari penyelesaian", "en": "Effect on median completion days"},
    "log_median_days": {"id": "Efek pada log median hari penyelesaian", "en": "Effect on log median completion days"},
    "p90_days": {"id": "Efek pada persentil ke-90 hari penyelesaian",
                 "en": "Effect on the 90th percentile of completion days"},
    "log_p90_days": {"id": "Efek pada log persentil ke-90 hari penyelesaian",
                     "en": "Effect on the log 90th percentile of completion days"},
    "log_naive_median_days": {"id": "Efek pada log median hari (hanya permohonan selesai)",
                              "en": "Effect on log median days (completed requests only)"},
    "sla_share": {"id": "Efek pada bagian selesai dalam standar pelayanan",
                  "en": "Effect on the share completed within the service standard"},
    "sla_pp": {"id": "Efek pada bagian selesai dalam standar pelayanan (poin persen)",
               "en": "Effect on the share completed within the service standard (percentage points)"},
}


def label(key: str, lang: str) -> str:
    return LABELS[key][lang]


def outcome_label(name: str, lang: str) -> str:
    """Axis label of an outcome column (``log_median_days`` → "Log median completion days (KM)");
    text that is not a known column name is returned as it is."""
    return OUTCOME_LABELS[name][lang] if name in OUTCOME_LABELS else name


def effect_label(name: str, lang: str) -> str:
    """Axis label of the effect on an outcome column; unknown text is returned as it is."""
    return EFFECT_LABELS[name][lang] if name in EFFECT_LABELS else name


def _group_label(group, lang: str) -> str:
    key = str(group)
    return LABELS[key][lang] if key in ("true", "false", "single", "cross") else key


def adoption_timeline(by_period: pd.DataFrame, treatment: pd.DataFrame, *, lang: str):
    """Months with WFA in force per adopting Pemda (rows), from ``treatment_by_period``."""
    codes = treatment.loc[treatment["status"] != "never"].sort_values(["cohort", "region_code"])["region_code"]
    wide = by_period[by_period["region_code"].isin(codes)].pivot(index="region_code", columns="period",
                                                                   values="wfa_in_force").loc[codes]
    fig, ax = plt.subplots(figsize=(9, max(3, 0.12 * len(wide) + 1)))
    ax.imshow(wide.to_numpy(dtype=float), aspect="auto", cmap="Greens", vmin=0, vmax=1.3, interpolation="none")
    ticks = np.arange(0, wide.shape[1], 3)
    ax.set_xticks(ticks, [wide.columns[i] for i in ticks], rotation=45, ha="right")
    ax.set_yticks([])
    ax.set_xlabel(label("month", lang))
    ax.set_ylabel(f"{label('pemda', lang)} (n = {len(wide)})")
    ax.set_title(label("timeline", lang))
    return fig


def raw_trends(data: pd.DataFrame, *, lang: str, ylabel: str | None = None):
    """Mean outcome by month, adopters vs comparison (``data`` from ``DidPanel.data``)."""
    d = data.assign(group=np.where(data["cohort"].notna(), "adopter", "comparison"))
    means = d.groupby(["month", "group"])["y"].mean().unstack()
    fig, ax = plt.subplots(figsize=(9, 4))
    for g, style in (("adopter", "-o"), ("comparison", "--s")):
        if g in means:
            ax.plot(range(len(means)), means[g], style, ms=3, label=label(g, lang))
    ticks = np.arange(0, len(means), 3)
    ax.set_xticks(ticks, [means.index[i] for i in ticks], rotation=45, ha="right")
    ax.set_xlabel(label("month", lang))
    ax.set_ylabel(outcome_label(ylabel, lang) if ylabel else label("log_median", lang))
    ax.legend()
    return fig


def event_study_overlay(tables: dict[str, pd.DataFrame], *, lang: str, ylabel: str | None = None, window=(-12, 12)):
    """Event-study estimates (``event, att, ci_low, ci_high``) of several estimators, offset slightly
    (drawn by :func:`analysis.figures.did.event_study_plot`)."""
    from analysis.figures.did import event_study_plot

    fig = event_study_plot(list(tables.values()), [label(name, lang) for name in tables], lang=lang,
                           window=window, ylabel=effect_label(ylabel, lang) if ylabel else label("effect", lang))
    fig.set_size_inches(9, 4.5)
    return fig


def heterogeneity_plot(groups: pd.DataFrame, *, lang: str, overall: float | None = None):
    """Forest plot of the ATT by group with 95% CIs, one block per split."""
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(groups) + 1.5))
    y = np.arange(len(groups))[::-1]
    names = [f"{label(s, lang)}: {_group_label(g, lang)}" for s, g in zip(groups["split"], groups["group"])]
    ax.errorbar(groups["att"], y, xerr=[groups["att"] - groups["ci_low"], groups["ci_high"] - groups["att"]],
                fmt="o", color="C0", capsize=2)
    if "truth" in groups:
        ax.plot(groups["truth"], y, "x", color="C3", label="truth" if lang == "en" else "nilai sebenarnya")
        ax.legend(fontsize=8)
    ax.set_yticks(y, names)
    ax.axvline(0, color="grey", lw=0.8)
    if overall is not None:
        ax.axvline(overall, color="C0", lw=0.8, ls="--")
    ax.set_xlabel(label("effect", lang))
    return fig


def km_curves_plot(curves: pd.DataFrame, *, lang: str):
    """KM share still open, before/after, adopters vs comparison."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (g, p), c in curves.groupby(["group", "period"]):
        ax.step(c["days"], c["survival"], where="post", ls="-" if p == "after" else "--",
                color="C1" if g == "adopter" else "C0", label=f"{label(g, lang)} – {label(p, lang)}")
    ax.set_xlabel(label("days", lang))
    ax.set_ylabel(label("still_open", lang))
    ax.legend(fontsize=8)
    return fig


def naive_vs_km(panel: pd.DataFrame, *, lang: str, last_months: int = 12):
    """Mean cell median by submission month: completed-only vs Kaplan–Meier (recent months)."""
    m = panel.groupby("month")[["naive_median_days", "median_days"]].mean().iloc[-last_months:]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(range(len(m)), m["median_days"], "-o", ms=3, label=label("km", lang))
    ax.plot(range(len(m)), m["naive_median_days"], "--s", ms=3, label=label("naive", lang))
    ax.set_xticks(range(len(m)), m.index, rotation=45, ha="right")
    ax.set_xlabel(label("month", lang))
    ax.set_ylabel(label("mean_median", lang))
    ax.legend()
    return fig
