"""Designing the next WFA pilots: simulation-based power and minimum detectable effects.

A notebook is a few calls::

    outcomes = power.pilot_outcomes(dataset, outcome="median_days", service_type="perizinan")
    design = power.PilotDesign(n_adopters=20, waves=2, months_after=6)
    result = power.assess_design(outcomes, design, effect_pct=10, alpha=0.05, n_sims=200, seed=1)
    result.power.power, result.power.power_se, result.power.size     # at +10%
    result.mde.mde_pct, result.mde.mde_pct_se                         # at 80% power
    power.result_entries(result, excluded=outcomes.excluded, measure=outcomes.measure)  # results.json
    power.power_curve(outcomes, design, n_adopters=[5, 10, 20, 40], months_after=[3, 6, 12],
                      effect_pct=10, n_sims=200, seed=1)

Modules: :mod:`~analysis.power.outcomes` (the observed pool without WFA),
:mod:`~analysis.power.design` (the pilot and the adopter draw), :mod:`~analysis.power.placebo`
(placebo futures by seasonal block bootstrap), :mod:`~analysis.power.estimators` (the estimator
and test inside the simulation, pluggable), :mod:`~analysis.power.simulate` (the engine),
:mod:`~analysis.power.results` (result types).
"""

from analysis.power.design import STRATA, PilotDesign
from analysis.power.estimators import DidEstimator, DrawEstimate, FastImputation, PilotDraw, PilotEstimator
from analysis.power.outcomes import OUTCOMES, PilotOutcomes, pilot_outcomes
from analysis.power.placebo import BlockBootstrap
from analysis.power.results import (
    DesignAssessment, MdeResult, PowerResult, log_to_pct, pct_to_log, result_entries,
)
from analysis.power.simulate import (
    CURVE_COLUMNS, DEFAULT_SEED, FEW_TREATED_PEMDA, assess_design, minimum_detectable_effect,
    pilot_draw, power_curve, simulate_power,
)

__all__ = [
    "BlockBootstrap", "CURVE_COLUMNS", "DEFAULT_SEED", "DesignAssessment", "DidEstimator",
    "DrawEstimate", "FEW_TREATED_PEMDA", "FastImputation", "MdeResult", "OUTCOMES", "PilotDesign",
    "PilotDraw", "PilotEstimator", "PilotOutcomes", "PowerResult", "STRATA", "assess_design",
    "log_to_pct", "minimum_detectable_effect", "pct_to_log", "pilot_draw", "pilot_outcomes",
    "power_curve", "result_entries", "simulate_power",
]
