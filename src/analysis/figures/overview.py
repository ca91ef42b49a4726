"""Figures of the data overview (notebook ``00_data_overview``): adoption timeline, request
volumes, budget composition. Each function draws on a new Figure and returns it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

_TEXT = {
    "id": {"trial": "uji coba", "policy": "kebijakan", "year": "Tahun", "requests": "Jumlah permohonan",
           "share": "Porsi belanja realisasi", "routine": "rutin", "placebo": "plasebo", "other": "lainnya",
           "start": "Mulai WFA"},
    "en": {"trial": "trial", "policy": "policy", "year": "Year", "requests": "Requests",
           "share": "Share of realised spending", "routine": "routine", "placebo": "placebo", "other": "other",
           "start": "WFA start"},
}


#: Readable names of service types and budget categories (codes must not reach the axes).
_NAMES = {
    "perizinan": {"id": "Perizinan", "en": "Licensing"},
    "adminduk": {"id": "Adminduk", "en": "Population documents"},
    "bansos": {"id": "Bansos", "en": "Social assistance"},
    "layanan_dasar": {"id": "Layanan dasar", "en": "Basic services"},
}


def _name(code: str, lang: str) -> str:
    """Readable name of a service type or budget category code; unknown codes lose underscores."""
    from analysis.figures.budget import CATEGORY_LABELS

    names = {**CATEGORY_LABELS, **_NAMES}
    return names[code][lang] if code in names else str(code).replace("_", " ").capitalize()


def adoption_timeline_plot(timeline: pd.DataFrame, lang: str = "id", *, end: pd.Timestamp | None = None):
    """Horizontal bars from start to end (or ``end``/today's data end) per adoption; trials hatched."""
    text = _TEXT[lang]
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(timeline), 3) + 1.2))
    stop_default = end if end is not None else (timeline["start_date"].max() + pd.Timedelta(days=60))
    labels = []
    for row_number, row in enumerate(timeline.itertuples(index=False)):
        start = pd.Timestamp(row.start_date)
        stop = pd.Timestamp(row.end_date) if pd.notna(getattr(row, "end_date", None)) else stop_default
        trial = bool(getattr(row, "is_trial", False))
        ax.barh(row_number, (stop - start).days or 1, left=start, height=0.6,
                color="#f4a261" if trial else "#2a9d8f", hatch="//" if trial else None, edgecolor="white")
        labels.append(f"{row.name} ({getattr(row, 'wfa_days_per_week', '?')}/5)")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(text["start"])
    handles = [plt.Rectangle((0, 0), 1, 1, color="#2a9d8f"), plt.Rectangle((0, 0), 1, 1, color="#f4a261", hatch="//")]
    ax.legend(handles, [text["policy"], text["trial"]], loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


def volumes_plot(volumes: pd.DataFrame, lang: str = "id"):
    """Requests per year, one line per service type."""
    text = _TEXT[lang]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for service_type, group in volumes.groupby("service_type", sort=True):
        ax.plot(group["year"], group["n_requests"], marker="o", label=_name(service_type, lang))
    ax.set_xlabel(text["year"])
    ax.set_ylabel(text["requests"])
    ax.set_xticks(sorted(volumes["year"].unique()))
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def budget_composition_plot(composition: pd.DataFrame, lang: str = "id"):
    """Share of realised spending per category, coloured by group (routine / placebo / other)."""
    text = _TEXT[lang]
    colours = {"routine": "#264653", "placebo": "#e9c46a", "other": "#adb5bd"}
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(composition), 4) + 1))
    ax.barh([_name(c, lang) for c in composition["category"]], composition["share"] * 100, color=[colours[g] for g in composition["group"]])
    ax.invert_yaxis()
    ax.set_xlabel(text["share"] + " (%)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[g]) for g in colours]
    ax.legend(handles, [text[g] for g in colours], frameon=False, loc="lower right")
    fig.tight_layout()
    return fig
