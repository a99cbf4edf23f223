"""File imports: reference-manager and database exports (CSV, RIS) read into Records."""

from imports.files import ImportFileError
from imports.ris import read_ris
from imports.table import read_csv

__all__ = ["ImportFileError", "read_csv", "read_ris"]
