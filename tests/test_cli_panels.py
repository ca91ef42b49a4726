"""``python -m analysis panels``: exit codes, written tables and manifest, skipping when current."""

import json

import pandas as pd
import pytest
from test_panel import EXTRACTED, make_requests

from analysis.__main__ import main
from analysis.panels import read_aggregated
from analysis.panels.service import build_service_panel


@pytest.fixture
def dataset(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    make_requests(n=600).to_parquet(data / "service_requests.parquet")
    (data / "dataset.json").write_text(json.dumps({"extracted_at": EXTRACTED.date().isoformat()}))
    return data


def test_writes_tables_and_manifest_then_skips_when_current(dataset, tmp_path, capsys):
    out = tmp_path / "panels"
    assert main(["panels", "--data", str(dataset), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "600 requests aggregated" in printed.out and "service_panel: " in printed.err
    manifest = json.loads((out / "panels.json").read_text())
    assert manifest["engine"] == "duckdb" and manifest["extracted_at"] == "2026-03-31"
    expected = build_service_panel(dataset / "service_requests.parquet", extracted_at=EXTRACTED)
    pd.testing.assert_frame_equal(read_aggregated(out).service_panel, expected)
    assert main(["panels", "--data", str(dataset), "--out", str(out)]) == 0
    assert "current for this input" in capsys.readouterr().out
    assert main(["panels", "--data", str(dataset), "--out", str(out), "--extracted-at", "2026-04-30"]) == 0
    assert json.loads((out / "panels.json").read_text())["extracted_at"] == "2026-04-30"


def test_requests_option_reads_a_directory_of_parquet_files(dataset, tmp_path):
    lake = tmp_path / "lake" / "service_requests"
    lake.mkdir(parents=True)
    frame = pd.read_parquet(dataset / "service_requests.parquet")
    frame.iloc[:300].to_parquet(lake / "part-0.parquet")
    frame.iloc[300:].to_parquet(lake / "part-1.parquet")
    out = tmp_path / "panels"
    assert main(["panels", "--requests", str(lake), "--extracted-at", "2026-03-31", "--out", str(out),
                 "--threads", "1", "--memory-limit", "1GB"]) == 0
    manifest = json.loads((out / "panels.json").read_text())
    assert manifest["input"]["files"] == 2 and manifest["input"]["rows"] == 600
    expected = build_service_panel(dataset / "service_requests.parquet", extracted_at=EXTRACTED)
    pd.testing.assert_frame_equal(read_aggregated(out).service_panel, expected)


def test_csv_table_is_validated_and_loaded(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    make_requests(n=200).to_csv(data / "service_requests.csv", index=False)
    out = tmp_path / "panels"
    assert main(["panels", "--data", str(data), "--out", str(out)]) == 0
    assert "no extraction date" in capsys.readouterr().err  # neither dataset.json nor --extracted-at
    assert json.loads((out / "panels.json").read_text())["input"]["kind"] == "dataframe"


@pytest.mark.parametrize("argv, message", [
    (["panels", "--out", "OUT"], "give --data DIR"),
    (["panels", "--data", "MISSING", "--out", "OUT"], "no such dataset directory"),
    (["panels", "--data", "EMPTY", "--out", "OUT"], "no service_requests table"),
    (["panels", "--data", "BROKEN", "--out", "OUT"], "lacks required column(s): sla_days"),
    (["panels", "--data", "DATA", "--out", "OUT", "--spark-conf", "novalue"], "expected KEY=VALUE"),
])
def test_usage_errors_exit_2_with_a_message(argv, message, dataset, tmp_path, capsys):
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "BROKEN").mkdir()
    make_requests(n=5).drop(columns="sla_days").to_parquet(tmp_path / "BROKEN" / "service_requests.parquet")
    places = {"OUT": tmp_path / "out", "MISSING": tmp_path / "missing", "EMPTY": tmp_path / "EMPTY",
              "BROKEN": tmp_path / "BROKEN", "DATA": dataset}
    assert main([str(places.get(a, a)) for a in argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "panels.json").exists()


def test_unknown_engine_is_rejected_by_the_parser(dataset, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["panels", "--data", str(dataset), "--out", str(tmp_path / "out"), "--engine", "pandas"])
    assert exit_info.value.code == 2


def test_spark_engine_without_java_exits_2_naming_what_is_missing(dataset, tmp_path, monkeypatch, capsys):
    spark = pytest.importorskip("analysis.panels.spark", reason="the 'spark' extra is not installed")
    monkeypatch.setattr(spark, "java_version", lambda: None)
    assert main(["panels", "--data", str(dataset), "--out", str(tmp_path / "out"), "--engine", "spark"]) == 2
    assert "needs Java 17+ (no java on PATH)" in capsys.readouterr().err
