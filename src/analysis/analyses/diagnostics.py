"""The diagnostics of a report's headline, judged by the same rules as the brief
(:mod:`analysis.analyses.brief_rules`), so the report's own page can flag a failing one next to
its conclusion (catalogue ``callout.<code>``) instead of leaving it to the brief or the
full-code page."""

from __future__ import annotations

from analysis.analyses import brief_rules
from analysis.analyses.brief_rules import Diagnostic
from analysis.report.results_file import ResultEntry, entry_as_dict


def failed(entries: list[ResultEntry], headline: str, *, extra: dict | None = None) -> list[Diagnostic]:
    """The failing diagnostics of the entry named ``headline``: its pre-trend test, the agreement
    of the estimators recorded with it, the number of treated Pemda against its inference, and
    (with the report's ``extra``) the joint placebo test. Each carries the ``params`` of its
    callout text; ``estimators`` adds ``n_disagree`` and ``n_estimators``."""
    entry = next((entry_as_dict(e) for e in entries if e.name == headline), None)
    if entry is None:
        raise KeyError(f"no results entry named {headline!r}")
    checks = [brief_rules.pretrend_diagnostic(entry, headline), brief_rules.estimator_diagnostic(entry, headline),
              brief_rules.cluster_diagnostic(entry, headline)]
    if extra is not None:
        checks.append(brief_rules.placebo_diagnostic(extra, headline))
    out = []
    for check in checks:
        if check.status != "fail":
            continue
        if check.code == "estimators":
            check = Diagnostic(check.code, check.status, check.subject,
                               {**check.params, "n_disagree": len(check.params["disagree"]),
                                "n_estimators": len(check.params["estimators"])})
        out.append(check)
    return out
