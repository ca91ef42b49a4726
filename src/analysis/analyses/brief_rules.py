"""The brief's written rule for its verdict words, and the diagnostics that qualify them.

Every number the brief judges gets one verdict code from :func:`verdict`, never from prose:

- ``supported``: the test rejects "no effect" at ``ALPHA`` in the direction the brief asks about
  (p-value after the multiplicity correction when the entry records one, Holm for the risk tests;
  an entry without a p-value, e.g. a bootstrapped Rupiah amount, rejects when its 95% interval
  excludes zero) and no diagnostic of the number failed;
- ``tentative``: it rejects, but a diagnostic failed (pre-trend, placebo, estimator agreement,
  too few treated Pemda for the inference used, a contradicting hazard ratio): the word is
  downgraded, never left as "supported";
- ``inconclusive``: it does not reject;
- ``contrary``: it rejects in the opposite direction;
- ``no_evidence``: there is no estimate to judge.

A diagnostic (:class:`Diagnostic`) has the status ``pass``, ``fail`` or ``missing`` (not
recorded in the input report: it neither passes nor downgrades, and the page says it is absent).
The diagnostics are read from the input reports' ``results.json``: the headline entries'
``inference.details`` (``pretrend``, ``estimators``), ``n_treated_clusters`` and ``method``, the
hazard ratio entry, and the budget report's ``extra.placebo_joint_test``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Significance level of every verdict (after the multiplicity correction).
ALPHA = 0.05
#: Below this many treated Pemda, cluster-robust inference over-rejects (benchmarks/README,
#: analysis.power.FEW_TREATED_PEMDA); such an estimate needs randomization inference.
FEW_TREATED_PEMDA = 20
#: Inference methods that stay valid with few treated Pemda.
FEW_CLUSTER_METHODS = ("randomization", "randomization_inference", "wild_cluster_bootstrap")
#: Verdict codes, strongest first.
VERDICTS = ("supported", "tentative", "inconclusive", "contrary", "no_evidence")
#: Diagnostic codes, in the order the diagnostics box lists them.
DIAGNOSTICS = ("pretrend", "placebo", "estimators", "clusters", "hazard")


@dataclass(frozen=True)
class Diagnostic:
    """One check of an estimate: ``code`` (:data:`DIAGNOSTICS`), ``status`` (``pass`` / ``fail``
    / ``missing``), ``subject`` (which number it qualifies: ``service`` or ``spending``) and the
    facts the page states (``params``: p-values, estimates, counts)."""

    code: str
    status: str
    subject: str
    params: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def verdict_pvalue(entry: dict | None) -> float | None:
    """The p-value a verdict uses: the multiplicity-corrected one (``inference.details.pvalue_holm``)
    when recorded, else ``inference.pvalue``; None when neither is."""
    inference = (entry or {}).get("inference") or {}
    adjusted = _finite((inference.get("details") or {}).get("pvalue_holm"))
    return adjusted if adjusted is not None else _finite(inference.get("pvalue"))


def rejects(entry: dict | None) -> tuple[bool, int] | None:
    """Whether ``entry`` rejects "no effect" (:func:`verdict_pvalue` below :data:`ALPHA`, or, without
    a p-value, a 95% interval that excludes zero) and the sign of its estimate; None without an
    estimate."""
    estimate = _finite((entry or {}).get("estimate"))
    if estimate is None:
        return None
    sign = (estimate > 0) - (estimate < 0)
    pvalue = verdict_pvalue(entry)
    if pvalue is not None:
        return pvalue < ALPHA, sign
    low, high = _finite(entry.get("ci_low")), _finite(entry.get("ci_high"))
    if low is None or high is None:
        return False, sign
    return (low > 0 or high < 0), sign


def verdict(entry: dict | None, direction: int, diagnostics=()) -> str:
    """The verdict code (module doc) of ``entry`` for the question "is the effect of sign
    ``direction`` (+1 / −1)?", downgraded by any failed diagnostic."""
    test = rejects(entry)
    if test is None:
        return "no_evidence"
    significant, sign = test
    if not significant:
        return "inconclusive"
    if sign != direction:
        return "contrary"
    return "tentative" if any(d.failed for d in diagnostics) else "supported"


def pretrend_diagnostic(entry: dict | None, subject: str) -> Diagnostic:
    """The pre-trend test recorded with ``entry`` (``inference.details.pretrend``: joint test that
    the months before WFA show no effect); fails when p < :data:`ALPHA`."""
    test = (((entry or {}).get("inference") or {}).get("details") or {}).get("pretrend") or {}
    pvalue = _finite(test.get("pvalue"))
    if pvalue is None:
        return Diagnostic("pretrend", "missing", subject)
    estimator = ((entry or {}).get("estimand") or {}).get("estimator")
    return Diagnostic("pretrend", "fail" if pvalue < ALPHA else "pass", subject,
                      {"pvalue": pvalue, "months": len(test.get("events") or ()), "estimator": estimator})


def placebo_diagnostic(extra: dict | None, subject: str) -> Diagnostic:
    """The joint placebo test of the budget report (spending WFA cannot change, e.g. street
    lighting, jointly zero): fails when it rejects."""
    test = (extra or {}).get("placebo_joint_test") or {}
    pvalue = _finite(test.get("pvalue"))
    if pvalue is None:
        return Diagnostic("placebo", "missing", subject)
    return Diagnostic("placebo", "fail" if pvalue < ALPHA else "pass", subject,
                      {"pvalue": pvalue, "n_categories": len(test.get("categories") or ())})


def estimator_diagnostic(entry: dict | None, subject: str) -> Diagnostic:
    """Agreement of the estimators of the same estimand (``inference.details.estimators``):
    passes when every estimator has the headline's sign and the same conclusion at :data:`ALPHA`;
    ``params["estimators"]``: ``(estimator, estimate, ci_low, ci_high, pvalue)`` rows."""
    rows = (((entry or {}).get("inference") or {}).get("details") or {}).get("estimators") or []
    head = rejects(entry)
    rows = [r for r in rows if _finite(r.get("estimate")) is not None]
    if head is None or len(rows) < 2:
        return Diagnostic("estimators", "missing", subject)
    significant, sign = head
    disagree = []
    for row in rows:
        p = _finite(row.get("pvalue"))
        row_sig = (p < ALPHA) if p is not None else bool((_finite(row.get("ci_low")) or 0) > 0
                                                          or (_finite(row.get("ci_high")) or 0) < 0)
        row_sign = (row["estimate"] > 0) - (row["estimate"] < 0)
        if row_sign != sign or row_sig != significant:
            disagree.append(row["estimator"])
    return Diagnostic("estimators", "fail" if disagree else "pass", subject,
                      {"estimators": [(r["estimator"], r["estimate"], r.get("ci_low"), r.get("ci_high"),
                                       r.get("pvalue")) for r in rows],
                       "disagree": disagree})


def cluster_diagnostic(entry: dict | None, subject: str) -> Diagnostic:
    """Few treated Pemda: fails when the entry has fewer than :data:`FEW_TREATED_PEMDA` treated
    clusters and its inference is not one that stays valid with few (``inference.method``)."""
    inference = (entry or {}).get("inference") or {}
    n = inference.get("n_treated_clusters")
    if n is None:
        return Diagnostic("clusters", "missing", subject)
    method = inference.get("method") or ""
    few = int(n) < FEW_TREATED_PEMDA
    status = "fail" if few and method not in FEW_CLUSTER_METHODS else "pass"
    return Diagnostic("clusters", status, subject, {"n_treated": int(n), "method": method, "few": few,
                                                     "threshold": FEW_TREATED_PEMDA})


def hazard_diagnostic(entry: dict | None, subject: str) -> Diagnostic:
    """The completion hazard ratio (< 1: requests complete more slowly under WFA): fails when its
    interval lies wholly above 1 while the headline says services slowed (a contradiction)."""
    estimate = _finite((entry or {}).get("estimate"))
    if estimate is None:
        return Diagnostic("hazard", "missing", subject)
    low, high = _finite(entry.get("ci_low")), _finite(entry.get("ci_high"))
    contradicts = low is not None and low > 1
    return Diagnostic("hazard", "fail" if contradicts else "pass", subject,
                      {"ratio": estimate, "ci": (low, high),
                       "slower": high is not None and high < 1})
