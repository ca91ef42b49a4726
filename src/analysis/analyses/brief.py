"""The policy brief for Komisi II (notebook ``90_policy_brief``): text and tables computed from
other reports' ``results.json``, never typed.

Inputs are read with :func:`load_report_input`, which says *why* a report is unusable (missing,
failed, no results) instead of raising, so the brief always renders and states what it lacks.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.analyses.heterogeneity import risk_verdicts
from analysis.texts.formatting import format_idr, format_number, format_pct

SERVICE_HEADLINE = "att_log_median_days"
SERVICE_HEADLINE_REQUESTS = "att_log_median_days_request_weighted"
SLA_HEADLINE = "att_sla_share"
SPENDING_HEADLINE = "att_log_routine_spending"
SPENDING_UNADJUSTED = "att_log_routine_spending_unadjusted"
SAVINGS_PER_ADOPTER_YEAR = "savings_idr_per_adopter_year"
DIFFERENCE_PREFIX = "diff_log_median_days__"
PROJECTION = "projection_idr_per_year"

_TEXT = {
    "id": {
        "digital_readiness": "Kesiapan digital (indeks SPBE rendah)",
        "performance_management": "Manajemen kinerja (tanpa e-Kinerja harian)",
        "coordination": "Koordinasi lintas unit",
        "supported": "didukung bukti",
        "not_supported": "tidak didukung bukti",
        "unclear": "belum jelas secara statistik",
        "no_evidence": "belum dapat dinilai",
        "missing": "Laporan {slug} tidak tersedia ({reason}); angka dari laporan itu tidak dapat disajikan.",
        "reason_missing": "belum dijalankan",
        "reason_failed": "gagal dijalankan",
        "reason_no_results": "tidak menulis hasil",
    },
    "en": {
        "digital_readiness": "Digital readiness (low SPBE index)",
        "performance_management": "Performance management (no daily e-Kinerja)",
        "coordination": "Cross-unit coordination",
        "supported": "supported by the evidence",
        "not_supported": "not supported by the evidence",
        "unclear": "statistically unclear",
        "no_evidence": "cannot be assessed yet",
        "missing": "Report {slug} is not available ({reason}); its numbers cannot be shown.",
        "reason_missing": "not run",
        "reason_failed": "it failed",
        "reason_no_results": "it wrote no results",
    },
}


@dataclass(frozen=True)
class ReportInput:
    """One input report: its entries by name (empty if unusable) and why it is unusable."""

    slug: str
    entries: dict[str, dict] = field(default_factory=dict)
    problem: str | None = None  # None | "missing" | "failed" | "no_results"

    @property
    def usable(self) -> bool:
        return self.problem is None


def load_report_input(reports_dir: str | Path, slug: str) -> ReportInput:
    """Read ``reports_dir/slug/results.json``, honouring the build's ``build-status.json``."""
    directory = Path(reports_dir) / slug
    status_file = directory / "build-status.json"
    if status_file.exists():
        try:
            if json.loads(status_file.read_text(encoding="utf-8")).get("status") == "failed":
                return ReportInput(slug, problem="failed")
        except ValueError:
            return ReportInput(slug, problem="failed")
    results_file = directory / "results.json"
    if not results_file.exists():
        return ReportInput(slug, problem="missing" if not directory.exists() else "no_results")
    try:
        document = json.loads(results_file.read_text(encoding="utf-8"))
    except ValueError:
        return ReportInput(slug, problem="no_results")
    entries = {e["name"]: e for e in document.get("results", []) if "name" in e}
    return ReportInput(slug, entries, None if entries else "no_results")


def missing_inputs_text(inputs: list[ReportInput], lang: str) -> list[str]:
    """One sentence per unusable input report."""
    text = _TEXT[lang]
    return [
        text["missing"].format(slug=i.slug, reason=text[f"reason_{i.problem}"]) for i in inputs if not i.usable
    ]


def log_to_pct(value: float | None) -> float | None:
    """A log-point effect as a percent change: ``100 * (exp(x) - 1)``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return 100.0 * math.expm1(value)


def _pct_interval(entry: dict, lang: str) -> str:
    low, high = log_to_pct(entry.get("ci_low")), log_to_pct(entry.get("ci_high"))
    separator = "; " if lang == "id" else ", "
    return f"{format_pct(low, lang, signed=True)}{separator}{format_pct(high, lang, signed=True)}"


def headline_table(service: ReportInput, budget: ReportInput, lang: str) -> pd.DataFrame:
    """The brief's headline numbers: ``measure, estimate, ci95`` (formatted for ``lang``),
    one row per available entry."""
    rows = []
    for source, name in ((service, SERVICE_HEADLINE), (service, SERVICE_HEADLINE_REQUESTS), (service, SLA_HEADLINE),
                         (budget, SPENDING_HEADLINE),
                         (budget, SPENDING_UNADJUSTED), (budget, SAVINGS_PER_ADOPTER_YEAR), (budget, PROJECTION)):
        entry = source.entries.get(name)
        if entry is None:
            continue
        if name.startswith("att_log"):
            estimate = format_pct(log_to_pct(entry.get("estimate")), lang, signed=True)
            interval = _pct_interval(entry, lang)
        elif name.endswith("share"):
            scale = 100.0 if abs(entry.get("estimate") or 0) <= 1 else 1.0
            estimate = format_number((entry.get("estimate") or 0) * scale, lang, 1) + " pp"
            interval = (f"{format_number((entry.get('ci_low') or 0) * scale, lang, 1)} – "
                        f"{format_number((entry.get('ci_high') or 0) * scale, lang, 1)} pp")
        else:
            estimate = format_idr(entry.get("estimate"), lang)
            interval = (f"{format_idr(entry.get('ci_low'), lang)} – {format_idr(entry.get('ci_high'), lang)}"
                        if entry.get("ci_low") is not None else "–")
        rows.append((entry.get("label") or name, estimate, interval))
    labels = ("Ukuran", "Estimasi", "IK 95%") if lang == "id" else ("Measure", "Estimate", "95% CI")
    return pd.DataFrame(rows, columns=list(labels))


def headline_adopters(service: ReportInput) -> pd.DataFrame:
    """The real (registry) adopters and whether the service headline includes them, from its
    ``results.json`` sample: ``region_code, included, reason`` (a code of
    ``analysis.analyses.service_sample.EXCLUSION_REASONS``; None when included). Empty when the
    entry or its sample is absent."""
    sample = (service.entries.get(SERVICE_HEADLINE) or {}).get("sample") or {}
    rows = [(code, True, None) for code in sample.get("real_adopters_included", [])]
    rows += [(e["region_code"], False, e.get("reason")) for e in sample.get("excluded", []) if e.get("real_adopter")]
    frame = pd.DataFrame(rows, columns=["region_code", "included", "reason"], dtype=object)
    return frame.sort_values("region_code", kind="stable").reset_index(drop=True)


def split_tests(service: ReportInput) -> pd.DataFrame:
    """The heterogeneity split tests recorded in the service report's ``results.json``
    (``diff_log_median_days__<split>`` entries, with the side ATTs when present), in the form
    :func:`analysis.analyses.heterogeneity.risk_verdicts` takes."""
    rows = []
    for name, entry in service.entries.items():
        if not name.startswith(DIFFERENCE_PREFIX):
            continue
        split = name[len(DIFFERENCE_PREFIX):]
        details = (entry.get("inference") or {}).get("details") or {}
        side = {s: (service.entries.get(f"{SERVICE_HEADLINE}__{split}__{s}") or {}).get("estimate")
                for s in ("at_risk", "comparison")}
        rows.append({"split": split, "difference": _number(entry.get("estimate")),
                     "ci_low": _number(entry.get("ci_low")), "ci_high": _number(entry.get("ci_high")),
                     "pvalue": _number((entry.get("inference") or {}).get("pvalue")),
                     "pvalue_holm": _number(details.get("pvalue_holm")),
                     "at_risk_att": _number(side["at_risk"]), "comparison_att": _number(side["comparison"])})
    return pd.DataFrame(rows)


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def assess_risks(service: ReportInput) -> pd.DataFrame:
    """For each risk of the brief: ``risk, split, at_risk_effect, comparison_effect, difference,
    pvalue_holm, verdict``, the verdict from the Holm-adjusted difference test of its split only
    (the rule: :func:`analysis.analyses.heterogeneity.risk_verdicts`; ``no_evidence`` when the
    test is absent). A group's own interval plays no part."""
    verdicts = risk_verdicts(split_tests(service))
    return verdicts.rename(columns={"at_risk_att": "at_risk_effect", "comparison_att": "comparison_effect"})[
        ["risk", "split", "at_risk_effect", "comparison_effect", "difference", "ci_low", "ci_high", "pvalue",
         "pvalue_holm", "verdict"]]


def risk_table(risks: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``assess_risks`` formatted for the brief (percent changes in completion time)."""
    text = _TEXT[lang]
    labels = ("Risiko", "Efek pada kelompok berisiko", "Efek pada pembanding", "Penilaian") if lang == "id" else (
        "Risk", "Effect in the group at risk", "Effect in the comparison group", "Assessment")
    rows = [
        (
            text[r.risk],
            format_pct(log_to_pct(r.at_risk_effect), lang, signed=True) if r.at_risk_effect is not None else "–",
            format_pct(log_to_pct(r.comparison_effect), lang, signed=True) if r.comparison_effect is not None else "–",
            text[r.verdict],
        )
        for r in risks.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=list(labels))


def brief_paragraphs(service: ReportInput, budget: ReportInput, risks: pd.DataFrame, context: dict, lang: str) -> dict[str, str]:
    """The brief's text as Markdown paragraphs keyed ``findings, risks, implications, caveats``.

    ``context``: ``n_adopters``, ``n_trials``, ``first_adoption`` (computed from the data).
    """
    findings, implications = [], []
    s = service.entries.get(SERVICE_HEADLINE)
    b = budget.entries.get(SPENDING_HEADLINE)
    saving = budget.entries.get(SAVINGS_PER_ADOPTER_YEAR)
    if lang == "id":
        if s:
            findings.append(
                f"WFA mengubah median waktu penyelesaian layanan sebesar **{format_pct(log_to_pct(s['estimate']), lang, signed=True)}** "
                f"(IK 95%: {_pct_interval(s, lang)}).")
        if b:
            findings.append(
                f"Belanja rutin (listrik, air, telepon/internet, ATK, BBM, perjalanan dinas) berubah "
                f"**{format_pct(log_to_pct(b['estimate']), lang, signed=True)}** (IK 95%: {_pct_interval(b, lang)}), "
                "setelah memperhitungkan pemotongan TKD.")
        if saving:
            findings.append(f"Penghematan per Pemda penerap per tahun: **{format_idr(saving['estimate'], lang)}**.")
    else:
        if s:
            findings.append(
                f"WFA changed median service completion time by **{format_pct(log_to_pct(s['estimate']), lang, signed=True)}** "
                f"(95% CI: {_pct_interval(s, lang)}).")
        if b:
            findings.append(
                f"Routine spending (electricity, water, phone/internet, stationery, fuel, official travel) changed by "
                f"**{format_pct(log_to_pct(b['estimate']), lang, signed=True)}** (95% CI: {_pct_interval(b, lang)}), "
                "after accounting for the TKD cuts.")
        if saving:
            findings.append(f"Savings per adopting Pemda per year: **{format_idr(saving['estimate'], lang)}**.")
    verdicts = dict(zip(risks["risk"], risks["verdict"]))
    digital = verdicts.get("digital_readiness")
    if lang == "id":
        implications.append(
            "Standar minimum infrastruktur digital (SPBE minimal predikat Baik, layanan daring, e-Kinerja harian) "
            + ("**perlu menjadi syarat** sebelum Pemda menerapkan WFA, karena perlambatan terkonsentrasi pada Pemda dengan kesiapan digital rendah."
               if digital == "supported" else
               "tetap dianjurkan, tetapi data belum menunjukkan bahwa kesiapan digital rendah memperlambat layanan."))
        implications.append(
            "Pedoman WFA nasional sebaiknya " + (
                "mewajibkan pengukuran kinerja berbasis keluaran harian. " if verdicts.get("performance_management") == "supported"
                else "tetap meminta pengukuran kinerja, meskipun bukti risiko manajemen kinerja belum ada. ")
            + ("Layanan lintas unit memerlukan mekanisme koordinasi khusus (hari kantor bersama)."
               if verdicts.get("coordination") == "supported" else
               "Bukti belum menunjukkan masalah koordinasi lintas unit."))
        caveats = (
            f"Baru **{context.get('n_adopters', 0)} Pemda** yang menerapkan WFA (pertama {context.get('first_adoption', '–')}), "
            f"**{context.get('n_trials', 0)}** di antaranya uji coba; estimasi dengan sedikit penerap tidak presisi. "
            "Penerapan bersamaan dengan pemotongan TKD dan gerakan efisiensi, sehingga penghematan bukan hanya dari WFA.")
    else:
        implications.append(
            "A minimum digital-infrastructure standard (SPBE rating at least Baik, online services, daily e-Kinerja) "
            + ("**should be a precondition** for WFA: the slowdown concentrates in Pemda with low digital readiness."
               if digital == "supported" else
               "remains advisable, but the data do not show that low digital readiness slows services."))
        implications.append(
            "National WFA guidelines should " + (
                "require daily output-based performance records. " if verdicts.get("performance_management") == "supported"
                else "still ask for performance measurement, although no performance-management risk is shown. ")
            + ("Cross-unit services need a coordination mechanism (shared office days)."
               if verdicts.get("coordination") == "supported" else
               "The evidence shows no cross-unit coordination problem."))
        caveats = (
            f"Only **{context.get('n_adopters', 0)} Pemda** have adopted WFA (first {context.get('first_adoption', '–')}), "
            f"**{context.get('n_trials', 0)}** of them as trials; estimates from few adopters are imprecise. "
            "Adoption coincided with TKD cuts and efficiency drives, so savings are not all due to WFA.")
    return {
        "findings": " ".join(findings) or ("–"),
        "implications": "\n\n".join(implications),
        "caveats": caveats,
    }


def adoption_context(policies: pd.DataFrame | None) -> dict:
    """``n_adopters``, ``n_trials`` (adopters whose every adoption is a trial), ``first_adoption``."""
    if policies is None or policies.empty:
        return {"n_adopters": 0, "n_trials": 0, "first_adoption": "–"}
    trial = policies.groupby("region_code")["is_trial"].all()
    return {
        "n_adopters": int(policies["region_code"].nunique()),
        "n_trials": int(trial.sum()),
        "first_adoption": str(pd.Timestamp(policies["start_date"].min()).date()),
    }


def result_entries(risks: pd.DataFrame) -> list:
    """The brief's machine-readable results: one verdict per risk (``unit="indicator"``:
    1 = supported, 0 = not supported, None = no evidence)."""
    from analysis.report.results_file import ResultEntry

    value = {"supported": 1.0, "not_supported": 0.0}
    return [
        ResultEntry(f"risk_{row.risk}", value.get(row.verdict), unit="indicator", label=f"{row.risk}: {row.verdict}")
        for row in risks.itertuples(index=False)
    ]
