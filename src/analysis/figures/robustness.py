"""Figures of notebook 40 (robustness): every estimator's headline number side by side, and the
HonestDiD sensitivity of the headline. Nothing is estimated here; words from the catalogue."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.texts import check_lang, label, t

__all__ = ["estimates_plot", "honest_plot"]


def estimates_plot(table: pd.DataFrame, *, lang: str) -> Figure:
    """One point and 95% interval per row of the side-by-side table (``estimator, att, ci_low,
    ci_high``; an unbounded or missing interval is not drawn), zero marked."""
    check_lang(lang)
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(table) + 1.5))
    y = np.arange(len(table))[::-1]
    for yi, row in zip(y, table.itertuples(index=False)):
        lo, hi = float(row.ci_low), float(row.ci_high)
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot([lo, hi], [yi, yi], color="0.3", lw=2)
        ax.plot(float(row.att), yi, "o", color="black")
    ax.axvline(0, color="0.6", ls="--", lw=1)
    ax.set_yticks(y, [label("estimator", code, lang) for code in table["estimator"]])
    ax.set_xlabel(t("label.axis.effect_log_points", lang))
    fig.tight_layout()
    return fig


def honest_plot(intervals: pd.DataFrame, original: dict, *, lang: str) -> Figure:
    """Robust 95% intervals (relative magnitudes) against Mbar, and the interval under exact
    parallel trends at the left."""
    check_lang(lang)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    m = intervals["M"].to_numpy(dtype=float)
    step = (m.max() - m.min()) / max(len(m) - 1, 1) if len(m) > 1 else 0.25
    x0 = m.min() - step
    ax.plot([x0, x0], [original["ci_low"], original["ci_high"]], color="tab:blue", lw=3,
            label=t("label.legend.original_ci", lang))
    for x, lo, hi in zip(m, intervals["ci_low"], intervals["ci_high"]):
        ax.plot([x, x], [lo, hi], color="black", lw=3)
    ax.plot([], [], color="black", lw=3, label=t("label.legend.robust_ci", lang))
    ax.axhline(0, color="0.6", ls="--", lw=1)
    ax.set_xlabel(t("label.axis.mbar", lang))
    ax.set_ylabel(t("label.axis.effect_log_points", lang))
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
