"""Figures of the service-time analysis (notebook 10). Each function draws and returns a Figure;
labels from the text catalogue in ``lang`` (``id`` or ``en``): outcome columns are named by
``label.outcome.<column>`` (axis of levels) and ``label.effect.<column>`` (axis of effects),
estimators by ``label.estimator.<code>``. Nothing here computes estimates."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.figures import period_label  # noqa: E402
from analysis.texts import check_lang, label, t  # noqa: E402

#: The heterogeneity splits' groups are labelled ``label.group.<group>``; the splits ``label.split.<split>``.


def adoption_timeline(by_period: pd.DataFrame, treatment: pd.DataFrame, *, lang: str):
    """Months with WFA in force per adopting Pemda (rows), from ``treatment_by_period``."""
    check_lang(lang)
    codes = treatment.loc[treatment["status"] != "never"].sort_values(["cohort", "region_code"])["region_code"]
    wide = by_period[by_period["region_code"].isin(codes)].pivot(index="region_code", columns="period",
                                                                   values="wfa_in_force").loc[codes]
    fig, ax = plt.subplots(figsize=(9, max(3, 0.12 * len(wide) + 1)))
    ax.imshow(wide.to_numpy(dtype=float), aspect="auto", cmap="Greens", vmin=0, vmax=1.3, interpolation="none")
    ticks = np.arange(0, wide.shape[1], 3)
    ax.set_xticks(ticks, [period_label(wide.columns[i], lang) for i in ticks], rotation=45, ha="right")
    ax.set_yticks([])
    ax.set_xlabel(t("label.axis.submission_month", lang))
    ax.set_ylabel(t("label.axis.pemda_n", lang, n=len(wide)))
    ax.set_title(t("label.title.months_wfa_in_force", lang))
    return fig


def raw_trends(data: pd.DataFrame, *, lang: str, outcome: str):
    """Mean outcome by month, adopters vs comparison (``data`` from ``DidPanel.data``; ``outcome``
    its outcome column, e.g. ``log_median_days``)."""
    check_lang(lang)
    d = data.assign(group=np.where(data["cohort"].notna(), "adopter", "comparison"))
    means = d.groupby(["month", "group"])["y"].mean().unstack()
    fig, ax = plt.subplots(figsize=(9, 4))
    for g, style in (("adopter", "-o"), ("comparison", "--s")):
        if g in means:
            ax.plot(range(len(means)), means[g], style, ms=3, label=label("group_side", g, lang))
    ticks = np.arange(0, len(means), 3)
    ax.set_xticks(ticks, [period_label(means.index[i], lang) for i in ticks], rotation=45, ha="right")
    ax.set_xlabel(t("label.axis.submission_month", lang))
    ax.set_ylabel(label("outcome", outcome, lang))
    ax.legend()
    return fig


def event_study_overlay(tables: dict[str, pd.DataFrame], *, lang: str, outcome: str, window=(-12, 12)):
    """Event-study estimates (``event, att, ci_low, ci_high``) of several estimators (keys:
    estimator codes), offset slightly (drawn by :func:`analysis.figures.did.event_study_plot`)."""
    from analysis.figures.did import event_study_plot

    fig = event_study_plot(list(tables.values()), [label("estimator", name, lang) for name in tables], lang=lang,
                           window=window, ylabel=label("effect", outcome, lang))
    fig.set_size_inches(9, 4.5)
    return fig


def heterogeneity_plot(groups: pd.DataFrame, *, lang: str, overall: float | None = None):
    """Forest plot of the ATT by group with 95% CIs, one block per split."""
    from analysis.texts.tables import code_label

    check_lang(lang)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(groups) + 1.5))
    y = np.arange(len(groups))[::-1]
    names = [f"{label('split', s, lang)}: {code_label('group', g, lang)}" for s, g in zip(groups["split"], groups["group"])]
    ax.errorbar(groups["att"], y, xerr=[groups["att"] - groups["ci_low"], groups["ci_high"] - groups["att"]],
                fmt="o", color="C0", capsize=2)
    if "truth" in groups:
        ax.plot(groups["truth"], y, "x", color="C3", label=t("label.legend.truth_synthetic", lang))
        ax.legend(fontsize=8)
    ax.set_yticks(y, names)
    ax.axvline(0, color="grey", lw=0.8)
    if overall is not None:
        ax.axvline(overall, color="C0", lw=0.8, ls="--")
    ax.set_xlabel(label("effect", "log_median_days", lang))
    return fig


def km_curves_plot(curves: pd.DataFrame, *, lang: str):
    """KM share still open, before/after, adopters vs comparison."""
    check_lang(lang)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (g, p), c in curves.groupby(["group", "period"]):
        ax.step(c["days"], c["survival"], where="post", ls="-" if p == "after" else "--",
                color="C1" if g == "adopter" else "C0",
                label=f"{label('group_side', g, lang)} – {label('before_after', p, lang)}")
    ax.set_xlabel(t("label.axis.days_since_submission", lang))
    ax.set_ylabel(t("label.axis.share_still_open", lang))
    ax.legend(fontsize=8)
    return fig


def naive_vs_km(panel: pd.DataFrame, *, lang: str, last_months: int = 12):
    """Mean cell median by submission month: completed-only vs Kaplan–Meier (recent months)."""
    check_lang(lang)
    m = panel.groupby("month")[["naive_median_days", "median_days"]].mean().iloc[-last_months:]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(range(len(m)), m["median_days"], "-o", ms=3, label=label("method", "km", lang))
    ax.plot(range(len(m)), m["naive_median_days"], "--s", ms=3, label=label("method", "naive", lang))
    ax.set_xticks(range(len(m)), [period_label(v, lang) for v in m.index], rotation=45, ha="right")
    ax.set_xlabel(t("label.axis.submission_month", lang))
    ax.set_ylabel(t("label.axis.mean_cell_median_days", lang))
    ax.legend()
    return fig
