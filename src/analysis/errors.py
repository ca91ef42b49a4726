"""Exception types shared across the package.

Messages are written for the analyst who has to fix the input: they name the file, the row
and the column where that is known, and say what was expected.
"""


class AnalysisError(Exception):
    """Base class of the package's own errors."""


class UsageError(AnalysisError):
    """Wrong command-line usage or an unreadable input (CLI exit code 2)."""


class DataContractError(AnalysisError, ValueError):
    """Input data that breaks the data contract in a way that stops loading altogether
    (missing file or required column, unreadable file). Row-level problems are not raised:
    those rows are set aside as rejects with their reason."""


class ParameterError(AnalysisError, ValueError):
    """A notebook or report parameter with an unknown name, wrong type or value."""


class DataWarning(UserWarning):
    """Something about the input the analyst should know (an encoding guessed, the extraction
    time taken from the data); also recorded as a ``Note`` in the validation report."""
