"""The Spark engine of the aggregation stage (optional: ``pip install -e '.[spark]'`` and Java 17+).

The queries of :mod:`analysis.panels.queries` are written once, in DuckDB's dialect;
:func:`to_spark_sql` transpiles them with sqlglot and then rewrites, explicitly, what sqlglot
would translate to something that is not the same computation in Spark:

- ``quantile_disc(x, [p, ...]) [FILTER (WHERE c)]`` (DuckDB: the ``ceil(n * p)``-th smallest
  value, exact decimal index). sqlglot emits ``PERCENTILE_DISC(x, ARRAY(...))``, which Spark does
  not accept (and it turns the ordered-set form into ``PERCENTILE_APPROX``). Rewritten to
  ``CASE WHEN count(x) [FILTER] > 0 THEN array(element_at(array_sort(collect_list(x) [FILTER]),
  CAST(ceil(count(x) [FILTER] * p) AS INT)), ...) END``; ``p`` stays a decimal literal, so the index
  is exact in Spark too.
- ``epoch_us(ts)`` → ``unix_micros(ts)``; the session time zone is UTC, so a timestamp without
  time zone (how Parquet files written by pandas store them) converts without a shift.

Everything else (``date_trunc``, ``strftime`` → ``date_format``, 1-based list indexes → 0-based,
``SEMI JOIN``, ``FILTER`` clauses, window frames) is sqlglot's translation as it is; the test
``tests/test_panels_spark.py`` runs the whole stage on both engines and compares every column.
Spark runs with ANSI mode on (its default): the queries guard every division and ``ln``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import metadata

import pandas as pd
import sqlglot
from sqlglot import exp

from analysis.errors import UsageError
from analysis.panels.engines import check_columns, parquet_sources
from analysis.panels.queries import REQUIRED_COLUMNS

#: Oldest Java major version PySpark 4 runs on.
MIN_JAVA = 17


def java_version() -> int | None:
    """Major version of the ``java`` on PATH (None when there is none or it does not answer)."""
    java = shutil.which("java")
    if java is None:
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


# --------------------------------------------------------------------------------------------
# DuckDB SQL → Spark SQL
# --------------------------------------------------------------------------------------------

def _order_statistics(node: exp.Expression) -> exp.Expression:
    """``quantile_disc(x, [p...]) [FILTER (WHERE c)]`` → explicit sorted-array lookups."""
    where = None
    quantile = node
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.PercentileDisc):
        quantile, where = node.this, node.expression.this
    elif not isinstance(node, exp.PercentileDisc) or isinstance(node.parent, exp.Filter):
        return node
    values = quantile.this.sql(dialect="spark")
    probs = quantile.expression
    probs = probs.expressions if isinstance(probs, exp.Array) else [probs]
    clause = f" FILTER (WHERE {where.sql(dialect='spark')})" if where is not None else ""
    count = f"count({values}){clause}"
    lookups = ", ".join(
        f"element_at(array_sort(collect_list({values}){clause}), CAST(ceil({count} * {p.sql(dialect='spark')}) AS INT))"
        for p in probs
    )
    return sqlglot.parse_one(f"CASE WHEN {count} > 0 THEN array({lookups}) END", read="spark")


def _epoch_micros(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "epoch_us":
        return exp.Anonymous(this="unix_micros", expressions=node.expressions)
    return node


def to_spark_sql(sql: str) -> str:
    """Spark SQL for one query of :mod:`analysis.panels.queries` (see the module doc)."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(_order_statistics).transform(_epoch_micros)
    return tree.sql(dialect="spark")


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------

class SparkEngine:
    """Runs the aggregation SQL on Spark: a local session by default (``local[*]``), or the
    cluster at ``master`` (``spark://host:7077``, ``yarn``, ``k8s://...``). The aggregated tables
    are small (cells, not requests) and are collected to the driver through Arrow.

    ``memory`` sets ``spark.driver.memory`` for a new session (e.g. ``"4g"``; DuckDB-style
    ``"4GB"`` is accepted); ``conf`` adds Spark settings. ``session``: use an existing
    SparkSession (not stopped by :meth:`close`).
    """

    name = "spark"

    def __init__(self, *, master: str | None = None, memory: str | None = None, conf: dict | None = None,
                 session=None):
        self._own = session is None
        self.spark = session or self._start(master, memory, conf or {})

    @staticmethod
    def _start(master, memory, conf):
        version = java_version()
        if version is None or version < MIN_JAVA:
            found = "no java on PATH" if version is None else f"java {version} on PATH"
            raise UsageError(f"the Spark engine needs Java {MIN_JAVA}+ ({found}); on Debian: "
                             "apt-get install default-jre-headless")
        from pyspark.sql import SparkSession  # heavy optional dependency

        builder = (SparkSession.builder.appName("pemda-wfa-panels").master(master or "local[*]")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.ui.enabled", "false")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
        if not master or master.startswith("local"):
            builder = builder.config("spark.sql.shuffle.partitions", "8")
        if memory:
            builder = builder.config("spark.driver.memory", memory.lower().removesuffix("b"))
        for key, value in conf.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        return spark

    def register(self, requests) -> None:
        if isinstance(requests, pd.DataFrame):
            check_columns(requests.columns, "service_requests")
            import pyarrow as pa

            table = pa.Table.from_pandas(requests[list(REQUIRED_COLUMNS)], preserve_index=False)
            frame = self.spark.createDataFrame(table)
        else:
            locations = parquet_sources(requests)
            frame = self.spark.read.option("mergeSchema", "true").parquet(*locations)
            check_columns(frame.columns, ", ".join(locations))
        frame.select(*REQUIRED_COLUMNS).createOrReplaceTempView("src")

    def fetch(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(to_spark_sql(sql)).toArrow().to_pandas()

    def versions(self) -> dict:
        return {"pyspark": metadata.version("pyspark"), "spark": self.spark.version,
                "sqlglot": sqlglot.__version__, "java": java_version()}

    def close(self) -> None:
        if self._own:
            self.spark.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
