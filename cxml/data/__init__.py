"""Data in and out: readers and writers, row validation with rejects, synthetic data.

The fields they validate against are in :mod:`cxml.contracts.fields`.
"""

from cxml.data.io import TableWriter, iter_table, read_table, write_table
from cxml.data.reader import (
    RejectsFile,
    TableReader,
    check_paths,
    default_rejects_path,
    read_valid,
)
from cxml.data.validate import ReadSummary, Validator

__all__ = [
    "ReadSummary",
    "RejectsFile",
    "TableReader",
    "TableWriter",
    "Validator",
    "check_paths",
    "default_rejects_path",
    "iter_table",
    "read_table",
    "read_valid",
    "write_table",
]
