"""The shipped configuration files (package data): ``litmon.toml`` and ``feeds.toml``.

``litmon init`` copies them into a deployment directory; without a config file litmon uses
the shipped ``litmon.toml`` as is.
"""
