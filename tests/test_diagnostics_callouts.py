"""A report's failing diagnostics become callouts next to its conclusion (same rules as the brief)."""

import pytest

from analysis.analyses import diagnostics
from analysis.report.results_file import Inference, ResultEntry
from analysis.texts import t


def _headline(pretrend_p, estimators, n_treated=64, method="cluster_robust"):
    return ResultEntry("att", 0.07, 0.016, 0.04, 0.10, "log points", "headline",
                       inference=Inference(method=method, n_treated_clusters=n_treated, pvalue=0.0001,
                                           details={"pretrend": {"events": [-3, -2, -1], "pvalue": pretrend_p},
                                                    "estimators": estimators}))


AGREE = [{"estimator": "imputation", "estimate": 0.07, "ci_low": 0.04, "ci_high": 0.10, "pvalue": 0.0001},
         {"estimator": "twfe", "estimate": 0.07, "ci_low": 0.04, "ci_high": 0.10, "pvalue": 0.0001}]
DISAGREE = AGREE + [{"estimator": "cs", "estimate": 0.06, "ci_low": -0.03, "ci_high": 0.15, "pvalue": 0.18}]


def test_nothing_is_flagged_when_every_diagnostic_passes():
    assert diagnostics.failed([_headline(0.58, AGREE)], "att") == []


@pytest.mark.parametrize("lang", ["id", "en"])
def test_failed_pretrend_disagreement_and_few_clusters_are_flagged_with_their_numbers(lang):
    found = diagnostics.failed([_headline(0.004, DISAGREE, n_treated=4)], "att")
    assert [d.code for d in found] == ["pretrend", "estimators", "clusters"]
    texts = [t(f"callout.{d.code}", lang, **d.params) for d in found]
    assert ("0,004" if lang == "id" else "0.004") in texts[0]
    assert (found[1].params["n_disagree"], found[1].params["n_estimators"]) == (1, 3)   # 1 of 3 disagree
    assert "1" in texts[1] and "3" in texts[1]
    assert "4" in texts[2] and "20" in texts[2]


def test_randomization_inference_keeps_few_clusters_valid_and_placebo_is_read_from_extra():
    entries = [_headline(0.5, AGREE, n_treated=4, method="randomization")]
    assert diagnostics.failed(entries, "att") == []
    failed = diagnostics.failed(entries, "att", extra={"placebo_joint_test": {"pvalue": 0.01, "categories": ["a", "b"]}})
    assert [d.code for d in failed] == ["placebo"]


def test_unknown_headline_is_an_error():
    with pytest.raises(KeyError, match="nope"):
        diagnostics.failed([_headline(0.5, AGREE)], "nope")
