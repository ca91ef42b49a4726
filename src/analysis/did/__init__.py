"""Staggered difference-in-differences estimators (docs/interfaces.md section 4).

Public estimators: :func:`callaway_santanna`, :func:`twfe`, :func:`sun_abraham`,
:func:`imputation`, :func:`bacon_decomposition`; sensitivity: :func:`honest_sensitivity`;
few treated clusters: :func:`randomization_inference`, :func:`choose_inference`
(:mod:`analysis.did.inference`) and the fast statistic :func:`balanced_imputation_att`;
result types in :mod:`analysis.did.results`; input checks in :mod:`analysis.did._panel`.
Estimators are imported lazily so ``import analysis.did`` stays cheap.
"""

from importlib import import_module

from analysis.did.results import CallawaySantAnnaResult, EventStudyResult, InfluenceFunction, PretrendTest

_LAZY = {
    "callaway_santanna": "analysis.did.cs",
    "twfe": "analysis.did.twfe",
    "pretrend_test": "analysis.did.pretrend",
    "honest_sensitivity": "analysis.did.honest",
    "HonestResult": "analysis.did.honest",
    "TWFEResult": "analysis.did.twfe",
    "sun_abraham": "analysis.did.sun_abraham",
    "imputation": "analysis.did.imputation",
    "bacon_decomposition": "analysis.did.bacon",
    "randomization_inference": "analysis.did.inference",
    "choose_inference": "analysis.did.inference",
    "RandomizationResult": "analysis.did.inference",
    "balanced_imputation_att": "analysis.did.imputation_balanced",
    "did_multiplegt_std_errors": "analysis.did.multiplegt",
}

__all__ = ["CallawaySantAnnaResult", "EventStudyResult", "InfluenceFunction", "PretrendTest", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'analysis.did' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
