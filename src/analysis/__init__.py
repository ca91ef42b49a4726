"""Analysis package for the Pemda WFA study.

Layers, each importing only the ones above it (README "Architecture", docs/interfaces.md):

- ``analysis.paths``, ``analysis.errors``: project paths (constants) and the package's errors
- ``analysis.data``: read and validate the input tables (the data contract), mask personal data
- ``analysis.simulate``: synthetic national dataset with known true effects
- ``analysis.panels``: validated tables -> Pemda x month panels (service times, spending, treatment)
- ``analysis.did``, ``analysis.synth``, ``analysis.durations``: estimators
- ``analysis.analyses``: one module per question a notebook answers (facts, not words)
- ``analysis.texts``: the words of every page, Indonesian and English
- ``analysis.figures``: figures
- ``analysis.report``: what notebooks use to show and record results, and the papermill build
- ``analysis.cli``: ``python -m analysis``
"""

__version__ = "0.1.0"
