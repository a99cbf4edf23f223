"""litmon: literature monitoring for an MS patient-information service.

This package is the app shell (command line, configuration, scheduler, job locks); the
stages it wires together are its subpackages, one per source folder:
``litmon.core`` (shared pieces) ← ``litmon.crawler`` / ``litmon.feeds`` / ``litmon.imports``
(sources) and ``litmon.db`` (store) ← ``litmon.pipeline`` (sources into the store, run log).
"""

from litmon.core.version import VERSION as __version__

__all__ = ["__version__"]
