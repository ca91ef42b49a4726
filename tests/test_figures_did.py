"""DiD figures: right number of series and points, labels by language, NaNs do not crash."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.did import callaway_santanna, imputation, sun_abraham  # noqa: E402
from analysis.figures.did import att_gt_heatmap, event_study_plot  # noqa: E402

DATA = Path(__file__).parent / "data"
COLUMNS = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")


@pytest.fixture(scope="module")
def results():
    df = pd.read_csv(DATA / "mpdta.csv")
    return [sun_abraham(df, **COLUMNS), imputation(df, **COLUMNS)]


def _point_counts(ax):
    return [len(line.get_xdata()) for line in ax.get_lines() if line.get_marker() == "o"]


def test_event_study_plot_series_and_points(results):
    fig = event_study_plot(results, ["SA", "BJS"], lang="en", title="mpdta")
    ax = fig.axes[0]
    assert _point_counts(ax) == [len(r.event_study()) for r in results]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SA", "BJS"]
    assert ax.get_xlabel() == "Months since WFA adoption"
    # the two series are dodged: same events, different x positions
    xs = [line.get_xdata() for line in ax.get_lines() if line.get_marker() == "o"]
    assert not np.allclose(xs[0][-4:], xs[1][-4:])
    plt.close(fig)


def test_event_study_plot_with_nans_and_existing_axes(results):
    imp = imputation(pd.read_csv(DATA / "mpdta.csv"), **COLUMNS, horizons=[0, 1, 2, 3, 4])
    fig0, ax0 = plt.subplots()
    fig = event_study_plot([imp], lang="id", ax=ax0)
    assert fig is fig0
    assert _point_counts(ax0) == [len(imp.event_study()) - 1]  # the NaN horizon is not drawn
    assert ax0.get_xlabel() == "Bulan sejak penerapan WFA"
    assert ax0.get_legend().get_texts()[0].get_text() == "Imputasi (BJS)"
    plt.close(fig)
    with pytest.raises(ValueError, match="labels"):
        event_study_plot(results, ["only one"], lang="id")


def test_att_gt_heatmap(results):
    df = pd.read_csv(DATA / "mpdta.csv")
    cs = callaway_santanna(df, **COLUMNS)
    fig = att_gt_heatmap(cs, lang="en")
    ax = fig.axes[0]
    image = ax.get_images()[0]
    assert image.get_array().shape == (3, 4)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2004", "2006", "2007"]
    assert image.norm.vcenter == 0
    plt.close(fig)
    nan_cells = cs.att_gt.copy()
    nan_cells.loc[0, "att"] = np.nan
    fig = att_gt_heatmap(replace(cs, att_gt=nan_cells), lang="id")
    assert fig.axes[0].get_images()[0].get_array().mask.sum() == 1
    assert fig.axes[0].get_ylabel() == "Kohort (bulan mulai WFA)"
    plt.close(fig)


def test_event_study_plot_accepts_tables_window_and_truth():
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from analysis.figures.did import event_study_plot

    table = pd.DataFrame({"event": range(-5, 5), "att": [0.0] * 10, "ci_low": [-0.1] * 10, "ci_high": [0.1] * 10})
    fig = event_study_plot([table, table], ["a", "b"], lang="en", window=(-2, 2), truth=0.05, truth_label="truth")
    ax = fig.axes[0]
    points = [line for line in ax.lines if line.get_marker() == "o"]
    assert [len(line.get_xdata()) for line in points] == [5, 5]
    assert "truth" in [text.get_text() for text in ax.get_legend().get_texts()]
    try:
        event_study_plot([table], lang="en")
    except ValueError as error:
        assert "labels are required" in str(error)
    else:
        raise AssertionError("tables without labels must be refused")
