"""Synthetic control and synthetic difference-in-differences for a single adopter.

- ``synthetic_control``: classic outcome-only synthetic control, exact simplex least squares.
- ``synthetic_did``: synthdid's SDID (and its SC / DID variants, ``estimator=``), Frank–Wolfe port.
- ``in_space_placebo``: every donor as pseudo-treated; post/pre MSPE ratio rank and p-value.
- ``placebo_se``: the placebo standard error of Arkhangelsky et al. (2021, Algorithm 4).
- ``adjust_for_exposure``: take a common shock with known exposure (the TKD cut) out of the
  outcome first, slopes fitted on never-adopters.
- ``interrupted_time_series``: comparative ITS (gap to the donor mean, trend + month-of-year),
  placebo inference over the donors.

Modules: ``panel`` (input checks, long → matrix), ``weights`` (solvers), ``control``, ``sdid``,
``placebo``, ``adjust``, ``its``, ``rng`` (R's random-number generator, to reproduce published placebo draws).
"""

from analysis.synth.adjust import ExposureAdjustment, adjust_for_exposure
from analysis.synth.control import SyntheticControlResult, synthetic_control
from analysis.synth.its import InterruptedTimeSeriesResult, interrupted_time_series
from analysis.synth.placebo import InSpacePlacebo, PlaceboSE, in_space_placebo, placebo_se
from analysis.synth.panel import SynthInputError, SynthPanel, wide_panel
from analysis.synth.sdid import SyntheticDidResult, synthetic_did

__all__ = [
    "ExposureAdjustment",
    "InterruptedTimeSeriesResult",
    "adjust_for_exposure",
    "interrupted_time_series",
    "InSpacePlacebo",
    "PlaceboSE",
    "in_space_placebo",
    "placebo_se",
    "SynthInputError",
    "SynthPanel",
    "SyntheticControlResult",
    "SyntheticDidResult",
    "synthetic_control",
    "synthetic_did",
    "wide_panel",
]
