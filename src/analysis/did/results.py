"""Result types shared by every staggered-DiD estimator in :mod:`analysis.did`.

Every estimator returns an :class:`EventStudyResult` (or a subclass of it). The interface the
notebooks code against (docs/interfaces.md section 4):

- ``.estimator``: short name (``"cs"``, ``"sun_abraham"``, ``"imputation"``, ``"twfe"``);
- ``.event_study()``: DataFrame ``event, att, se, ci_low, ci_high`` (``event`` = periods since
  adoption, in the panel's time unit: years for yearly data, months for monthly data);
- ``.overall()``: dict ``att, se, ci_low, ci_high``;
- ``.pretrend``: a :class:`PretrendTest` (joint Wald test of the pre-period estimates) or ``None``
  when the estimator has no pre-period estimates;
- ``n_units``, ``n_treated_units``, ``cohorts`` (first treated periods, in the input's time
  labels) and ``time_mapping`` (see :class:`analysis.did._panel.TimeMapping`).

Estimates are in the unit of the outcome; standard errors are the estimator's own (documented
in each estimator's module). Confidence intervals are two-sided at level ``1 - alpha``.

Writing a new estimator (did-2): build ``EventStudyResult(estimator=..., event_table=...,
overall_estimate=..., pretrend=..., n_units=..., n_treated_units=..., cohorts=...,
time_mapping=..., alpha=..., event_vcov=..., details={...})``. ``event_table`` must have the
columns :data:`EVENT_STUDY_COLUMNS`; :func:`pretrend_wald_test` computes ``pretrend`` from the
event-study estimates and their covariance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from analysis.did._panel import TimeMapping

EVENT_STUDY_COLUMNS = ("event", "att", "se", "ci_low", "ci_high")
OVERALL_KEYS = ("att", "se", "ci_low", "ci_high")


@dataclass(frozen=True, kw_only=True)
class PretrendTest:
    """Joint Wald test that all pre-period event-time estimates are zero.

    ``stat`` is the chi-squared statistic ``b' V^-1 b`` over the pre-period estimates ``b``
    (events listed in ``events``), ``df`` their number, ``pvalue`` the chi-squared(df) tail
    probability. ``note`` says which estimates were used and how (e.g. ATT(g,t) cells vs
    event-time coefficients).
    """

    stat: float
    df: int
    pvalue: float
    events: tuple[int, ...] = ()
    note: str = ""

    def as_dict(self) -> dict[str, float]:
        return {"stat": self.stat, "df": self.df, "pvalue": self.pvalue}


#: Eigenvalues of a covariance below this fraction of the largest are treated as zero.
SINGULAR_TOLERANCE = 1e-10


def pretrend_wald_test(
    estimates: np.ndarray, vcov: np.ndarray, *, events: tuple[int, ...] = (), note: str = ""
) -> PretrendTest | None:
    """Wald test of ``estimates == 0`` with covariance ``vcov``; ``None`` if nothing to test.

    A singular ``vcov`` is inverted on its informative eigen-directions only (a pseudo-inverse
    with a relative tolerance of ``SINGULAR_TOLERANCE``) and ``df`` is then its rank.
    """
    b = np.asarray(estimates, dtype=float).ravel()
    if b.size == 0:
        return None
    v = np.atleast_2d(np.asarray(vcov, dtype=float))
    keep = np.isfinite(b) & np.isfinite(np.diag(v))
    if not keep.any():
        return None
    b, v = b[keep], v[np.ix_(keep, keep)]
    # Eigen-decomposition of the (symmetric) covariance: directions whose variance is zero up to
    # rounding (relative to the largest) carry no information and are dropped, so that a
    # numerically singular matrix cannot blow the statistic up; df is the number kept.
    eigenvalues, eigenvectors = np.linalg.eigh((v + v.T) / 2.0)
    largest = float(eigenvalues.max(initial=0.0))
    if largest <= 0:
        return None
    informative = eigenvalues > SINGULAR_TOLERANCE * largest
    rank = int(informative.sum())
    projected = eigenvectors[:, informative].T @ b
    stat = float(np.sum(projected**2 / eigenvalues[informative]))
    return PretrendTest(
        stat=stat,
        df=rank,
        pvalue=float(stats.chi2.sf(stat, rank)),
        events=tuple(int(e) for e, k in zip(events, keep) if k) if events else (),
        note=note,
    )


def normal_pvalue(estimate, se):
    """Two-sided p-value of ``estimate / se`` against the standard normal: a float for scalars,
    an array for arrays; NaN where the SE is not a positive finite number (no test is possible).
    The one rule for every analytic (Wald) p-value of the project."""
    estimate, se = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where((se > 0) & np.isfinite(se), np.abs(estimate) / se, np.nan)
    pvalue = 2.0 * stats.norm.sf(z)
    return float(pvalue) if pvalue.ndim == 0 else pvalue


def normal_ci(att: np.ndarray, se: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise normal confidence interval ``att -/+ z_{1-alpha/2} se``."""
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    att = np.asarray(att, dtype=float)
    se = np.asarray(se, dtype=float)
    return att - z * se, att + z * se


@dataclass(frozen=True, kw_only=True)
class EventStudyResult:
    """Result of one staggered-DiD estimator (see the module docstring for the interface).

    ``event_table``: DataFrame with columns ``event, att, se, ci_low, ci_high`` sorted by
    ``event``; ``event`` = periods since adoption (0 = first treated period).
    ``overall_estimate``: dict ``att, se, ci_low, ci_high`` of the estimator's headline effect.
    ``event_vcov``: covariance of ``event_table.att`` (same order), or ``None``; used by
    :func:`analysis.did.honest_sensitivity` and the pre-trend test.
    ``details``: estimator-specific extras (the underlying library objects, options used).
    """

    estimator: str
    event_table: pd.DataFrame | None
    overall_estimate: Mapping[str, float] | None
    pretrend: PretrendTest | None
    n_units: int
    n_treated_units: int
    cohorts: tuple[Any, ...]
    time_mapping: TimeMapping
    alpha: float = 0.05
    event_vcov: np.ndarray | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def event_study(self) -> pd.DataFrame:
        """Event-time estimates: ``event, att, se, ci_low, ci_high`` (a copy)."""
        return self.event_table.loc[:, list(EVENT_STUDY_COLUMNS)].copy()

    def overall(self) -> dict[str, float]:
        """Headline estimate as ``{"att", "se", "ci_low", "ci_high"}`` (a copy)."""
        return {k: float(self.overall_estimate[k]) for k in OVERALL_KEYS}

    def influence(self, kind: str = "simple") -> "InfluenceFunction":
        """Influence functions of the overall ATT (``"simple"``), the event-time estimates
        (``"event"``) or the group estimates (``"group"``), for estimators that keep them in
        ``details["influence"]`` (the imputation estimator: one row per cluster)."""
        full = self.details.get("influence")
        if full is None:
            raise NotImplementedError(f"{self.estimator} results carry no influence functions")
        pick = {"simple": lambda c: c == "overall", "event": lambda c: isinstance(c, (int, np.integer)),
                "group": lambda c: isinstance(c, tuple)}
        if kind not in pick:
            raise ValueError(f"influence(kind={kind!r}): kind must be 'simple', 'event' or 'group'")
        keep = [j for j, c in enumerate(full.columns) if pick[kind](c)]
        return InfluenceFunction(values=full.values[:, keep], estimates=full.estimates[keep],
                                 unit_ids=full.unit_ids, cluster_ids=full.cluster_ids,
                                 columns=tuple(full.columns[j] for j in keep))


@dataclass(frozen=True)
class InfluenceFunction:
    """Influence functions of some estimates, one row per unit (moderndid's convention).

    ``values``: ``n_units x k``; column ``j`` is the influence function of ``estimates[j]``, so
    the analytic covariance is ``values.T @ values / n_units**2`` (unit level) and a multiplier
    bootstrap draw is ``estimates + xi @ values / n_units`` with one ``xi`` per unit (or per
    cluster, shared by its units). ``unit_ids``: the input's unit labels in row order.
    ``cluster_ids``: the cluster label of each row (the ``cluster`` column, else the unit).
    ``columns``: what each column estimates (``"overall"`` or an event time).
    """

    values: np.ndarray
    estimates: np.ndarray
    unit_ids: tuple[Any, ...]
    cluster_ids: tuple[Any, ...]
    columns: tuple[Any, ...]

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    def by_cluster(self) -> pd.DataFrame:
        """Influence functions summed within clusters, scaled to the estimate's error
        (``values / n_units``): index = cluster label, one column per estimate. Their sum of
        squares is the cluster-robust variance without a small-sample factor. (With a ``cluster``
        column moderndid's own reported SE is computed differently: on mpdta clustered into 65
        groups it gives 0.01374 where this sum gives 0.01495. Joint tests that combine several
        estimates should use this sum consistently for every estimate they combine.)"""
        scaled = pd.DataFrame(self.values / self.n_units, columns=list(self.columns))
        return scaled.groupby(np.asarray(self.cluster_ids, dtype=object)).sum()


@dataclass(frozen=True, kw_only=True)
class CallawaySantAnnaResult(EventStudyResult):
    """Callaway-Sant'Anna result: ATT(g,t) cells plus the four aggregations.

    ``att_gt``: DataFrame ``cohort, time, att, se, ci_low, ci_high`` in the input's time labels;
    the CI is the uniform (simultaneous) band when bootstrapped, else pointwise.
    Aggregations are computed on first request by ``aggregator(kind) -> (table, native)`` and
    cached in ``aggregations``; ``native`` holds the moderndid objects (``"att_gt"`` and one
    ``aggte`` result per kind once computed) with their influence functions.
    ``event_table`` / ``overall_estimate`` are unused (``None``): :meth:`event_study` is the
    ``event`` aggregation and :meth:`overall` the ``simple`` one.
    """

    att_gt: pd.DataFrame
    aggregator: Callable[[str], tuple[pd.DataFrame, Any]] = field(repr=False, compare=False)
    aggregations: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    native: dict[str, Any] = field(default_factory=dict, repr=False)

    KINDS = ("simple", "event", "group", "calendar")

    def _table(self, kind: str) -> pd.DataFrame:
        if kind not in self.KINDS:
            raise ValueError(f"aggregate(kind={kind!r}): kind must be one of {self.KINDS}")
        if kind not in self.aggregations:
            table, native = self.aggregator(kind)
            self.aggregations[kind] = table
            self.native[kind] = native
        return self.aggregations[kind]

    def aggregate(self, kind: str) -> pd.DataFrame:
        """Aggregated ATT: ``kind`` in ``simple`` (one row), ``event`` (column ``event``),
        ``group`` (column ``cohort``) or ``calendar`` (column ``time``); then ``att, se,
        ci_low, ci_high``. Bands are uniform over the rows when the fit was bootstrapped."""
        return self._table(kind).copy()

    def native_aggregate(self, kind: str) -> Any:
        """The moderndid ``AGGTEResult`` of ``kind`` (influence functions, vcov)."""
        self._table(kind)
        return self.native[kind]

    def event_study(self) -> pd.DataFrame:
        return self.aggregate("event")

    def influence(self, kind: str = "simple") -> InfluenceFunction:
        """Influence functions of the ``simple`` ATT (one column, ``"overall"``) or of the
        ``event`` aggregation (one column per event time), rows in ``details["unit_ids"]``
        order; the basis of joint tests across estimates and of multiplier-bootstrap draws."""
        agg = self.native_aggregate(kind)
        if kind == "simple":
            values = np.asarray(agg.influence_func_overall, dtype=float).reshape(-1, 1)
            estimates, columns = np.array([float(agg.overall_att)]), ("overall",)
        elif kind == "event":
            values = np.asarray(agg.influence_func, dtype=float)
            estimates = np.asarray(agg.att_by_event, dtype=float)
            columns = tuple(int(e) for e in np.asarray(agg.event_times))
        else:
            raise ValueError(f"influence(kind={kind!r}): kind must be 'simple' or 'event'")
        return InfluenceFunction(values=values, estimates=estimates, unit_ids=tuple(self.details["unit_ids"]),
                                 cluster_ids=tuple(self.details["cluster_ids"]), columns=columns)

    def overall(self, kind: str = "simple") -> dict[str, float]:
        """Overall ATT: the ``simple`` aggregation by default; ``kind="event"|"group"|
        "calendar"`` gives that aggregation's overall average (as R ``aggte`` prints it), with a
        pointwise normal CI."""
        if kind == "simple":
            row = self._table("simple").iloc[0]
            return {k: float(row[k]) for k in OVERALL_KEYS}
        agg = self.native_aggregate(kind)
        att, se = float(agg.overall_att), float(agg.overall_se)
        low, high = normal_ci(att, se, self.alpha)
        return {"att": att, "se": se, "ci_low": float(low), "ci_high": float(high)}
