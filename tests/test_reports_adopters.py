"""reports.yaml gives every real adopter a case study per outcome, titled with the Pemda's name
(the build fills ``{region_name}`` from the regions table), and Surakarta's trial that ended its
own page (notebook 35)."""

from pathlib import Path

import pandas as pd

from analysis.report import config
from analysis.report.build import load_region_names

ROOT = Path(__file__).resolve().parents[1]
REAL = {"17": "Provinsi Bengkulu", "71.11": "Kabupaten Bolaang Mongondow Selatan", "32.14": "Kabupaten Purwakarta",
        "17.09": "Kabupaten Bengkulu Tengah", "32": "Provinsi Jawa Barat", "73": "Provinsi Sulawesi Selatan"}


def _names():
    regions = pd.read_csv(ROOT / "data" / "reference" / "regions.csv", dtype={"region_code": str})
    return {c: f"Provinsi {n}" if lvl == "provinsi" else n
            for c, n, lvl in zip(regions["region_code"], regions["name"], regions["level"])}


def test_every_real_adopter_has_named_case_studies_for_both_outcomes():
    specs = config.load_reports(ROOT / "reports.yaml", adopters=[], region_names=_names)
    cases = [s for s in specs if s.notebook == "30_case_study"]
    for code, name in REAL.items():
        for outcome in ("log_routine_spending", "median_days"):
            found = [s for s in cases if s.parameters["region_code"] == code and s.parameters["outcome"] == outcome]
            assert {s.lang for s in found} == {"id", "en"}, (code, outcome)
            for spec in found:
                assert name in spec.title[spec.lang] and code in spec.slug, spec
                assert "{" not in spec.title[spec.lang]
    switch = [s for s in specs if s.notebook == "35_switch_off"]
    assert switch and all("Kota Surakarta" in s.title[s.lang] for s in switch)
    assert {s.parameters["outcome"] for s in switch} == {"log_routine_spending", "log_median_days"}


def test_region_name_is_filled_only_where_asked(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "a.params.yaml").write_text("parameters:\n  region_code: {type: str, default: '1'}\n")
    (tmp_path / "reports.yaml").write_text(
        "reports:\n  - notebook: a\n    slug: 'a-{region_code}'\n    title: 'Case {region_name} ({region_code})'\n"
        "    matrix:\n      region_code: ['17', '99']\n")
    calls = []

    def names():
        calls.append(1)
        return {"17": "Provinsi Bengkulu"}

    specs = config.load_reports(tmp_path / "reports.yaml", notebooks_dir=tmp_path, region_names=names)
    assert [s.title["en"] for s in specs] == ["Case Provinsi Bengkulu (17)", "Case 99 (99)"]
    assert [s.slug for s in specs] == ["a-17", "a-99"] and len(calls) == 1


def test_build_reads_names_from_the_regions_table(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from analysis.report import build

    regions = pd.DataFrame({"region_code": ["17", "17.09"], "name": ["Bengkulu", "Kabupaten Bengkulu Tengah"],
                            "level": ["provinsi", "kabupaten"]})
    monkeypatch.setattr(build, "load", lambda data_dir: SimpleNamespace(regions=regions))
    assert load_region_names(tmp_path) == {"17": "Provinsi Bengkulu", "17.09": "Kabupaten Bengkulu Tengah"}


def test_titles_take_the_catalogue_word_for_a_code(tmp_path):
    """``{service_type:@service_type}`` in a title is the label in the title's language; a value
    the catalogue has no words for is shown as it is."""
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "a.params.yaml").write_text("parameters:\n  service_type: {type: str, default: all}\n")
    (tmp_path / "reports.yaml").write_text(
        "reports:\n  - notebook: a\n    slug: 'a-{service_type}'\n"
        "    title: {id: 'Waktu layanan: {service_type:@service_type}', en: 'Service time: {service_type:@service_type}'}\n"
        "    matrix:\n      service_type: [perizinan, unknown_type]\n")
    specs = config.load_reports(tmp_path / "reports.yaml", notebooks_dir=tmp_path)
    assert [s.title for s in specs] == [{"id": "Waktu layanan: Perizinan", "en": "Service time: Licensing"},
                                        {"id": "Waktu layanan: unknown_type", "en": "Service time: unknown_type"}]


def test_no_title_in_reports_yaml_shows_a_code_of_the_service_types():
    specs = config.load_reports(ROOT / "reports.yaml", adopters=[], region_names=_names)
    for spec in specs:
        if spec.notebook == "10_service_time":
            assert not spec.title[spec.lang].endswith(": " + spec.parameters["service_type"]), spec.title
