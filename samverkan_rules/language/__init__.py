"""The routine language: how a routine is written, read and checked.

YAML with positions (``yaml*``), the pydantic models (``models``), the shared vocabulary,
regional variants, the meaning checks, lint and the quote check against the source
documents. Nothing here compiles or evaluates: ``compile`` and ``routine`` build on it.
"""
