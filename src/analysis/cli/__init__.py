"""Sub-commands of ``python -m analysis``.

Each module here exposes ``HELP`` (one line), ``configure(parser)`` and ``run(args) -> int``.
Exit codes: 0 ok, 1 data problems found, 2 usage error or unreadable input.
"""

#: sub-command name -> module (imported lazily so that ``--help`` stays fast)
COMMANDS = {
    "simulate": "analysis.cli.simulate",
    "validate": "analysis.cli.validate",
    "build": "analysis.cli.build",
    "panels": "analysis.cli.panels",
    "history": "analysis.cli.history",
}

EXIT_OK = 0
EXIT_DATA_PROBLEMS = 1
EXIT_USAGE = 2
