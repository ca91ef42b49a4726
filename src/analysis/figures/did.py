"""Figures for staggered DiD results (event studies, ATT(g,t) heat maps).

Functions take result objects from :mod:`analysis.did`, draw on a matplotlib Axes (a new Figure
if ``ax`` is None) and return the Figure. Nothing is estimated here. Labels come from the text
catalogue (``analysis.texts``) in ``lang`` (``id`` or ``en``). NaN estimates are simply not drawn.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from analysis.texts import check_lang, label, t

__all__ = ["event_study_plot", "att_gt_heatmap"]

def _target_ax(ax):
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        return fig, ax
    return ax.figure, ax


def event_study_plot(
    results: Sequence,
    labels: Sequence[str] | None = None,
    *,
    lang: str,
    ax=None,
    title: str | None = None,
    window: tuple[int, int] | None = None,
    ylabel: str | None = None,
    truth: float | None = None,
    truth_label: str | None = None,
) -> Figure:
    """Overlay the event studies of several estimators on one axis.

    Each item of ``results`` is one series: a result with ``.event_study()`` (and
    ``.estimator``), or an event-study DataFrame itself (``event, att, ci_low, ci_high``; then
    pass ``labels``; results without labels are named by ``label.estimator.<estimator>``). Points with vertical interval bars, shifted horizontally so series do not
    overlap; a horizontal line at 0, a dashed vertical line between event -1 and 0 (adoption),
    whole-number event ticks. ``window`` keeps the event times shown (far events often rest on one
    or two early adopters); ``truth`` adds a horizontal reference line (simulated data), in the
    legend as ``truth_label`` (default: ``label.legend.truth``).
    Returns the Figure.
    """
    from matplotlib.ticker import MaxNLocator

    check_lang(lang)
    results = list(results)
    if not results:
        raise ValueError("results is empty: pass at least one estimator result")
    if labels is None:
        if any(not hasattr(r, "estimator") for r in results):
            raise ValueError("labels are required when event-study tables are passed")
        labels = [label("estimator", r.estimator, lang) for r in results]
    if len(labels) != len(results):
        raise ValueError(f"{len(labels)} labels for {len(results)} results")
    fig, ax = _target_ax(ax)
    width = 0.6
    offsets = (np.arange(len(results)) - (len(results) - 1) / 2) * (
        width / max(len(results), 1)) if len(results) > 1 else np.zeros(1)
    for res, name, shift in zip(results, labels, offsets):
        es = res.event_study() if hasattr(res, "event_study") else res
        es = es[np.isfinite(es["att"].to_numpy(dtype=float))]
        if window is not None:
            es = es[(es["event"] >= window[0]) & (es["event"] <= window[1])]
        x = es["event"].to_numpy(dtype=float) + shift
        att = es["att"].to_numpy(dtype=float)
        lo = es["ci_low"].to_numpy(dtype=float)
        hi = es["ci_high"].to_numpy(dtype=float)
        has_ci = np.isfinite(lo) & np.isfinite(hi)
        yerr = np.vstack([np.where(has_ci, att - lo, 0.0), np.where(has_ci, hi - att, 0.0)])
        ax.errorbar(x, att, yerr=yerr, fmt="o", markersize=4, capsize=2, linewidth=1,
                    label=name)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color="grey", linewidth=0.8, linestyle="--")
    if truth is not None:
        ax.axhline(truth, color="tab:red", linewidth=1, linestyle="--", label=truth_label or t("label.legend.truth", lang))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(t("label.axis.months_since_adoption", lang))
    ax.set_ylabel(ylabel or t("label.axis.effect_ci95", lang))
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return fig


def att_gt_heatmap(cs_result, *, lang: str, ax=None) -> Figure:
    """Cohort-by-period heat map of ATT(g,t) from a Callaway–Sant'Anna result.

    Rows are cohorts (labelled by their first treated period, e.g. the month), columns periods;
    the diverging colormap is centred at 0 (red = negative, blue = positive); cells without an
    estimate (or NaN) stay blank. Returns the Figure.
    """
    check_lang(lang)
    cells = cs_result.att_gt
    grid = cells.pivot_table(index="cohort", columns="time", values="att", aggfunc="first",
                             dropna=False)
    grid = grid.sort_index().sort_index(axis=1)
    values = grid.to_numpy(dtype=float)
    fig, ax = _target_ax(ax)
    finite = values[np.isfinite(values)]
    bound = float(np.abs(finite).max()) if finite.size else 1.0
    bound = bound if bound > 0 else 1.0
    norm = TwoSlopeNorm(vmin=-bound, vcenter=0.0, vmax=bound)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", norm=norm, aspect="auto")
    ax.set_yticks(range(len(grid.index)), [_fmt(v) for v in grid.index])
    ax.set_xticks(range(len(grid.columns)), [_fmt(v) for v in grid.columns], rotation=90)
    ax.set_ylabel(t("label.axis.cohort_month", lang))
    ax.set_xlabel(t("label.axis.period", lang))
    ax.set_title(t("label.title.att_gt", lang))
    fig.colorbar(image, ax=ax, label=t("label.axis.att_gt", lang))
    return fig


def _fmt(value) -> str:
    if isinstance(value, pd.Period):
        return value.strftime("%Y-%m")
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m")
    return str(value)
