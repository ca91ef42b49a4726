"""Input data: the one way in is :func:`load` (validated, cached, personal data hashed or masked).

- :mod:`analysis.data.dataset`     :func:`load`, :class:`Dataset`, ``dataset.json`` and ``truth.json``
- :mod:`analysis.data.validate`    the validation engine (DuckDB SQL)
- :mod:`analysis.data.validation_report`  :class:`ValidationReport`, :class:`TableReport`
- :mod:`analysis.data.readers`     CSV / Parquet / Excel files as DuckDB views
- :mod:`analysis.data.parsing`     Indonesian numbers and dates, region-code variants (SQL)
- :mod:`analysis.data.schemas`     one declared schema per input table (the data contract)
- :mod:`analysis.data.privacy`     salted hashing, the NIK/NIP value rule, masking
- :mod:`analysis.data.rejects`     rejected rows and their file
- :mod:`analysis.data.cache`       the validated-data cache
- :mod:`analysis.data.connection`  the DuckDB connection, Arrow -> pandas
"""

from analysis.data.dataset import (
    Dataset,
    dataset_fingerprint,
    find_table_files,
    load,
    load_table,
    read_metadata,
    read_truth,
    read_truth_cells,
    validate_dataset,
)
from analysis.data.rejects import default_rejects_dir
from analysis.data.validation_report import TableReport, ValidationReport

__all__ = [
    "Dataset", "TableReport", "ValidationReport", "dataset_fingerprint", "default_rejects_dir", "find_table_files",
    "load", "load_table", "read_metadata", "read_truth", "read_truth_cells", "validate_dataset",
]
