"""File imports: reference-manager and database exports (CSV, RIS) read into Records."""

from litmon.imports.files import ImportFileError
from litmon.imports.ris import read_ris
from litmon.imports.table import read_csv

__all__ = ["ImportFileError", "read_csv", "read_ris"]
