"""Figures of the pilot design (notebook 50): the power curve over pilot sizes and durations.
Inputs are the grid of :func:`analysis.power.power_curve` (plus ``chosen``, as in
``analysis.analyses.pilot_design.PilotReport.curve``); labels from the text catalogue in ``lang``.
Nothing here computes power."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from analysis.texts import check_lang, t  # noqa: E402
from analysis.texts.numbers import format_value  # noqa: E402

#: Half-width of the Monte Carlo band around each line, in Monte Carlo SEs.
BAND_SE = 2.0


def power_curve_plot(curve: pd.DataFrame, *, target_power: float, lang: str, ax=None):
    """Power (y, 0–1 shown as percent) against the number of adopting Pemda (x), one line per
    ``months_after`` with a band of ±:data:`BAND_SE` Monte Carlo SE, a dashed line at
    ``target_power`` and the row with ``chosen`` true as a large marker.

    ``curve``: columns ``n_adopters, months_after, power, power_se`` and optional ``chosen``.
    """
    check_lang(lang)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 4.5))
    colours = plt.get_cmap("viridis")
    months = sorted(curve["months_after"].unique())
    for position, month in enumerate(months):
        rows = curve[curve["months_after"] == month].sort_values("n_adopters")
        colour = colours(position / max(len(months) - 1, 1) * 0.85)
        low = (rows["power"] - BAND_SE * rows["power_se"]).clip(0, 1)
        high = (rows["power"] + BAND_SE * rows["power_se"]).clip(0, 1)
        ax.fill_between(rows["n_adopters"], low, high, color=colour, alpha=0.12, lw=0)
        ax.plot(rows["n_adopters"], rows["power"], marker="o", ms=4, color=colour, lw=1.8,
                label=t("label.legend.months_after", lang, months=int(month)))
    ax.axhline(target_power, color="grey", ls="--", lw=1,
               label=t("label.legend.target_power", lang, target_power=target_power))
    if "chosen" in curve and curve["chosen"].any():
        chosen = curve[curve["chosen"]].iloc[0]
        ax.plot([chosen["n_adopters"]], [chosen["power"]], marker="*", ms=16, color="tab:red",
                markeredgecolor="black", ls="none", label=t("label.legend.chosen_design", lang), zorder=5)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: format_value(value, "frac0", lang)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: format_value(value, "count", lang)))
    ax.set_xlabel(t("label.axis.n_adopters_pilot", lang))
    ax.set_ylabel(t("label.axis.power", lang))
    ax.grid(axis="y", color="0.9")
    ax.legend(frameon=False, fontsize=8, loc="upper left", title=t("label.legend.months_after_title", lang),
              title_fontsize=8)
    fig.tight_layout()
    return fig
