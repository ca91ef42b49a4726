"""The policy brief's page: verdicts by the written rule (:mod:`analysis.analyses.brief_rules`),
the key-messages box, the headline table, the diagnostics box and the provenance box, as HTML in
one language. Words come from the catalogue (``90.*``), numbers from
:mod:`analysis.analyses.brief_numbers` (each traceable to its ``results.json`` entry).
"""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mistune import html as markdown

from analysis.analyses import brief_rules as rules
from analysis.analyses.brief_context import share
from analysis.analyses.brief_numbers import quote, quote_fact, quote_interval, trace
from analysis.analyses.heterogeneity import RISKS
from analysis.report.exhibits import write_xlsx
from analysis.texts import t
from analysis.texts.numbers import format_value

SERVICE = "att_log_median_days"
SLA = "att_sla_share"
HAZARD = "hazard_ratio_completion"
SPENDING = "att_log_routine_spending"
SAVINGS = "savings_idr_per_adopter_year"
PROJECTION = "projection_idr_per_year"
DIFFERENCE = "diff_log_median_days__{split}"

#: The table's rows: (row code, input, entry name, direction the brief asks about).
ROWS = (("service", "service", SERVICE, +1), ("sla", "service", SLA, -1),
        ("spending", "budget", SPENDING, -1), ("savings", "budget", SAVINGS, +1),
        ("projection", "budget", PROJECTION, +1),
        *((risk, "service", DIFFERENCE.format(split=split), +1) for risk, split in RISKS.items()))


@dataclass
class Judgement:
    """Verdict code per row (:data:`ROWS`) and the diagnostics per subject."""

    verdicts: dict[str, str] = field(default_factory=dict)
    diagnostics: dict[str, list] = field(default_factory=dict)


def judge(service, budget) -> Judgement:
    """Apply the rule to every row: the service rows carry the service diagnostics (pre-trend,
    estimator agreement, treated Pemda, hazard ratio), the budget rows the spending diagnostics
    (pre-trend, placebo, treated Pemda); each risk test carries the service pre-trend and its
    own treated-Pemda check."""
    s_head = service.entries.get(SERVICE)
    b_head = budget.entries.get(SPENDING)
    diags = {
        "service": [_sourced(rules.pretrend_diagnostic(s_head, "service"), _src(service, SERVICE)),
                    _sourced(rules.estimator_diagnostic(s_head, "service"), _src(service, SERVICE)),
                    _sourced(rules.cluster_diagnostic(s_head, "service"), _src(service, SERVICE)),
                    _sourced(rules.hazard_diagnostic(service.entries.get(HAZARD), "service"), _src(service, HAZARD))],
        "spending": [_sourced(rules.pretrend_diagnostic(b_head, "spending"), _src(budget, SPENDING)),
                     _sourced(rules.placebo_diagnostic(getattr(budget, "extra", None), "spending"),
                              f"{budget.slug}/extra.placebo_joint_test"),
                     _sourced(rules.cluster_diagnostic(b_head, "spending"), _src(budget, SPENDING))],
    }
    verdicts = {}
    for code, source, name, direction in ROWS:
        entry = (service if source == "service" else budget).entries.get(name)
        if code in RISKS:
            checks = [diags["service"][0], rules.cluster_diagnostic(entry, "service")]
        else:
            checks = diags["service" if source == "service" else "spending"]
        verdicts[code] = rules.verdict(entry, direction, checks)
    return Judgement(verdicts, diags)


def _sourced(diagnostic, source: str):
    """The diagnostic with the source its numbers come from (``params["source"]``)."""
    return rules.Diagnostic(diagnostic.code, diagnostic.status, diagnostic.subject,
                            {**diagnostic.params, "source": source})


def _md(text: str) -> str:
    return markdown(text).strip()


def _inline(text: str) -> str:
    """Markdown of one paragraph without its ``<p>``."""
    out = _md(text)
    return out[3:-4] if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1 else out


def _src(report, name: str) -> str:
    return f"{report.slug}/{name}"


def _value(report, name: str, lang: str) -> str:
    """``+7,4% (IK 95%: 4,1% s.d. 10,9%)`` of one entry."""
    entry = report.entries.get(name)
    if not entry:
        return t("90.value.missing", lang)
    return t("90.value.shown", lang, estimate=quote(entry, _src(report, name), lang),
             ci=quote_interval(entry, _src(report, name), lang))


def _pvalue(entry: dict | None, lang: str, source: str = "") -> str:
    """The p-value the verdict used (Holm-adjusted when recorded), traceable to its field."""
    p = rules.verdict_pvalue(entry)
    if p is None:
        return "–"
    holm = (((entry or {}).get("inference") or {}).get("details") or {}).get("pvalue_holm") is not None
    return trace(p, "pvalue", lang, src=source, field="inference.details.pvalue_holm" if holm else "inference.pvalue")


def _relation(p: float | None, shown: str) -> str:
    """``= 0,375`` or ``< 0,001`` (the formatted p-value carries its own ``<``)."""
    return shown if p is not None and p < 0.001 else f"= {shown}"


def key_messages(service, budget, judgement: Judgement, fiscal: dict, lang: str) -> str:
    """The key-messages box: (a) does WFA slow services, (b) what it saves and against what,
    (c) under which conditions, (d) what Komisi II should recommend."""
    v = judgement.verdicts
    savings = budget.entries.get(SAVINGS) or {}
    cut_share = share(savings.get("estimate"), fiscal.get("tkd_cut_idr"))
    routine_share = share(savings.get("estimate"), fiscal.get("routine_idr"))
    data_src = f"data/{fiscal.get('scope')}"
    context = ("shown" if cut_share is not None and routine_share is not None else "missing")
    conditions = " ".join(
        t("90.key.condition", lang, risk=t(f"90.risk.{risk}", lang), verdict=t(f"90.verdict.{v[risk]}", lang),
          value=_value(service, DIFFERENCE.format(split=split), lang),
          pvalue=_relation(rules.verdict_pvalue(service.entries.get(DIFFERENCE.format(split=split))),
                           _pvalue(service.entries.get(DIFFERENCE.format(split=split)), lang,
                                   _src(service, DIFFERENCE.format(split=split)))))
        for risk, split in RISKS.items())
    items = [
        t("90.key.service", lang, answer=t(f"90.answer.service.{v['service']}", lang),
          verdict=t(f"90.verdict.{v['service']}", lang), service=_value(service, SERVICE, lang),
          sla=_value(service, SLA, lang)),
        t("90.key.savings", lang, verdict=t(f"90.verdict.{v['savings']}", lang), savings=_value(budget, SAVINGS, lang),
          context=t(f"90.key.context.{context}", lang,
                    cut_share=quote_fact(cut_share, "frac1", lang, src=f"share/{SAVINGS}/tkd_cut", unit="share"),
                    cut=quote_fact(fiscal.get("tkd_cut_idr"), "idr", lang, src=f"{data_src}/tkd_cut", unit="IDR"),
                    routine_share=quote_fact(routine_share, "frac1", lang, src=f"share/{SAVINGS}/routine",
                                             unit="share"),
                    routine=quote_fact(fiscal.get("routine_idr"), "idr", lang, src=f"{data_src}/routine",
                                       unit="IDR"),
                    scope=t(f"90.scope.{fiscal.get('scope')}", lang), base_year=str(fiscal.get("base_year") or "–"),
                    cut_year=str(fiscal.get("cut_year")))),
        t("90.key.conditions", lang, conditions=conditions),
    ]
    recommendations = [t(f"90.rec.{risk}.{v[risk]}", lang) for risk in RISKS]
    recommendations.append(t(f"90.rec.law.{v['service']}", lang))
    body = "".join(f"<li>{_md(item)}</li>" for item in items)
    recs = "".join(f"<li>{_md(item)}</li>" for item in recommendations)
    return (f'<section class="brief-box brief-key" aria-labelledby="brief-key-title">'
            f'<h2 id="brief-key-title">{html.escape(t("90.heading.key", lang))}</h2><ol class="brief-questions">{body}'
            f'<li>{_md(t("90.key.recommend", lang))}<ol class="brief-recs">{recs}</ol></li></ol></section>')


def headline_table(service, budget, judgement: Judgement, lang: str, output_dir: Path, number: int = 1) -> str:
    """Table ``number``: each judged number with its interval, p-value and verdict word; its
    numbers are also written as ``tables/headline-effects.csv`` and ``.xlsx`` (numbers as numbers,
    codes), linked from the caption like every other table's downloads."""
    rows, records = [], []
    for code, source, name, _direction in ROWS:
        report = service if source == "service" else budget
        entry = report.entries.get(name)
        if not entry:
            continue
        verdict = judgement.verdicts[code]
        label = {c: html.escape(t(f"90.column.{c}", lang), quote=True) for c in ("estimate", "ci", "pvalue", "verdict")}
        rows.append(
            f"<tr><th scope=\"row\">{html.escape(t(f'90.row.{code}', lang))}</th>"
            f"<td data-label=\"{label['estimate']}\">{quote(entry, _src(report, name), lang)}</td>"
            f"<td data-label=\"{label['ci']}\">{quote_interval(entry, _src(report, name), lang)}</td>"
            f"<td data-label=\"{label['pvalue']}\">{_pvalue(entry, lang, _src(report, name))}</td>"
            f"<td data-label=\"{label['verdict']}\" class=\"verdict verdict-{verdict}\">"
            f"{html.escape(t(f'90.verdict.{verdict}', lang))}</td></tr>")
        records.append({"row": code, "report": report.slug, "entry": name, "unit": entry.get("unit"),
                        "estimate": entry.get("estimate"), "ci_low": entry.get("ci_low"),
                        "ci_high": entry.get("ci_high"), "pvalue": rules.verdict_pvalue(entry), "verdict": verdict})
    tables = Path(output_dir) / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    fields = ["row", "report", "entry", "unit", "estimate", "ci_low", "ci_high", "pvalue", "verdict"]
    with open(tables / "headline-effects.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    write_xlsx(pd.DataFrame(records, columns=fields), tables / "headline-effects.xlsx", "headline-effects")
    head = "".join(f"<th scope=\"col\">{html.escape(t(f'90.column.{c}', lang))}</th>"
                   for c in ("measure", "estimate", "ci", "pvalue", "verdict"))
    caption = (f"<strong>{html.escape(t('label.exhibit.table', lang, number=number))}.</strong> "
               f"{html.escape(t('caption.90.headline', lang))} "
               f"(<a href=\"tables/headline-effects.csv\" download>{html.escape(t('90.download_csv', lang))}</a>, "
               f"<a href=\"tables/headline-effects.xlsx\" download>{html.escape(t('90.download_xlsx', lang))}</a>)")
    return (f'<figure class="exhibit exhibit-table brief-table" id="tab-headline-effects"><figcaption>{caption}'
            f'</figcaption><div class="table-scroll"><table class="dataframe"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></figure>')


def _diagnostic_text(d, lang: str) -> str:
    p, src = d.params, d.params.get("source", "")
    params = {"subject": t(f"90.subject.{d.subject}", lang)}
    if d.code in ("pretrend", "placebo"):
        field = "inference.details.pretrend.pvalue" if d.code == "pretrend" else "pvalue"
        params["pvalue"] = (_relation(p["pvalue"], trace(p["pvalue"], "pvalue", lang, src=src, field=field))
                            if d.status != "missing" else "–")
    if d.code == "estimators" and d.status != "missing":
        params["list"] = "; ".join(
            t("90.diag.estimator_item", lang, estimator=t(f"label.estimator.{name}", lang),
              estimate=trace(est, "pctchange1", lang, src=src, field=f"inference.details.estimators.{name}.estimate"),
              pvalue=_relation(pv, trace(pv, "pvalue", lang, src=src,
                                         field=f"inference.details.estimators.{name}.pvalue")))
            for name, est, _lo, _hi, pv in p["estimators"])
    if d.code == "clusters" and d.status != "missing":
        method = p["method"] if p["method"] in ("cluster_robust", "randomization", "randomization_inference", "multiplier_bootstrap",
                                                 "wild_cluster_bootstrap") else "other"
        params.update(n=trace(p["n_treated"], "count", lang, src=src, field="inference.n_treated_clusters"),
                      threshold=format_value(p["threshold"], "count", lang), method=t(f"90.method.{method}", lang))
    if d.code == "hazard" and d.status != "missing":
        params.update(ratio=trace(p["ratio"], "dec3", lang, src=src, field="estimate"),
                      ci=f"{trace(p['ci'][0], 'dec3', lang, src=src, field='ci_low')} {t('unit.range', lang)} "
                         f"{trace(p['ci'][1], 'dec3', lang, src=src, field='ci_high')}")
    return t(f"90.diag.{d.code}.{d.status}", lang, **params)


def diagnostics_box(judgement: Judgement, lang: str) -> str:
    """The diagnostics box: one line per check, a failed one marked and naming the number it
    qualifies."""
    items = []
    for subject in ("service", "spending"):
        for d in judgement.diagnostics[subject]:
            mark = {"pass": "✓", "fail": "⚠", "missing": "–"}[d.status]
            status = html.escape(t(f"90.status.{d.status}", lang))
            items.append(f'<li class="diag diag-{d.status}"><span class="diag-mark" aria-hidden="true">{mark}</span> '
                         f'<strong>{status}.</strong> {_inline(_diagnostic_text(d, lang))}</li>')
    return (f'<section class="brief-box brief-diagnostics" aria-labelledby="brief-diag-title">'
            f'<h2 id="brief-diag-title">{html.escape(t("90.heading.diagnostics", lang))}</h2>'
            f'<ul>{"".join(items)}</ul><p class="brief-rule">{_inline(rule_text(lang))}</p></section>')


def rule_text(lang: str) -> str:
    """The verdict rule in plain language (the constants of :mod:`brief_rules`)."""
    return t("90.rule", lang, alpha=rules.ALPHA, threshold=rules.FEW_TREATED_PEMDA)


def pdf_link(output_dir, lang: str) -> str:
    """A link to the brief's A4 PDF the build prints next to the page (``<slug>.pdf``, the slug
    being the output folder's name); '' when no Chromium can print it."""
    from analysis.report.pdf import chromium, pdf_name

    if chromium() is None:
        return ""
    name = pdf_name(Path(output_dir).name)
    return (f'<p class="brief-pdf-link"><a href="{html.escape(name, quote=True)}">'
            f'{html.escape(t("90.download_pdf", lang))}</a></p>')


def banner(simulated: bool, lang: str) -> str:
    """The synthetic-data banner ('' for real data)."""
    if not simulated:
        return ""
    return f'<div class="brief-banner synthetic-banner" role="note">{html.escape(t("90.banner", lang))}</div>'


def provenance_box(facts: dict, people: dict, changes_sentence: str, lang: str) -> str:
    """Data as of, source, what moved since the last build, authors and contact, suggested
    citation."""
    source = (t("90.source.simulated", lang, version=str(facts.get("generator_version") or "–"))
              if facts.get("simulated") else (facts.get("source") or t("90.source.unknown", lang)))
    as_of = format_value(facts["as_of"], "date", lang) if facts.get("as_of") else "–"
    lines = [t("90.about.data", lang, as_of=as_of, source=source)]
    if changes_sentence:
        lines.append(changes_sentence)
    if people.get("authors"):
        lines.append(t("90.about.authors", lang, authors=people["authors"], contact=people.get("contact") or "–"))
    lines.append(t("90.about.citation", lang, authors=people.get("authors") or t("90.about.anonymous", lang),
                   year=str(people.get("citation_year") or "–"), as_of=as_of,
                   title=t("90.title", lang)))
    body = "".join(f"<p>{_inline(line)}</p>" for line in lines)
    return (f'<section class="brief-box brief-about" aria-labelledby="brief-about-title">'
            f'<h2 id="brief-about-title">{html.escape(t("90.heading.about", lang))}</h2>{body}</section>')


def changes_sentence(changes, lang: str) -> str:
    """One sentence on what moved since the last recorded build ('' without one)."""
    if changes is None or changes.status == "no_previous":
        return ""
    previous = changes.previous or {}
    as_of = previous.get("data_as_of")
    reasons = sorted({note.code for note in changes.reasons})
    words = ", ".join(t(f"label.change_reason.{code}", lang) for code in reasons) or t("90.changes.no_reason", lang)
    if not changes.moved:
        return t("90.changes.none", lang, previous_as_of=format_value(as_of, "date", lang) if as_of else "–")
    return t("90.changes.sentence", lang, moved=len(changes.moved), flagged=len(changes.flagged),
             previous_as_of=format_value(as_of, "date", lang) if as_of else "–", reasons=words)


def risk_verdicts(judgement: Judgement):
    """``risk, verdict`` per risk (for :func:`analysis.analyses.brief.result_entries`)."""
    import pandas as pd

    return pd.DataFrame([(risk, judgement.verdicts.get(risk, "no_evidence")) for risk in RISKS],
                        columns=["risk", "verdict"])
