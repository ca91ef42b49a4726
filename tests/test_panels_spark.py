"""The Spark engine: the transpiled SQL's explicit rewrites, the order statistic in Spark, and the
whole aggregation stage equal to DuckDB's (floats to 1e-9, integers exactly).

Needs the ``spark`` extra and Java 17+ (``make test`` provides both); skipped, with the reason,
only when Java is missing or too old.
"""

import json
import math
import os

import numpy as np
import pandas as pd
import pytest
from test_panel import EXTRACTED, make_requests
from test_panels_aggregate import PANEL_TABLES, edge_requests

from analysis.panels import aggregate
from analysis.panels.engines import extraction_moment
from analysis.panels.queries import person_periods_sql, service_panel_sql

sqlglot = pytest.importorskip("sqlglot", reason="the Spark engine needs the 'spark' extra: pip install -e '.[spark]'")
from analysis.panels.spark import MIN_JAVA, SparkEngine, java_version, to_spark_sql  # noqa: E402


def assert_tables_equal(left, right):
    """Every column equal: integers and text exactly, floats to 1e-9 (relative), NaN where NaN."""
    assert list(left.columns) == list(right.columns)
    assert left.dtypes.equals(right.dtypes)
    assert len(left) == len(right)
    for column in left.columns:
        a, b = left[column].to_numpy(), right[column].to_numpy()
        if left[column].dtype == "float64":
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=0, equal_nan=True, err_msg=column)
        else:
            assert (a == b).all(), column


def test_transpiled_sql_rewrites_what_spark_would_compute_differently():
    moment = extraction_moment(EXTRACTED)
    spark_sql = to_spark_sql(service_panel_sql(moment))
    upper = spark_sql.upper()
    assert "PERCENTILE" not in upper  # neither the invalid PERCENTILE_DISC(x, ARRAY) nor an approximation
    assert "ELEMENT_AT(ARRAY_SORT(COLLECT_LIST(DAYS) FILTER(WHERE DONE)), CAST(CEIL(COUNT(DAYS) FILTER(WHERE DONE) * 0.9) AS INT))" in upper
    assert "CASE WHEN COUNT(DAYS) FILTER(WHERE DONE) > 0 THEN ARRAY(" in upper  # no index 0 on an empty list
    assert "CEIL(COUNT(CASE WHEN DONE THEN DAYS ELSE CAST('INFINITY' AS DOUBLE) END) * 0.5)" in upper  # exact decimal
    assert "EPOCH_US" not in upper and "UNIX_MICROS(" in upper
    for name in ("Q_DONE", "Q_UNCENSORED"):  # 1-based → 0-based
        assert f"{name}[0]" in upper and f"{name}[1]" in upper and f"{name}[2]" not in upper
    assert "QUANTILE" not in upper and "STRFTIME" not in upper
    assert "EPOCH_US" not in to_spark_sql(person_periods_sql(moment)).upper()


@pytest.fixture(scope="module")
def spark_engine():
    version = java_version()
    if version is None or version < MIN_JAVA:
        pytest.skip(f"Spark needs Java {MIN_JAVA}+ and {'no java is on PATH' if version is None else f'java {version} is'}"
                    " (make test installs Debian's default-jre-headless)")
    pytest.importorskip("pyspark", reason="the Spark engine needs the 'spark' extra")
    engine = SparkEngine(master="local[2]", conf={"spark.sql.shuffle.partitions": "2",
                                                  "spark.default.parallelism": "2"})
    yield engine
    engine.close()


@pytest.mark.slow  # a Spark session takes 10–60 s to start
def test_spark_order_statistic_is_the_ceil_rank(spark_engine):
    rows = [(n, float(x)) for n in range(1, 201) for x in range(1, n + 1)]
    spark_engine.spark.createDataFrame(pd.DataFrame(rows, columns=["n", "x"])).createOrReplaceTempView("ranks")
    got = spark_engine.fetch("SELECT n, quantile_disc(x, [0.5, 0.9]) AS q, "
                             "quantile_disc(x, [0.5]) FILTER (WHERE x > 1) AS q_filtered FROM ranks GROUP BY n")
    for n, q, q_filtered in zip(got["n"], got["q"], got["q_filtered"]):
        assert list(q) == [math.ceil(n * 0.5 - 1e-9), math.ceil(n * 0.9 - 1e-9)], n
        if n == 1:
            assert q_filtered is None  # no rows pass the filter: NULL as in DuckDB, no index error
        else:
            assert list(q_filtered) == [1 + math.ceil((n - 1) * 0.5 - 1e-9)], n


@pytest.mark.slow
def test_spark_equals_duckdb_on_requests_with_ties_edges_and_open(spark_engine, tmp_path):
    frames = pd.concat([make_requests(n=1500, open_share=0.3), edge_requests()], ignore_index=True)
    duck = aggregate(frames, extracted_at=EXTRACTED)
    spark = aggregate(frames, extracted_at=EXTRACTED, engine=spark_engine)  # DataFrame → Arrow → Spark
    for name in PANEL_TABLES:
        assert_tables_equal(getattr(duck, name), getattr(spark, name))
    assert spark.manifest["engine"] == "spark" and spark.manifest["versions"]["pyspark"]
    assert spark.manifest["input"] == duck.manifest["input"]


def test_spark_equals_duckdb_on_small_dataset(spark_engine, small_dataset, tmp_path):
    requests = str(small_dataset / "service_requests.parquet")
    extracted_at = json.loads((small_dataset / "dataset.json").read_text())["extracted_at"]
    duck = aggregate(requests, extracted_at=extracted_at)
    spark = aggregate(requests, extracted_at=extracted_at, engine=spark_engine, out_dir=tmp_path / "spark")
    for name in PANEL_TABLES:
        assert_tables_equal(getattr(duck, name), getattr(spark, name))
    assert (duck.service_panel["n_open"] > 0).sum() > 100
    assert sorted(os.listdir(tmp_path / "spark")) == ["panels.json", "person_periods.parquet",
                                                      "service_panel.parquet", "service_panel_units.parquet"]
