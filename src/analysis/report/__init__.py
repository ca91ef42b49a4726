"""The report build: every configured notebook x parameter set, executed and rendered.

``python -m analysis build`` (``analysis.cli.build``) drives it:

- :mod:`analysis.report.config`         ``reports.yaml`` -> validated :class:`ReportSpec` list (fan-out)
- :mod:`analysis.report.runner`         papermill in worker processes, dependency order
- :mod:`analysis.report.render`         reviewer (code hidden) and full HTML, offline-safe
- :mod:`analysis.report.portable`       no machine paths in outputs, stable notebook ids
- :mod:`analysis.report.provenance`     git commit, input hashes, package versions
- :mod:`analysis.report.scrub`          personal identifiers and small counts in every output file
- :mod:`analysis.report.output_folder`  safe names, atomic writes, the output folder's lock
- :mod:`analysis.report.report_folder`  a report built aside, verified, published or withheld whole
- :mod:`analysis.report.index`          ``OUT/index.html``
- :mod:`analysis.report.history`        ``OUT/history/<build_id>.json``: what each build found
- :mod:`analysis.report.changes`        what changed since an earlier build, and why
- :mod:`analysis.report.build`          the whole build, returning a :class:`BuildSummary`
"""
