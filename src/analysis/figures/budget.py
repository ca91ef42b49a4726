"""Figures for the budget-savings notebook. Each function draws and returns a matplotlib Figure;
labels in Indonesian (``id``) or English (``en``); Rupiah axes in readable units
(juta / miliar / triliun via :func:`analysis.texts.formatting.idr_scale`)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.texts.formatting import check_lang, idr_scale, t  # noqa: E402

LABELS = {
    "log_spending": {"id": "Log belanja riil (selisih dari rata-rata Pemda)", "en": "Log real spending (deviation from Pemda mean)"},
    "att_log": {"id": "Efek pada log belanja", "en": "Effect on log spending"},
    "periods_since": {"id": "Periode sejak penerapan WFA", "en": "Periods since WFA adoption"},
    "period": {"id": "Periode", "en": "Period"},
    "adjusted": {"id": "Disesuaikan untuk pemotongan TKD", "en": "Adjusted for the TKD cut"},
    "unadjusted": {"id": "Tanpa penyesuaian", "en": "Unadjusted"},
    "truth": {"id": "Nilai sebenarnya (data sintetis)", "en": "True value (synthetic data)"},
    "savings": {"id": "Penghematan", "en": "Savings"},
    "category": {"id": "Kategori belanja", "en": "Spending category"},
    "placebo": {"id": "plasebo", "en": "placebo"},
}

#: Captions and alt texts of the notebook's exhibits (``caption(key, lang)``).
CAPTIONS = {
    "trends": {"id": "Tren log belanja riil: Pemda penerap WFA dan pembanding",
               "en": "Trends in log real spending: WFA adopters and comparison Pemda"},
    "trends_alt": {"id": "Garis rata-rata log belanja per periode untuk dua kelompok Pemda",
                   "en": "Lines of mean log spending per period for the two groups of Pemda"},
    "event_study": {"id": "Studi peristiwa: efek WFA pada log belanja menurut estimator",
                    "en": "Event study: effect of WFA on log spending by estimator"},
    "event_study_alt": {"id": "Titik estimasi dengan IK 95% per periode sejak penerapan, beberapa estimator",
                        "en": "Point estimates with 95% CIs per period since adoption, several estimators"},
    "comparison": {"id": "Efek WFA per kategori, dengan dan tanpa penyesuaian pemotongan TKD",
                   "en": "Effect of WFA by category, with and without adjusting for the TKD cut"},
    "comparison_alt": {"id": "Dua estimasi per kategori belanja dengan IK 95%",
                       "en": "Two estimates per spending category with 95% CIs"},
    "comparison_table": {"id": "Estimasi CS per kategori (log poin)", "en": "CS estimates by category (log points)"},
    "savings": {"id": "Penghematan per kategori selama periode pengamatan (Rupiah riil)",
                "en": "Savings by category over the observed period (real Rupiah)"},
    "savings_alt": {"id": "Batang horizontal penghematan per kategori dengan IK 95%",
                    "en": "Horizontal bars of savings per category with 95% CIs"},
    "savings_table": {"id": "Penghematan per kategori (Rupiah riil)", "en": "Savings by category (real Rupiah)"},
    "pemda_table": {"id": "Penghematan per Pemda penerap dalam registri", "en": "Savings per registry adopter"},
    "projection_table": {"id": "Proyeksi penghematan per tahun per kategori", "en": "Projected savings per year by category"},
    "placebo_table": {"id": "Uji plasebo: kategori yang tidak terpengaruh WFA", "en": "Placebo: categories WFA should not affect"},
    "sample_table": {"id": "Sampel estimasi: Pemda penerap per kohort", "en": "Estimation sample: adopters by cohort"},
}


def caption(key: str, lang: str) -> str:
    check_lang(lang)
    return CAPTIONS[key][lang]

CATEGORY_LABELS = {
    "listrik": {"id": "Listrik", "en": "Electricity"},
    "air": {"id": "Air", "en": "Water"},
    "telepon_internet": {"id": "Telepon & internet", "en": "Phone & internet"},
    "atk": {"id": "ATK", "en": "Office supplies"},
    "bbm": {"id": "BBM", "en": "Fuel"},
    "perjalanan_dinas": {"id": "Perjalanan dinas", "en": "Official travel"},
    "penerangan_jalan": {"id": "Penerangan jalan", "en": "Street lighting"},
    "pemeliharaan": {"id": "Pemeliharaan", "en": "Maintenance"},
    "routine_total": {"id": "Total belanja rutin", "en": "Routine spending total"},
}


#: Legend names of the estimators whose event studies the notebook passes under these keys.
ESTIMATOR_LABELS = {
    "Sun-Abraham": {"id": "Sun–Abraham", "en": "Sun–Abraham"},
    "Imputation (BJS)": {"id": "Imputasi (BJS)", "en": "Imputation (BJS)"},
}


def label(key: str, lang: str) -> str:
    check_lang(lang)
    return LABELS[key][lang]


def estimator_label(name: str, lang: str) -> str:
    """Legend name of an estimator key; other names are shown as they are."""
    check_lang(lang)
    return ESTIMATOR_LABELS[name][lang] if name in ESTIMATOR_LABELS else name


def category_label(category: str, lang: str) -> str:
    check_lang(lang)
    return CATEGORY_LABELS.get(category, {"id": category, "en": category})[lang]


def spending_trends(panel: pd.DataFrame, units: pd.DataFrame, *, category: str, lang: str = "id"):
    """Mean log real spending of adopters and comparison Pemda per period (each Pemda's own mean
    removed), with a vertical line at the first adoption period."""
    check_lang(lang)
    data = panel[panel["category"] == category].merge(units[["region_code", "cohort_time"]], on="region_code")
    data = data.dropna(subset=["log_realized_real"])
    data["centred"] = data["log_realized_real"] - data.groupby("region_code")["log_realized_real"].transform("mean")
    data["group"] = np.where(data["cohort_time"] > 0, t("adopters", lang), t("comparison", lang))
    means = data.groupby(["period", "group"])["centred"].mean().unstack("group").sort_index()
    fig, ax = plt.subplots(figsize=(8, 4))
    for column, style in zip(means.columns, ("-", "--")):
        ax.plot(range(len(means)), means[column], style, marker="o", markersize=3, label=column)
    first = units.loc[units["cohort_time"] > 0, "cohort_time"].min()
    periods = data.drop_duplicates("period").set_index("period")["time"].sort_index()
    if pd.notna(first) and (periods == first).any():
        ax.axvline(int(np.flatnonzero(periods.to_numpy() == first)[0]) - 0.5, color="grey", lw=1, ls=":")
    step = max(1, len(means) // 10)
    ax.set_xticks(range(0, len(means), step), means.index[::step], rotation=45, ha="right")
    ax.set_xlabel(label("period", lang))
    ax.set_ylabel(label("log_spending", lang))
    ax.set_title(category_label(category, lang))
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def event_study_overlay(
    studies: dict[str, pd.DataFrame], *, lang: str = "id", truth: float | None = None,
    window: tuple[int, int] | None = (-8, 6),
):
    """Event studies (``event, att, ci_low, ci_high``) of several estimators side by side, with
    pointwise 95% CIs; ``truth`` (synthetic data, mean over all post cells) as a horizontal line.
    ``window``: the event times shown (far events rest on one or two early adopters). Drawn by
    :func:`analysis.figures.did.event_study_plot`."""
    from analysis.figures.did import event_study_plot

    check_lang(lang)
    fig = event_study_plot(list(studies.values()), [estimator_label(name, lang) for name in studies],
                           lang=lang, window=window, ylabel=label("att_log", lang), truth=truth,
                           truth_label=label("truth", lang))
    fig.axes[0].set_xlabel(label("periods_since", lang))
    fig.set_size_inches(8, 4.2)
    fig.tight_layout()
    return fig


def adjusted_vs_unadjusted(comparison: pd.DataFrame, *, lang: str = "id"):
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
                    label=label("adjusted" if adjusted else "unadjusted", lang))
    if "truth" in comparison.columns:
        truth = comparison.drop_duplicates("category").set_index("category").reindex(categories)["truth"]
        ax.scatter(truth, np.arange(len(categories)), marker="x", color="tab:red", zorder=3, label=label("truth", lang))
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(categories)), [category_label(c, lang) for c in categories])
    ax.invert_yaxis()
    ax.set_xlabel(label("att_log", lang))
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def savings_by_category(summary: pd.DataFrame, *, lang: str = "id"):
    """Horizontal bars of savings in Rupiah per category with 95% CIs (``summary``:
    ``category, savings_idr, ci_low, ci_high``), axis in juta / miliar / triliun."""
    check_lang(lang)
    data = summary.sort_values("savings_idr")
    divisor, unit = idr_scale(float(np.nanmax(np.abs(data[["savings_idr", "ci_low", "ci_high"]].to_numpy()))), lang)
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(data) + 1.5))
    y = np.arange(len(data))
    ax.barh(y, data["savings_idr"] / divisor, color="tab:green", alpha=0.7)
    ax.errorbar(data["savings_idr"] / divisor, y,
                xerr=[(data["savings_idr"] - data["ci_low"]) / divisor, (data["ci_high"] - data["savings_idr"]) / divisor],
                fmt="none", ecolor="black", capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [category_label(c, lang) for c in data["category"]])
    ax.set_xlabel(f"{label('savings', lang)} ({unit})")
    fig.tight_layout()
    return fig


def money_table(table: pd.DataFrame, *, lang: str, money_columns=(), log_columns=(), rename=None) -> pd.DataFrame:
    """A copy of ``table`` for display: Rupiah columns through
    :func:`analysis.texts.formatting.format_idr`, log-point columns as signed numbers with 3 decimals,
    category codes as labels; ``rename`` maps column names to headers."""
    from analysis.texts.formatting import format_idr, format_number

    check_lang(lang)
    out = table.copy()
    for column in money_columns:
        out[column] = [format_idr(v, lang) for v in out[column]]
    for column in log_columns:
        out[column] = [format_number(v, lang, 3) for v in out[column]]
    if "category" in out.columns:
        out["category"] = [category_label(c, lang) for c in out["category"]]
    return out.rename(columns=rename or {})
