"""From validated tables to the panels the estimators read.

- :mod:`analysis.panels.service`    requests -> Pemda x month x service panels (DuckDB, Kaplan–Meier)
- :mod:`analysis.panels.km`         Kaplan–Meier in numpy (reference for the SQL version)
- :mod:`analysis.panels.budget`     spending panels (month/quarter, real Rupiah), TKD covariates
- :mod:`analysis.panels.deflators`  consumer-price deflator
- :mod:`analysis.panels.treatment`  cohorts and WFA dose from the policy registry
"""
