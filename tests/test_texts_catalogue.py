"""The text catalogues: id.toml and en.toml say the same things (keys, placeholders), every key
the code asks for exists, every Note code and every code a module can emit has its words, no
function chooses a language for its caller, and t() fails loudly."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest
import yaml

from analysis.notes import Note
from analysis.paths import NOTEBOOKS_DIR, PROJECT_ROOT
from analysis.texts import MissingTextError, TextParameterError, check_lang, has, note, t
from analysis.texts.catalogue import entry, keys
from analysis.texts.tables import COLUMN_LABELS, OPEN_DOMAINS
from analysis.texts.template import parse_spec, placeholders

SRC = PROJECT_ROOT / "src" / "analysis"
LANGS = ("id", "en")
#: Texts that are empty on purpose: the part of a sentence chosen when there is nothing to add.
EMPTY_ON_PURPOSE = re.compile(r"\.(absent|not_tested|clear)$")


def _sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in SRC.rglob("*.py")}


def _notebook_code() -> dict[str, str]:
    return {path.stem: "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
            for path in sorted(NOTEBOOKS_DIR.glob("*.ipynb"))}


def test_both_catalogues_have_the_same_keys():
    id_keys, en_keys = set(keys("id")), set(keys("en"))
    assert not id_keys - en_keys, f"only in id.toml: {sorted(id_keys - en_keys)}"
    assert not en_keys - id_keys, f"only in en.toml: {sorted(en_keys - id_keys)}"
    assert len(id_keys) > 300


def test_each_key_has_the_same_placeholders_in_both_languages():
    differ = {}
    for key in keys("en"):
        ours = {lang: Counter(placeholders(entry(key, lang))) for lang in LANGS}
        if ours["id"] != ours["en"]:
            differ[key] = ours
    assert not differ, differ


def test_every_placeholder_is_well_formed_and_every_lookup_prefix_exists():
    prefixes = {k.rsplit(".", 1)[0] for k in keys("en")}
    for key in keys("en"):
        for name, spec in placeholders(entry(key, "en")):
            kind, _ = parse_spec(spec)  # raises on an unknown format or modifier
            if kind.startswith("@"):
                assert kind[1:] in prefixes, f"{key}: {{{name}:{spec}}} looks up a prefix with no texts"


def test_texts_are_written_in_both_languages():
    for key in keys("en"):
        texts = {lang: entry(key, lang).strip() for lang in LANGS}
        if EMPTY_ON_PURPOSE.search(key):
            assert texts["id"] == texts["en"] == "", key
            continue
        assert texts["id"] and texts["en"], f"{key}: empty text"
        if len(re.sub(r"\{[^{}]*\}|\s", "", texts["en"])) > 40:  # not a mere arrangement of placeholders
            assert texts["id"] != texts["en"], f"{key}: the Indonesian text is a copy of the English one"


def test_no_code_or_module_names_in_reader_facing_texts():
    for lang in LANGS:
        for key in keys(lang):
            text = entry(key, lang)
            assert "`" not in text and "analysis." not in text, f"{lang}:{key}: code in a reader-facing text"
            assert not re.search(r"\b[a-z]+_[a-z_]+\b", re.sub(r"\{[^{}]*\}", "", text)), (
                f"{lang}:{key}: a snake_case identifier in a reader-facing text")


def test_every_note_code_used_under_src_has_a_text():
    codes = {code for text in _sources().values() for code in re.findall(r'\bNote\(\s*"([a-z0-9_]+)"', text)}
    assert len(codes) >= 10, codes
    missing = sorted(code for code in codes if not has(f"note.{code}", "en"))
    assert not missing, f"Note codes without note.<code> text: {missing}"


#: Calls whose first argument is a catalogue key: t("..."), ctx.t("..."), ctx.show("...") and the
#: report pages' helpers with their key prefix.
KEY_CALLS = ((r'(?<![\w.])t\(\s*"([^"{}]+)"', ""), (r'ctx\.(?:t|show)\(\s*"([^"{}]+)"', ""),
             (r'(?<!\w)_label\(\s*"([^"{}]+)"', "ui.render."), (r'bilingual\(\s*"([^"{}]+)"', "ui.index."))


def test_every_key_the_code_asks_for_exists():
    texts = {**{str(p): s for p, s in _sources().items()}, **_notebook_code()}
    asked = {(where, prefix + key) for where, text in texts.items()
             for pattern, prefix in KEY_CALLS for key in re.findall(pattern, text)}
    assert len(asked) > 50
    missing = sorted((where, key) for where, key in asked if not has(key, "en"))
    assert not missing, missing


def test_every_code_a_module_can_emit_has_words():
    from analysis.analyses import case_study, heterogeneity, service_sample, service_time
    from analysis.analyses.budget_savings import _OTHER_ESTIMATORS
    from analysis.data import schemas
    from analysis.panels import treatment
    from analysis.panels.budget import ROUTINE_TOTAL
    from analysis.report.index import LABEL_KEYS, STATUSES
    from test_io_rules import _declared_checks

    domains = {
        "status": treatment.STATUSES,
        "category": (*schemas.ROUTINE_CATEGORIES, *schemas.PLACEBO_CATEGORIES, ROUTINE_TOTAL),
        "service_type": schemas.SERVICE_TYPES,
        "level": schemas.LEVELS,
        "table": tuple(schemas.SCHEMAS),
        "split": heterogeneity.SPLITS,
        "group": (*(label for label, _, _ in schemas.SPBE_BANDS), "true", "false", "single", "cross", "1", "2", "3"),
        "estimator": (*service_time.ESTIMATORS, *_OTHER_ESTIMATORS.values(), "cs_adjusted", "cs_unadjusted", "sc", "sdid"),
        "reject_reason": {reason for _, _, reason in _declared_checks()},
        "risk": tuple(heterogeneity.RISKS),
        "verdict": heterogeneity.VERDICTS,
        "outcome": (*service_sample.OUTCOMES, *service_sample.OUTCOMES.values(), *case_study.OUTCOMES),
        "effect": tuple(service_sample.OUTCOMES.values()),
        "result": ("att_log_median_days", "att_log_median_days_request_weighted", "att_sla_share",
                   "att_log_routine_spending", "att_log_routine_spending_unadjusted",
                   "savings_idr_per_adopter_year", "projection_idr_per_year"),
        "report_problem": ("missing", "failed", "no_results"),
        "pool_rule": ("never_adopting_provinces", "never_adopting_kabkota"),
        "budget_group": ("routine", "placebo", "other"),
        "exclusion": ("switched_off", "already_treated", "adopted_in_first_period", *service_sample.EXCLUSION_REASONS),
    }
    for domain, codes in domains.items():
        missing = [code for code in codes if not has(f"label.{domain}.{code}", "en")]
        assert not missing, f"label.{domain}: no words for {missing}"
    for domain in set(COLUMN_LABELS.values()) | set(OPEN_DOMAINS):
        assert any(k.startswith(f"label.{domain}.") for k in keys("en")), domain
    for key in (*LABEL_KEYS, *STATUSES):
        assert has(f"ui.index.{key}", "en"), key


def test_every_index_headline_is_named_in_the_catalogue():
    config = yaml.safe_load((PROJECT_ROOT / "reports.yaml").read_text(encoding="utf-8"))
    headlines = {report["headline"] for report in config["reports"] if report.get("headline")}
    assert headlines and all(has(f"label.result.{name}", "en") for name in headlines), headlines


#: Report filters whose ``lang=None`` means "reports in every language" (the build's ``--lang``):
#: they choose no language for anyone.
LANGUAGE_FILTERS = {"select_reports", "build_reports"}


def test_no_function_under_analysis_defaults_its_language():
    offenders = []
    for path, source in _sources().items():
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            args = node.args
            positional = args.posonlyargs + args.args
            with_defaults = positional[len(positional) - len(args.defaults):]
            named = [a.arg for a in with_defaults] + [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d]
            if "lang" in named and getattr(node, "name", "") not in LANGUAGE_FILTERS:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, f"functions with a default for lang: {offenders}"


def test_languages_are_checked():
    for bad in ("fr", "", None, "ID"):
        with pytest.raises(ValueError, match="lang must be one of id, en"):
            check_lang(bad)
        with pytest.raises(ValueError, match="lang must be one of"):
            t("label.bool.true", bad)


def test_missing_keys_and_parameters_fail_loudly():
    with pytest.raises(MissingTextError, match="en.toml has no text 'label.category.nope'"):
        t("label.category.nope", "en")
    with pytest.raises(TextParameterError, match=r"'10.window' \(id\) needs the parameter 'n_cells_dropped'"):
        t("10.window", "id", window=("2025-01", "2026-06"), n_units=3)
    with pytest.raises(TextParameterError, match="not text"):  # a number needs a format
        t("note.estimator_failed", "en", estimator="cs", error=3.5)
    with pytest.raises(MissingTextError):
        note(Note("no_such_code"), "id")


def test_notes_render_with_their_parameters_in_both_languages():
    bridged = Note("gap_bridged", {"months": ["2025-12"]})
    assert note(bridged, "id") == "jeda pada Desember 2025 dijembatani (WFA dihitung tetap berlaku)"
    assert note(bridged, "en") == "a gap in December 2025 was bridged (WFA counted as in force)"
    merged = Note("spbe_bands_merged", {"bands": ["Kurang–Cukup", "Sangat Baik–Memuaskan"], "min_treated": 3})
    assert note(merged, "id").endswith("Kurang–Cukup dan Sangat Baik–Memuaskan")
    assert note(merged, "en").endswith("Kurang (poor)–Cukup (fair) and Sangat Baik (very good)–Memuaskan (excellent)")


def test_sentences_choose_words_by_code_not_by_sign():
    facts = dict(direction="shorter", pct=-4.72, pct_ci=(-9.1, -0.2), clarity="clear", sla=1.234, sla_ci=(-0.5, 3.0),
                 hazard_ratio=1.06, hazard_ci=(1.01, 1.11), pretrend_p=0.4)
    indonesian = t("10.conclusion", "id", **facts)
    assert "menjadi 4,7% lebih cepat (IK 95%: −9,1% s.d. −0,2%)" in indonesian
    assert "berubah +1,2 poin persen (IK 95%: −0,5 poin persen s.d. 3,0 poin persen)" in indonesian
    english = t("10.conclusion", "en", **{**facts, "clarity": "unclear", "pretrend_p": None})
    assert "became 4.7% shorter (95% CI −9.1% to −0.2%)" in english and "not statistically clear" in english
    assert "p = –" in english  # no test, no number


