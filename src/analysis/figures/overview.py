"""Figures of the data overview (notebook ``00_data_overview``): adoption timeline, request
volumes, budget composition. Each function draws on a new Figure and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.texts import check_lang, label, t  # noqa: E402
from analysis.texts.tables import code_label  # noqa: E402


def adoption_timeline_plot(timeline: pd.DataFrame, *, lang: str, end: pd.Timestamp | None = None):
    """Horizontal bars from start to end (or ``end``/today's data end) per adoption; trials hatched.
    Each bar is named by the Pemda's name and its WFA days per week."""
    check_lang(lang)
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(timeline), 3) + 1.2))
    stop_default = end if end is not None else (timeline["start_date"].max() + pd.Timedelta(days=60))
    labels = []
    for row_number, row in enumerate(timeline.itertuples(index=False)):
        start = pd.Timestamp(row.start_date)
        stop = pd.Timestamp(row.end_date) if pd.notna(getattr(row, "end_date", None)) else stop_default
        trial = bool(getattr(row, "is_trial", False))
        ax.barh(row_number, (stop - start).days or 1, left=start, height=0.6,
                color="#f4a261" if trial else "#2a9d8f", hatch="//" if trial else None, edgecolor="white")
        labels.append(t("label.axis.adoption_bar", lang, name=str(row.name), days=getattr(row, "wfa_days_per_week", None)))
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(t("label.axis.wfa_period", lang))
    handles = [plt.Rectangle((0, 0), 1, 1, color="#2a9d8f"), plt.Rectangle((0, 0), 1, 1, color="#f4a261", hatch="//")]
    ax.legend(handles, [t("label.legend.policy", lang), t("label.legend.trial", lang)], loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


def volumes_plot(volumes: pd.DataFrame, *, lang: str):
    """Requests per year, one line per service type."""
    check_lang(lang)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for service_type, group in volumes.groupby("service_type", sort=True):
        ax.plot(group["year"], group["n_requests"], marker="o", label=label("service_type", service_type, lang))
    ax.set_xlabel(t("label.axis.year", lang))
    ax.set_ylabel(t("label.axis.requests", lang))
    ax.set_xticks(sorted(volumes["year"].unique()))
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def budget_composition_plot(composition: pd.DataFrame, *, lang: str):
    """Share of realised spending per category, coloured by group (routine / placebo / other)."""
    check_lang(lang)
    colours = {"routine": "#264653", "placebo": "#e9c46a", "other": "#adb5bd"}
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(composition), 4) + 1))
    ax.barh([code_label("category", c, lang) for c in composition["category"]], composition["share"] * 100, color=[colours[g] for g in composition["group"]])
    ax.invert_yaxis()
    ax.set_xlabel(t("label.axis.share_realised_pct", lang))
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[g]) for g in colours]
    ax.legend(handles, [label("budget_group", g, lang) for g in colours], frameon=False, loc="lower right")
    fig.tight_layout()
    return fig
