"""Figures of a single-adopter case study: actual vs synthetic path, and the gap with the placebo
gaps in grey. Inputs are result objects of ``analysis.synth``; labels in Indonesian or English."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import textwrap  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
from analysis.figures import period_label  # noqa: E402
from analysis.texts import check_lang, label, t  # noqa: E402


def _start_index(times, start) -> int:
    return next(i for i, t in enumerate(times) if t >= start)


def _ticks(ax, times, lang: str) -> None:
    step = next(s for s in (1, 2, 3, 4, 6, 12, 24) if len(times) / s <= 9)
    ax.set_xticks(range(0, len(times), step))
    ax.set_xticklabels([period_label(t, lang) for t in times[::step]], rotation=40, ha="right")


def path_plot(sc, sdid=None, *, outcome: str, lang: str, ax=None):
    """Actual outcome and its synthetic counterparts over time; a dashed line at the start.
    ``outcome``: the case study's outcome code (axis label ``label.outcome.<outcome>``)."""
    check_lang(lang)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 4))
    times = list(sc.path["time"])
    x = range(len(times))
    ax.plot(x, sc.path["treated"], color="black", lw=2, label=t("label.legend.actual", lang))
    ax.plot(x, sc.path["synthetic"], color="tab:blue", lw=1.5, ls="--", label=label("estimator", "sc", lang))
    if sdid is not None:
        ax.plot(x, sdid.path["synthetic"], color="tab:orange", lw=1.5, ls=":", label=t("label.legend.sdid_level_adjusted", lang))
    ax.axvline(_start_index(times, sc.treatment_start) - 0.5, color="grey", ls="--", lw=1)
    ax.text(_start_index(times, sc.treatment_start) - 0.4, ax.get_ylim()[1], t("label.legend.wfa_start", lang), va="top", fontsize=8)
    ax.set_ylabel(textwrap.fill(label("outcome", outcome, lang), 42))
    ax.set_xlabel(t("label.axis.month", lang))
    _ticks(ax, times, lang)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def gap_plot(sc, placebo, *, outcome: str, lang: str, ax=None):
    """The adopter's gap (black) over the donors' placebo gaps (grey)."""
    check_lang(lang)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 4))
    times = list(sc.path["time"])
    index = {t: i for i, t in enumerate(times)}
    first = True
    for unit, rows in placebo.gaps[~placebo.gaps["is_treated"]].groupby("unit", sort=False):
        ax.plot([index[t] for t in rows["time"]], rows["gap"], color="lightgrey", lw=0.7,
                label=t("label.legend.placebo_donors", lang) if first else None)
        first = False
    ax.plot(range(len(times)), sc.path["gap"], color="black", lw=2, label=t("label.legend.actual", lang))
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(_start_index(times, sc.treatment_start) - 0.5, color="grey", ls="--", lw=1)
    ax.set_ylabel(textwrap.fill(t("label.axis.gap", lang, outcome=label("outcome", outcome, lang)), 42))
    ax.set_xlabel(t("label.axis.month", lang))
    _ticks(ax, times, lang)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
