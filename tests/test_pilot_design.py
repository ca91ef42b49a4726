"""The facts of notebook 50 (analysis.analyses.pilot_design) on pools with a known structure (fast:
no simulated dataset).

- settings from the notebook's parameters, with clear errors for bad values;
- the chosen design is a point of the power curve (same draws) and its effect has the outcome's
  direction (a slowdown for service times, a saving for spending);
- the grid keeps what a design can take and says what it left out; a province restricts who adopts;
- the MDE table shows an MDE not reached as missing and a note counts those designs;
- the decision-maker's sentence in both languages and for both outcomes: a slowdown of a service,
  or a saving in routine spending (no service named), with MDEs reached, imprecise or not reached;
- results.json flags an MDE not reached; the figure marks the target and the chosen design.
"""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest

from analysis import power
from analysis.analyses import pilot_design
from analysis.analyses.pilot_design import PilotSettings
from analysis.errors import ParameterError
from analysis.figures.power import power_curve_plot
from analysis.report.results_file import read_results, results_frame, write_results
from analysis.texts import t
from analysis.texts import note as render_note
from test_power import synthetic_pool

FAST = dict(n_sims=60, curve_adopters="4, 12", curve_months="3, 6")


def _as(pool, outcome: str, *, direction: int) -> power.PilotOutcomes:
    """The synthetic pool relabelled as one of the two report outcomes."""
    service_type = "perizinan" if outcome == "median_days" else None
    return power.PilotOutcomes(outcome=outcome, measure=pool.measure, values=pool.values,
                               residuals=pool.residuals, months=pool.months, units=pool.units,
                               pemda=pool.pemda, excluded=pool.excluded, service_type=service_type,
                               direction=direction, notes=pool.notes)


@pytest.fixture(scope="module")
def pool():
    return synthetic_pool(n_pemda=80, n_months=36, sd=0.15, seed=3)


@pytest.fixture(scope="module")
def services(pool):
    return _as(pool, "median_days", direction=1)


@pytest.fixture(scope="module")
def spending(pool):
    return _as(pool, "routine_spending", direction=-1)


@pytest.fixture(scope="module")
def service_report(services):
    return pilot_design.assess_pilot(services, PilotSettings(n_adopters=8, effect_pct=10, **FAST))


@pytest.fixture(scope="module")
def spending_report(spending):
    return pilot_design.assess_pilot(spending, PilotSettings(outcome="routine_spending", n_adopters=8,
                                                             effect_pct=5, **FAST))


# ------------------------------------------------------------------------------ settings

def test_settings_from_notebook_parameters():
    params = {"outcome": "routine_spending", "n_adopters": 12, "strata": "", "province": " 32 ",
              "curve_adopters": "40, 5,10 20", "curve_months": "12,3", "lang": "en", "data_dir": ""}
    settings = PilotSettings.from_params(params)
    assert (settings.strata, settings.province) == (None, "32")
    assert settings.curve_adopters == (5, 10, 20, 40) and settings.curve_months == (3, 12)
    assert settings.direction == -1 and settings.signed_effect_pct == -10.0


@pytest.mark.parametrize(("changes", "parameter"), [
    ({"curve_adopters": "5, ten"}, "curve_adopters"), ({"curve_months": ""}, "curve_months"),
    ({"curve_months": "0, 3"}, "curve_months"), ({"effect_pct": 0}, "effect_pct"),
    ({"effect_pct": -5}, "effect_pct"), ({"effect_sd_pct": -1}, "effect_sd_pct"),
    ({"strata": "district"}, "strata"), ({"outcome": "p90_days"}, "outcome"),
])
def test_bad_settings_name_the_parameter(changes, parameter):
    with pytest.raises(ParameterError, match=f"'{parameter}'"):
        PilotSettings(**changes)


def test_a_design_that_does_not_fit_names_the_parameter(services):
    with pytest.raises(ParameterError, match="'n_adopters'.*between 2 .* and 79"):
        pilot_design.assess_pilot(services, PilotSettings(n_adopters=80, **FAST))
    with pytest.raises(ParameterError, match="'province'.*'P99'"):
        pilot_design.assess_pilot(services, PilotSettings(n_adopters=4, province="P99", **FAST))


# ------------------------------------------------------------------------------ numbers

def test_chosen_design_is_the_curve_point_with_the_same_draws(service_report):
    curve, assessment = service_report.curve, service_report.assessment
    chosen = curve[curve["chosen"]]
    assert len(chosen) == 1 and tuple(chosen[["n_adopters", "months_after"]].iloc[0]) == (8, 6)
    assert chosen["power"].iloc[0] == assessment.power.power
    assert chosen["mde_pct"].iloc[0] == assessment.mde.mde_pct
    assert chosen["size"].iloc[0] == assessment.power.size
    assert sorted(curve["n_adopters"].unique()) == [4, 8, 12] and sorted(curve["months_after"].unique()) == [3, 6]
    # more adopters, more power (common random numbers: the same futures and draw order)
    six = curve[curve["months_after"] == 6].set_index("n_adopters")["power"]
    assert six[12] >= six[4]


def test_effect_has_the_direction_of_concern(service_report, spending_report):
    assert service_report.assessment.power.effect_pct == 10 and service_report.assessment.mde.mde_pct > 0
    assert spending_report.assessment.power.effect_pct == -5 and spending_report.assessment.mde.mde_pct < 0
    assert spending_report.assessment.mde.direction == -1


def test_spread_sensitivity_uses_the_other_spread(services, service_report):
    assert service_report.other_spread.power.effect_sd_pct == pilot_design.SPREAD_SENSITIVITY_PCT
    spread = pilot_design.assess_pilot(services, PilotSettings(n_adopters=8, effect_sd_pct=10, **FAST))
    assert spread.assessment.power.effect_sd_pct == 10 and spread.other_spread.power.effect_sd_pct == 0
    # the constant-effect half of the spread report is the constant-effect report's main half
    assert spread.other_spread.power.power == service_report.assessment.power.power
    assert pilot_design.spread_facts(spread)["case"] == "spread"


def test_grid_leaves_out_sizes_a_design_cannot_take(services):
    report = pilot_design.assess_pilot(services, PilotSettings(
        n_adopters=6, waves=3, n_sims=30, curve_adopters="1, 2, 6, 79, 80, 500", curve_months="3"))
    assert sorted(report.curve["n_adopters"].unique()) == [6, 79]
    dropped = [n for n in report.notes if n.code == "pilot_grid_values_dropped"]
    assert len(dropped) == 1 and dropped[0].params == {"values": [1, 2, 80, 500], "min_adopters": 3,
                                                       "max_adopters": 79}


def test_province_restricts_who_may_adopt(services):
    report = pilot_design.assess_pilot(services, PilotSettings(
        n_adopters=5, province="P3", n_sims=20, curve_adopters="5, 8, 20", curve_months="6"),
        province_name="Provinsi Tiga")
    in_province = set(services.pemda.loc[services.pemda["province_code"] == "P3", "region_code"])
    assert set(report.design.eligible) == in_province and report.n_eligible == 8
    assert sorted(report.curve["n_adopters"].unique()) == [5, 8]
    draw = power.pilot_draw(services, report.design, 0, seed=report.settings.seed)
    adopters = set(services.units.loc[draw.cohort > 0, "region_code"])
    assert len(adopters) == 5 and adopters <= in_province
    facts = pilot_design.design_facts(report)
    assert "drawn at random from the 8 Pemda of the pool in Provinsi Tiga adopt WFA" in t("50.design", "en", **facts)


def test_stratified_design_is_said_so(services):
    report = pilot_design.assess_pilot(services, PilotSettings(
        n_adopters=10, strata="province_code", n_sims=20, curve_adopters="10", curve_months="6"))
    assert report.design.strata == "province_code"
    facts = pilot_design.design_facts(report)
    assert "from all 80 Pemda of the pool, proportionally by province, adopt WFA" in t("50.design", "en", **facts)
    assert "dari semua 80 Pemda dalam kumpulan, secara proporsional menurut provinsi, menerapkan" in t(
        "50.design", "id", **facts)


def test_mde_table_shows_unreached_mdes_as_missing(services):
    """A pool so noisy that small pilots never reach 80% power within 50%."""
    noisy = _as(synthetic_pool(n_pemda=60, n_months=36, sd=1.5, seed=4), "median_days", direction=1)
    report = pilot_design.assess_pilot(noisy, PilotSettings(n_adopters=4, n_sims=40, curve_adopters="4, 40",
                                                            curve_months="3, 12"))
    table = pilot_design.mde_table(report)
    assert list(table.columns) == ["months_after", "n_adopters", "power", "mde_pct", "mde_pct_se",
                                   "mde_size_adjusted_pct", "size"]
    assert table[["months_after", "n_adopters"]].values.tolist() == [[3, 4], [3, 40], [6, 4], [6, 40],
                                                                     [12, 4], [12, 40]]
    missing = int(table["mde_pct"].isna().sum())
    assert missing == int((~np.isfinite(report.curve["mde_pct"])).sum()) > 0
    assert not np.isinf(table.select_dtypes("number").to_numpy()).any()
    note = next(n for n in report.notes if n.code == "pilot_mde_not_reached_in_grid")
    assert note.params["n_designs"] == missing and note.params["n_total"] == 6


# ------------------------------------------------------------------------------ words

def _headline(report, lang):
    return render_note(pilot_design.headline(report), lang)


def test_headline_speaks_of_a_slowdown_of_the_service(service_report):
    en, id_ = _headline(service_report, "en"), _headline(service_report, "id")
    assert "With 8 Pemda adopting WFA in 2 wave(s)" in en
    assert "a slowdown of 10.0% in the median completion time of licensing requests" in en
    assert "perlambatan sebesar 10,0% pada median waktu penyelesaian permohonan perizinan" in id_
    assert "60 simulated pilots" in en and "60 uji coba tersimulasi" in id_
    assert re.search(r"detects a slowdown of at least( about)? \*\*\d+\.\d%\*\*", en)


def test_headline_speaks_of_a_saving_in_routine_spending(spending_report):
    en, id_ = _headline(spending_report, "en"), _headline(spending_report, "id")
    assert "a saving of 5.0% in routine office spending" in en
    assert "penghematan sebesar 5,0% pada belanja rutin kantor" in id_
    mde = abs(spending_report.assessment.mde.mde_pct)
    assert f"a saving of at least **{mde:.1f}%**" in en
    for text in (en, id_):
        assert "licens" not in text and "perizinan" not in text and "layanan" not in text.lower()
        assert "−" not in text  # the direction is in words, the numbers are magnitudes


@pytest.mark.parametrize(("mde_pct", "mde_se", "status", "phrase"), [
    (12.34, 1.5, "reached", "detects a slowdown of at least **12.3%** (the minimum detectable effect; Monte Carlo SE 1.5%)"),
    (12.34, np.inf, "imprecise", "at least about **12.3%**"),
    (np.inf, np.inf, "not_reached", "Even a slowdown of 50% is not detected with 80% power"),
])
def test_headline_for_each_mde_status(service_report, mde_pct, mde_se, status, phrase):
    from dataclasses import replace

    mde = replace(service_report.assessment.mde, mde_pct=mde_pct, mde_pct_se=mde_se)
    assessment = replace(service_report.assessment, mde=mde)
    headline = assessment.headline(service_type="perizinan")
    assert headline.params["mde_status"] == status == mde.status
    for lang in ("id", "en"):
        text = render_note(headline, lang)
        assert "∞" not in text and "inf" not in text.lower().replace("info", "")
    assert phrase in render_note(headline, "en")


def test_every_sentence_and_caption_renders_in_both_languages(service_report, spending_report):
    for report in (service_report, spending_report):
        facts = pilot_design.exhibit_facts(report)
        for lang in ("id", "en"):
            texts = [t("50.pool", lang, **pilot_design.pool_facts(report)),
                     t("50.design", lang, **pilot_design.design_facts(report)),
                     t("50.size_adjusted", lang, **pilot_design.size_adjusted_facts(report)),
                     t("50.spread_sensitivity", lang, **pilot_design.spread_facts(report)),
                     t("caption.50.power_curve", lang, **facts), t("caption.50.mde_table", lang, **facts),
                     t("alt.50.power_curve", lang, **facts),
                     *(render_note(n, lang) for n in report.notes)]
            for text in texts:
                assert text and "{" not in text and "∞" not in text and "_" not in text, text
    assert "(seed 20260115)" in t("50.design", "en", **pilot_design.design_facts(service_report))


# ------------------------------------------------------------------------------ files

def test_results_file_flags_an_mde_not_reached(service_report, tmp_path):
    from dataclasses import replace

    entries = pilot_design.result_entries(service_report)
    table = results_frame(read_results(write_results(tmp_path, "50_pilot_design", {}, entries,
                                                     extra=pilot_design.result_extra(service_report))))
    assert set(table.index) == {"power", "size", "mde_pct"}
    assert table.loc["mde_pct", "estimand"]["details"]["mde_status"] == service_report.assessment.mde.status
    unreached = replace(service_report.assessment, mde=replace(service_report.assessment.mde,
                                                               mde_pct=np.inf, mde_pct_se=np.inf))
    entries = power.result_entries(unreached, excluded=service_report.outcomes.excluded)
    document = read_results(write_results(tmp_path / "b", "50_pilot_design", {}, entries))
    mde = next(entry for entry in document["results"] if entry["name"] == "mde_pct")
    assert mde["estimate"] is None and mde["se"] is None and mde["estimand"]["details"]["mde_status"] == "not_reached"
    assert mde["estimand"]["details"]["max_effect_pct"] == 50.0


def test_power_curve_figure_marks_target_and_chosen_design(service_report):
    for lang, word in (("en", "Chosen design"), ("id", "Desain terpilih")):
        fig = power_curve_plot(service_report.curve, target_power=0.8, lang=lang)
        ax = fig.axes[0]
        labels = [text.get_text() for text in ax.get_legend().get_texts()]
        assert word in labels and len(labels) == 2 + 2  # two durations, the target, the chosen design
        star = [line for line in ax.get_lines() if line.get_marker() == "*"][0]
        chosen = service_report.curve[service_report.curve["chosen"]].iloc[0]
        assert tuple(star.get_xydata()[0]) == (chosen["n_adopters"], chosen["power"])
        assert any(abs(line.get_ydata()[0] - 0.8) < 1e-12 for line in ax.get_lines() if line.get_linestyle() == "--")
        matplotlib.pyplot.close(fig)
