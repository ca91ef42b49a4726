"""Analysis package for the Pemda WFA study.

Layers (each imports only the ones above it), see README "Architecture":

- ``analysis.io`` / ``analysis.schemas``: read and validate the input tables (data contract)
- ``analysis.simulate``: synthetic national dataset with known true effects
- ``analysis.panel``: request microdata -> Pemda x month panels (DuckDB)
- ``analysis.did``: staggered difference-in-differences estimators
- ``analysis.durations``: censoring-aware completion-time models
- ``analysis.budget``: spending panels and savings in Rupiah
- ``analysis.figures`` / ``analysis.exhibits`` / ``analysis.formatting``: presentation
- ``analysis.report``: the papermill build of every report
"""

__version__ = "0.1.0"
