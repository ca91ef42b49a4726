"""The policy brief: its verdict rule, its numbers traced to the results.json entries they quote
(units respected), its context from the dataset, its banner and its PDF helper."""

from __future__ import annotations

import html
import json
import math
import re

import pandas as pd
import pytest

from analysis.analyses import brief, brief_page
from analysis.analyses import brief_rules as rules
from analysis.analyses.brief_context import dataset_facts, fiscal_context

MINUS = "\u2212"


# ----------------------------------------------------------------------------- an independent formatter
def _digits(x: float, places: int, lang: str, signed: bool = False) -> str:
    text = f"{abs(x):,.{places}f}"
    if lang == "id":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    nonzero = re.search(r"[1-9]", text) is not None
    if x < 0 and nonzero:
        return MINUS + text
    return ("+" + text) if signed and nonzero else text


def _idr(x: float, lang: str) -> str:
    words = {"id": ("Rp", "triliun", "miliar", "juta"), "en": ("IDR", "trillion", "billion", "million")}[lang]
    for divisor, word in zip((1e12, 1e9, 1e6), words[1:]):
        scaled = abs(x) / divisor
        places = 0 if scaled >= 99.95 else 1
        if round(scaled, places) >= 1:
            return f"{MINUS if x < 0 else ''}{words[0]} {_digits(scaled, places, lang)} {word}"
    raise AssertionError(x)


def expected_text(raw: float, unit: str, kind: str, field: str, lang: str) -> str:
    """How the brief must show ``raw``, decided by the entry's unit only (never by its size)."""
    signed = field == "estimate"
    if unit == "log points":  # a percent change 100·(exp(x) − 1)
        return _digits(100 * math.expm1(raw), 1, lang, signed) + "%"
    if unit == "percentage points":  # already points: never rescaled
        return _digits(raw, 1, lang, signed) + (" poin persen" if lang == "id" else " percentage points")
    if unit == "IDR":
        return _idr(raw, lang)
    if unit == "share":
        return _digits(100 * raw, 1, lang) + "%"
    if kind == "pvalue":
        return "< " + _digits(0.001, 3, lang) if raw < 0.001 else _digits(raw, 3, lang)
    if kind == "count":
        return _digits(raw, 0, lang)
    if kind == "dec3":
        return _digits(raw, 3, lang)
    if kind == "pctchange1":
        return _digits(100 * math.expm1(raw), 1, lang, True) + "%"
    raise AssertionError((unit, kind))


# ----------------------------------------------------------------------------- inputs
def _entry(name, est, low, high, unit="log points", pvalue=None, **extra):
    inference = {"method": "cluster_robust", "n_treated_clusters": 40, "pvalue": pvalue, "details": {}}
    inference.update(extra.pop("inference", {}))
    return {"name": name, "estimate": est, "ci_low": low, "ci_high": high, "unit": unit, "label": name,
            "inference": inference, **extra}


def _write(directory, entries, extra=None):
    directory.mkdir(parents=True)
    (directory / "results.json").write_text(json.dumps({"report": "x", "parameters": {}, "results": entries,
                                                         **({"extra": extra} if extra else {})}))


@pytest.fixture
def inputs(tmp_path):
    """A service report whose SLA effect is −0.976 percentage points: the old rule "×100 when
    |x| ≤ 1" showed it as −97,6 pp."""
    _write(tmp_path / "svc", [
        _entry("att_log_median_days", 0.0614, 0.0301, 0.0927, pvalue=0.0002,
               inference={"details": {"pretrend": {"events": [-3, -2, -1], "stat": 4.1, "df": 3, "pvalue": 0.25},
                                      "estimators": [
                                          {"estimator": "imputation", "estimate": 0.0614, "ci_low": 0.0301,
                                           "ci_high": 0.0927, "pvalue": 0.0002},
                                          {"estimator": "cs", "estimate": 0.035, "ci_low": -0.01, "ci_high": 0.08,
                                           "pvalue": 0.13}]}}),
        _entry("att_sla_share", -0.976, -3.334, 1.381, unit="percentage points", pvalue=0.41),
        _entry("hazard_ratio_completion", 0.937, 0.91, 0.965, unit="ratio", pvalue=0.0001),
        _entry("diff_log_median_days__spbe_band", 0.05, -0.01, 0.11, pvalue=0.08,
               inference={"details": {"pvalue_holm": 0.16}}),
        _entry("diff_log_median_days__ekinerja", 0.09, 0.05, 0.13, pvalue=0.0001,
               inference={"details": {"pvalue_holm": 0.0003}}),
        _entry("diff_log_median_days__units", -0.2, -0.3, -0.1, pvalue=0.0001,
               inference={"details": {"pvalue_holm": 0.0002}}, ),
    ])
    savings = _entry("savings_idr_per_adopter_year", 1.84e9, 1.4e9, 2.27e9, unit="IDR",
                     inference={"method": "multiplier_bootstrap"},
                     estimand={"details": {"price_base_year": 2025, "categories": ["listrik", "atk"]}},
                     sample={"treated": ["11.01", "11.02"]})
    _write(tmp_path / "bud", [
        _entry("att_log_routine_spending", -0.0763, -0.0942, -0.0585, pvalue=1e-9,
               inference={"details": {"pretrend": {"events": [-2, -1], "pvalue": 0.004}}}),
        savings,
        _entry("projection_idr_per_year", 7.59e11, 5.6e11, 9.35e11, unit="IDR", inference={"method": "multiplier_bootstrap"}),
    ], extra={"placebo_joint_test": {"categories": ["penerangan_jalan", "pemeliharaan"], "pvalue": 0.96,
                                     "reject": False}})
    service, budget = brief.load_report_input(tmp_path, "svc"), brief.load_report_input(tmp_path, "bud")
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13) if not (y == 2026 and m > 10)]
    transfers = pd.DataFrame([(code, month, base * (0.8 if month.startswith("2026") else 1.0))
                              for code, base in (("11.01", 30e9), ("11.02", 20e9), ("11.03", 10e9))
                              for month in months], columns=["region_code", "period", "tkd_idr"])
    regions = pd.DataFrame({"region_code": ["11.01", "11.02", "11.03"], "population": [100_000, 200_000, 50_000]})
    budget_table = pd.DataFrame([(code, f"2025-{m:02d}", cat, 0, amount)
                                 for code, amount in (("11.01", 1e9), ("11.02", 2e9), ("11.03", 9e9))
                                 for m in range(1, 13) for cat in ("listrik", "atk", "pemeliharaan")],
                                columns=["region_code", "period", "category", "budget_idr", "realized_idr"])
    fiscal = fiscal_context(transfers, regions, budget_table, savings)
    return service, budget, fiscal, tmp_path


def _page(service, budget, fiscal, lang, out):
    judgement = brief_page.judge(service, budget)
    return judgement, (brief_page.key_messages(service, budget, judgement, fiscal, lang)
                       + brief_page.headline_table(service, budget, judgement, lang, out)
                       + brief_page.diagnostics_box(judgement, lang))


# ----------------------------------------------------------------------------- the rule
def test_verdict_rule_uses_the_corrected_pvalue_and_downgrades_on_a_failed_diagnostic():
    failed = rules.Diagnostic("pretrend", "fail", "service")
    passed = rules.Diagnostic("placebo", "pass", "spending")
    significant = {"estimate": 0.1, "ci_low": 0.05, "ci_high": 0.15, "inference": {"pvalue": 0.001}}
    assert rules.verdict(significant, +1, [passed]) == "supported"
    assert rules.verdict(significant, +1, [passed, failed]) == "tentative"
    assert rules.verdict(significant, -1) == "contrary"
    holm = {**significant, "inference": {"pvalue": 0.02, "details": {"pvalue_holm": 0.08}}}
    assert rules.verdict(holm, +1) == "inconclusive"  # the raw p would say "supported"
    assert rules.verdict(None, +1) == "no_evidence"
    bootstrapped = {"estimate": 2e9, "ci_low": -1e8, "ci_high": 4e9, "inference": {"pvalue": None}}
    assert rules.verdict(bootstrapped, +1) == "inconclusive"  # no p-value: the CI includes zero
    assert rules.verdict({**bootstrapped, "ci_low": 1e8}, +1) == "supported"
    placebo = rules.placebo_diagnostic({"placebo_joint_test": {"pvalue": 0.01}}, "spending")
    assert placebo.failed and rules.verdict(significant, +1, [placebo]) == "tentative"
    few = rules.cluster_diagnostic({"inference": {"n_treated_clusters": 8, "method": "cluster_robust"}}, "service")
    assert few.failed
    assert not rules.cluster_diagnostic({"inference": {"n_treated_clusters": 8,
                                                       "method": "randomization_inference"}}, "service").failed


def test_judgement_of_the_constructed_reports(inputs):
    service, budget, _fiscal, _ = inputs
    judgement = brief_page.judge(service, budget)
    assert judgement.verdicts["service"] == "tentative"  # CS disagrees on significance
    assert judgement.verdicts["sla"] == "inconclusive"
    assert judgement.verdicts["spending"] == "tentative"  # the spending pre-trend fails (p = 0.004)
    assert judgement.verdicts["digital_readiness"] == "inconclusive"  # Holm p 0.16 although raw p 0.08
    assert judgement.verdicts["performance_management"] == "supported"
    assert judgement.verdicts["coordination"] == "contrary"
    codes = {(d.subject, d.code): d.status for ds in judgement.diagnostics.values() for d in ds}
    assert codes[("service", "pretrend")] == "pass" and codes[("service", "estimators")] == "fail"
    assert codes[("spending", "pretrend")] == "fail" and codes[("spending", "placebo")] == "pass"
    entries = {e.name: e.estimate for e in brief.result_entries(brief_page.risk_verdicts(judgement))}
    assert entries == {"risk_digital_readiness": None, "risk_performance_management": 1.0, "risk_coordination": 0.0}


# ----------------------------------------------------------------------------- every number traced
def _lookup(source: str, field: str, reports: dict, fiscal: dict):
    if source.startswith("data/"):
        return {"tkd_cut": fiscal["tkd_cut_idr"], "routine": fiscal["routine_idr"]}[source.rsplit("/", 1)[1]]
    if source.startswith("share/"):
        _, numerator, denominator = source.split("/")
        saving = next(r.entries[numerator]["estimate"] for r in reports.values() if numerator in r.entries)
        return saving / {"tkd_cut": fiscal["tkd_cut_idr"], "routine": fiscal["routine_idr"]}[denominator]
    slug, name = source.split("/", 1)
    report = reports[slug]
    node = report.extra[name[len("extra."):]] if name.startswith("extra.") else report.entries[name]
    for part in field.split("."):
        if isinstance(node, list):
            node = next(row for row in node if row.get("estimator") == part)
        else:
            node = node[part]
    return node


SPAN = re.compile(r'<span((?:\s+[\w-]+="[^"]*")*)\s*>([^<]*)</span>')
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')


def traced_spans(page: str) -> list[tuple[dict, str]]:
    """``(attributes, text)`` of every ``<span class="num">`` (in any attribute order)."""
    found = []
    for attributes, text in SPAN.findall(page):
        attrs = {k: html.unescape(v) for k, v in ATTRIBUTE.findall(attributes)}
        if attrs.get("class") == "num":
            found.append((attrs, html.unescape(text)))
    return found


#: numbers the brief may show that quote no entry: the CI level, years, the rule's constants, table number
CONSTANTS = {"95", "2025", "2026", "0,05", "0.05", "20", "1"}


def check_numbers(page: str, reports: dict, fiscal: dict, lang: str) -> int:
    """Every number on ``page`` is a traced span whose value is its source's and whose text is
    the source unit's format; returns how many were checked."""
    spans = traced_spans(page)
    for attrs, text in spans:
        source, field = attrs["data-src"], attrs["data-field"]
        value = _lookup(source, field, reports, fiscal)
        assert float(attrs["data-raw"]) == pytest.approx(float(value), rel=1e-12), (source, field)
        assert text == expected_text(float(value), attrs["data-unit"], attrs["data-kind"], field, lang), (
            source, field, text)
    rest = re.sub(r"<[^>]+>", " ", re.sub(r'<span[^>]*class="num"[^>]*>[^<]*</span>', " ", page))
    rest = re.sub(r"\bIK 95%|95% CI|Tabel \d|Table \d", " ", html.unescape(rest))
    stray = [n for n in re.findall(r"\d[\d.,]*", rest) if n.rstrip(".,") not in CONSTANTS]
    assert not stray, f"numbers without a source: {stray}"
    return len(spans)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_number_of_the_brief_is_its_entry_in_the_entrys_unit(inputs, lang, tmp_path):
    service, budget, fiscal, _ = inputs
    _, page = _page(service, budget, fiscal, lang, tmp_path / lang)
    assert check_numbers(page, {"svc": service, "bud": budget}, fiscal, lang) >= 30
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    sla = {"id": f"{MINUS}1,0 poin persen", "en": f"{MINUS}1.0 percentage points"}[lang]
    assert sla in text and "97,6" not in text and "97.6" not in text
    # the table's download keeps numbers as numbers
    table = pd.read_csv(tmp_path / lang / "tables" / "headline-effects.csv")
    assert table.set_index("entry").loc["att_sla_share", "estimate"] == pytest.approx(-0.976)
    # ... and so does the Excel one, with the same rows, linked from the caption like the CSV
    workbook = pd.read_excel(tmp_path / lang / "tables" / "headline-effects.xlsx")
    pd.testing.assert_frame_equal(workbook, table, check_dtype=False)
    assert 'href="tables/headline-effects.xlsx"' in page and 'href="tables/headline-effects.csv"' in page


def test_the_old_rule_is_caught(inputs, tmp_path):
    """A brief that scaled points by 100 when |x| <= 1 fails the check."""
    service, budget, fiscal, _ = inputs
    _, page = _page(service, budget, fiscal, "id", tmp_path)
    wrong = page.replace(f">{MINUS}1,0 poin persen<", f">{MINUS}97,6 poin persen<")
    assert wrong != page
    with pytest.raises(AssertionError):
        check_numbers(wrong, {"svc": service, "bud": budget}, fiscal, "id")


def test_an_unknown_unit_is_an_error_not_a_guess():
    from analysis.analyses.brief_numbers import quote

    with pytest.raises(ValueError, match="unit"):
        quote({"estimate": 0.5, "unit": "share 0-1"}, "x/y", "id")


# ----------------------------------------------------------------------------- context and provenance
def test_savings_are_put_next_to_the_tkd_cut_and_routine_spending_of_the_adopters(inputs):
    _service, _budget, fiscal, _ = inputs
    # adopters 11.01 and 11.02: TKD 2025 of 360 and 240 miliar, cut 20% -> 72 and 48 miliar a year
    assert fiscal["scope"] == "adopters" and fiscal["n_pemda"] == 2
    assert fiscal["tkd_cut_idr"] == pytest.approx((72e9 + 48e9) / 2)
    # routine categories only (listrik, atk), 2025: 24 and 48 miliar
    assert fiscal["routine_idr"] == pytest.approx((24e9 + 48e9) / 2)


def test_banner_and_provenance(inputs, tmp_path):
    assert "DATA SINTETIS" in brief_page.banner(True, "id") and "SYNTHETIC DATA" in brief_page.banner(True, "en")
    assert brief_page.banner(False, "id") == ""

    class Real:
        extracted_at = pd.Timestamp("2026-10-31")
        metadata = {"source": "SIMPEL Kemendagri"}
        is_simulated = False

    facts = dataset_facts(Real())
    assert facts == {"as_of": "2026-10-31", "source": "SIMPEL Kemendagri", "simulated": False}
    box = brief_page.provenance_box(facts, {"authors": "Tim A", "contact": "a@b.id", "citation_year": 2026}, "", "id")
    assert "31 Oktober 2026" in box and "SIMPEL Kemendagri" in box and "Tim A (2026)" in box
    english = brief_page.provenance_box(facts, {"authors": "", "contact": "", "citation_year": 2026}, "", "en")
    assert "Suggested citation" in english and "Pemda WFA analysis team (2026)" in english


def test_pdf_pages_are_counted_from_page_objects(tmp_path):
    from analysis.report.pdf import page_count

    pdf = tmp_path / "x.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] >>\n2 0 obj << /Type /Page >>\n"
                    b"3 0 obj << /Type/Page /Parent 1 0 R >>\n%%EOF")
    assert page_count(pdf) == 2


def test_every_verdict_and_diagnostic_status_has_words_in_both_languages():
    from analysis.analyses.heterogeneity import RISKS
    from analysis.texts import t

    for lang in ("id", "en"):
        for verdict in rules.VERDICTS:
            assert t(f"90.verdict.{verdict}", lang) and t(f"90.answer.service.{verdict}", lang)
            for topic in (*RISKS, "law"):
                assert t(f"90.rec.{topic}.{verdict}", lang)
        for code in rules.DIAGNOSTICS:
            for status in ("pass", "fail", "missing"):
                assert t(f"90.diag.{code}.{status}", lang, subject="x", pvalue="x", list="x", n="x", threshold="x",
                         method="x", ratio="x", ci="x")
