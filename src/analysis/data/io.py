"""Former module of the loader, kept so that ``from analysis.data.io import load_dataset`` in
older notebooks keeps working: the same functions as :mod:`analysis.data` (use that instead)."""

from analysis.data import (  # noqa: F401
    Dataset,
    TableReport,
    ValidationReport,
    default_rejects_dir,
    find_table_files,
    load,
    load_dataset,
    load_table,
    read_metadata,
    validate_dataset,
)
