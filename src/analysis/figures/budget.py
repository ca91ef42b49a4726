"""Figures for the budget-savings notebook. Each function draws and returns a matplotlib Figure;
labels from the text catalogue in ``lang`` (``id`` or ``en``); Rupiah axes in readable units
(juta / miliar / triliun via :func:`analysis.texts.numbers.idr_axis`). Series of estimators are
passed under estimator codes (``cs_adjusted``, ``cs_unadjusted``, ``sun_abraham``,
``imputation``) and named by ``label.estimator.<code>``."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.figures import period_label  # noqa: E402
from analysis.texts import check_lang, label, t  # noqa: E402
from analysis.texts.numbers import idr_axis  # noqa: E402


def spending_trends(panel: pd.DataFrame, units: pd.DataFrame, *, category: str, lang: str):
    """Mean log real spending of adopters and comparison Pemda per period (each Pemda's own mean
    removed), with a vertical line at the first adoption period."""
    check_lang(lang)
    data = panel[panel["category"] == category].merge(units[["region_code", "cohort_time"]], on="region_code")
    data = data.dropna(subset=["log_realized_real"])
    data["centred"] = data["log_realized_real"] - data.groupby("region_code")["log_realized_real"].transform("mean")
    data["group"] = np.where(data["cohort_time"] > 0, t("label.legend.adopters", lang), t("label.legend.comparison", lang))
    means = data.groupby(["period", "group"])["centred"].mean().unstack("group").sort_index()
    fig, ax = plt.subplots(figsize=(8, 4))
    for column, style in zip(means.columns, ("-", "--")):
        ax.plot(range(len(means)), means[column], style, marker="o", markersize=3, label=column)
    first = units.loc[units["cohort_time"] > 0, "cohort_time"].min()
    periods = data.drop_duplicates("period").set_index("period")["time"].sort_index()
    if pd.notna(first) and (periods == first).any():
        ax.axvline(int(np.flatnonzero(periods.to_numpy() == first)[0]) - 0.5, color="grey", lw=1, ls=":")
    step = max(1, len(means) // 10)
    ax.set_xticks(range(0, len(means), step), [period_label(v, lang) for v in means.index[::step]], rotation=45,
                  ha="right")
    ax.set_xlabel(t("label.axis.period", lang))
    ax.set_ylabel(t("label.axis.log_spending_centred", lang))
    ax.set_title(label("category", category, lang))
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def event_study_overlay(
    studies: dict[str, pd.DataFrame], *, lang: str, truth: float | None = None,
    window: tuple[int, int] | None = (-8, 6),
):
    """Event studies (``event, att, ci_low, ci_high``) of several estimators (keys: estimator codes) side by side, with
    pointwise 95% CIs; ``truth`` (synthetic data, mean over all post cells) as a horizontal line.
    ``window``: the event times shown (far events rest on one or two early adopters). Drawn by
    :func:`analysis.figures.did.event_study_plot`."""
    from analysis.figures.did import event_study_plot

    check_lang(lang)
    fig = event_study_plot(list(studies.values()), [label("estimator", name, lang) for name in studies],
                           lang=lang, window=window, ylabel=t("label.axis.effect_log_spending", lang), truth=truth,
                           truth_label=t("label.legend.truth_synthetic", lang))
    fig.axes[0].set_xlabel(t("label.axis.periods_since_adoption", lang))
    fig.set_size_inches(8, 4.2)
    fig.tight_layout()
    return fig


def adjusted_vs_unadjusted(comparison: pd.DataFrame, *, lang: str):
    """Forest plot: per category, the CS ATT on log spending with and without the TKD-cut
    adjustment (``comparison``: ``category, adjusted, att, ci_low, ci_high`` and optionally
    ``truth``)."""
    check_lang(lang)
    categories = list(dict.fromkeys(comparison["category"]))
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(categories) + 1.5))
    for offset, adjusted, colour in ((-0.15, True, "tab:blue"), (0.15, False, "tab:orange")):
        rows = comparison[comparison["adjusted"] == adjusted].set_index("category").reindex(categories)
        y = np.arange(len(categories)) + offset
        ax.errorbar(rows["att"], y, xerr=[rows["att"] - rows["ci_low"], rows["ci_high"] - rows["att"]],
                    fmt="o", ms=4, capsize=2, color=colour,
                    label=label("adjusted", adjusted, lang))
    if "truth" in comparison.columns:
        truth = comparison.drop_duplicates("category").set_index("category").reindex(categories)["truth"]
        ax.scatter(truth, np.arange(len(categories)), marker="x", color="tab:red", zorder=3, label=t("label.legend.truth_synthetic", lang))
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(categories)), [label("category", c, lang) for c in categories])
    ax.invert_yaxis()
    ax.set_xlabel(t("label.axis.effect_log_spending", lang))
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def savings_by_category(summary: pd.DataFrame, *, lang: str):
    """Horizontal bars of savings in Rupiah per category with 95% CIs (``summary``:
    ``category, savings_idr, ci_low, ci_high``), axis in juta / miliar / triliun."""
    check_lang(lang)
    data = summary.sort_values("savings_idr")
    divisor, unit = idr_axis(float(np.nanmax(np.abs(data[["savings_idr", "ci_low", "ci_high"]].to_numpy()))), lang)
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(data) + 1.5))
    y = np.arange(len(data))
    ax.barh(y, data["savings_idr"] / divisor, color="tab:green", alpha=0.7)
    ax.errorbar(data["savings_idr"] / divisor, y,
                xerr=[(data["savings_idr"] - data["ci_low"]) / divisor, (data["ci_high"] - data["savings_idr"]) / divisor],
                fmt="none", ecolor="black", capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [label("category", c, lang) for c in data["category"]])
    ax.set_xlabel(t("label.axis.savings", lang, unit=unit))
    fig.tight_layout()
    return fig

