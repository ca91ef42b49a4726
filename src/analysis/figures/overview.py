"""Figures of the data overview (notebook ``00_data_overview``): adoption timeline, request
volumes, budget composition. Each function draws on a new Figure and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from babel.dates import format_date  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from analysis.texts import check_lang, label, t  # noqa: E402
from analysis.texts.numbers import format_value as number_text  # noqa: E402
from analysis.texts.tables import code_label  # noqa: E402


def month_axis(ax, start: pd.Timestamp, stop: pd.Timestamp, *, lang: str) -> None:
    """Date x axis from ``start`` to ``stop`` with short month names in ``lang`` ("Jan 2026"),
    at most about eight ticks (every 1, 2, 3, 6 or 12 months), slanted so they never overlap."""
    months = max(1, (stop.year - start.year) * 12 + stop.month - start.month)
    step = next(s for s in (1, 2, 3, 6, 12) if months / s <= 8)
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=range(1, 13, step) if step < 12 else (1,)))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _pos: format_date(mdates.num2date(x).date(), "MMM yyyy", locale=lang)))
    ax.xaxis.set_minor_locator(mdates.MonthLocator())
    ax.set_xlim(start, stop)
    for tick in ax.get_xticklabels():
        tick.set_rotation(40)
        tick.set_horizontalalignment("right")


def adoption_timeline_plot(timeline: pd.DataFrame, *, lang: str, end: pd.Timestamp | None = None):
    """Horizontal bars from start to end (or ``end``/today's data end) per adoption; trials hatched.
    Each bar is named by the Pemda's name and its WFA days per week."""
    check_lang(lang)
    fig, ax = plt.subplots(figsize=(9, 0.3 * max(len(timeline), 3) + 1.6))
    stop_default = end if end is not None else (timeline["start_date"].max() + pd.Timedelta(days=60))
    labels = []
    first = pd.Timestamp(timeline["start_date"].min()) if len(timeline) else pd.Timestamp(stop_default)
    for row_number, row in enumerate(timeline.itertuples(index=False)):
        start = pd.Timestamp(row.start_date)
        stop = pd.Timestamp(row.end_date) if pd.notna(getattr(row, "end_date", None)) else stop_default
        trial = bool(getattr(row, "is_trial", False))
        ax.barh(row_number, (stop - start).days or 1, left=start, height=0.6,
                color="#f4a261" if trial else "#2a9d8f", hatch="//" if trial else None, edgecolor="white")
        labels.append(t("label.axis.adoption_bar", lang, name=str(row.name), days=getattr(row, "wfa_days_per_week", None)))
    ax.set_yticks(range(len(labels)), labels, fontsize=8 if len(labels) > 30 else 10)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel(t("label.axis.wfa_period", lang))
    month_axis(ax, (first - pd.DateOffset(months=1)).normalize().replace(day=1),
               pd.Timestamp(stop_default) + pd.Timedelta(days=1), lang=lang)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    handles = [plt.Rectangle((0, 0), 1, 1, color="#2a9d8f"), plt.Rectangle((0, 0), 1, 1, color="#f4a261", hatch="//")]
    ax.legend(handles, [t("label.legend.policy", lang), t("label.legend.trial", lang)], loc="lower left",
              bbox_to_anchor=(0, 1.0), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def volumes_plot(volumes: pd.DataFrame, *, lang: str, months: dict | None = None):
    """Requests per year, one line per service type. With ``months`` (``year -> months of data
    in that year``) the lines show requests per month, so that a partial year (the last one,
    up to the extraction date) does not look like a fall; partial years get hollow markers and a
    legend entry saying so."""
    check_lang(lang)
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    months = {int(k): int(v) for k, v in (months or {}).items()}
    partial = sorted(year for year, n in months.items() if n < 12)
    for service_type, group in volumes.groupby("service_type", sort=True):
        years = group["year"].astype(int)
        values = group["n_requests"] / [months.get(y, 12) for y in years] if months else group["n_requests"]
        line, = ax.plot(years, values, marker="o", label=label("service_type", service_type, lang))
        for year, value in zip(years, values):
            if year in partial:
                ax.plot([year], [value], marker="o", markersize=9, markerfacecolor="white",
                        markeredgecolor=line.get_color(), linestyle="none")
    ax.set_xlabel(t("label.axis.year", lang))
    ax.set_ylabel(t("label.axis.requests_per_month" if months else "label.axis.requests", lang))
    ax.set_xticks(sorted(volumes["year"].unique()))
    ax.set_ylim(bottom=0)
    handles, names = ax.get_legend_handles_labels()
    if partial:
        handles.append(plt.Line2D([], [], marker="o", markersize=9, markerfacecolor="white", markeredgecolor="#555555",
                                  linestyle="none"))
        names.append(t("label.legend.partial_year", lang, months=min(months[y] for y in partial)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: number_text(y, "count", lang)))
    ax.legend(handles, names, frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
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
