"""Data contracts: schemas, readers and writers, row validation with rejects, synthetic data."""

from cxml.data.io import TableWriter, iter_table, read_table, write_table
from cxml.data.reader import (
    RejectsFile,
    TableReader,
    check_paths,
    default_rejects_path,
    read_valid,
)
from cxml.data.schema import COMMENTS, TICKETS, FieldSpec, Schema, get_schema
from cxml.data.validate import ReadSummary, Validator

__all__ = [
    "COMMENTS",
    "TICKETS",
    "FieldSpec",
    "ReadSummary",
    "RejectsFile",
    "Schema",
    "TableReader",
    "TableWriter",
    "Validator",
    "check_paths",
    "default_rejects_path",
    "get_schema",
    "iter_table",
    "read_table",
    "read_valid",
    "write_table",
]
