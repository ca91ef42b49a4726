"""Designing the next WFA pilots (notebook ``50_pilot_design``): the facts the notebook shows.

A ministry (KemenPANRB, BKN) or a province planning a pilot asks how many Pemda, in how many
waves, observed for how many months, are needed to detect a slowdown of services or a saving of a
given size. The answer comes from :mod:`analysis.power`: simulated pilots on the observed
outcomes of the Pemda that never had WFA (placebo futures by seasonal block bootstrap), a known
proportional effect added to the adopters' months with WFA, the headline estimator (imputation,
Pemda-clustered SE) and its two-sided Wald test. This module turns the notebook's parameters
into :class:`PilotSettings`, runs the chosen design and a grid of designs (:func:`pilot_report`)
and returns the facts of each sentence and exhibit; the words are in ``analysis.texts``
(``50.*``, ``label.pilot_*``, ``note.power_design_headline``).

Direction. ``effect_pct`` is the size of the change in the direction of concern, > 0: a slowdown
of completion times for ``median_days``, a saving in routine spending for ``routine_spending``
(simulated as ``-effect_pct``). The MDE is in the same direction.

Effect spread. By default the effect is the same in every adopting Pemda (``effect_sd_pct = 0``),
the assumption of the textbook power formulas; every report also shows the chosen design's power
when the effect varies between Pemda with SD :data:`SPREAD_SENSITIVITY_PCT`, or, when the
researcher set a spread, with a constant effect. 4% is about the spread of the per-Pemda effects
in the simulated data (SD 0.041 log points); there, with that spread, the simulated pilots give
the standard error of the actual estimate within 5%, while with constant effects they understate
it by 13% (``benchmarks/power_validation.py``, benchmarks/README.md). On real data the spread is
unknown, so it is shown as a sensitivity rather than built into the headline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from analysis import power
from analysis.errors import ParameterError
from analysis.notes import Note
from analysis.power import DesignAssessment, PilotDesign, PilotOutcomes
from analysis.power.simulate import MAX_EFFECT_PCT
from analysis.report.results_file import ResultEntry

__all__ = [
    "MDE_TABLE_KINDS", "PilotReport", "PilotSettings", "SPREAD_SENSITIVITY_PCT", "TARGET_POWER",
    "assess_pilot", "design_facts", "exhibit_facts", "headline", "mde_table", "pilot_report",
    "pool_facts", "result_entries", "result_extra", "size_adjusted_facts", "spread_facts",
]

#: Power at which the MDE is read (the issue's 80%).
TARGET_POWER = 0.8
#: SD (percent) of the per-Pemda effects in the sensitivity shown when the design assumes a
#: constant effect (module docstring).
SPREAD_SENSITIVITY_PCT = 4.0
#: Number formats of :func:`mde_table`'s columns (``analysis.texts.tables``).
MDE_TABLE_KINDS = {"months_after": "count", "power": "frac0", "mde_pct": "spct1", "mde_pct_se": "pct1",
                   "mde_size_adjusted_pct": "spct1", "size": "frac1"}


def _int_list(value, name: str) -> tuple[int, ...]:
    """``"5, 10, 20"`` (or a sequence of whole numbers) → ``(5, 10, 20)``, sorted, without
    repeats; ParameterError naming ``name`` otherwise."""
    items = re.split(r"[,\s]+", value.strip()) if isinstance(value, str) else [str(v) for v in value]
    items = [item for item in items if item]
    if not items or not all(re.fullmatch(r"[1-9][0-9]*", item) for item in items):
        raise ParameterError(f"parameter {name!r}: expected whole numbers >= 1 separated by commas "
                             f"(e.g. \"5, 10, 20\"), got {value!r}")
    return tuple(sorted({int(item) for item in items}))


@dataclass(frozen=True)
class PilotSettings:
    """What the notebook's parameters ask (see ``notebooks/50_pilot_design.params.yaml``).

    ``outcome``: ``median_days`` or ``routine_spending``; ``service_type`` (``median_days``
    only): ``all`` or one service type; ``n_adopters``, ``waves``, ``months_after``,
    ``wave_gap_months``: the chosen design (:class:`analysis.power.PilotDesign`, 12 months
    before the first wave, which starts in January); ``effect_pct``: size of the change to
    detect in the direction of concern (percent, > 0); ``effect_sd_pct``: SD across adopting
    Pemda of their own effect (percent, 0 = the same everywhere); ``alpha``: level of the
    two-sided test; ``n_sims``: simulated pilots per design; ``seed``; ``strata``: attribute the
    adopters' draw is stratified by (None or one of :data:`analysis.power.STRATA`);
    ``province``: province code whose Pemda may adopt (None = any Pemda of the pool);
    ``curve_adopters`` / ``curve_months``: the grid of the power curve and MDE table (the chosen
    design is added to it).
    """

    outcome: str = "median_days"
    service_type: str = "perizinan"
    n_adopters: int = 20
    waves: int = 2
    months_after: int = 6
    wave_gap_months: int = 3
    effect_pct: float = 10.0
    effect_sd_pct: float = 0.0
    alpha: float = 0.05
    n_sims: int = 200
    seed: int = power.DEFAULT_SEED
    strata: str | None = None
    province: str | None = None
    curve_adopters: tuple[int, ...] = (5, 10, 20, 40)
    curve_months: tuple[int, ...] = (3, 6, 12)

    def __post_init__(self):
        if self.outcome not in power.OUTCOMES:
            raise ParameterError(f"parameter 'outcome': expected one of {tuple(power.OUTCOMES)}, got {self.outcome!r}")
        if not (np.isfinite(self.effect_pct) and 0 < self.effect_pct < 100):
            raise ParameterError(f"parameter 'effect_pct': expected a percent change between 0 and 100 "
                                 f"(its direction is the outcome's: a slowdown or a saving), got {self.effect_pct!r}")
        if not (np.isfinite(self.effect_sd_pct) and self.effect_sd_pct >= 0):
            raise ParameterError(f"parameter 'effect_sd_pct': expected a percent >= 0, got {self.effect_sd_pct!r}")
        if self.strata is not None and self.strata not in power.STRATA:
            raise ParameterError(f"parameter 'strata': expected one of {power.STRATA} or empty, got {self.strata!r}")
        object.__setattr__(self, "curve_adopters", _int_list(self.curve_adopters, "curve_adopters"))
        object.__setattr__(self, "curve_months", _int_list(self.curve_months, "curve_months"))

    @classmethod
    def from_params(cls, params: Mapping) -> "PilotSettings":
        """Settings from a notebook's validated parameters (empty ``strata`` / ``province`` =
        none; ``curve_*`` as comma-separated whole numbers). Other parameters are ignored."""
        names = {f for f in cls.__dataclass_fields__ if f in params}
        values = {name: params[name] for name in names}
        for name in ("strata", "province"):
            if name in values:
                values[name] = str(values[name]).strip() or None
        return cls(**values)

    @property
    def direction(self) -> int:
        """+1 (completion times up) or −1 (spending down): the direction of concern."""
        return power.OUTCOMES[self.outcome]

    @property
    def signed_effect_pct(self) -> float:
        """``effect_pct`` with the direction of concern's sign (what is simulated)."""
        return self.direction * float(self.effect_pct)


@dataclass(frozen=True)
class PilotReport:
    """Everything notebook 50 shows. ``assessment``: power at the effect asked about and MDE of
    the chosen design; ``other_spread``: the same design with the other effect spread
    (:data:`SPREAD_SENSITIVITY_PCT` when the settings assume a constant effect, else 0);
    ``curve``: :data:`analysis.power.CURVE_COLUMNS` over the grid plus ``chosen`` (the row of
    the chosen design); ``outcomes``: the pool; ``design``; ``n_eligible``: Pemda that may
    adopt; ``province_name``; ``notes``: the assessment's notes and the grid's."""

    settings: PilotSettings
    outcomes: PilotOutcomes = field(repr=False)
    design: PilotDesign
    assessment: DesignAssessment = field(repr=False)
    other_spread: DesignAssessment = field(repr=False)
    curve: pd.DataFrame = field(repr=False)
    n_eligible: int
    province_name: str | None = None
    notes: tuple[Note, ...] = ()


def _province_name(dataset, province: str | None) -> str | None:
    if province is None:
        return None
    regions = dataset.regions
    match = regions.loc[regions["region_code"].astype(str) == province, "name"]
    if match.empty:
        raise ParameterError(f"parameter 'province': no region with code {province!r} in the regions table")
    return str(match.iloc[0])


def pilot_report(dataset, settings: PilotSettings) -> PilotReport:
    """The chosen design and the grid on ``dataset`` (an :class:`analysis.data.Dataset`): the
    pool of :func:`analysis.power.pilot_outcomes`, then :func:`assess_pilot`."""
    outcomes = power.pilot_outcomes(dataset, settings.outcome, service_type=settings.service_type)
    return assess_pilot(outcomes, settings, province_name=_province_name(dataset, settings.province))


def _eligible(outcomes: PilotOutcomes, settings: PilotSettings) -> tuple[str, ...] | None:
    if settings.province is None:
        return None
    pemda = outcomes.pemda
    codes = tuple(pemda.loc[pemda["province_code"].astype("string") == settings.province, "region_code"])
    if not codes:
        raise ParameterError(f"parameter 'province': no Pemda of province {settings.province!r} in the "
                             "outcome pool (Pemda with a WFA policy or without data are not in it)")
    return codes


def assess_pilot(outcomes: PilotOutcomes, settings: PilotSettings, *,
                 province_name: str | None = None) -> PilotReport:
    """Power and MDE of the chosen design, the same with the other effect spread, and the grid
    ``curve_adopters`` × ``curve_months`` (plus the chosen design), on the pool ``outcomes``.

    Grid sizes a design cannot take (fewer adopters than waves, or more than may adopt while
    leaving comparison Pemda) are left out with a ``pilot_grid_values_dropped`` note; the chosen
    design itself must fit (ParameterError naming ``n_adopters`` otherwise)."""
    eligible = _eligible(outcomes, settings)
    n_eligible = outcomes.n_pemda if eligible is None else len(eligible)
    max_adopters = min(n_eligible, outcomes.n_pemda - 1)
    if not settings.waves <= settings.n_adopters <= max_adopters:
        raise ParameterError(f"parameter 'n_adopters': expected between {settings.waves} (one per wave) and "
                             f"{max_adopters} (Pemda that may adopt, leaving comparison Pemda), "
                             f"got {settings.n_adopters}")
    design = PilotDesign(n_adopters=settings.n_adopters, waves=settings.waves,
                         months_after=settings.months_after, wave_gap_months=settings.wave_gap_months,
                         strata=settings.strata, eligible=eligible)
    common = dict(alpha=settings.alpha, n_sims=settings.n_sims, seed=settings.seed, target_power=TARGET_POWER)
    assessment = power.assess_design(outcomes, design, effect_pct=settings.signed_effect_pct,
                                     effect_sd_pct=settings.effect_sd_pct, **common)
    other_sd = SPREAD_SENSITIVITY_PCT if settings.effect_sd_pct == 0 else 0.0
    other_spread = power.assess_design(outcomes, design, effect_pct=settings.signed_effect_pct,
                                       effect_sd_pct=other_sd, **common)

    wanted = sorted(set(settings.curve_adopters) | {settings.n_adopters})
    adopters = [n for n in wanted if settings.waves <= n <= max_adopters]
    months = sorted(set(settings.curve_months) | {settings.months_after})
    notes = list(assessment.notes)
    if len(adopters) < len(wanted):
        notes.append(Note("pilot_grid_values_dropped", {
            "values": [n for n in wanted if n not in adopters], "min_adopters": settings.waves,
            "max_adopters": max_adopters}))
    curve = power.power_curve(outcomes, design, n_adopters=adopters, months_after=months,
                              effect_pct=settings.signed_effect_pct, effect_sd_pct=settings.effect_sd_pct,
                              **common)
    curve["chosen"] = (curve["n_adopters"] == settings.n_adopters) & (curve["months_after"] == settings.months_after)
    not_reached = int((~np.isfinite(curve["mde_pct"])).sum())
    if not_reached:
        notes.append(Note("pilot_mde_not_reached_in_grid", {
            "target_power": TARGET_POWER, "max_effect_pct": MAX_EFFECT_PCT, "n_designs": not_reached,
            "n_total": len(curve)}))
    return PilotReport(settings=settings, outcomes=outcomes, design=design, assessment=assessment,
                       other_spread=other_spread, curve=curve, n_eligible=n_eligible,
                       province_name=province_name, notes=tuple(notes))


# ------------------------------------------------------------------------------------ facts

def _change(report: PilotReport) -> str:
    return report.assessment.headline().params["change"]


def pool_facts(report: PilotReport) -> dict:
    """Facts of ``50.pool``: the Pemda of the pool, those left out for a WFA policy, the window,
    the series and the share of their months observed."""
    summary = report.outcomes.summary()
    excluded = report.outcomes.excluded
    return {
        "n_pool": summary["n_pemda"], "n_policy": int((excluded["reason"] == "wfa_policy").sum()),
        "window": (summary["first_month"], summary["last_month"]), "n_units": summary["n_units"],
        "share_observed": summary["share_cells_observed"], "outcome": report.settings.outcome,
        "service_type": report.outcomes.service_type,
    }


def design_facts(report: PilotReport) -> dict:
    """Facts of ``50.design``: the chosen design, who may adopt, the effect and the test."""
    s, d = report.settings, report.design
    return {
        "n_adopters": d.n_adopters, "waves": d.waves, "wave_gap_months": d.wave_gap_months,
        "months_before": d.months_before, "months_after": d.months_after,
        "eligible": "all" if s.province is None else "province", "n_eligible": report.n_eligible,
        "province_name": report.province_name or "", "strata": s.strata or "absent",
        "n_comparison": report.outcomes.n_pemda - d.n_adopters, "change": _change(report),
        "effect_pct": s.effect_pct, "spread": "spread" if s.effect_sd_pct > 0 else "constant",
        "effect_sd_pct": s.effect_sd_pct, "alpha": s.alpha, "n_sims": s.n_sims, "seed": str(s.seed),
        "outcome": s.outcome, "service_type": report.outcomes.service_type,
    }


def headline(report: PilotReport) -> Note:
    """The decision-maker's sentence (``power_design_headline``) of the chosen design."""
    return report.assessment.headline(service_type=report.outcomes.service_type)


def size_adjusted_facts(report: PilotReport) -> dict:
    """Facts of ``50.size_adjusted``: the chosen design's power with the critical value that
    holds the simulated false-alarm rate at ``alpha``."""
    p = report.assessment.power
    return {"alpha": p.alpha, "power_size_adjusted": p.power_size_adjusted,
            "power_size_adjusted_se": p.power_size_adjusted_se}


def spread_facts(report: PilotReport) -> dict:
    """Facts of ``50.spread_sensitivity``: the chosen design's power (and MDE, when both are
    reached) with the settings' effect spread and with the other one (``case``: ``constant``
    when the settings assume the same effect everywhere, else ``spread``)."""
    s, main, other = report.settings, report.assessment, report.other_spread
    both_reached = main.mde.status == other.mde.status == "reached"
    return {
        "case": "spread" if s.effect_sd_pct > 0 else "constant", "effect_sd_pct": s.effect_sd_pct,
        "other_sd_pct": other.power.effect_sd_pct, "change": _change(report), "effect_pct": s.effect_pct,
        "outcome": s.outcome, "service_type": report.outcomes.service_type,
        "power": main.power.power, "other_power": other.power.power, "other_power_se": other.power.power_se,
        "mde_move": "reached" if both_reached else "absent", "mde_pct": main.mde.mde_pct,
        "other_mde_pct": other.mde.mde_pct, "other_mde_pct_se": other.mde.mde_pct_se,
    }


def exhibit_facts(report: PilotReport) -> dict:
    """Facts of the captions and alt texts (``caption.50.*``, ``alt.50.*``)."""
    s, p = report.settings, report.assessment.power
    return {
        "change": _change(report), "effect_pct": s.effect_pct, "outcome": s.outcome,
        "service_type": report.outcomes.service_type, "n_sims": s.n_sims, "alpha": s.alpha,
        "target_power": TARGET_POWER, "months": sorted(report.curve["months_after"].unique().tolist()),
        "n_adopters": s.n_adopters, "months_after": s.months_after, "power": p.power,
    }


def mde_table(report: PilotReport) -> pd.DataFrame:
    """One row per design of the grid: ``months_after, n_adopters, power`` (at the effect asked
    about), ``mde_pct`` (signed percent, at :data:`TARGET_POWER`; NaN when not reached within
    ``MAX_EFFECT_PCT``, see the ``pilot_mde_not_reached_in_grid`` note), ``mde_pct_se`` (Monte
    Carlo; NaN when unbounded), ``mde_size_adjusted_pct`` (with the test held at ``alpha``) and
    ``size`` (rejection rate at zero effect). Formats: :data:`MDE_TABLE_KINDS`."""
    table = report.curve.sort_values(["months_after", "n_adopters"])[
        ["months_after", "n_adopters", "power", "mde_pct", "mde_pct_se", "mde_size_adjusted_pct", "size"]].copy()
    for column in ("mde_pct", "mde_pct_se", "mde_size_adjusted_pct"):
        table[column] = table[column].where(np.isfinite(table[column]))
    return table.reset_index(drop=True)


def result_entries(report: PilotReport) -> list[ResultEntry]:
    """``results.json`` entries ``power``, ``size``, ``mde_pct`` of the chosen design
    (:func:`analysis.power.result_entries`)."""
    return power.result_entries(report.assessment, excluded=report.outcomes.excluded,
                                measure=report.outcomes.measure)


def result_extra(report: PilotReport) -> dict:
    """``results.json`` ``extra``: the settings, the pool's summary, the grid (``curve``), the
    effect-spread sensitivity and the notes."""
    other = report.other_spread
    return {
        "settings": asdict(report.settings), "pool": report.outcomes.summary(),
        "curve": report.curve.to_dict("records"),
        "spread_sensitivity": {**other.power.as_dict(), "mde_pct": other.mde.mde_pct,
                               "mde_pct_se": other.mde.mde_pct_se, "mde_status": other.mde.status},
        "notes": list(report.notes),
    }

