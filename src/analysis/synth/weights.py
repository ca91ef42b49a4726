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

def _fw_step(A: np.ndarray, x: np.ndarray, b: np.ndarray, eta: float) -> np.ndarray:
    """One Frank–Wolfe step for ||A x - b||^2 + eta ||x||^2 on the simplex, exact line search."""
    Ax = A @ x
    half_grad = (Ax - b) @ A + eta * x
    i = int(np.argmin(half_grad))  # R's which.min: first minimum
    d_x = -x.copy()
    d_x[i] = 1.0 - x[i]
    if np.all(d_x == 0):
        return x
    d_err = A[:, i] - Ax
    step = -float(half_grad @ d_x) / (float(d_err @ d_err) + eta * float(d_x @ d_x))
    return x + min(1.0, max(0.0, step)) * d_x


def frank_wolfe_simplex(Y, zeta: float, *, intercept: bool = True, start=None,
                        min_decrease: float = 1e-3, max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Port of synthdid's ``sc.weight.fw``: weights ``w`` on the simplex minimising
    ``zeta^2 ||w||^2 + ||Y[:, :-1] w - Y[:, -1]||^2 / nrow(Y)`` (columns demeaned first when
    ``intercept``). Stops after ``max_iter`` steps or when the objective falls by less than
    ``min_decrease^2`` in one step. Returns ``(weights, objective values by iteration)``.
    """
    Y = np.asarray(Y, dtype=float)
    n_rows, n_cols = Y.shape
    k = n_cols - 1
    w = np.full(k, 1.0 / k) if start is None else np.asarray(start, dtype=float).copy()
    if intercept:
        Y = Y - Y.mean(axis=0)
    A = Y[:, :k]
    b = Y[:, k]
    eta = n_rows * zeta**2
    values: list[float] = []
    t = 0
    while t < max_iter and (t < 2 or values[t - 2] - values[t - 1] > min_decrease**2):
        t += 1
        w = _fw_step(A, w, b, eta)
        err = A @ w - b
        values.append(zeta**2 * float(w @ w) + float(err @ err) / n_rows)
    return w, np.array(values)


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
