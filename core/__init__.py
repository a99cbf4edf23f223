"""Pieces every stage shares: the Record type, UTC time, HTTP helpers, file locks, errors.

Nothing here imports another part of litmon.
"""
