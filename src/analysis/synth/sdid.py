"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens and Wager 2021)
and its synthetic-control and DID special cases, by the algorithm of the R package synthdid.

``synthdid_matrix`` ports ``synthdid_estimate`` (no covariates): unit weights ω with intercept and
ridge ζ_ω = (N1 T1)^(1/4) · σ, where σ is the standard deviation of the first differences of the
control units' pre-period outcomes; time weights λ with intercept and ζ_λ = 1e-6 σ; both by
Frank–Wolfe (100 iterations, sparsify, then up to 10 000 iterations, stopping when the objective
falls by less than (1e-5 σ)^2). The estimate is
``(−ω, 1/N1)ᵀ Y (−λ, 1/T1)``. SC: ω without intercept, ζ_ω = 1e-6 σ, λ = 0.
DID: uniform ω and λ. ``synthetic_did`` is the long-data front end for one treated unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis.synth.panel import SynthInputError, SynthPanel, wide_panel
from analysis.synth.weights import frank_wolfe_simplex_batch, sparsify_batch

ESTIMATORS = ("sdid", "sc", "did")


@dataclass(frozen=True)
class SdidOptions:
    """Everything besides the data that fixes an estimate (kept for the placebo re-estimates,
    as synthdid's ``opts`` attribute): ridge levels, intercepts, which weights are estimated,
    the stopping rule."""

    zeta_omega: float
    zeta_lambda: float
    omega_intercept: bool
    lambda_intercept: bool
    update_omega: bool
    update_lambda: bool
    min_decrease: float
    max_iter: int = 10_000
    max_iter_pre_sparsify: int = 100
    use_sparsify: bool = True


@dataclass(frozen=True)
class SdidMatrixEstimate:
    """``estimate`` and the weights of one synthdid-type fit on a matrix (controls first)."""

    estimate: float
    omega: np.ndarray
    lam: np.ndarray
    options: SdidOptions
    noise_level: float


def collapsed_form(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    """(N0 + 1) × (T0 + 1): controls' pre outcomes and post means; the treated rows averaged."""
    top = np.column_stack([Y[:N0, :T0], Y[:N0, T0:].mean(axis=1)])
    bottom = np.append(Y[N0:, :T0].mean(axis=0), Y[N0:, T0:].mean())
    return np.vstack([top, bottom])


def noise_level(Y: np.ndarray, N0: int, T0: int) -> float:
    """synthdid's σ: sample standard deviation of all first differences (over time) of the
    control units' pre-period outcomes."""
    if T0 < 2:
        raise SynthInputError("synthetic DiD needs at least two pre-treatment periods")
    return float(np.std(np.diff(Y[:N0, :T0], axis=1), ddof=1))


def default_options(Y: np.ndarray, N0: int, T0: int, estimator: str = "sdid") -> tuple[SdidOptions, float]:
    """The synthdid defaults for ``estimator`` (``sdid``, ``sc``, ``did``) and the noise level σ."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")
    N1, T1 = Y.shape[0] - N0, Y.shape[1] - T0
    sigma = noise_level(Y, N0, T0)
    eta_omega = (N1 * T1) ** 0.25 if estimator == "sdid" else 1e-6
    options = SdidOptions(
        zeta_omega=eta_omega * sigma,
        zeta_lambda=1e-6 * sigma,
        omega_intercept=estimator != "sc",
        lambda_intercept=True,
        update_omega=estimator != "did",
        update_lambda=estimator == "sdid",
        min_decrease=1e-5 * sigma,
    )
    return options, sigma


def initial_weights(N0: int, T0: int, estimator: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Fixed or starting weights ``(omega, lambda)``: None = estimated from the uniform start."""
    if estimator == "did":
        return np.full(N0, 1.0 / N0), np.full(T0, 1.0 / T0)
    if estimator == "sc":
        return None, np.zeros(T0)
    return None, None


def _solve_batch(rows: np.ndarray, zeta: float, intercept: bool, start, options: SdidOptions) -> np.ndarray:
    """synthdid's two-stage solve: ``max_iter_pre_sparsify`` Frank–Wolfe steps, sparsify, then up
    to ``max_iter`` steps from the sparsified weights."""
    weights, _ = frank_wolfe_simplex_batch(rows, zeta, intercept=intercept, start=start,
                                           min_decrease=options.min_decrease,
                                           max_iter=options.max_iter_pre_sparsify)
    if options.use_sparsify:
        weights, _ = frank_wolfe_simplex_batch(rows, zeta, intercept=intercept, start=sparsify_batch(weights),
                                               min_decrease=options.min_decrease, max_iter=options.max_iter)
    return weights


def synthdid_batch(Ys, N0: int, T0: int, *, options: SdidOptions, omega=None, lam=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """synthdid fits of a batch of matrices ``Ys`` (B × N × T, controls in the first ``N0`` rows,
    pre-periods in the first ``T0`` columns), solved side by side. ``omega`` (B × N0) / ``lam``
    (B × T0) are the fixed weights when the option says not to update them, else the Frank–Wolfe
    starting points (None = uniform). Returns ``(estimates (B,), omega (B × N0), lam (B × T0))``."""
    Ys = np.asarray(Ys, dtype=float)
    n_problems, n_units, n_times = Ys.shape
    N1, T1 = n_units - N0, n_times - T0
    collapsed = np.stack([collapsed_form(Y, N0, T0) for Y in Ys])
    if options.update_lambda:
        lam = _solve_batch(collapsed[:, :N0, :], options.zeta_lambda, options.lambda_intercept, lam, options)
    if options.update_omega:
        omega = _solve_batch(np.transpose(collapsed[:, :, :T0], (0, 2, 1)), options.zeta_omega,
                             options.omega_intercept, omega, options)
    omega = np.broadcast_to(np.asarray(omega, dtype=float), (n_problems, N0))
    lam = np.broadcast_to(np.asarray(lam, dtype=float), (n_problems, T0))
    unit_contrast = np.concatenate([-omega, np.full((n_problems, N1), 1.0 / N1)], axis=1)
    time_contrast = np.concatenate([-lam, np.full((n_problems, T1), 1.0 / T1)], axis=1)
    estimates = np.einsum("pn,pnt,pt->p", unit_contrast, Ys, time_contrast)
    return estimates, np.array(omega), np.array(lam)


def synthdid_matrix(Y, N0: int, T0: int, *, options: SdidOptions, omega=None, lam=None,
                    noise: float = float("nan")) -> SdidMatrixEstimate:
    """One synthdid fit of matrix ``Y`` (controls in the first ``N0`` rows, pre-periods in the
    first ``T0`` columns). ``omega``/``lam`` are the fixed weights when the option says not to
    update them, else the Frank–Wolfe starting point (None = uniform)."""
    Y = np.asarray(Y, dtype=float)
    omega_b = None if omega is None else np.asarray(omega, dtype=float)[None, :]
    lam_b = None if lam is None else np.asarray(lam, dtype=float)[None, :]
    estimates, omegas, lams = synthdid_batch(Y[None], N0, T0, options=options, omega=omega_b, lam=lam_b)
    return SdidMatrixEstimate(estimate=float(estimates[0]), omega=omegas[0], lam=lams[0], options=options,
                              noise_level=noise)


@dataclass(frozen=True)
class SyntheticDidResult:
    """A synthdid-type estimate for one treated unit.

    - ``estimator``: ``sdid``, ``sc`` or ``did``; ``estimate``: average effect over the post
      periods (outcome units).
    - ``unit_weights``: DataFrame ``donor, weight`` (ω, sorted descending);
      ``time_weights``: DataFrame ``time, weight`` (λ over the pre periods, sorted descending).
    - ``path``: DataFrame ``time, treated, synthetic, gap, post``: ``synthetic`` is the ω-weighted
      donor average shifted by the λ-weighted pre-period difference (the level SDID compares
      against; for SC the shift is 0), ``gap`` = treated − synthetic.
    - ``effective_donors`` = 1/Σω², ``effective_pre_periods`` = 1/Σλ² (synthdid's N0/T0 summary).
    """

    estimator: str
    estimate: float
    unit_weights: pd.DataFrame
    time_weights: pd.DataFrame
    path: pd.DataFrame
    noise_level: float
    effective_donors: float
    effective_pre_periods: float
    panel: SynthPanel
    fit: SdidMatrixEstimate = field(repr=False)


def fit_panel(panel: SynthPanel, estimator: str = "sdid") -> SyntheticDidResult:
    """synthdid-type estimate on an already checked ``SynthPanel``."""
    if panel.T0 < 2:
        raise SynthInputError("synthetic DiD needs at least two pre-treatment periods")
    options, sigma = default_options(panel.Y, panel.N0, panel.T0, estimator)
    omega0, lam0 = initial_weights(panel.N0, panel.T0, estimator)
    fit = synthdid_matrix(panel.Y, panel.N0, panel.T0, options=options, omega=omega0, lam=lam0, noise=sigma)
    treated = panel.Y[-1]
    donor_mean = fit.omega @ panel.Y[:-1]
    shift = float(fit.lam @ (treated[: panel.T0] - donor_mean[: panel.T0])) if fit.lam.sum() > 0 else 0.0
    synthetic = donor_mean + shift
    unit_weights = (pd.DataFrame({"donor": list(panel.donors), "weight": fit.omega})
                    .sort_values("weight", ascending=False, kind="stable").reset_index(drop=True))
    time_weights = (pd.DataFrame({"time": list(panel.pre_times), "weight": fit.lam})
                    .sort_values("weight", ascending=False, kind="stable").reset_index(drop=True))
    path = pd.DataFrame({"time": list(panel.times), "treated": treated, "synthetic": synthetic,
                         "gap": treated - synthetic,
                         "post": [i >= panel.T0 for i in range(len(panel.times))]})
    lam_sq = float(fit.lam @ fit.lam)
    return SyntheticDidResult(
        estimator=estimator,
        estimate=fit.estimate,
        unit_weights=unit_weights,
        time_weights=time_weights,
        path=path,
        noise_level=sigma,
        effective_donors=1.0 / float(fit.omega @ fit.omega),
        effective_pre_periods=1.0 / lam_sq if lam_sq > 0 else float("nan"),
        panel=panel,
        fit=fit,
    )


def synthetic_did(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: Any,
    treatment_start: Any,
    donors: Sequence | None = None,
    estimator: str = "sdid",
) -> SyntheticDidResult:
    """Synthetic DiD (``estimator="sdid"``), or synthdid's SC / DID variants, for one treated unit.

    ``data``: balanced long panel; ``donors=None`` = every other unit. Needs ≥ 2 pre periods.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}; got {estimator!r}")
    panel = wide_panel(data, outcome=outcome, unit=unit, time=time, treated_unit=treated_unit,
                       treatment_start=treatment_start, donors=donors, min_pre_periods=2)
    return fit_panel(panel, estimator)
