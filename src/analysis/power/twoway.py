"""Two-way fixed effects on a dense units × months matrix with holes.

The power simulation works on dense ``n_units x n_months`` arrays (``NaN`` = no cell), so the
two-way fit ``y_it = a_i + b_t`` on a subset of cells (a 0/1 mask) is solved here directly on
those arrays: the unit effects are eliminated from the normal equations, leaving a
``n_months x n_months`` system solved with a pseudo-inverse (the same exact method as
:class:`analysis.did.imputation._TwoWayNormalEquations`, specialised to unit weights on a dense
layout, where building the system is a matrix product instead of scatter-adds).
"""

from __future__ import annotations

import numpy as np


class DenseTwoWay:
    """Exact least squares for ``y ~ unit FE + month FE`` on the cells where ``mask`` is true.

    ``mask``: boolean ``n_units x n_months``. ``solve(r, s)`` solves the normal equations for
    a right-hand side given as unit totals ``r`` and month totals ``s`` (minimum-norm month
    part) and returns unit effects ``a`` (NaN for units without a cell in the mask) and month
    effects ``b`` (0 for months without a cell). ``fit(values)`` returns ``a_i + b_t`` for every
    unit and month (NaN rows for units outside the mask, NaN columns for months outside it).
    """

    def __init__(self, mask: np.ndarray):
        self.mask = np.asarray(mask, dtype=bool)
        weight = self.mask.astype(float)
        self.weight = weight
        self.unit_count = weight.sum(axis=1)
        self.month_count = weight.sum(axis=0)
        self.inv_unit = np.divide(1.0, self.unit_count, out=np.zeros_like(self.unit_count),
                                  where=self.unit_count > 0)
        reduced = np.diag(self.month_count) - weight.T @ (weight * self.inv_unit[:, None])
        self.reduced_pinv = np.linalg.pinv(reduced, rcond=1e-12, hermitian=True)

    def solve(self, r: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = self.reduced_pinv @ (s - self.weight.T @ (r * self.inv_unit))
        a = (r - self.weight @ b) * self.inv_unit
        a[self.unit_count == 0] = np.nan
        return a, b

    def fit(self, values: np.ndarray) -> np.ndarray:
        """Fitted ``a_i + b_t`` of ``values`` (only the masked cells are used)."""
        inside = np.where(self.mask, values, 0.0)
        a, b = self.solve(inside.sum(axis=1), inside.sum(axis=0))
        fitted = a[:, None] + b[None, :]
        fitted[:, self.month_count == 0] = np.nan
        return fitted


def two_way_residuals(values: np.ndarray) -> np.ndarray:
    """``values`` minus its two-way (unit + month) fit on the observed (finite) cells; NaN stays."""
    values = np.asarray(values, dtype=float)
    observed = np.isfinite(values)
    fitted = DenseTwoWay(observed).fit(values)
    return np.where(observed, values - fitted, np.nan)
