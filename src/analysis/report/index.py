"""``OUT/index.html``: every report with its status, headline and links, plus build provenance.

Self-contained (inline CSS, no scripts, no external assets), responsive, labels in both
Indonesian and English.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

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
section.provenance { font-size: 0.85rem; margin-top: 2rem; overflow-x: auto; }
section.provenance td, section.provenance th { text-align: left; vertical-align: top; padding: 0.1rem 0.5rem;
  overflow-wrap: anywhere; }
</style>
</head>
<body>
<main>
<h1>{{ labels.title }}</h1>
<p class="summary">{{ summary }}</p>
<ul class="reports">
{% for r in reports %}
<li class="report" data-slug="{{ r.slug }}" data-status="{{ r.status }}">
  <div><strong>{{ r.title }}</strong> <span class="status status-{{ r.status }}">{{ labels[r.status] }}</span></div>
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


def format_entry(entry: dict[str, Any], lang: str) -> str:
    """``label: estimate [ci_low; ci_high]`` formatted for the unit and the language."""
    unit = str(entry.get("unit") or "").lower()
    if unit == "indicator":  # a verdict: the label says it all (e.g. "digital_readiness: supported")
        return str(entry.get("label") or entry.get("name"))
    if unit in ("idr", "rupiah", "rp"):
        formatter, kwargs = format_idr, {}
    elif unit in ("days", "hari"):
        formatter, kwargs = format_days, {}
    elif unit in ("percent", "%", "persen"):
        formatter, kwargs = format_pct, {}
    elif unit in COUNT_UNITS:
        formatter, kwargs = (lambda v, l: format_number(v, l, 0) if v is not None else "–"), {}
    elif unit in ("percentage points", "pp"):
        formatter, kwargs = (lambda v, l: format_number(v, l, 1) + " pp" if v is not None else "–"), {}
    else:
        formatter, kwargs = (lambda v, l: format_number(v, l, 3) if v is not None else "–"), {}
    text = f"{entry.get('label') or entry.get('name')}: {formatter(entry.get('estimate'), lang, **kwargs)}"
    if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
        text += " " + format_interval(entry["ci_low"], entry["ci_high"], formatter, lang, **kwargs)
    if unit and formatter not in (format_idr, format_days, format_pct) and unit not in ("percentage points", "pp", *COUNT_UNITS):
        text += f" ({unit})"
    return text


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


def write_index(out_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write ``OUT/index.html`` from the build manifest and return its path."""
    out_dir = Path(out_dir)
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
        reports.append(
            {
                "slug": record["slug"],
                "title": record.get("title") or record["slug"],
                "status": status if status in LABELS else "not_run",
                "headline": record.get("headline"),
                "error": f"{error.get('ename', '')}: {error.get('evalue', '')}".strip(": ") if error else "",
                "html": f"{record['slug']}/{outputs['html']}" if outputs.get("html") else None,
                "full_html": f"{record['slug']}/{outputs['full_html']}" if outputs.get("full_html") else None,
            }
        )
    summary = LABELS["summary"].format(ok=counts["ok"], failed=counts["failed"], total=len(reports))
    page = _TEMPLATE.render(
        labels=LABELS, reports=reports, summary=summary, provenance=_provenance_rows(manifest.get("build", {}))
    )
    path = out_dir / INDEX_HTML
    path.write_text(page, encoding="utf-8")
    return path
