"""``OUT/index.html``: every report with its status, headline and links, plus build provenance.

Self-contained (inline CSS, no scripts, no external assets), responsive, labels in both
Indonesian and English.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from analysis.report.config import fill_placeholders
from analysis.report.output_folder import atomic_write_text
from analysis.texts.formatting import format_days, format_idr, format_interval, format_number, format_pct

INDEX_HTML = "index.html"

#: bilingual labels: "Indonesian / English"
LABELS = {
    "title": "Laporan studi WFA Pemda / Pemda WFA study reports",
    "report": "Laporan / Report",
    "status": "Status",
    "headline": "Temuan utama / Headline",
    "links": "Tautan / Links",
    "reviewer": "Laporan / Report",
    "full": "Dengan kode / With code",
    "provenance": "Asal-usul / Provenance",
    "ok": "berhasil / ok",
    "failed": "gagal / failed",
    "skipped": "tidak berubah / unchanged",
    "not_run": "belum dijalankan / not run",
    "summary": "{ok} berhasil, {failed} gagal, dari {total} laporan / {ok} ok, {failed} failed, of {total} reports",
}

# --------------------------------------------------------------------------------------------
# Words of the build's own states and of the "what changed" section (issue #14, #16).
# Kept here, in one place, until the text catalogue (analysis.texts.t) takes them over: keys
# are the catalogue keys they are meant to become ("index.<key>"; reasons "change.reason.<code>").
# --------------------------------------------------------------------------------------------
BUILD_TEXTS = {
    "withheld": "ditahan (data pribadi) / withheld (personal data)",
    "withheld_reason": "Laporan ditahan: pemeriksaan data pribadi menemukan {codes} di {files}; tidak ada berkasnya "
                       "yang disimpan. / Report withheld: the personal-data check found {codes} in {files}; none of "
                       "its files was kept.",
    "incomplete": "Build ini belum selesai atau terhenti; laporan yang tercantum adalah hasil lengkap terakhir "
                  "masing-masing. / This build has not finished or was interrupted; each report listed is its last "
                  "complete run.",
    "changes_title": "Apa yang berubah sejak build sebelumnya / What changed since the previous build",
    "changes_compared": "Dibandingkan dengan build {previous} (data per {previous_as_of}); build ini: data per "
                        "{current_as_of}. / Compared with build {previous} (data as of {previous_as_of}); this build: "
                        "data as of {current_as_of}.",
    "changes_no_previous": "Belum ada build sebelumnya untuk dibandingkan. / No previous build to compare with.",
    "changes_none": "Tidak ada perubahan: data, kode dan angka sama. / No change: same data, code and numbers.",
    "changes_reasons": "Alasan yang dapat dipastikan / Reasons the build can establish",
    "changes_no_reason": "tidak ada alasan dari data atau kode / no data or code reason",
    "changes_moved": "{moved} angka berubah, {flagged} ditandai untuk diperiksa; {unchanged} tidak berubah. / "
                     "{moved} numbers moved, {flagged} flagged for review; {unchanged} unchanged.",
    "changes_more": "Tabel ini memuat angka utama tiap laporan dan angka yang ditandai; {more} angka lain yang "
                    "berubah ada di changes.json. / The table shows each report's headline number and the flagged "
                    "ones; {more} other numbers that moved are in changes.json.",
    "col_report": "Laporan / Report",
    "col_number": "Angka / Number",
    "col_previous": "Sebelumnya / Previous",
    "col_current": "Sekarang / Now",
    "col_within": "Dalam CI sebelumnya? / Within previous CI?",
    "col_reasons": "Alasan / Reasons",
    "yes": "ya / yes",
    "no": "tidak / no",
    "unknown": "–",
    "flag": "periksa: berubah melampaui CI tanpa alasan / review: moved beyond the CI with no reason",
}

REASON_TEXTS = {
    "extraction_date_changed": "tanggal ekstraksi {previous} → {current} / extraction date {previous} → {current}",
    "new_months": "bulan baru di {table}: {months} / new months in {table}: {months}",
    "months_removed": "bulan hilang dari {table}: {months} / months no longer in {table}: {months}",
    "new_adopters": "Pemda pengadopsi baru: {region_codes} / new adopters: {region_codes}",
    "removed_adopters": "Pemda keluar dari registri: {region_codes} / adopters removed from the registry: {region_codes}",
    "ended_adopters": "WFA berakhir: {region_codes} / WFA ended: {region_codes}",
    "rows_added": "{table}: baris diterima {previous} → {current} / {table}: rows accepted {previous} → {current}",
    "rows_removed": "{table}: baris diterima {previous} → {current} / {table}: rows accepted {previous} → {current}",
    "rows_rejected_changed": "{table}: baris ditolak {previous} → {current} / {table}: rows rejected {previous} → {current}",
    "rows_changed": "{table}: isi baris dikoreksi (jumlah sama) / {table}: rows corrected (same counts)",
    "files_changed": "berkas data lain berubah: {files} / other data files changed: {files}",
    "data_unreadable": "data tidak terbaca / data could not be read",
    "parameters_changed": "parameter berubah: {reports} / parameters changed: {reports}",
    "code_changed": "kode analisis berubah / analysis code changed",
    "packages_changed": "versi pustaka berubah: {packages} / library versions changed: {packages}",
}

#: short names of the reasons, for the table of moved numbers
REASON_LABELS = {
    "extraction_date_changed": "tanggal ekstraksi / extraction date",
    "new_months": "bulan baru / new months",
    "months_removed": "bulan hilang / months removed",
    "new_adopters": "pengadopsi baru / new adopters",
    "removed_adopters": "pengadopsi dihapus / adopters removed",
    "ended_adopters": "WFA berakhir / WFA ended",
    "rows_added": "baris bertambah / rows added",
    "rows_removed": "baris berkurang / rows removed",
    "rows_rejected_changed": "baris ditolak berubah / rejected rows changed",
    "rows_changed": "baris dikoreksi / rows corrected",
    "files_changed": "berkas data / data files",
    "data_unreadable": "data tak terbaca / data unreadable",
    "parameters_changed": "parameter",
    "code_changed": "kode analisis / analysis code",
    "packages_changed": "versi pustaka / library versions",
}
# --------------------------------------------------------------------------------------------

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
.slug { font: 0.8rem monospace; color: #555; overflow-wrap: anywhere; }
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
section.provenance td, section.provenance th { text-align: left; vertical-align: top; padding: 0.1rem 0.5rem;
  overflow-wrap: anywhere; }
</style>
</head>
<body>
<main>
<h1>{{ labels.title }}</h1>
{% if incomplete %}<p class="incomplete" role="status">{{ texts.incomplete }}</p>{% endif %}
<p class="summary">{{ summary }}</p>
<ul class="reports">
{% for r in reports %}
<li class="report" data-slug="{{ r.slug }}" data-status="{{ r.status }}">
  <div><strong>{{ r.title }}</strong> <span class="status status-{{ r.status }}">{{ r.status_label }}</span></div>
  <div class="slug">{{ r.slug }}</div>
  {% if r.headline %}<p class="headline">{{ r.headline }}</p>{% endif %}
  {% if r.error %}<p class="error">{{ r.error }}</p>{% endif %}
  <p class="links">
  {% if r.html %}<a href="{{ r.html }}">{{ labels.reviewer }}</a>{% endif %}
  {% if r.full_html %}<a href="{{ r.full_html }}">{{ labels.full }}</a>{% endif %}
  </p>
</li>
{% endfor %}
</ul>
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


#: Units of whole counts (shown without decimals).
COUNT_UNITS = ("pemda", "requests", "rows", "months", "count", "permohonan", "baris")


def _formatter(unit: str):
    if unit in ("idr", "rupiah", "rp"):
        return format_idr
    if unit in ("days", "hari"):
        return format_days
    if unit in ("percent", "%", "persen"):
        return format_pct
    if unit in COUNT_UNITS:
        return lambda v, l: format_number(v, l, 0) if v is not None else "–"
    if unit in ("percentage points", "pp"):
        return lambda v, l: format_number(v, l, 1) + " pp" if v is not None else "–"
    return lambda v, l: format_number(v, l, 3) if v is not None else "–"


def format_value(entry: dict[str, Any], lang: str) -> str:
    """``estimate [ci_low; ci_high]`` of a results entry, formatted for its unit and language."""
    unit = str(entry.get("unit") or "").lower()
    formatter = _formatter(unit)
    text = formatter(entry.get("estimate"), lang)
    if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
        text += " " + format_interval(entry["ci_low"], entry["ci_high"], formatter, lang)
    if unit and formatter not in (format_idr, format_days, format_pct) and unit not in ("percentage points", "pp", *COUNT_UNITS):
        text += f" ({unit})"
    return text


def format_entry(entry: dict[str, Any], lang: str) -> str:
    """``label: estimate [ci_low; ci_high]`` formatted for the unit and the language."""
    unit = str(entry.get("unit") or "").lower()
    if unit == "indicator":  # a verdict: the label says it all (e.g. "digital_readiness: supported")
        return str(entry.get("label") or entry.get("name"))
    return f"{entry.get('label') or entry.get('name')}: {format_value(entry, lang)}"


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
        return format_entry(chosen, lang if lang in ("id", "en") else "id")
    except (TypeError, ValueError, KeyError):
        return None


def _provenance_rows(build: dict[str, Any]) -> list[tuple[str, str]]:
    git = build.get("git") or {}
    commit = git.get("commit") or "-"
    if git.get("dirty"):
        commit += " (dirty / ada perubahan belum di-commit)"
    rows = [
        ("git", commit),
        ("data", build.get("data_label", "")),
        ("seed", str(build.get("seed"))),
        ("started / mulai", build.get("started_at", "")),
        ("duration / durasi (s)", str(build.get("duration_s", ""))),
        ("jobs", str(build.get("jobs", ""))),
    ]
    rows += [(f"sha256 {name}", digest) for name, digest in sorted((build.get("inputs") or {}).items())]
    rows.append(("packages", ", ".join(f"{k} {v}" for k, v in sorted((build.get("packages") or {}).items()) if v)))
    return rows


def _fill(template: str, params: dict[str, Any]) -> str:
    """``{name}`` placeholders of a text filled by plain substitution (lists joined by commas)."""
    values = {k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v) for k, v in params.items()}
    return fill_placeholders(template, values)


def _withheld_text(error: dict[str, Any]) -> str:
    problems = error.get("problems") or []
    codes = sorted({p.get("code", "") for p in problems})
    files = sorted({(p.get("params") or {}).get("file", "") for p in problems})
    return _fill(BUILD_TEXTS["withheld_reason"], {"codes": codes, "files": files})


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
        shown_status = "withheld" if withheld else status if status in LABELS else "not_run"
        if withheld:
            error_text = _withheld_text(error)
        else:
            error_text = f"{error.get('ename', '')}: {error.get('evalue', '')}".strip(": ") if error else ""
        reports.append(
            {
                "slug": record["slug"],
                "title": record.get("title") or record["slug"],
                "status": shown_status,
                "status_label": BUILD_TEXTS["withheld"] if withheld else LABELS[shown_status],
                "headline": record.get("headline"),
                "error": error_text,
                "html": f"{record['slug']}/{outputs['html']}" if outputs.get("html") else None,
                "full_html": f"{record['slug']}/{outputs['full_html']}" if outputs.get("full_html") else None,
            }
        )
    return reports, counts


def _changes_view(changes: dict[str, Any], langs: dict[str, str]) -> dict[str, Any]:
    """What the "what changed" section shows: lines, reasons, and a row per moved headline number
    (the reports.yaml ``headline`` entry of each report) and per flagged number; every moved
    number is in ``changes.json``."""
    if changes.get("status") == "no_previous":
        return {"lines": [BUILD_TEXTS["changes_no_previous"]], "reasons": [], "rows": []}
    previous, current = changes.get("previous") or {}, changes.get("current") or {}
    lines = [_fill(BUILD_TEXTS["changes_compared"], {
        "previous": previous.get("build_id") or "–",
        "previous_as_of": previous.get("data_as_of") or "–",
        "current_as_of": current.get("data_as_of") or "–",
    })]
    numbers = changes.get("numbers") or []
    moved = [n for n in numbers if n.get("moved")]
    if changes.get("status") == "no_change":
        lines.append(BUILD_TEXTS["changes_none"])
    else:
        lines.append(_fill(BUILD_TEXTS["changes_moved"], {
            "moved": len(moved), "flagged": sum(bool(n.get("flag")) for n in moved),
            "unchanged": len(numbers) - len(moved)}))
    reasons = [
        {"code": r["code"], "text": _fill(REASON_TEXTS.get(r["code"], r["code"]), r.get("params") or {})}
        for r in changes.get("reasons") or []
    ]
    shown_numbers = [n for n in moved if n.get("headline") or n.get("flag")]
    if len(shown_numbers) < len(moved):
        lines.append(_fill(BUILD_TEXTS["changes_more"], {"more": len(moved) - len(shown_numbers)}))
    rows = []
    for number in sorted(shown_numbers, key=lambda n: (not n.get("flag"), n["report"], n["name"])):
        lang = langs.get(number["report"]) or "id"
        within = number.get("within_previous_ci")

        def shown(values):
            return format_value({**values, "unit": number.get("unit")}, lang) if values else BUILD_TEXTS["unknown"]

        rows.append({
            "report": number["report"],
            "name": number["name"],
            "previous": shown(number.get("previous")),
            "current": shown(number.get("current")),
            "within": BUILD_TEXTS["unknown"] if within is None else BUILD_TEXTS["yes" if within else "no"],
            "reasons": ", ".join(REASON_LABELS.get(code, code) for code in number.get("reasons") or [])
            or BUILD_TEXTS["changes_no_reason"],
            "flag": bool(number.get("flag")),
        })
    return {"lines": lines, "reasons": reasons, "rows": rows}


def write_index(out_dir: Path, manifest: dict[str, Any], changes: dict[str, Any] | None = None) -> Path:
    """Write ``OUT/index.html`` (atomically) from the build manifest and, when given, the
    comparison with the previous build (``changes.json``); return its path."""
    out_dir = Path(out_dir)
    reports, counts = _report_rows(manifest)
    summary = LABELS["summary"].format(ok=counts["ok"], failed=counts["failed"], total=len(reports))
    langs = {r["slug"]: r.get("lang") for r in manifest.get("reports", [])}
    build = manifest.get("build", {})
    page = _TEMPLATE.render(
        labels=LABELS, texts=BUILD_TEXTS, reports=reports, summary=summary, provenance=_provenance_rows(build),
        incomplete=build.get("complete") is False, changes=_changes_view(changes, langs) if changes else None,
    )
    return atomic_write_text(out_dir / INDEX_HTML, page)
