"""``OUT/index.html``: every report with its status, headline and links, plus build provenance.

Self-contained (inline CSS, no scripts, no external assets), responsive, labels in both
Indonesian and English (catalogue keys ``ui.index.*``, shown as "Indonesian / English"). Reports
are grouped by the question they answer (:data:`GROUPS`: the policy brief first, then services,
budget, case studies, robustness, pilot design, data); a language switch at the top shows the
Indonesian reports (default) or the English ones (``index.html#en``; CSS only), reports without a
language always. A report's headline is formatted in the report's language: its words from
``label.result.<name>`` when the catalogue has the entry, else the entry's own label; counts carry
their unit in words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from analysis.report.output_folder import atomic_write_text
from analysis.texts import LANGUAGES, check_lang, has, t
from analysis.texts.numbers import format_value as number_text
from analysis.texts.numbers import interval

INDEX_HTML = "index.html"

#: The index's words (``ui.index.<key>``); each is shown as "Indonesian / English".
LABEL_KEYS = ("title", "report", "status", "headline", "links", "reviewer", "full", "provenance",
              "ok", "failed", "skipped", "not_run")
STATUSES = ("ok", "failed", "skipped", "not_run")
#: Index sections by question, in order: (code, notebook-name prefixes); ``ui.index.group_<code>``.
GROUPS = (("brief", ("90",)), ("services", ("10",)), ("budget", ("20",)), ("case_studies", ("30",)),
          ("robustness", ("35", "40")), ("pilot", ("50",)), ("data", ("00",)), ("other", ()))


def bilingual(key: str, **params) -> str:
    """``ui.index.<key>`` as "Indonesian / English" (one text when both are the same)."""
    texts = list(dict.fromkeys(t(f"ui.index.{key}", lang, **params) for lang in LANGUAGES))
    return " / ".join(texts)


#: Words of the build's own states and of the "what changed" section (``ui.index.<key>``) that
#: the page template shows as they are; sentences with numbers are filled where they are used.
PLAIN_TEXT_KEYS = ("withheld", "incomplete", "changes_title", "changes_reasons", "changes_no_reason",
                   "changes_no_previous", "changes_none", "col_report", "col_number", "col_previous",
                   "col_current", "col_within", "col_reasons", "yes", "no", "unknown", "flag", "language")


def bilingual_note(note: dict[str, Any]) -> str:
    """A note (``{"code", "params"}``, e.g. a change reason) as "Indonesian / English"."""
    return " / ".join(dict.fromkeys(t(f"note.{note['code']}", lang, **(note.get("params") or {}))
                                    for lang in LANGUAGES))


def reason_label(code: str) -> str:
    """The short name of a change reason (``label.change_reason.<code>``), "Indonesian / English"."""
    return " / ".join(dict.fromkeys(t(f"label.change_reason.{code}", lang) for lang in LANGUAGES))


_TEMPLATE = jinja2.Template(
    """<!DOCTYPE html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ labels.title }}</title>
<style>
:root { color-scheme: light; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0 auto; max-width: 72rem; padding: 0.75rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; }
.summary { margin: 0.5rem 0 1rem; }
ul.reports { list-style: none; padding: 0; margin: 0; display: grid; gap: 0.75rem;
  grid-template-columns: repeat(auto-fill, minmax(min(100%, 22rem), 1fr)); }
ul.reports li { border: 1px solid #ccc; border-radius: 6px; padding: 0.75rem; }
.lang-switch { display: flex; gap: 0.75rem; font-size: 0.95rem; margin: 0.25rem 0 0.75rem; }
.lang-switch a { padding: 0.15rem 0.6rem; border: 1px solid #2a6f97; border-radius: 1rem; text-decoration: none; }
body:not(:has(#en:target)) .lang-switch a[href="#id"], body:has(#en:target) .lang-switch a[href="#en"] {
  background: #2a6f97; color: #fff; }
body:has(#en:target) .lang-id, body:not(:has(#en:target)) .lang-en { display: none !important; }
section.group h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
.group-intro { margin: -0.25rem 0 0.5rem; color: #444; font-size: 0.95rem; }
.status { display: inline-block; font-size: 0.8rem; padding: 0.05rem 0.5rem; border-radius: 1rem; }
.status-ok, .status-skipped { background: #e3f4e6; color: #14532d; }
.status-failed { background: #fdecea; color: #8b0015; }
.status-not_run { background: #eee; }
.headline { margin: 0.4rem 0; }
.links a { margin-right: 1rem; }
.error { font: 0.85rem monospace; white-space: pre-wrap; color: #8b0015; }
.status-withheld { background: #fdecea; color: #8b0015; }
.incomplete { border: 2px solid #b26a00; background: #fff4e0; padding: 0.5rem 0.75rem; }
section.changes { margin-top: 2rem; overflow-x: auto; }
section.changes table { border-collapse: collapse; font-size: 0.9rem; }
section.changes td, section.changes th { text-align: left; vertical-align: top; padding: 0.2rem 0.5rem;
  border-bottom: 1px solid #ddd; }
tr.flagged { background: #fdecea; }
section.provenance { font-size: 0.85rem; margin-top: 2rem; overflow-x: auto; }
section.provenance td, section.provenance th { text-align: left; vertical-align: top; padding: 0.1rem 0.5rem; }
section.provenance td { overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  section.provenance th, section.provenance td { display: block; padding: 0.1rem 0; }
}
@media print {
  @page { size: A4; margin: 15mm 14mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  .lang-switch, .links a + a { display: none !important; }
  ul.reports { display: block; }
  ul.reports li { break-inside: avoid; page-break-inside: avoid; margin-bottom: 0.4rem; }
  section.group h2 { break-after: avoid; }
  section.changes, section.provenance { break-before: page; }
  a { color: inherit; }
}
</style>
</head>
<body>
<div id="en"></div><div id="id"></div>
<main>
<h1>{{ labels.title }}</h1>
<nav class="lang-switch" aria-label="{{ texts.language }}"><a href="#id" lang="id">Bahasa Indonesia</a><a href="#en" lang="en">English</a></nav>
{% if incomplete %}<p class="incomplete" role="status">{{ texts.incomplete }}</p>{% endif %}
<p class="summary">{{ summary }}</p>
{% for group in groups %}
<section class="group" id="group-{{ group.code }}">
<h2>{% for lang, words in group.titles %}<span class="lang-{{ lang }}" lang="{{ lang }}">{{ words }}</span>{% endfor %}</h2>
<ul class="reports">
{% for r in group.reports %}
<li class="report{% if r.lang %} lang-{{ r.lang }}{% endif %}" data-slug="{{ r.slug }}" data-status="{{ r.status }}"{% if r.lang %} lang="{{ r.lang }}"{% endif %}>
  <div><strong>{{ r.title }}</strong> <span class="status status-{{ r.status }}">{{ r.status_label }}</span></div>
  {% if r.headline %}<p class="headline">{{ r.headline }}</p>{% endif %}
  {% if r.error %}<p class="error">{{ r.error }}</p>{% endif %}
  <p class="links">
  {% if r.html %}<a href="{{ r.html }}">{{ r.reviewer_label or labels.reviewer }}</a>{% endif %}
  {% if r.full_html %}<a href="{{ r.full_html }}">{{ r.full_label or labels.full }}</a>{% endif %}
  </p>
</li>
{% endfor %}
</ul>
</section>
{% endfor %}
{% if changes %}
<section class="changes" id="changes">
<h2>{{ texts.changes_title }}</h2>
{% for line in changes.lines %}<p>{{ line }}</p>
{% endfor %}
{% if changes.reasons %}<h3>{{ texts.changes_reasons }}</h3>
<ul class="reasons">{% for reason in changes.reasons %}<li data-code="{{ reason.code }}">{{ reason.text }}</li>{% endfor %}</ul>{% endif %}
{% if changes.rows %}
<table>
<thead><tr><th>{{ texts.col_report }}</th><th>{{ texts.col_number }}</th><th>{{ texts.col_previous }}</th>
<th>{{ texts.col_current }}</th><th>{{ texts.col_within }}</th><th>{{ texts.col_reasons }}</th></tr></thead>
<tbody>
{% for row in changes.rows %}<tr class="{{ 'flagged' if row.flag else '' }}" data-report="{{ row.report }}" data-name="{{ row.name }}">
<td>{{ row.report }}</td><td>{{ row.name }}</td><td>{{ row.previous }}</td><td>{{ row.current }}</td>
<td>{{ row.within }}</td><td>{{ row.reasons }}{% if row.flag %} <strong class="flag">⚑ {{ texts.flag }}</strong>{% endif %}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}
</section>
{% endif %}
<section class="provenance">
<h2>{{ labels.provenance }}</h2>
<table>
{% for key, value in provenance %}<tr><th scope="row">{{ key }}</th><td>{{ value }}</td></tr>
{% endfor %}
</table>
</section>
</main>
</body>
</html>
""",
    autoescape=True,
)


#: Number format (``analysis.texts.numbers``) of a results.json unit; other units: ``dec3``.
UNIT_KINDS = {
    "idr": "idr", "rupiah": "idr", "rp": "idr", "days": "days1", "hari": "days1", "percent": "pct1",
    "%": "pct1", "persen": "pct1", "percentage points": "pp1", "pp": "pp1", "log points": "lp3",
    "pemda": "count", "requests": "count", "rows": "count", "months": "count", "count": "count",
}
#: An indicator entry's estimate → its verdict code (``label.verdict.<code>``).
VERDICTS = {1.0: "supported", 0.0: "not_supported", None: "no_evidence"}


def entry_label(entry: dict[str, Any], lang: str) -> str:
    """The words for a results.json entry: ``label.result.<name>`` if the catalogue has it, else
    the entry's label (a report outside the catalogue, e.g. a researcher's own notebook)."""
    key = f"label.result.{entry.get('name')}"
    return t(key, lang) if has(key, lang) else str(entry.get("label") or entry.get("name"))


#: Count units whose word follows the number (``ui.index.unit_<word>``): "2.402.757 permohonan".
UNIT_WORDS = {"pemda": "pemda", "requests": "requests", "rows": "rows", "months": "months"}


def format_value(entry: dict[str, Any], lang: str) -> str:
    """``estimate (ci_low to ci_high)`` of a results entry, formatted for its unit and language."""
    unit = str(entry.get("unit") or "").lower()
    kind = UNIT_KINDS.get(unit, "dec3")
    text = number_text(entry.get("estimate"), kind, lang)
    if unit in UNIT_WORDS and entry.get("ci_low") is None:
        text += " " + t(f"ui.index.unit_{UNIT_WORDS[unit]}", lang)
    if unit == "log points" and entry.get("estimate") is not None:  # also as the percent change it means
        text += " " + t("ui.index.approx_pct", lang, pct=entry["estimate"])
    if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
        text += " " + t("ui.index.interval", lang, interval=interval(entry["ci_low"], entry["ci_high"], kind, lang))
    return text


def format_entry(entry: dict[str, Any], lang: str) -> str:
    """``label: estimate (ci_low to ci_high)`` formatted for the unit and the language."""
    check_lang(lang)
    if str(entry.get("unit") or "").lower() == "indicator":  # a verdict
        verdict = VERDICTS.get(entry.get("estimate"), "no_evidence")
        return f"{entry_label(entry, lang)}: {t(f'label.verdict.{verdict}', lang)}"
    return f"{entry_label(entry, lang)}: {format_value(entry, lang)}"


def headline(results_path: Path, lang: str | None, name: str | None = None) -> str | None:
    """One line from a report's ``results.json``: the entry called ``name`` (reports.yaml
    ``headline``), else the first entry, formatted (None if absent)."""
    try:
        document = json.loads(Path(results_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entries = document.get("results") or []
    if not entries:
        return None
    chosen = next((entry for entry in entries if entry.get("name") == name), entries[0])
    try:
        if lang is None:  # a report without a language: its headline in both, like the index's words
            return " / ".join(format_entry(chosen, code) for code in LANGUAGES)
        return format_entry(chosen, lang)
    except (TypeError, ValueError, KeyError):
        return None


def _provenance_rows(build: dict[str, Any]) -> list[tuple[str, str]]:
    git = build.get("git") or {}
    commit = git.get("commit") or "-"
    if git.get("dirty"):
        commit += " (" + bilingual("dirty") + ")"
    rows = [
        ("git", commit),
        (bilingual("provenance_data"), build.get("data_label", "")),
        (bilingual("provenance_seed"), str(build.get("seed"))),
        (bilingual("provenance_started"), build.get("started_at", "")),
        (bilingual("provenance_duration"), str(build.get("duration_s", ""))),
        (bilingual("provenance_jobs"), str(build.get("jobs", ""))),
    ]
    rows += [(f"sha256 {name}", digest) for name, digest in sorted((build.get("inputs") or {}).items())]
    rows.append((bilingual("provenance_packages"), ", ".join(f"{k} {v}" for k, v in sorted((build.get("packages") or {}).items()) if v)))
    return rows


def _withheld_text(error: dict[str, Any]) -> str:
    problems = error.get("problems") or []
    codes = sorted({p.get("code", "") for p in problems})
    files = sorted({(p.get("params") or {}).get("file", "") for p in problems})
    return bilingual("withheld_reason", codes=codes, files=files)


def _report_rows(manifest: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    reports = []
    counts = {"ok": 0, "failed": 0}
    for record in manifest.get("reports", []):
        status = record.get("status", "not_run")
        if status in ("ok", "skipped"):
            counts["ok"] += 1
        elif status == "failed":
            counts["failed"] += 1
        outputs = record.get("outputs") or {}
        error = record.get("error") or {}
        withheld = bool(record.get("withheld"))
        shown_status = "withheld" if withheld else status if status in STATUSES else "not_run"
        if withheld:
            error_text = _withheld_text(error)
        else:
            error_text = f"{error.get('ename', '')}: {error.get('evalue', '')}".strip(": ") if error else ""
        reports.append(
            {
                "slug": record["slug"],
                "lang": record.get("lang"),
                "group": group_of(record.get("notebook") or ""),
                "reviewer_label": t("ui.index.reviewer", record["lang"]) if record.get("lang") in LANGUAGES else None,
                "full_label": t("ui.index.full", record["lang"]) if record.get("lang") in LANGUAGES else None,
                "title": record.get("title") or record["slug"],
                "status": shown_status,
                "status_label": (t(f"ui.index.{shown_status}", record["lang"]) if record.get("lang") in LANGUAGES
                                 else bilingual(shown_status)),
                "headline": record.get("headline"),
                "error": error_text,
                "html": f"{record['slug']}/{outputs['html']}" if outputs.get("html") else None,
                "full_html": f"{record['slug']}/{outputs['full_html']}" if outputs.get("full_html") else None,
            }
        )
    return reports, counts


def group_of(notebook: str) -> str:
    """The index section (:data:`GROUPS`) of a notebook, by its number prefix."""
    return next((code for code, prefixes in GROUPS if notebook[:2] in prefixes), "other")


def _groups(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups = []
    for code, _ in GROUPS:
        members = [r for r in reports if r["group"] == code]
        if members:
            groups.append({"code": code, "reports": members,
                           "titles": [(lang, t(f"ui.index.group_{code}", lang)) for lang in LANGUAGES]})
    return groups


def _changes_view(changes: dict[str, Any], langs: dict[str, str]) -> dict[str, Any]:
    """What the "what changed" section shows: lines, reasons, and a row per moved headline number
    (the reports.yaml ``headline`` entry of each report) and per flagged number; every moved
    number is in ``changes.json``."""
    if changes.get("status") == "no_previous":
        return {"lines": [bilingual("changes_no_previous")], "reasons": [], "rows": []}
    previous, current = changes.get("previous") or {}, changes.get("current") or {}
    lines = [bilingual("changes_compared", previous=previous.get("build_id") or "–",
                       previous_as_of=previous.get("data_as_of") or "–",
                       current_as_of=current.get("data_as_of") or "–")]
    numbers = changes.get("numbers") or []
    moved = [n for n in numbers if n.get("moved")]
    if changes.get("status") == "no_change":
        lines.append(bilingual("changes_none"))
    else:
        lines.append(bilingual("changes_moved", moved=len(moved), flagged=sum(bool(n.get("flag")) for n in moved),
                               unchanged=len(numbers) - len(moved)))
    reasons = [
        {"code": r["code"], "text": bilingual_note(r)}
        for r in changes.get("reasons") or []
    ]
    shown_numbers = [n for n in moved if n.get("headline") or n.get("flag")]
    if len(shown_numbers) < len(moved):
        lines.append(bilingual("changes_more", more=len(moved) - len(shown_numbers)))
    rows = []
    for number in sorted(shown_numbers, key=lambda n: (not n.get("flag"), n["report"], n["name"])):
        lang = langs.get(number["report"]) or "id"
        within = number.get("within_previous_ci")

        def shown(values):
            return format_value({**values, "unit": number.get("unit")}, lang) if values else bilingual("unknown")

        rows.append({
            "report": number["report"],
            "name": number["name"],
            "previous": shown(number.get("previous")),
            "current": shown(number.get("current")),
            "within": bilingual("unknown") if within is None else bilingual("yes" if within else "no"),
            "reasons": ", ".join(reason_label(code) for code in number.get("reasons") or [])
            or bilingual("changes_no_reason"),
            "flag": bool(number.get("flag")),
        })
    return {"lines": lines, "reasons": reasons, "rows": rows}


def write_index(out_dir: Path, manifest: dict[str, Any], changes: dict[str, Any] | None = None) -> Path:
    """Write ``OUT/index.html`` (atomically) from the build manifest and, when given, the
    comparison with the previous build (``changes.json``); return its path."""
    out_dir = Path(out_dir)
    reports, counts = _report_rows(manifest)
    summary = bilingual("summary", ok=counts["ok"], failed=counts["failed"], total=len(reports))
    langs = {r["slug"]: r.get("lang") for r in manifest.get("reports", [])}
    build = manifest.get("build", {})
    page = _TEMPLATE.render(
        labels={key: bilingual(key) for key in LABEL_KEYS}, texts={key: bilingual(key) for key in PLAIN_TEXT_KEYS},
        groups=_groups(reports), summary=summary, provenance=_provenance_rows(build),
        incomplete=build.get("complete") is False, changes=_changes_view(changes, langs) if changes else None,
    )
    return atomic_write_text(out_dir / INDEX_HTML, page)
