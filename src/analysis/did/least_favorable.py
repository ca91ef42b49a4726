"""The least-favourable critical value of the ARP hybrid test, from the vertices of its dual.

HonestDiD's conditional least-favourable test ("C-LF", Andrews, Roth and Pakes 2023; Rambachan
and Roth 2023) needs, for every restriction it inverts, the (1 - kappa) quantile of

    eta(xi) = min over (eta, tau) of eta  subject to  sd * eta + X tau >= xi,

over ``sims`` simulated ``xi ~ N(0, Sigma)`` (``sd`` = standard deviations of the moments, ``X``
= their loadings on the nuisance parameters). moderndid solves one linear program per draw: 1,000
programs per restriction, 70 restrictions per robustness report, about 80 % of its HonestDiD time.

By linear-programming duality the same value is

    eta(xi) = max over gamma of gamma' xi  subject to  gamma >= 0, sd' gamma = 1, X' gamma = 0,

a maximum over a bounded polytope (``sd > 0``), attained at one of its vertices. The vertices do
not depend on ``xi``: with ``W = [sd, X]`` (``k`` columns), each is the non-negative solution of
``W_S' gamma_S = e_1`` for a set ``S`` of ``k`` moments with ``W_S`` invertible. This module
enumerates those sets once and takes, for every draw, the largest ``gamma' xi``: the same draws
(the same seeded generator call as moderndid), the same optimal values up to rounding (about
1e-15 relative), the same ``np.quantile``. Where enumeration would be larger than
:data:`MAX_BASES` sets, ``W`` has dependent columns, or the polytope is empty, moderndid's own
per-draw programs are used. A basis whose matrix is nearly singular (condition number above
:data:`MAX_CONDITION`) is not counted as a vertex; tests compare the result with the programs.

The first stage of the same test is the same program: a candidate value ``theta`` of the target
is rejected at once when ``eta(y_theta) > cv`` (``y_theta``: the moments at ``theta``), and
moderndid solves it for each of the ``grid_points`` candidates of every restriction (200 × 7 ×
10 per robustness report, three quarters of them rejected there). With the vertices at hand
``eta(y_theta)`` of the whole grid is one matrix product: :func:`first_stage_theta_test` rejects
a candidate whose value exceeds the critical value by more than :data:`DECISION_MARGIN` and hands
every other one (not clearly rejected: the conditional second stage decides) to moderndid's own
test, which solves its programs as before. Accepted sets are therefore moderndid's, except for a
candidate within the margin of the critical value, which moderndid decides.

:func:`least_favorable_cv` has moderndid's private ``_compute_least_favorable_cv`` signature and
:func:`first_stage_theta_test` that of ``_test_theta_accepted``; :func:`vertex_critical_values`
installs both for the duration of a ``with`` block (HonestDiD calls reach them through
``moderndid.didhonest.arp_nuisance``).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator

import numpy as np
from moderndid.didhonest import arp_nuisance

#: Largest number of candidate bases enumerated (time and memory grow with it); beyond it moderndid's
#: per-draw linear programs are used.
MAX_BASES = 50_000
#: Bases whose matrix has a larger condition number are treated as singular (not a vertex).
MAX_CONDITION = 1e12
#: A vertex coordinate below ``-FEASIBILITY_TOL * max|gamma|`` makes the basis infeasible.
FEASIBILITY_TOL = 1e-10

#: A candidate whose first-stage statistic exceeds the critical value by less than
#: ``DECISION_MARGIN * (1 + |cv|)`` is left to moderndid's program (solver tolerances are ~1e-7).
DECISION_MARGIN = 1e-6

_moderndid_cv = arp_nuisance._compute_least_favorable_cv
_moderndid_theta_test = arp_nuisance._test_theta_accepted

#: Vertices by (sd, X) within a ``vertex_critical_values`` block: the critical value and the
#: first-stage statistics of one restriction share them. Emptied when the block ends.
_VERTICES: dict[tuple, np.ndarray | None] = {}
#: (moments of the grid, first-stage statistic of each candidate) of the inversion in progress.
_GRID: dict[str, object] = {}


def dual_vertices(sd: np.ndarray, x_t: np.ndarray) -> np.ndarray | None:
    """Vertices of ``{gamma >= 0 : sd' gamma = 1, X' gamma = 0}``, one per row.

    ``sd``: (m,) positive standard deviations; ``x_t``: (m, p) nuisance loadings. Returns None
    when enumeration would exceed :data:`MAX_BASES` candidate bases, the inputs are not finite or
    ``[sd, X]`` has dependent columns; an empty (0, m) array when the polytope is empty (the primal
    programs are unbounded).
    """
    w = np.column_stack([sd, x_t])
    if not (np.isfinite(w).all() and (sd > 0).all()):
        return None
    m, k = w.shape
    if np.linalg.matrix_rank(w) < k:   # redundant or contradictory constraints: leave them to the solver
        return None
    if math.comb(m, k) > MAX_BASES:
        return None
    bases = np.array(list(itertools.combinations(range(m), k)), dtype=np.intp).reshape(-1, k)
    blocks = np.transpose(w[bases], (0, 2, 1))            # (n_bases, k, k): W_S'
    with np.errstate(all="ignore"):
        usable = np.linalg.cond(blocks) < MAX_CONDITION
    bases, blocks = bases[usable], blocks[usable]
    if len(bases) == 0:
        return np.zeros((0, m))
    rhs = np.zeros((len(bases), k, 1))
    rhs[:, 0, 0] = 1.0
    gamma_s = np.linalg.solve(blocks, rhs)[..., 0]
    scale = np.abs(gamma_s).max(axis=1, keepdims=True)
    feasible = (gamma_s >= -FEASIBILITY_TOL * scale).all(axis=1)
    vertices = np.zeros((int(feasible.sum()), m))
    np.put_along_axis(vertices, bases[feasible], np.clip(gamma_s[feasible], 0.0, None), axis=1)
    return vertices


def least_favorable_cv(x_t=None, sigma=None, hybrid_kappa=0.05, sims=1000, rows_for_arp=None, seed=0,
                       model=None) -> float:
    """moderndid's least-favourable critical value, with the draws' programs solved by their vertices.

    Same arguments and value as ``moderndid.didhonest.arp_nuisance._compute_least_favorable_cv``
    (``model``, a HiGHS model for the fallback, is passed on unchanged).
    """
    if x_t is None or sigma is None:
        return _moderndid_cv(x_t, sigma, hybrid_kappa, sims, rows_for_arp, seed, model=model)
    vertices, sub_sigma = _arp_vertices(x_t, sigma, rows_for_arp)
    if vertices is None or len(vertices) == 0:
        return _moderndid_cv(x_t, sigma, hybrid_kappa, sims, rows_for_arp, seed, model=model)
    rng = np.random.default_rng(seed)
    xi_draws = rng.multivariate_normal(mean=np.zeros(sub_sigma.shape[0]), cov=sub_sigma, size=sims)
    eta = (xi_draws @ vertices.T).max(axis=1)
    return float(np.quantile(eta, 1 - hybrid_kappa))


def _arp_vertices(x_t: np.ndarray, sigma: np.ndarray, rows_for_arp) -> tuple[np.ndarray | None, np.ndarray]:
    """(:func:`dual_vertices` of the moments in ``rows_for_arp``, their covariance). The vertices
    are memoised within a ``vertex_critical_values`` block: the critical value and the first-stage
    statistics of one restriction share them."""
    sub_x = x_t[rows_for_arp] if rows_for_arp is not None else x_t
    sub_sigma = sigma[np.ix_(rows_for_arp, rows_for_arp)] if rows_for_arp is not None else sigma
    sub_x = np.ascontiguousarray(sub_x.reshape(-1, 1) if sub_x.ndim == 1 else sub_x, dtype=float)
    with np.errstate(invalid="ignore"):  # a negative variance gives NaN: no vertices (the solver decides)
        sd = np.ascontiguousarray(np.sqrt(np.diag(sub_sigma)), dtype=float)
    key = (sd.tobytes(), sub_x.shape, sub_x.tobytes())
    if key not in _VERTICES:
        _VERTICES[key] = dual_vertices(sd, sub_x)
    return _VERTICES[key], sub_sigma


def _grid_statistics(y_t_matrix: np.ndarray, x_t: np.ndarray, sigma: np.ndarray,
                     rows_for_arp) -> np.ndarray | None:
    """``eta(y_theta)`` of every candidate (row of ``y_t_matrix``), or None when the vertices
    cannot be enumerated (moderndid's programs decide)."""
    if _GRID.get("moments") is not y_t_matrix:
        vertices, _ = _arp_vertices(x_t, sigma, rows_for_arp)
        moments = y_t_matrix if rows_for_arp is None else y_t_matrix[:, rows_for_arp]
        eta = None if vertices is None or len(vertices) == 0 else (moments @ vertices.T).max(axis=1)
        _GRID.update(moments=y_t_matrix, eta=eta)
    return _GRID["eta"]


def first_stage_theta_test(i, y_t_matrix, hybrid_flag, hybrid_list, d_vec, a_gamma_inv_one, theta_grid,
                           a_gamma_inv_minus_one, sigma_y, alpha, rows_for_arp, test_model=None,
                           max_model=None) -> bool:
    """moderndid's ``_test_theta_accepted`` (is ``theta_grid[i]`` accepted?), with candidates the
    least-favourable first stage clearly rejects decided from the dual vertices (module doc)."""
    cv = hybrid_list.get("lf_cv") if hybrid_flag == "LF" and hybrid_list else None
    if cv is not None and np.isfinite(cv) and a_gamma_inv_minus_one is not None:
        eta = _grid_statistics(y_t_matrix, a_gamma_inv_minus_one, sigma_y, rows_for_arp)
        if eta is not None and eta[i] > cv + DECISION_MARGIN * (1.0 + abs(cv)):
            return False
    return _moderndid_theta_test(i, y_t_matrix, hybrid_flag, hybrid_list, d_vec, a_gamma_inv_one, theta_grid,
                                 a_gamma_inv_minus_one, sigma_y, alpha, rows_for_arp, test_model=test_model,
                                 max_model=max_model)


@contextlib.contextmanager
def vertex_critical_values() -> Iterator[None]:
    """Within the block, moderndid's HonestDiD computes least-favourable values with
    :func:`least_favorable_cv` and tests candidates with :func:`first_stage_theta_test`."""
    previous = arp_nuisance._compute_least_favorable_cv, arp_nuisance._test_theta_accepted
    arp_nuisance._compute_least_favorable_cv = least_favorable_cv
    arp_nuisance._test_theta_accepted = first_stage_theta_test
    try:
        yield
    finally:
        arp_nuisance._compute_least_favorable_cv, arp_nuisance._test_theta_accepted = previous
        _VERTICES.clear()
        _GRID.clear()
