"""The report build: every configured notebook x parameter set, executed and rendered.

``python -m analysis build`` (``analysis.cli.build``) drives it:

- :mod:`analysis.report.config`      ``reports.yaml`` -> validated :class:`ReportSpec` list (fan-out)
- :mod:`analysis.report.runner`      papermill in a process pool, dependency order, incremental keys
- :mod:`analysis.report.render`      reviewer (code hidden) and full HTML, offline-safe
- :mod:`analysis.report.provenance`  git commit, input hashes, package versions
- :mod:`analysis.report.scrub`       NIK and small-count checks on rendered pages
- :mod:`analysis.report.index`       ``OUT/index.html``
- :mod:`analysis.report.build`       the whole build, returning a :class:`BuildSummary`
"""
