"""Figures for staggered DiD results (event studies, ATT(g,t) heat maps).

Functions take result objects from :mod:`analysis.did`, draw on a matplotlib Axes (a new Figure
if ``ax`` is None) and return the Figure. Nothing is estimated here. Labels are Indonesian
(``lang="id"``) or English (``lang="en"``). NaN estimates are simply not drawn.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

__all__ = ["event_study_plot", "att_gt_heatmap"]

_LABELS = {
    "id": {"event": "Bulan sejak penerapan WFA", "effect": "Efek (dengan selang kepercayaan 95%)",
           "cohort": "Kohort (bulan mulai WFA)", "time": "Periode", "att": "ATT(g,t)",
           "title_heat": "ATT per kohort dan periode"},
    "en": {"event": "Months since WFA adoption", "effect": "Effect (with 95% confidence interval)",
           "cohort": "Cohort (month WFA started)", "time": "Period", "att": "ATT(g,t)",
           "title_heat": "ATT by cohort and period"},
}
_DEFAULT_NAMES = {"cs": "Callaway–Sant'Anna", "sun_abraham": "Sun–Abraham",
                  "imputation": "Imputasi BJS", "twfe": "TWFE"}
_DEFAULT_NAMES_EN = {**_DEFAULT_NAMES, "imputation": "BJS imputation"}


def _labels(lang: str) -> dict[str, str]:
    if lang not in _LABELS:
        raise ValueError(f"lang must be one of {sorted(_LABELS)}, got {lang!r}")
    return _LABELS[lang]


def _target_ax(ax):
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        return fig, ax
    return ax.figure, ax


def event_study_plot(
    results: Sequence,
    labels: Sequence[str] | None = None,
    *,
    lang: str = "id",
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
    pass ``labels``). Points with vertical interval bars, shifted horizontally so series do not
    overlap; a horizontal line at 0, a dashed vertical line between event -1 and 0 (adoption),
    whole-number event ticks. ``window`` keeps the event times shown (far events often rest on one
    or two early adopters); ``truth`` adds a horizontal reference line (simulated data).
    Returns the Figure.
    """
    from matplotlib.ticker import MaxNLocator

    text = _labels(lang)
    results = list(results)
    if not results:
        raise ValueError("results is empty: pass at least one estimator result")
    if labels is None:
        if any(not hasattr(r, "estimator") for r in results):
            raise ValueError("labels are required when event-study tables are passed")
        names = _DEFAULT_NAMES if lang == "id" else _DEFAULT_NAMES_EN
        labels = [names.get(r.estimator, r.estimator) for r in results]
    if len(labels) != len(results):
        raise ValueError(f"{len(labels)} labels for {len(results)} results")
    fig, ax = _target_ax(ax)
    width = 0.6
    offsets = (np.arange(len(results)) - (len(results) - 1) / 2) * (
        width / max(len(results), 1)) if len(results) > 1 else np.zeros(1)
    for res, label, shift in zip(results, labels, offsets):
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
                    label=label)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color="grey", linewidth=0.8, linestyle="--")
    if truth is not None:
        ax.axhline(truth, color="tab:red", linewidth=1, linestyle="--", label=truth_label or "truth")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(text["event"])
    ax.set_ylabel(ylabel or text["effect"])
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return fig


def att_gt_heatmap(cs_result, *, lang: str = "id", ax=None) -> Figure:
    """Cohort-by-period heat map of ATT(g,t) from a Callaway–Sant'Anna result.

    Rows are cohorts (labelled by their first treated period, e.g. the month), columns periods;
    the diverging colormap is centred at 0 (red = negative, blue = positive); cells without an
    estimate (or NaN) stay blank. Returns the Figure.
    """
    text = _labels(lang)
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
    ax.set_ylabel(text["cohort"])
    ax.set_xlabel(text["time"])
    ax.set_title(text["title_heat"])
    fig.colorbar(image, ax=ax, label=text["att"])
    return fig


def _fmt(value) -> str:
    if isinstance(value, pd.Period):
        return value.strftime("%Y-%m")
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m")
    return str(value)
