"""Case study of one single adopter: synthetic control and synthetic DiD (steps of notebook 30).

Outcome series (one value per Pemda and month):

- ``log_routine_spending``: natural log of realised routine spending (sum of the WFA-affected
  categories, ``analysis.panels.budget.spending_panel`` category ``routine_total``), Rupiah in 2025 prices.
  Effects are in log points (× 100 ≈ percent).
- ``median_days``: median completion time of service requests submitted in the month, in days:
  the mean over service types of the Kaplan–Meier cell medians of ``analysis.panels.service.build_service_panel``,
  weighted by the requests submitted in each cell (cells whose median is not identified are left out).

Donor pool: Pemda that never adopted WFA in the data window (``analysis.panels.treatment.assign_treatment``
status ``never``), at the same level as the adopter: other provinces
for a province, other kabupaten/kota for a kabupaten or kota. Donors with a missing or non-finite
month are dropped (listed with the reason). Kab/kota inside an adopting province stay eligible
(possible spill-over; the weights table shows whether they matter).

Timing: the first treated month is the adopter's cohort (half-month rule). If WFA ended before the
end of the window (a trial such as Surakarta's), the post period is cut at the last month with WFA
in force: the estimate is the effect while WFA was on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.report.results_file import ResultEntry
from analysis.synth import (
    InSpacePlacebo,
    PlaceboSE,
    SyntheticControlResult,
    SyntheticDidResult,
    in_space_placebo,
    placebo_se,
    synthetic_control,
    synthetic_did,
)

OUTCOMES = ("median_days", "log_routine_spending")
OUTCOME_UNITS = {"median_days": "days", "log_routine_spending": "log points"}
#: Donor pools larger than this use seeded random placebo draws instead of every donor.
MAX_PLACEBO_ALL = 60


class CaseStudyError(AnalysisError, ValueError):
    """The requested case study cannot be built (the message says why)."""


@dataclass(frozen=True)
class CaseStudyData:
    """- ``panel``: long DataFrame ``region_code, period, value`` (treated unit and donors, balanced).
    - ``donors``: DataFrame ``region_code, name``; ``dropped``: DataFrame ``region_code, reason``.
    - ``treatment_start`` / ``last_post``: first and last month (``YYYY-MM``) of the post period.
    - ``status``: the adopter's ``assign_treatment`` status; ``pool_rule``: the donor rule, in words.
    """

    region_code: str
    region_name: str
    level: str
    outcome: str
    unit: str
    treatment_start: str
    last_post: str
    status: str
    panel: pd.DataFrame
    donors: pd.DataFrame
    dropped: pd.DataFrame
    pool_rule: str


def is_province(level: str) -> bool:
    return str(level).lower() == "provinsi"


def monthly_outcome(dataset, outcome: str) -> pd.DataFrame:
    """``region_code, period, value`` for every Pemda and month (see the module doc for units)."""
    if outcome == "log_routine_spending":
        from analysis.panels.budget import ROUTINE_TOTAL, spending_panel

        panel = spending_panel(dataset.budget, frequency="month")
        routine = panel[panel["category"] == ROUTINE_TOTAL]
        return routine.rename(columns={"log_realized_real": "value"})[["region_code", "period", "value"]]
    if outcome == "median_days":
        from analysis.panels.service import build_service_panel

        cells = build_service_panel(dataset.table_path("service_requests"), extracted_at=dataset.extracted_at)
        cells = cells[np.isfinite(cells["median_days"]) & (cells["n_submitted"] > 0)]
        weighted = cells.assign(weighted=cells["median_days"] * cells["n_submitted"])
        grouped = weighted.groupby(["region_code", "month"], as_index=False)[["weighted", "n_submitted"]].sum()
        grouped["value"] = grouped["weighted"] / grouped["n_submitted"]
        return grouped.rename(columns={"month": "period"})[["region_code", "period", "value"]]
    raise CaseStudyError(f"outcome must be one of {', '.join(OUTCOMES)}; got {outcome!r}")


def adoption_status(dataset, periods) -> pd.DataFrame:
    """``assign_treatment`` over ``periods`` (one row per Pemda: cohort, status, dose)."""
    from analysis.panels.treatment import assign_treatment

    policies = dataset.policies
    months = sorted(pd.Series(list(periods)).astype(str).str.slice(0, 7).unique())
    return assign_treatment(policies, dataset.regions, periods=months, trial_handling="exclude")


def build_case_study_data(dataset, region_code: str, outcome: str, *, series: pd.DataFrame | None = None) -> CaseStudyData:
    """The adopter's series, its donor pool and its timing (rules in the module doc).

    ``series``: an already computed ``monthly_outcome`` (saves recomputing it)."""
    region_code = str(region_code)
    regions = dataset.regions.assign(region_code=dataset.regions["region_code"].astype(str))
    if region_code not in set(regions["region_code"]):
        raise CaseStudyError(f"region_code {region_code!r} is not in the regions table")
    region = regions.set_index("region_code").loc[region_code]
    series = monthly_outcome(dataset, outcome) if series is None else series
    series = series.assign(region_code=series["region_code"].astype(str))
    periods = sorted(series["period"].unique())
    status = adoption_status(dataset, periods).set_index("region_code")
    if region_code not in status.index or pd.isna(status.at[region_code, "cohort"]):
        raise CaseStudyError(f"{region['name']} ({region_code}) has no WFA policy in force in the data window")
    cohort = str(status.at[region_code, "cohort"])
    last = status.at[region_code, "last_treated"]
    last_post = str(last) if not pd.isna(last) and str(last) < periods[-1] else periods[-1]
    if cohort <= periods[0]:
        raise CaseStudyError(f"{region['name']} adopted in {cohort}, at the start of the data: no pre-period")
    province = is_province(region["level"])
    same_level = regions[regions["level"].map(is_province) == province]
    never = set(status.index[status["status"] == "never"])
    candidates = same_level[same_level["region_code"].isin(never) & (same_level["region_code"] != region_code)]
    window = series[series["period"] <= last_post]
    wide = window.pivot_table(index="region_code", columns="period", values="value", aggfunc="first")
    wide = wide.reindex(columns=[p for p in periods if p <= last_post])
    if region_code not in wide.index or not np.isfinite(wide.loc[region_code].to_numpy(dtype=float)).all():
        raise CaseStudyError(
            f"{region['name']} ({region_code}) lacks {outcome} in some month of the window; "
            "a synthetic control needs the adopter's full monthly series"
        )
    dropped, kept = [], []
    for code in candidates["region_code"]:
        if code not in wide.index:
            dropped.append((code, "no data"))
        elif not np.isfinite(wide.loc[code].to_numpy(dtype=float)).all():
            dropped.append((code, "missing or non-positive value in some month"))
        else:
            kept.append(code)
    if not kept:
        raise CaseStudyError(f"no never-adopter donor with a complete {outcome} series for {region['name']}")
    long = (wide.loc[kept + [region_code]].reset_index()
            .melt(id_vars="region_code", var_name="period", value_name="value"))
    names = regions.set_index("region_code")["name"]
    rule = ("never-adopting provinces" if province else "never-adopting kabupaten and kota")
    return CaseStudyData(
        region_code=region_code, region_name=str(region["name"]), level=str(region["level"]),
        outcome=outcome, unit=OUTCOME_UNITS[outcome], treatment_start=cohort, last_post=last_post,
        status=str(status.at[region_code, "status"]), panel=long,
        donors=pd.DataFrame({"region_code": kept, "name": [names[c] for c in kept]}),
        dropped=pd.DataFrame(dropped, columns=["region_code", "reason"]), pool_rule=rule,
    )


@dataclass(frozen=True)
class CaseStudyResult:
    """SC (exact, outcome-only), its in-space placebo test, SDID and its placebo SE."""

    data: CaseStudyData
    sc: SyntheticControlResult
    placebo: InSpacePlacebo
    sdid: SyntheticDidResult
    sdid_se: PlaceboSE


def run_case_study(data: CaseStudyData, *, replications: int = 100, seed: int = 20260101) -> CaseStudyResult:
    """Fit both estimators and the placebo inference. The SDID placebo SE uses every donor once
    as pseudo-treated when there are at most ``MAX_PLACEBO_ALL`` donors, else ``replications``
    random draws from ``seed``."""
    setup = dict(outcome="value", unit="region_code", time="period", treated_unit=data.region_code,
                 treatment_start=data.treatment_start)
    sc = synthetic_control(data.panel, **setup)
    placebo = in_space_placebo(sc)
    sdid = synthetic_did(data.panel, **setup)
    if len(data.donors) <= MAX_PLACEBO_ALL:
        se = placebo_se(sdid, draws="all")
    else:
        se = placebo_se(sdid, draws="random", replications=replications, seed=seed)
    return CaseStudyResult(data=data, sc=sc, placebo=placebo, sdid=sdid, sdid_se=se)


def weights_table(result: CaseStudyResult, *, top: int = 10, lang: str = "id") -> pd.DataFrame:
    """Top donors by SC weight with their SDID weight (names, not codes)."""
    names = result.data.donors.set_index("region_code")["name"]
    sc = result.sc.weights.set_index("donor")["weight"]
    sdid = result.sdid.unit_weights.set_index("donor")["weight"]
    table = pd.DataFrame({"region_code": sc.index, "name": [names[c] for c in sc.index],
                          "sc_weight": sc.to_numpy(), "sdid_weight": sdid.reindex(sc.index).to_numpy()})
    order = table.assign(key=np.maximum(table["sc_weight"], table["sdid_weight"])).sort_values("key", ascending=False)
    shown = order.drop(columns="key").head(top).round(3).reset_index(drop=True)
    labels = {"id": {"region_code": "Kode", "name": "Pemda donor", "sc_weight": "Bobot SC", "sdid_weight": "Bobot SDID"},
              "en": {"region_code": "Code", "name": "Donor Pemda", "sc_weight": "SC weight", "sdid_weight": "SDID weight"}}
    return shown.rename(columns=labels[lang])


def result_entries(result: CaseStudyResult, lang: str = "id") -> list[ResultEntry]:
    """The headline numbers for ``results.json``."""
    unit = result.data.unit
    en = lang == "en"
    se = result.sdid_se
    return [
        ResultEntry("sc_effect", result.sc.effect, unit=unit,
                    label="Synthetic control: average effect after adoption" if en else "Kontrol sintetis: rata-rata efek setelah adopsi"),
        ResultEntry("sdid_effect", result.sdid.estimate, se=se.se, ci_low=se.ci_low, ci_high=se.ci_high, unit=unit,
                    label="Synthetic DiD: average effect (placebo SE, 95% CI)" if en else "Synthetic DiD: rata-rata efek (SE plasebo, IK 95%)"),
        ResultEntry("placebo_pvalue", result.placebo.p_value, unit="probability",
                    label="In-space placebo p-value (post/pre MSPE ratio rank)" if en else "Nilai p uji plasebo (peringkat rasio MSPE pasca/pra)"),
        ResultEntry("pre_rmspe", result.sc.pre_rmspe, unit=unit,
                    label="Pre-adoption fit of the synthetic control (RMSPE)" if en else "Kecocokan pra-adopsi kontrol sintetis (RMSPE)"),
    ]


def results_extra(result: CaseStudyResult) -> dict[str, Any]:
    """Context recorded next to the headline numbers."""
    return {
        "region_code": result.data.region_code, "region_name": result.data.region_name,
        "outcome": result.data.outcome, "treatment_start": result.data.treatment_start,
        "last_post": result.data.last_post, "n_donors": len(result.data.donors),
        "n_dropped_donors": len(result.data.dropped), "donor_pool": result.data.pool_rule,
        "placebo_rank": result.placebo.rank, "placebo_units": len(result.placebo.ratios),
        "placebo_se_draws": result.sdid_se.draws, "placebo_se_replications": result.sdid_se.replications,
    }


def _number(value: float, unit: str, lang: str) -> str:
    text = f"{value:+.3f}" if unit == "log points" else f"{value:+.2f}"
    return text.replace(".", ",") if lang == "id" else text


def conclusion(result: CaseStudyResult, lang: str = "id") -> str:
    """Plain-language conclusion; every number in it comes from ``result``."""
    d, se = result.data, result.sdid_se
    covers_zero = se.ci_low <= 0 <= se.ci_high
    unit = d.unit
    sdid, sc = _number(result.sdid.estimate, unit, lang), _number(result.sc.effect, unit, lang)
    lo, hi = _number(se.ci_low, unit, lang), _number(se.ci_high, unit, lang)
    p = f"{result.placebo.p_value:.2f}"
    rank, n = result.placebo.rank, len(result.placebo.ratios)
    if lang == "en":
        what = "median completion time (days)" if d.outcome == "median_days" else "log routine spending (log points; ×100 ≈ %)"
        verdict = ("The interval includes zero: the data do not show a clear effect for this Pemda."
                   if covers_zero else "The interval excludes zero: the change is unlikely to be noise alone.")
        return (f"For {d.region_name}, WFA from {d.treatment_start} to {d.last_post} changed {what} by {sdid} "
                f"according to synthetic DiD (95% placebo interval {lo} to {hi}), and by {sc} according to the "
                f"synthetic control. {verdict} In the placebo test the adopter ranks {rank} of {n} "
                f"(p = {p}; a small p means few donors show a gap as large). One Pemda is one case: "
                f"the estimate assumes the donors ({d.pool_rule}) were not affected by WFA.")
    what = "median waktu penyelesaian (hari)" if d.outcome == "median_days" else "log belanja rutin (poin log; ×100 ≈ %)"
    verdict = ("Interval mencakup nol: data tidak menunjukkan efek yang jelas untuk Pemda ini."
               if covers_zero else "Interval tidak mencakup nol: perubahan ini kecil kemungkinannya hanya kebetulan.")
    pool = "provinsi yang tidak pernah menerapkan WFA" if is_province(d.level) else "kabupaten/kota yang tidak pernah menerapkan WFA"
    return (f"Untuk {d.region_name}, WFA dari {d.treatment_start} sampai {d.last_post} mengubah {what} sebesar {sdid} "
            f"menurut synthetic DiD (interval plasebo 95% {lo} sampai {hi}), dan sebesar {sc} menurut kontrol "
            f"sintetis. {verdict} Dalam uji plasebo, Pemda ini berada di peringkat {rank} dari {n} "
            f"(p = {p.replace('.', ',')}; p kecil berarti sedikit donor yang menunjukkan selisih sebesar itu). Satu Pemda adalah "
            f"satu kasus: estimasi ini mengasumsikan donor ({pool}) tidak terpengaruh WFA.")


def outcome_label(outcome: str, lang: str = "id") -> str:
    """Axis label of the outcome."""
    labels = {"median_days": {"id": "Median hari penyelesaian", "en": "Median completion days"},
              "log_routine_spending": {"id": "Log belanja rutin (Rp 2025)", "en": "Log routine spending (2025 IDR)"}}
    return labels[outcome][lang]


def exhibit_texts(result: CaseStudyResult, lang: str = "id") -> dict[str, str]:
    """Captions and alt texts of the notebook's exhibits (numbers from ``result``)."""
    d = result.data
    label = outcome_label(d.outcome, lang)
    top = result.sc.weights.iloc[0]
    top_name = d.donors.set_index("region_code")["name"][top["donor"]]
    if lang == "en":
        return {
            "path_caption": f"{d.region_name}: actual and synthetic {label.lower()}, WFA from {d.treatment_start}.",
            "path_alt": (f"Line chart of monthly {label.lower()} for {d.region_name} and its synthetic control; "
                         f"pre-adoption RMSPE {result.sc.pre_rmspe:.3f}; after {d.treatment_start} the average gap is "
                         f"{result.sc.effect:.3f}."),
            "weights_caption": f"Donors with the largest weights ({len(d.donors)} never-adopting donors in the pool).",
            "gap_caption": f"Gap between {d.region_name} and its synthetic control, with every donor's placebo gap in grey.",
            "gap_alt": (f"Gap chart: the adopter's gap (black) against {len(result.placebo.ratios) - 1} placebo gaps (grey); "
                        f"placebo rank {result.placebo.rank} of {len(result.placebo.ratios)}."),
            "weights_note": f"Largest SC weight: {top_name} ({top['weight']:.3f}).",
        }
    return {
        "path_caption": f"{d.region_name}: {label.lower()} aktual dan sintetis, WFA sejak {d.treatment_start}.",
        "path_alt": (f"Grafik garis {label.lower()} bulanan {d.region_name} dan kontrol sintetisnya; RMSPE pra-adopsi "
                     f"{result.sc.pre_rmspe:.3f}; setelah {d.treatment_start} rata-rata selisih {result.sc.effect:.3f}."),
        "weights_caption": f"Donor dengan bobot terbesar ({len(d.donors)} donor yang tidak pernah menerapkan WFA).",
        "gap_caption": f"Selisih {d.region_name} dengan kontrol sintetisnya; selisih plasebo setiap donor berwarna abu-abu.",
        "gap_alt": (f"Grafik selisih: selisih Pemda ini (hitam) dibandingkan {len(result.placebo.ratios) - 1} selisih plasebo "
                    f"(abu-abu); peringkat plasebo {result.placebo.rank} dari {len(result.placebo.ratios)}."),
        "weights_note": f"Bobot SC terbesar: {top_name} ({top['weight']:.3f}).",
    }
