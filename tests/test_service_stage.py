"""The service-time analysis reads the aggregation stage, not the requests, and its numbers are
those of the request scan (notebook 10's results on the small synthetic dataset)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict



def _entries(result):
    from analysis.analyses import service_time

    return {e.name: e for e in service_time.result_entries(result)}


def _scan_forbidden(*args, **kwargs):
    raise AssertionError("the service-time analysis scanned the requests")


def test_service_time_reads_the_stage_and_keeps_every_number(small_dataset, tmp_path, monkeypatch):
    from analysis.analyses import service_time
    from analysis.data import Dataset
    from analysis.panels import engines, stage
    from analysis.panels import service as panel_service

    service = "perizinan"
    before = service_time.load_inputs(small_dataset, use_stage=False)
    truth = before.dataset.truth_cells("service")
    scanned = service_time.run_analysis(before, service_type=service, truth_cells=truth)

    stage.ensure_panels(before.dataset)  # what the build does before the reports run
    with monkeypatch.context() as patch:  # from here on, any scan of the requests fails
        patch.setattr(engines.DuckDBEngine, "register", _scan_forbidden)
        patch.setattr(engines, "register_duckdb_source", _scan_forbidden)
        patch.setattr(panel_service, "_register_source", _scan_forbidden)
        patch.setattr(Dataset, "service_requests", property(_scan_forbidden))
        after = service_time.load_inputs(small_dataset)
        staged = service_time.run_analysis(after, service_type=service, truth_cells=truth)
    assert after.person_periods is not None

    old, new = _entries(scanned), _entries(staged)
    assert old.keys() == new.keys()
    for name, entry in old.items():
        a, b = (json.dumps(asdict(e), sort_keys=True, default=str) for e in (entry, new[name]))
        if name == "hazard_ratio_completion":
            # pyfixest's Poisson fit differs from process to process in the last digits (~1e-9)
            for key in ("estimate", "ci_low", "ci_high"):
                assert math.isclose(getattr(entry, key), getattr(new[name], key), rel_tol=1e-6), (name, key)
            continue
        assert a == b, name
    assert staged.km_curves.groupby(["group", "period"])["survival"].apply(lambda s: s.is_monotonic_decreasing).all()
    assert set(staged.km_curves["group"]) == {"adopter", "comparison"}
