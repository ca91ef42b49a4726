"""The policy brief's own styles (screen, phone and print), catalogue-free.

The brief notebook emits :func:`style_block` once, as HTML output, so the page carries its boxes'
look and its print rules (A4, no navigation, no provenance footer, compact type: the brief prints
on at most two A4 pages). Kept in one function so the page template (``render.py``) can fold
:data:`BRIEF_CSS` into its stylesheet later without changing the brief.
"""

from __future__ import annotations

BRIEF_CSS = """
.brief-banner { background: #fff3cd; border: 2px solid #b8860b; color: #5c4400; font: 700 1rem sans-serif;
  padding: 0.4rem 0.75rem; margin: 0.5rem 0 1rem; text-align: center; letter-spacing: 0.02em; }
.brief-box { border: 1px solid #9aa9b8; border-left: 6px solid #1f4e79; background: #f5f8fb;
  padding: 0.5rem 0.9rem; margin: 0.8rem 0; border-radius: 3px; }
.brief-box h2 { margin: 0.2rem 0 0.4rem; font-size: 1.15rem; }
.brief-box p, .brief-box li { margin: 0.25rem 0; line-height: 1.4; }
.brief-box ol, .brief-box ul { padding-left: 1.3rem; margin: 0.2rem 0; }
.brief-key { border-left-color: #1f4e79; }
.brief-diagnostics { border-left-color: #6b7b8c; background: #fafafa; font-size: 0.92rem; }
.brief-diagnostics ul { list-style: none; padding-left: 0; }
.brief-diagnostics .diag-fail { color: #7a1f00; }
.brief-diagnostics .diag-mark { display: inline-block; width: 1.1rem; font-weight: 700; }
.brief-about { border-left-color: #6b7b8c; background: #fff; font-size: 0.9rem; }
.brief-rule { font-size: 0.88rem; color: #333; }
.brief-table .table-scroll { overflow-x: auto; max-width: 100%; }
.brief-table table { border-collapse: collapse; font-size: 0.9rem; width: 100%; table-layout: auto !important; }
.brief-table table th, .brief-table table td { padding: 0.2rem 0.4rem; border-bottom: 1px solid #ddd;
  text-align: left !important; vertical-align: top; }
.brief-table td:nth-child(2), .brief-table td:nth-child(3), .brief-table td:nth-child(4) { white-space: nowrap; }
.brief-table .verdict-supported { color: #14532d; font-weight: 600; }
.brief-table .verdict-tentative { color: #7a4a00; font-weight: 600; }
.num { white-space: nowrap; }
@media (max-width: 600px) {
  .brief-box { padding: 0.4rem 0.6rem; }
  .brief-table thead { display: none; }
  .brief-table table, .brief-table tbody, .brief-table tr, .brief-table th, .brief-table td { display: block; }
  .brief-table tr { border-bottom: 1px solid #bbb; padding: 0.3rem 0; }
  .brief-table table th, .brief-table table td:nth-child(n) { border: 0; padding: 0.05rem 0.2rem; white-space: normal; }
  .brief-table td::before { content: attr(data-label) ": "; font-weight: 600; }
}
@page { size: A4; margin: 11mm 12mm; }
@media print {
  .report-nav, .provenance, .brief-pdf-link, .anchor-link, .jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
  html, body { font-size: 9.2pt; background: #fff; }
  body { max-width: none; margin: 0; padding: 0; }
  h1 { font-size: 15pt; margin: 0 0 0.2rem; }
  h2 { font-size: 11pt; }
  .brief-box { margin: 0.35rem 0; padding: 0.25rem 0.6rem; }
  .brief-box li, .brief-table tr { break-inside: avoid; }
  .jp-Cell, .jp-Cell-outputWrapper, .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output,
  .jp-RenderedHTML, figure { break-inside: auto !important; page-break-inside: auto !important; }
  .jp-RenderedHTMLCommon, .jp-RenderedMarkdown, .jp-RenderedHTML { font-size: 9.2pt !important; }
  .brief-box p, .brief-box li { margin: 0.1rem 0; line-height: 1.3; }
  .brief-table { margin: 0.3rem 0; }
  .brief-table table { font-size: 8.4pt; }
  .brief-banner { margin: 0 0 0.3rem; padding: 0.2rem; }
  a { color: inherit; text-decoration: none; }
  .jp-Cell, .jp-OutputArea-output { padding: 0 !important; margin: 0 !important; }
  .jp-RenderedMarkdown p { margin: 0.15rem 0; }
}
"""


def style_block() -> str:
    """The ``<style>`` element the brief notebook displays once."""
    return f"<style>{BRIEF_CSS}</style>"
