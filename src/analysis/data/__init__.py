"""Input data: read CSV / Parquet / Excel, validate against the data contract, set rejects aside,
mask personal data, cache the validated tables.

- :mod:`analysis.data.readers`  file formats, Indonesian numbers and dates, region-code variants
- :mod:`analysis.data.schemas`  one declared schema per input table (the data contract)
- :mod:`analysis.data.privacy`  salted hashing of personal identifiers
- :mod:`analysis.data.io`       validation engine, the validated-data cache, :class:`Dataset`
"""

from analysis.data.io import (
    Dataset,
    TableReport,
    ValidationReport,
    default_rejects_dir,
    find_table_files,
    load_dataset,
    load_table,
    read_metadata,
    validate_dataset,
)

__all__ = [
    "Dataset", "TableReport", "ValidationReport", "default_rejects_dir", "find_table_files",
    "load_dataset", "load_table", "read_metadata", "validate_dataset",
]
