import json
import math

import numpy as np
import pytest

from analysis.report.results_file import ResultEntry, read_results, results_frame, write_results


def test_round_trip_and_json_safety(tmp_path):
    entries = [
        ResultEntry("att_log_median_days", np.float64(0.05), 0.01, 0.03, 0.07, "log points", "ATT"),
        ResultEntry("savings_idr_total", 1.5e9, math.nan, None, None, "IDR", "Savings"),
    ]
    path = write_results(tmp_path, "10_service_time", {"lang": "id", "n": np.int64(3)}, entries)
    document = read_results(tmp_path)
    assert document["parameters"] == {"lang": "id", "n": 3}
    assert document["results"][1]["se"] is None
    frame = results_frame(document)
    assert frame.loc["att_log_median_days", "estimate"] == pytest.approx(0.05)
    first = path.read_bytes()
    write_results(tmp_path, "10_service_time", {"lang": "id", "n": 3}, entries)
    assert path.read_bytes() == first
    json.loads(first)


def test_duplicate_names_rejected(tmp_path):
    with pytest.raises(ValueError, match="duplicate result names: a"):
        write_results(tmp_path, "r", {}, [ResultEntry("a", 1.0), ResultEntry("a", 2.0)])
