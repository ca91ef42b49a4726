"""Weight solvers on the unit simplex (non-negative weights that sum to one).

Two solvers, for two purposes:

* ``simplex_least_squares`` — the *exact* minimiser of ``||A w - b||^2`` over the simplex, by a
  Lawson–Hanson style active-set method with a KKT optimality check. Used for the classic
  outcome-only synthetic control (Abadie, Diamond and Hainmueller 2010 without predictors).
* ``frank_wolfe_simplex`` / ``sparsify`` — a line-by-line port of the solver of the R package
  synthdid (``fw.step``, ``sc.weight.fw``, ``sparsify_function`` in ``R/solver.R`` and
  ``R/synthdid.R``), including its stopping rule. It stops slightly short of the optimum; the
  port is kept exact so that the published synthdid numbers are reproduced digit for digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class SimplexSolution:
    """Result of ``simplex_least_squares``: ``weights`` (length n, ≥ 0, sum 1), ``sse`` (the
    minimised sum of squared residuals), ``iterations`` and ``kkt_violation`` (largest negative
    reduced gradient among zero weights, ≤ 0 up to rounding at an optimum)."""

    weights: np.ndarray
    sse: float
    iterations: int
    kkt_violation: float


def _equality_ls(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimise ||A z - b||^2 subject to sum(z) = 1 (no sign constraint).

    Parametrised as z = e_0 + N u with N a basis of {sum = 0}, solved by least squares
    (robust to collinear columns: the minimum-norm solution is taken).
    """
    k = A.shape[1]
    if k == 1:
        return np.ones(1)
    # Basis of the sum-zero subspace: columns e_j - e_0, j = 1..k-1.
    basis = np.zeros((k, k - 1))
    basis[0, :] = -1.0
    basis[np.arange(1, k), np.arange(k - 1)] = 1.0
    start = np.zeros(k)
    start[0] = 1.0
    u, *_ = np.linalg.lstsq(A @ basis, b - A @ start, rcond=None)
    return start + basis @ u


def simplex_least_squares(A, b, *, tol: float = 1e-10, max_iter: int = 1000) -> SimplexSolution:
    """Exact minimiser of ``||A w - b||^2`` subject to ``w >= 0`` and ``sum(w) = 1``.

    ``A`` is (m × n): one column per donor, one row per matched quantity (e.g. pre-period
    outcomes); ``b`` has length m. Active-set method (Lawson and Hanson 1974, ch. 23, adapted to
    the simplex): the support grows by the column with the most negative reduced gradient and
    shrinks when an equality-constrained step would leave the simplex. Terminates at a point
    satisfying the KKT conditions to ``tol`` (relative to the gradient scale).
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    m, n = A.shape
    if n == 0:
        raise ValueError("simplex_least_squares: no columns (empty donor pool)")
    # Start at the best single vertex.
    start = int(np.argmin(((A - b[:, None]) ** 2).sum(axis=0)))
    w = np.zeros(n)
    w[start] = 1.0
    support = [start]
    scale = max(1.0, float(np.abs(2 * A.T @ (A @ w - b)).max()))
    iterations = 0
    violation = 0.0
    while iterations < max_iter:
        iterations += 1
        # Inner loop: equality-constrained solve on the support, step back into the simplex.
        while True:
            z = _equality_ls(A[:, support], b)
            if np.all(z > tol):
                w = np.zeros(n)
                w[support] = z
                break
            current = w[support]
            blocking = z <= tol
            ratios = current[blocking] / (current[blocking] - z[blocking])
            alpha = float(np.clip(ratios.min(), 0.0, 1.0))
            new = current + alpha * (z - current)
            w = np.zeros(n)
            w[support] = new
            support = [j for j, value in zip(support, new) if value > tol]
            w[[j for j in range(n) if j not in support]] = 0.0
            w /= w.sum()
        gradient = 2 * A.T @ (A @ w - b)
        multiplier = -float(np.mean(gradient[support]))
        reduced = gradient + multiplier
        outside = [j for j in range(n) if j not in support]
        if not outside:
            violation = 0.0
            break
        j_best = outside[int(np.argmin(reduced[outside]))]
        violation = float(min(0.0, reduced[j_best]))
        if reduced[j_best] >= -tol * scale:
            break
        support.append(j_best)
    residual = A @ w - b
    return SimplexSolution(weights=w, sse=float(residual @ residual), iterations=iterations,
                           kkt_violation=violation)


# --- synthdid's Frank–Wolfe solver (port of R/solver.R) -------------------------------------

def frank_wolfe_simplex_batch(Y, zeta: float, *, intercept: bool = True, start=None,
                              min_decrease: float = 1e-3, max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Port of synthdid's ``sc.weight.fw`` for a batch of independent problems.

    ``Y`` is (B × m × (k+1)): for each problem, weights ``w`` on the simplex minimise
    ``zeta^2 ||w||^2 + ||Y[:, :k] w - Y[:, k]||^2 / m`` (columns demeaned first when
    ``intercept``). Each step is synthdid's ``fw.step``: the vertex with the smallest half
    gradient ``(A w - b)ᵀA + eta w`` (eta = m zeta^2, first minimum on ties, like R's
    ``which.min``) and an exact line search clipped to [0, 1]. A problem stops after
    ``max_iter`` steps or once a step lowers its objective by no more than ``min_decrease^2``.

    The steps run in compiled code (:func:`_frank_wolfe_steps`, by numba: a placebo standard error
    takes thousands of steps for each of dozens of problems, whose per-step numpy calls cost more
    than their arithmetic), with ``A w`` and ``AᵀA w`` updated incrementally rather than recomputed:
    the iterates are :func:`frank_wolfe_simplex`'s, and synthdid's, up to floating-point rounding
    (sums are taken in another order). Inputs that are not all finite get
    :func:`frank_wolfe_simplex` problem by problem. Returns ``(weights (B × k), steps
    taken (B,))``.
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 3:
        raise ValueError("Y must be a (problems x rows x columns) array")
    n_problems, n_rows, n_cols = Y.shape
    k = n_cols - 1
    starts = None if start is None else np.array(start, dtype=float).reshape(n_problems, k)
    if not np.isfinite(Y).all() or (starts is not None and not np.isfinite(starts).all()):
        solved = [frank_wolfe_simplex(Y[p], zeta, intercept=intercept, start=None if starts is None else starts[p],
                                      min_decrease=min_decrease, max_iter=max_iter) for p in range(n_problems)]
        return np.array([w for w, _ in solved]).reshape(n_problems, k), np.array([t for _, t in solved])
    if intercept:
        Y = Y - Y.mean(axis=1, keepdims=True)
    A = Y[:, :, :k]
    b = np.ascontiguousarray(Y[:, :, k])
    weights = np.full((n_problems, k), 1.0 / k) if starts is None else starts.copy()
    gram = np.ascontiguousarray(np.matmul(np.transpose(A, (0, 2, 1)), A))  # symmetric: row i = column i
    atb = np.ascontiguousarray(np.matmul(b[:, None, :], A)[:, 0, :])
    columns = np.ascontiguousarray(np.transpose(A, (0, 2, 1)))  # columns[p, i] = A[p, :, i]
    steps = np.zeros(n_problems, dtype=np.int64)
    _compiled_steps()(columns, b, gram, atb, weights, float(n_rows) * zeta**2, float(zeta) ** 2, float(n_rows),
                 float(min_decrease) ** 2, int(max_iter), steps)
    return weights, steps


def _frank_wolfe_steps(columns, b, gram, atb, weights, eta, zeta_sq, n_rows, threshold, max_iter, steps):
    """The steps of :func:`frank_wolfe_simplex_batch`, problem by problem, in place: ``weights``
    (B × k) go from the starting points to the solutions, ``steps`` (B,) receive the steps taken.
    Written for numba (:func:`_compiled_steps`): plain loops over numpy arrays, each step the
    arithmetic of :func:`frank_wolfe_simplex` element by element."""
    n_problems, k = weights.shape
    m = b.shape[1]
    half_grad = np.empty(k)
    d_w = np.empty(k)
    d_err = np.empty(m)
    for p in range(n_problems):
        w = weights[p]
        Aw = np.zeros(m)
        Gw = np.zeros(k)
        for j in range(k):
            for r in range(m):
                Aw[r] += columns[p, j, r] * w[j]
            for i in range(k):
                Gw[i] += gram[p, i, j] * w[j]
        previous = np.nan
        t = 0
        while t < max_iter:
            t += 1
            vertex = 0
            for i in range(k):
                half_grad[i] = Gw[i] - atb[p, i] + eta * w[i]
                if half_grad[i] < half_grad[vertex]:  # the first minimum, as argmin and which.min
                    vertex = i
            for i in range(k):
                d_w[i] = -w[i]
            d_w[vertex] += 1.0
            numerator = 0.0
            d_w_sq = 0.0
            for i in range(k):
                numerator -= half_grad[i] * d_w[i]
                d_w_sq += d_w[i] * d_w[i]
            d_err_sq = 0.0
            for r in range(m):
                d_err[r] = columns[p, vertex, r] - Aw[r]
                d_err_sq += d_err[r] * d_err[r]
            denominator = d_err_sq + eta * d_w_sq
            step = min(1.0, max(0.0, numerator / denominator)) if denominator > 0 else 0.0
            w_sq = 0.0
            for i in range(k):
                w[i] += step * d_w[i]
                Gw[i] += step * (gram[p, vertex, i] - Gw[i])
                w_sq += w[i] * w[i]
            err_sq = 0.0
            for r in range(m):
                Aw[r] += step * d_err[r]
                err = Aw[r] - b[p, r]
                err_sq += err * err
            value = zeta_sq * w_sq + err_sq / n_rows
            if t >= 2 and not previous - value > threshold:
                break
            previous = value
        steps[p] = t


@cache
def _compiled_steps():
    """:func:`_frank_wolfe_steps` compiled by numba, on its first call (kept in numba's on-disk
    cache next to this module, so a process loads it in about 0.5 s instead of compiling it in
    about 2 s; the report kernels' zygote loads it once per build: :mod:`analysis.report.kernel_warm`)."""
    import numba

    return numba.njit(cache=True)(_frank_wolfe_steps)


def frank_wolfe_simplex(Y, zeta: float, *, intercept: bool = True, start=None,
                        min_decrease: float = 1e-3, max_iter: int = 1000) -> tuple[np.ndarray, int]:
    """synthdid's ``sc.weight.fw`` for one problem ``Y`` (m × (k+1)), line by line in numpy: the
    reference :func:`frank_wolfe_simplex_batch`'s compiled steps are tested against, and its
    solver where those cannot run. Returns ``(weights, steps taken)``."""
    Y = np.asarray(Y, dtype=float)
    n_rows, n_cols = Y.shape
    k = n_cols - 1
    if intercept:
        Y = Y - Y.mean(axis=0)
    A = Y[:, :k]
    b = Y[:, k]
    eta = n_rows * zeta**2
    w = np.full(k, 1.0 / k) if start is None else np.array(start, dtype=float)
    gram = A.T @ A
    atb = b @ A
    columns = np.ascontiguousarray(A.T)
    Aw = A @ w
    Gw = gram @ w
    threshold = min_decrease**2
    zeta_sq = zeta**2
    previous = float("nan")
    t = 0
    dot = np.dot
    while t < max_iter:
        t += 1
        half_grad = Gw - atb + eta * w
        i = int(half_grad.argmin())
        d_w = -w
        d_w[i] += 1.0
        d_err = columns[i] - Aw
        denominator = dot(d_err, d_err) + eta * dot(d_w, d_w)
        step = min(1.0, max(0.0, -dot(half_grad, d_w) / denominator)) if denominator > 0 else 0.0
        w += step * d_w
        Aw += step * d_err
        Gw += step * (gram[i] - Gw)
        err = Aw - b
        value = zeta_sq * dot(w, w) + dot(err, err) / n_rows
        if t >= 2 and not previous - value > threshold:
            break
        previous = value
    return w, t


def sparsify_batch(weights) -> np.ndarray:
    """``sparsify`` row by row."""
    v = np.array(weights, dtype=float)
    v[v <= v.max(axis=1, keepdims=True) / 4] = 0.0
    return v / v.sum(axis=1, keepdims=True)


def sparsify(weights) -> np.ndarray:
    """synthdid's ``sparsify_function``: zero every weight ≤ max/4, renormalise."""
    v = np.asarray(weights, dtype=float).copy()
    v[v <= v.max() / 4] = 0.0
    return v / v.sum()


def sum_normalize(weights) -> np.ndarray:
    """synthdid's ``sum_normalize``: divide by the sum, or uniform weights if the sum is zero."""
    v = np.asarray(weights, dtype=float)
    total = v.sum()
    return v / total if total != 0 else np.full(len(v), 1.0 / len(v))
