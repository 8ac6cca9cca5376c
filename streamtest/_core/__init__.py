"""Core values: cassette model and file format, clock, record modes, matching, redaction.

This layer imports only the standard library and msgspec; nothing here knows about HTTP stacks.
"""
