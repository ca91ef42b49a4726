"""From validated tables to the panels the estimators read.

- :mod:`analysis.panels.aggregate`  the aggregation stage: request rows → stored panels, once per dataset
- :mod:`analysis.panels.queries`    its SQL (DuckDB dialect), run by the engines
- :mod:`analysis.panels.engines`    requests sources and the DuckDB engine; :mod:`analysis.panels.spark` the Spark one
- :mod:`analysis.panels.service`    requests -> Pemda x month x service panels (DuckDB, Kaplan–Meier)
- :mod:`analysis.panels.km`         Kaplan–Meier in numpy (reference for the SQL version)
- :mod:`analysis.panels.budget`     spending panels (month/quarter, real Rupiah), TKD covariates
- :mod:`analysis.panels.deflators`  consumer-price deflator
- :mod:`analysis.panels.treatment`  cohorts and WFA dose from the policy registry
"""

from analysis.panels.aggregate import AggregatedPanels, aggregate, is_current, read_aggregated

__all__ = ["AggregatedPanels", "aggregate", "is_current", "read_aggregated"]
