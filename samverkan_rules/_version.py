"""The installed distribution's version, read from its metadata when first asked for.

A leaf, so the command line, the service and the audit can stamp their output with the
version without importing the package root (which names the whole public API). Reading the
metadata imports :mod:`importlib.metadata` (tens of milliseconds), so it waits until a
command prints the version: ``samverkan --help`` never pays for it.
"""

from __future__ import annotations

from functools import cache


@cache
def version() -> str:
    """The version of the installed ``samverkan-rules`` distribution.

    Examples:
        >>> version() == __import__("importlib.metadata").metadata.version("samverkan-rules")
        True
    """
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("samverkan-rules")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "0+unknown"
