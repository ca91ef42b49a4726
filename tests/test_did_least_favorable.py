"""The least-favourable critical value from dual vertices against moderndid's per-draw linear programs.

:func:`analysis.did.least_favorable.least_favorable_cv` must give moderndid's value (the same
seeded draws, the same quantile) while solving no linear program per draw. The reference here is
moderndid's own ``_compute_least_favorable_cv`` solving every draw with scipy's HiGHS; the R
reference values of HonestDiD's README (tests/test_did_honest.py) now run through the vertex path.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
from moderndid.didhonest import arp_nuisance
from scipy import optimize
from test_did_honest import ehec_event_study

import analysis.did.honest as honest_module
from analysis.did import honest_sensitivity, least_favorable
from analysis.did.least_favorable import (
    dual_vertices,
    least_favorable_cv,
    vertex_critical_values,
)

MODERNDID_CV = least_favorable._moderndid_cv


def _problem(rng, n_moments, n_nuisance):
    loadings = rng.normal(size=(n_moments, n_moments))
    sigma = loadings @ loadings.T / n_moments + 0.1 * np.eye(n_moments)
    x_t = rng.normal(size=(n_moments, n_nuisance))
    # loadings orthogonal to a positive vector: the dual is feasible and the programs are bounded
    positive = rng.uniform(0.5, 1.5, size=n_moments)
    x_t -= np.outer(positive, positive @ x_t) / (positive @ positive)
    return x_t, sigma


@pytest.mark.parametrize("n_moments, n_nuisance, seed", [(4, 1, 1), (6, 2, 2), (9, 3, 3), (12, 5, 4), (14, 4, 5)])
def test_matches_moderndid_linear_programs(n_moments, n_nuisance, seed):
    rng = np.random.default_rng(seed)
    x_t, sigma = _problem(rng, n_moments, n_nuisance)
    for kappa, draws_seed in ((0.005, 0), (0.05, 7)):
        expected = MODERNDID_CV(x_t, sigma, kappa, 300, None, draws_seed)
        got = least_favorable_cv(x_t, sigma, kappa, 300, None, draws_seed)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_rows_for_arp_and_one_dimensional_loadings():
    rng = np.random.default_rng(11)
    x_t, sigma = _problem(rng, 10, 1)
    rows = np.array([0, 2, 3, 5, 7, 9])
    expected = MODERNDID_CV(x_t[:, 0], sigma, 0.01, 200, rows, 3)
    assert least_favorable_cv(x_t[:, 0], sigma, 0.01, 200, rows, 3) == pytest.approx(expected, rel=1e-9)


def test_every_draw_is_the_linear_program_optimum():
    """Per draw, the best vertex equals the primal program's optimum (an independent solve)."""
    rng = np.random.default_rng(5)
    x_t, sigma = _problem(rng, 8, 3)
    sd = np.sqrt(np.diag(sigma))
    vertices = dual_vertices(sd, x_t)
    assert vertices is not None and len(vertices) > 0
    assert np.all(vertices >= 0)
    np.testing.assert_allclose(vertices @ sd, 1.0, rtol=1e-9)
    np.testing.assert_allclose(vertices @ x_t, 0.0, atol=1e-9)
    for xi in rng.multivariate_normal(np.zeros(8), sigma, size=25):
        program = optimize.linprog(c=[1.0, 0, 0, 0], A_ub=-np.column_stack([sd, x_t]), b_ub=-xi,
                                   bounds=[(None, None)] * 4, method="highs")
        assert program.success
        assert (vertices @ xi).max() == pytest.approx(program.fun, rel=1e-9, abs=1e-12)


def test_falls_back_to_the_linear_programs(monkeypatch):
    rng = np.random.default_rng(8)
    x_t, sigma = _problem(rng, 8, 2)
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        return MODERNDID_CV(*args, **kwargs)

    monkeypatch.setattr(least_favorable, "_moderndid_cv", spy)
    monkeypatch.setattr(least_favorable, "MAX_BASES", 10)   # C(8, 3) = 56 bases: too many now
    expected = MODERNDID_CV(x_t, sigma, 0.05, 100, None, 0)
    assert least_favorable_cv(x_t, sigma, 0.05, 100, None, 0) == expected
    assert len(calls) == 1
    # dependent columns of [sd, X] are left to the solver as well
    assert dual_vertices(np.ones(5), np.column_stack([np.arange(5.0), 2 * np.arange(5.0)])) is None


def test_empty_polytope_raises_like_moderndid():
    """Loadings all positive: no gamma >= 0 with X' gamma = 0 and sd' gamma = 1, every program unbounded."""
    sigma = np.eye(4)
    x_t = np.array([[1.0], [2.0], [0.5], [1.5]])
    assert dual_vertices(np.ones(4), x_t).shape == (0, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError):
            MODERNDID_CV(x_t, sigma, 0.05, 20, None, 0)
        with pytest.raises(RuntimeError):
            least_favorable_cv(x_t, sigma, 0.05, 20, None, 0)


def test_context_installs_and_restores():
    before = arp_nuisance._compute_least_favorable_cv
    with vertex_critical_values():
        assert arp_nuisance._compute_least_favorable_cv is least_favorable_cv
    assert arp_nuisance._compute_least_favorable_cv is before
    with pytest.raises(ValueError), vertex_critical_values():
        raise ValueError("inside")
    assert arp_nuisance._compute_least_favorable_cv is before


def test_honest_intervals_unchanged_on_the_ehec_event_study(monkeypatch):
    """The same robust intervals as with moderndid's own critical values (HonestDiD README data)."""
    study = ehec_event_study()
    with_vertices = honest_sensitivity(study, method="relative_magnitudes", grid=[0.5, 1.0], grid_points=200)
    monkeypatch.setattr(honest_module, "vertex_critical_values", contextlib.nullcontext)
    with_programs = honest_sensitivity(study, method="relative_magnitudes", grid=[0.5, 1.0], grid_points=200)
    assert with_vertices.intervals.equals(with_programs.intervals)


def test_first_stage_shortcut_decides_every_candidate_as_moderndid_and_skips_most_programs(monkeypatch):
    """Every candidate value of every restriction: the shortcut's decision equals moderndid's own
    test (both run), and the shortcut decided most of them without moderndid's programs."""
    shortcut, programs = least_favorable.first_stage_theta_test, least_favorable._moderndid_theta_test
    counts = {"candidates": 0, "programs": 0}

    def counting_programs(*args, **kwargs):
        counts["programs"] += 1
        return programs(*args, **kwargs)

    def both(i, *args, **kwargs):
        counts["candidates"] += 1
        decided = shortcut(i, *args, **kwargs)
        assert decided == programs(i, *args, **kwargs), f"candidate {i}"
        return decided

    monkeypatch.setattr(least_favorable, "_moderndid_theta_test", counting_programs)
    monkeypatch.setattr(least_favorable, "first_stage_theta_test", both)
    honest_sensitivity(ehec_event_study(), method="relative_magnitudes", grid=[0.0, 0.5, 1.0, 2.0], grid_points=120)
    assert counts["candidates"] >= 4 * 120  # 4 values of Mbar x 120 candidates x each restriction set
    assert counts["programs"] < 0.6 * counts["candidates"]


def test_a_candidate_near_the_critical_value_is_left_to_moderndid(monkeypatch):
    """A statistic above the critical value by less than the margin goes to moderndid's test; one
    clearly above is rejected without it. The moments are 0, so the statistic is 0 (the loadings
    are orthogonal to (1, 1, 1): the dual has vertices)."""
    calls = []
    monkeypatch.setattr(least_favorable, "_moderndid_theta_test", lambda i, *a, **k: calls.append(i) or True)
    loadings = np.array([[1.0], [-1.0], [0.0]])

    def test(cv):
        return arp_nuisance._test_theta_accepted(0, np.zeros((1, 3)), "LF", {"lf_cv": cv}, None, None, None,
                                                 loadings, np.eye(3), 0.05, None)

    with vertex_critical_values():
        assert test(-0.1 * least_favorable.DECISION_MARGIN) is True  # within the margin: moderndid's call
        assert calls == [0]
        assert test(-10 * least_favorable.DECISION_MARGIN) is False  # clearly rejected: no call
        assert calls == [0]


def test_first_stage_statistics_are_the_linear_program_optima():
    """eta(y_theta) from the vertices equals the primal program min eta s.t. sd*eta + X tau >= y."""
    rng = np.random.default_rng(21)
    x_t, sigma = _problem(rng, 8, 2)
    moments = rng.normal(size=(25, 8))
    with vertex_critical_values():
        eta = least_favorable._grid_statistics(moments, x_t, sigma, None)
    sd = np.sqrt(np.diag(sigma))
    for row, value in zip(moments, eta):
        program = optimize.linprog(np.r_[1.0, np.zeros(2)], A_ub=-np.column_stack([sd, x_t]), b_ub=-row,
                                   bounds=[(None, None)] * 3, method="highs")
        assert program.status == 0 and value == pytest.approx(program.fun, rel=1e-8, abs=1e-10)
