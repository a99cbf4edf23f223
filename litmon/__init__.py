"""litmon: literature monitoring for an MS patient-information service.

This package is the app shell (command line, configuration, scheduler, job locks); the
stages it wires together are its subpackages, one per source folder:
``litmon.core`` (shared pieces) ← ``litmon.crawler`` / ``litmon.feeds`` / ``litmon.imports``
(sources) and ``litmon.db`` (store) ← ``litmon.pipeline`` (sources into the store, run log).
"""

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # read from the installed metadata only when asked: every command imports this package
    if name == "__version__":
        from litmon.core.version import VERSION

        return VERSION
    raise AttributeError(f"module 'litmon' has no attribute {name!r}")
