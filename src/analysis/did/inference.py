"""Inference that stays valid with few treated clusters: randomization inference over adoption
assignments, and the rule that chooses it.

**Randomization inference** (:func:`randomization_inference`; Fisher's exact test, as used for
DiD with few treated groups by Conley & Taber 2011 and MacKinnon & Webb 2020). Under the sharp
null of no effect on any cell, the outcomes do not depend on who adopted, so the estimate the
estimator would have returned under any other assignment of the same cohorts to the same
Pemda can be computed. The assignment is re-drawn at the level of ``assign_by`` (the cluster:
the Pemda), keeping the number of Pemda in each cohort (and within each stratum, e.g. province
vs kabupaten/kota, or a TKD-cut band), and the estimator is re-run on each. The p-value is the
share of assignments whose statistic is at least as large in absolute value as the observed one
(two-sided), the observed assignment included: exact when every assignment is enumerated
(automatic when there are at most ``max_exact`` of them), otherwise ``(1 + #{|T_b| >= |T|}) /
(B + 1)`` over ``B`` seeded random draws, which is also an exact level-α test when
``α (B + 1)`` is an integer.

The statistic is ``"t"`` (estimate / its own analytic standard error; studentised, so Pemda with
noisier outcomes weigh less in the null distribution) or ``"estimate"``. Both are exact under
random assignment; they differ when assignment is not random and the units differ in noise.
benchmarks/few_treated_size.py measured both with the real adopters and no effect (100 draws):
``"t"`` within level (province vs kabupaten/kota) rejects 6.0 % (budget) and 3.0 % (service)
at 5 %; ``"estimate"`` rejects 8 % and 19 % (the real adopters are large Pemda whose service
outcomes are far less noisy than a random kabupaten's). The project uses ``"t"``
(:data:`DEFAULT_STATISTIC`) with ``strata=["level"]`` (:data:`RECOMMENDED_STRATA`).

The interval inverts the test under a constant additive effect τ₀ on the treated cells: the
outcome minus τ₀ on the cells treated under the observed assignment is the outcome without
treatment under that hypothesis, so τ₀ is rejected when the zero-effect test on those shifted
outcomes rejects. The end points are found by bisection with the same assignments at every τ₀.
When even the most extreme assignment cannot reach ``alpha`` (too few assignments), the
interval is unbounded (``-inf``/``inf``).

**Which inference** (:func:`choose_inference`): analytic cluster-robust / influence-function
standard errors when at least :data:`MIN_TREATED_CLUSTERS_ANALYTIC` treated Pemda enter the
estimate, randomization inference below that. The threshold comes from the size study
(benchmarks/few_treated_size.py, recorded in benchmarks/README.md): see the constant's comment.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from analysis.notes import Note
from analysis.report.results_file import Inference

#: An estimator for randomization inference: a panel (with the assignment column(s) set) ->
#: ``(estimate, standard error)``.
Estimator = Callable[[pd.DataFrame], tuple[float, float]]

STATISTICS = ("t", "estimate")
DEFAULT_STATISTIC = "t"
#: Strata the size study supports for Pemda panels: permute within province vs kabupaten/kota
#: (a cluster-level column holding the level; benchmarks/README.md "Few treated clusters").
RECOMMENDED_STRATA = ("level",)
#: Enumerate every assignment when there are at most this many; otherwise draw at random.
MAX_EXACT = 5000
DEFAULT_DRAWS = 999
DEFAULT_SEED = 20260110

#: Fewest treated clusters (Pemda) for analytic cluster-robust standard errors; below this,
#: randomization inference. Evidence (benchmarks/few_treated_size.py, benchmarks/README.md "Few
#: treated clusters"; rejection rate of a true null at 5 %, placebo adopters drawn like the
#: simulated adoption, 100-300 draws): the CS analytic SE of the budget headline rejects 17 %
#: with the 4 real adopters, 12 % with 5, 10 % with 10, 5.0 % with 20 and 6.0 % with 40
#: treated Pemda; the imputation SE 11 %, 11 %, 7 %, 5 % and 7 %.
MIN_TREATED_CLUSTERS_ANALYTIC = 20


class RandomizationError(ValueError):
    """Randomization inference cannot run on these inputs (the message says why)."""


@dataclass(frozen=True)
class RandomizationResult:
    """Randomization inference for one estimate.

    - ``estimate`` / ``se``: the estimator's estimate and analytic standard error on the data as
      observed (outcome units): the analytic SE stays visible next to the randomization result.
    - ``statistic``: ``"t"`` or ``"estimate"``; ``observed``: its observed value.
    - ``null_estimates`` / ``null_statistics``: the estimate and statistic under each evaluated
      assignment other than the observed one (NaN where the estimator failed; a failure counts
      as at least as extreme, so the p-value stays conservative: ``n_failed``).
    - ``pvalue``: two-sided randomization p-value of no effect (see the module doc).
    - ``ci_low`` / ``ci_high``: ``1 - alpha`` interval by test inversion under a constant
      additive effect (NaN when not computed; ±inf when unbounded).
    - ``exact``: every assignment enumerated; ``n_assignments``: how many distinct assignments
      exist; ``draws``: assignments evaluated besides the observed one; ``seed``.
    - ``n_treated_clusters``; ``strata``: DataFrame ``stratum, n_clusters, n_treated``.
    - ``notes``: :class:`analysis.notes.Note` facts for the reader.
    """

    estimate: float
    se: float
    statistic: str
    observed: float
    null_estimates: np.ndarray
    null_statistics: np.ndarray
    pvalue: float
    ci_low: float
    ci_high: float
    alpha: float
    exact: bool
    n_assignments: int
    draws: int
    seed: int | None
    n_treated_clusters: int
    strata: pd.DataFrame
    n_failed: int = 0
    notes: tuple[Note, ...] = ()

    @property
    def min_pvalue(self) -> float:
        """The smallest p-value these assignments can give."""
        return 1.0 / (self.draws + 1)

    def as_inference(self, reason: str = "few_treated_clusters") -> Inference:
        """The ``results.json`` ``inference`` field of an estimate reported with this test."""
        return Inference(
            method="randomization", reason=reason, n_treated_clusters=self.n_treated_clusters,
            pvalue=self.pvalue,
            details={
                "statistic": self.statistic, "exact": self.exact, "draws": self.draws,
                "n_assignments": self.n_assignments, "seed": self.seed, "alpha": self.alpha,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "analytic_se": self.se,
                "strata": self.strata.to_dict(orient="records"), "n_failed": self.n_failed,
            },
        )


def overall_of(estimator: Callable[..., Any], **arguments: Any) -> Estimator:
    """Wrap an :mod:`analysis.did` estimator (anything whose result has ``.overall()`` with
    ``att`` and ``se``) as an :data:`Estimator`: ``overall_of(did.imputation, outcome="y",
    unit="unit", time="month", cohort="cohort", cluster="region_code")``."""

    def run(data: pd.DataFrame) -> tuple[float, float]:
        overall = estimator(data, **arguments).overall()
        return float(overall["att"]), float(overall["se"])

    return run


def quantile_bands(values: pd.Series, n_bands: int = 3) -> pd.Series:
    """Band number 1..``n_bands`` of each value by quantiles (e.g. TKD-cut terciles, a stratum
    for :func:`randomization_inference`). Ties stay in one band."""
    if n_bands < 1:
        raise ValueError(f"n_bands must be at least 1, got {n_bands}")
    ranks = values.rank(method="min", pct=True)
    return np.ceil(ranks * n_bands).clip(1, n_bands).astype(int)


def _is_never(values: pd.Series) -> np.ndarray:
    return (values.isna() | values.astype(object).isin([0, "0"])).to_numpy()


@dataclass(frozen=True)
class _Assignments:
    """The clusters, their observed assignment and the strata that permutations stay inside.

    An assignment is an array of label codes, one per cluster: ``labels[code]`` is the tuple of
    assignment values it stands for (the distinct observed tuples, in order of first
    appearance), so candidates are built and compared as integer arrays."""

    clusters: pd.Index
    labels: list            # distinct observed assignment values (tuples)
    codes: np.ndarray       # per cluster: the code of its observed assignment value
    strata: np.ndarray      # stratum code per cluster
    stratum_names: list
    row_cluster: np.ndarray  # cluster position of every data row
    treated: np.ndarray     # per cluster: treated under the observed assignment

    def count(self) -> int:
        """Number of distinct assignments (product over strata of multinomial coefficients)."""
        total = 1
        for s in range(len(self.stratum_names)):
            members = self.codes[self.strata == s].tolist()
            total *= _multinomial([members.count(v) for v in dict.fromkeys(members)])
        return total

    def enumerate(self) -> list[np.ndarray]:
        """Every distinct assignment (a code per cluster), the observed one included."""
        per_stratum = []
        for s in range(len(self.stratum_names)):
            positions = np.flatnonzero(self.strata == s)
            per_stratum.append((positions, list(_arrangements(self.codes[positions]))))
        out = []
        for combo in itertools.product(*(arr for _, arr in per_stratum)):
            codes = np.empty_like(self.codes)
            for (positions, _), arrangement in zip(per_stratum, combo):
                codes[positions] = arrangement
            out.append(codes)
        return out

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One random assignment: the observed codes permuted inside each stratum."""
        codes = self.codes.copy()
        for s in range(len(self.stratum_names)):
            positions = np.flatnonzero(self.strata == s)
            codes[positions] = self.codes[rng.permutation(positions)]
        return codes


def _multinomial(counts: list[int]) -> int:
    total, out = 0, 1
    for c in counts:
        total += c
        out *= math.comb(total, c)
    return out


def _arrangements(members: np.ndarray):
    """Distinct orderings of a multiset of codes (each once), as arrays. The rarest values are
    placed first and the most frequent one fills the positions left (one pass per arrangement)."""
    listed = members.tolist()
    values = sorted(dict.fromkeys(listed), key=listed.count)
    counts = [listed.count(v) for v in values]
    n = len(listed)

    def place(free: np.ndarray, k: int, current: np.ndarray):
        if k == len(values) - 1:
            current[free] = values[k]
            yield current.copy()
            return
        for chosen in itertools.combinations(range(len(free)), counts[k]):
            chosen = list(chosen)
            current[free[chosen]] = values[k]
            yield from place(np.delete(free, chosen), k + 1, current)

    yield from place(np.arange(n), 0, np.empty(n, dtype=members.dtype))


def _assignments(data: pd.DataFrame, assign_by: str, columns: list[str],
                 strata: Sequence[str]) -> _Assignments:
    missing = [c for c in [assign_by, *columns, *strata] if c not in data.columns]
    if missing:
        raise RandomizationError(f"column(s) not in the data: {', '.join(missing)}")
    for column in [*columns, *strata]:
        varying = data.groupby(assign_by, sort=False)[column].nunique(dropna=False) > 1
        if varying.any():
            raise RandomizationError(
                f"column {column!r} varies within {assign_by!r} {varying.index[varying][0]!r}: "
                "assignment and strata must be constant within a cluster")
    row_cluster, clusters = pd.factorize(data[assign_by], sort=True)
    first = data.iloc[np.unique(row_cluster, return_index=True)[1]]
    observed = [tuple(None if pd.isna(v) else v for v in row)
                for row in first[columns].itertuples(index=False)]
    position = {label: i for i, label in enumerate(dict.fromkeys(observed))}
    treated = ~_is_never(first[columns[0]])
    if strata:
        keys = first[list(strata)].astype(str).agg("|".join, axis=1)
        codes, names = pd.factorize(keys, sort=True)
    else:
        codes, names = np.zeros(len(first), dtype=int), pd.Index(["all"])
    return _Assignments(clusters=clusters, labels=list(position),
                        codes=np.array([position[label] for label in observed], dtype=np.intp),
                        strata=np.asarray(codes), stratum_names=list(names), row_cluster=row_cluster,
                        treated=treated)


class _AssignedColumns:
    """The assignment columns under any candidate assignment, built by one ``take`` per column.

    Permutations only rearrange the observed labels, so each column's possible values are known
    once (``values[k]``, in the data column's dtype); a candidate is then a code per cluster."""

    def __init__(self, data: pd.DataFrame, columns: list[str], assignment: _Assignments,
                 outcome: str | None = None) -> None:
        self.columns = columns
        self.row_cluster = assignment.row_cluster
        # The columns replaced in every candidate frame (and the outcome a shift replaces) each get
        # a block of their own once here, so that setting them does not split a shared block of
        # the data frame in every candidate (the values are unchanged).
        self.base = data.copy(deep=False)
        for column in dict.fromkeys([*columns, *([outcome] if outcome in data.columns else [])]):
            self.base[column] = data[column].array
        self.values = []
        for k, column in enumerate(columns):
            raw = np.array([label[k] for label in assignment.labels], dtype=object)
            try:
                self.values.append(pd.array(raw, dtype=data[column].dtype))
            except (TypeError, ValueError):
                self.values.append(raw)

    def frame(self, data: pd.DataFrame, cluster_codes: np.ndarray,
              shift: tuple[str, np.ndarray, float] | None = None) -> pd.DataFrame:
        """``data`` with the assignment columns set from ``cluster_codes`` and, with ``shift =
        (outcome, cells, tau)``, ``tau`` subtracted from the outcome on ``cells``."""
        frame = self.base.copy(deep=False)
        row_codes = cluster_codes[self.row_cluster]
        for column, values in zip(self.columns, self.values):
            frame[column] = values.take(row_codes)
        if shift is not None:
            outcome, cells, tau = shift
            frame[outcome] = data[outcome].to_numpy(dtype=float) - tau * cells
        return frame


def treated_cells(data: pd.DataFrame, *, cohort: str, time: str) -> np.ndarray:
    """Rows treated under the assignment in ``data``: a cohort is set (not 0 / missing) and
    ``time >= cohort`` (same kind of values, e.g. both ``YYYY-MM`` or both integers)."""
    never = _is_never(data[cohort])
    out = np.zeros(len(data), dtype=bool)
    rows = np.flatnonzero(~never)
    if len(rows):
        out[rows] = data[time].to_numpy()[rows] >= data[cohort].to_numpy()[rows]
    return out


def randomization_inference(
    data: pd.DataFrame,
    estimator: Estimator,
    *,
    assign_by: str,
    cohort: str | Sequence[str],
    outcome: str | None = None,
    time: str | None = None,
    treated: np.ndarray | None = None,
    strata: Sequence[str] = (),
    statistic: str = DEFAULT_STATISTIC,
    draws: int = DEFAULT_DRAWS,
    seed: int | None = DEFAULT_SEED,
    max_exact: int = MAX_EXACT,
    alpha: float = 0.05,
    confidence_interval: bool = True,
    ci_tolerance: float = 0.01,
    linear_outcome: bool = False,
) -> RandomizationResult:
    """Randomization inference for ``estimator`` on ``data`` (method in the module doc).

    ``data``: the estimation panel (long, one row per unit and period) with every cluster that
    could have been assigned a cohort: the observed adopters and the eligible comparison Pemda.
    ``estimator(data) -> (estimate, se)`` (e.g. :func:`overall_of` ``(analysis.did.imputation,
    ...)``, or a budget / service pipeline function). ``assign_by``: the cluster column whose
    values are re-assigned (the Pemda); ``cohort``: the assignment column (first treated
    period, 0 / missing = never), or several columns moved together (e.g. first and last
    treated month of a treatment that switched off; the first decides who counts as treated).
    ``strata``: cluster-level columns inside which assignments are permuted.

    The interval needs ``outcome`` and either ``time`` (treated cells: ``time >= cohort``) or
    ``treated`` (a boolean array over the rows: the cells a constant effect τ₀ shifts). Its end
    points are located to ``ci_tolerance`` × the analytic SE (or, when the estimator returns no
    SE, the SD of the null estimates). It costs about
    ``2 x (8 + log2(1/ci_tolerance))`` times ``draws + 1`` estimator calls; with
    ``linear_outcome=True`` (the estimator is linear in ``outcome`` and its SE the root of a
    quadratic form in it: means, OLS / imputation DiD with cluster-robust SEs) 3 to 7 times, from
    the closed form of :mod:`analysis.did.inference_linear`, which checks that assumption and
    falls back to the generic inversion when it does not hold (same end points).
    """
    if statistic not in STATISTICS:
        raise RandomizationError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    if not 0 < alpha < 1:
        raise RandomizationError(f"alpha must be in (0, 1), got {alpha!r}")
    if confidence_interval and (outcome is None or (time is None and treated is None)):
        raise RandomizationError("the interval needs outcome and time (or treated cells); "
                                 "pass confidence_interval=False for the p-value only")
    columns = [cohort] if isinstance(cohort, str) else list(cohort)
    assignment = _assignments(data, assign_by, columns, list(strata))
    n_treated = int(assignment.treated.sum())
    if n_treated == 0:
        raise RandomizationError(f"no cluster of {assign_by!r} is treated (column {columns[0]!r})")
    if n_treated == len(assignment.clusters):
        raise RandomizationError(f"every cluster of {assign_by!r} is treated: nothing to permute")
    n_assignments = assignment.count()
    if n_assignments <= max_exact:
        candidates = [codes for codes in assignment.enumerate() if not np.array_equal(codes, assignment.codes)]
        exact, used_seed = True, None
    else:
        if draws < 1:
            raise RandomizationError(f"draws must be at least 1, got {draws!r}")
        rng = np.random.default_rng(seed)
        candidates = [assignment.draw(rng) for _ in range(draws)]
        exact, used_seed = False, seed

    assigned = _AssignedColumns(data, columns, assignment, outcome if confidence_interval else None)
    codes = [assignment.codes, *candidates]

    def frames(shift=None):
        for cluster_codes in codes:
            yield assigned.frame(data, cluster_codes, shift)

    estimate, se, observed, null_est, null_stat, n_failed = _test(frames(), estimator, statistic)
    pvalue = _pvalue(observed, null_stat)

    ci_low = ci_high = float("nan")
    notes: list[Note] = []
    if confidence_interval:
        cells = treated if treated is not None else treated_cells(data, cohort=columns[0], time=time)
        cells = np.asarray(cells, dtype=float)
        if cells.shape != (len(data),):
            raise RandomizationError(f"treated must have one value per row ({len(data)})")

        def frames_at(tau: float):
            return frames((outcome, cells, tau))

        def pvalue_at(tau: float) -> float:
            *_, observed_tau, _, null_tau, _ = _test(frames_at(tau), estimator, statistic)
            return _pvalue(observed_tau, null_tau)

        if 1.0 / (len(candidates) + 1) > alpha:
            ci_low, ci_high = -math.inf, math.inf
        else:
            finite = null_est[np.isfinite(null_est)]
            if np.isfinite(se) and se > 0:
                scale = se
            elif len(finite) > 1 and np.std(finite) > 0:
                scale = float(np.std(finite, ddof=1))
            else:
                scale = max(abs(estimate), 1.0)
            ci_low, ci_high = _interval(pvalue_at, frames_at, estimator, statistic, estimate, scale, alpha,
                                        ci_tolerance, linear_outcome)
        if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
            notes.append(Note("ri_interval_unbounded", {"min_pvalue": 1.0 / (len(candidates) + 1),
                                                        "alpha": alpha}))
    if n_failed:
        notes.append(Note("ri_estimator_failed", {"n_failed": n_failed, "draws": len(candidates)}))
    strata_table = pd.DataFrame({
        "stratum": assignment.stratum_names,
        "n_clusters": np.bincount(assignment.strata, minlength=len(assignment.stratum_names)),
        "n_treated": np.bincount(assignment.strata[assignment.treated],
                                 minlength=len(assignment.stratum_names)),
    })
    return RandomizationResult(
        estimate=float(estimate), se=float(se), statistic=statistic, observed=observed,
        null_estimates=null_est, null_statistics=null_stat, pvalue=pvalue, ci_low=ci_low,
        ci_high=ci_high, alpha=alpha, exact=exact, n_assignments=n_assignments,
        draws=len(candidates), seed=used_seed, n_treated_clusters=n_treated, strata=strata_table,
        n_failed=n_failed, notes=tuple(notes),
    )


def _stat(estimate: float, se: float, statistic: str) -> float:
    if statistic == "estimate":
        return float(estimate)
    return float(estimate / se) if se > 0 else float("nan")


def _test(frames, estimator, statistic):
    """Estimate, SE and statistic on the first frame (the observed assignment), and the null
    estimates / statistics on the others (NaN where the estimator failed)."""
    frames = iter(frames)
    estimate, se = estimator(next(frames))
    observed = _stat(estimate, se, statistic)
    if not np.isfinite(observed):
        raise RandomizationError(
            f"the observed statistic is not finite (estimate {estimate!r}, se {se!r})")
    null_est, null_stat, failed = [], [], 0
    for frame in frames:
        try:
            est_b, se_b = estimator(frame)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            failed += 1
            est_b, se_b = np.nan, np.nan
        null_est.append(est_b)
        null_stat.append(_stat(est_b, se_b, statistic) if np.isfinite(est_b) else np.nan)
    return float(estimate), float(se), observed, np.array(null_est), np.array(null_stat), failed


def _pvalue(observed: float, null_stat: np.ndarray) -> float:
    """Two-sided: share of assignments (observed included) with |T| >= |T_obs|; a NaN null
    statistic (estimator failed) counts as at least as extreme."""
    threshold = abs(observed) * (1 - 1e-10)
    extreme = np.where(np.isnan(null_stat), True, np.abs(null_stat) >= threshold)
    return float((1 + extreme.sum()) / (len(null_stat) + 1))


def _invert(pvalue_at: Callable[[float], float], estimate: float, scale: float, alpha: float,
            tolerance: float) -> tuple[tuple[float, float], list[tuple[float, float] | None]]:
    """End points of {τ₀: p(τ₀) > alpha}: from the estimate outwards in doubling steps of two
    ``scale`` (the analytic SE, else the SD of the null estimates) until rejected (12 doublings
    at most, else unbounded), then bisection to ``tolerance x scale``. Also returns, per side,
    the last bracket ``(inside, outside)`` (None for an unbounded side)."""
    ends, brackets = [], []
    for direction in (-1.0, 1.0):
        inside, step, outside = estimate, 2.0 * scale, None
        for _ in range(12):
            candidate = estimate + direction * step
            if pvalue_at(candidate) <= alpha:
                outside = candidate
                break
            inside, step = candidate, step * 2.0
        if outside is None:
            ends.append(direction * math.inf)
            brackets.append(None)
            continue
        while abs(outside - inside) > tolerance * scale:
            middle = 0.5 * (inside + outside)
            if pvalue_at(middle) <= alpha:
                outside = middle
            else:
                inside = middle
        ends.append(0.5 * (inside + outside))
        brackets.append((inside, outside))
    return (float(ends[0]), float(ends[1])), brackets


def _interval(pvalue_at, frames_at, estimator, statistic: str, estimate: float, scale: float, alpha: float,
              tolerance: float, linear_outcome: bool) -> tuple[float, float]:
    """The interval by :func:`_invert`, on the closed-form p-value when the estimator is linear in
    the outcome (:mod:`analysis.did.inference_linear`; a studentised statistic's end points are
    confirmed with the generic p-value on both sides), else on ``pvalue_at``."""
    if linear_outcome:
        from analysis.did.inference_linear import linear_pvalue

        fast = linear_pvalue(frames_at, estimator, statistic, scale, _pvalue)
        if fast is not None:
            try:
                ends, brackets = _invert(fast, estimate, scale, alpha, tolerance)
            except ArithmeticError:
                ends, brackets = None, []
            confirmed = ends is not None and (statistic != "t" or all(
                bracket is None or (pvalue_at(bracket[0]) > alpha and pvalue_at(bracket[1]) <= alpha)
                for bracket in brackets))
            if confirmed:
                return ends
    return _invert(pvalue_at, estimate, scale, alpha, tolerance)[0]


def choose_inference(n_treated_clusters: int, *,
                     threshold: int = MIN_TREATED_CLUSTERS_ANALYTIC) -> Inference:
    """The inference an estimate with ``n_treated_clusters`` treated Pemda should report:
    ``cluster_robust`` (analytic) from ``threshold`` treated clusters on, ``randomization``
    below (reason ``few_treated_clusters``). ``pvalue`` is left for the caller to fill."""
    if n_treated_clusters < 0:
        raise ValueError(f"n_treated_clusters must be >= 0, got {n_treated_clusters}")
    if n_treated_clusters < threshold:
        return Inference(method="randomization", reason="few_treated_clusters",
                         n_treated_clusters=int(n_treated_clusters), details={"threshold": threshold})
    return Inference(method="cluster_robust", reason="enough_treated_clusters",
                     n_treated_clusters=int(n_treated_clusters), details={"threshold": threshold})


def headline_inference(
    data: pd.DataFrame,
    estimator: Estimator,
    *,
    assign_by: str,
    cohort: str | Sequence[str],
    outcome: str,
    time: str,
    strata: Sequence[str] = (),
    threshold: int = MIN_TREATED_CLUSTERS_ANALYTIC,
    draws: int = DEFAULT_DRAWS,
    seed: int | None = DEFAULT_SEED,
    confidence_interval: bool = True,
) -> tuple[Inference, RandomizationResult | None]:
    """The inference a headline estimate reports, chosen by :func:`choose_inference` from the
    number of treated clusters in ``data``: ``(Inference, None)`` when analytic SEs suffice,
    else randomization inference is run and ``(result.as_inference(), result)`` returned (the
    analytic SE stays in ``result.se``)."""
    columns = [cohort] if isinstance(cohort, str) else list(cohort)
    first = data.drop_duplicates(assign_by)
    n_treated = int((~_is_never(first[columns[0]])).sum())
    choice = choose_inference(n_treated, threshold=threshold)
    if choice.method != "randomization":
        return choice, None
    result = randomization_inference(data, estimator, assign_by=assign_by, cohort=cohort, outcome=outcome,
                                     time=time, strata=strata, draws=draws, seed=seed,
                                     confidence_interval=confidence_interval)
    inference = result.as_inference(choice.reason)
    return Inference(inference.method, inference.reason, inference.n_treated_clusters, inference.pvalue,
                     {**inference.details, "threshold": threshold}), result


__all__ = [
    "DEFAULT_STATISTIC", "Estimator", "MIN_TREATED_CLUSTERS_ANALYTIC", "RandomizationError",
    "RandomizationResult", "choose_inference", "headline_inference", "overall_of", "quantile_bands",
    "randomization_inference", "treated_cells",
]
